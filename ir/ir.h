/*
 * ir.h: the intermediate representation shared by every stage of wrpnc.
 *
 * A Graph is arrays of Nodes and Tensors in topological order, all owned by
 * the graph's arena. Operators are declared once in ops.def, data types in
 * dtypes.def. Sections below are grouped by the file that owns them.
 */
#ifndef WRPNC_IR_H
#define WRPNC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Graph Graph;
typedef struct Node Node;
typedef struct Tensor Tensor;
typedef struct Emitter Emitter;

/* ---- diag.c ---- */

typedef enum {
    WR_OK = 0,
    WR_EIO,          /* file could not be read or written */
    WR_EPARSE,       /* malformed model or input file */
    WR_EUNSUPPORTED, /* valid ONNX that wrpnc does not handle */
    WR_ESHAPE,       /* inconsistent or overflowing shapes */
    WR_ENOMEM,
    WR_EVERIFY,      /* an internal consistency check failed */
    WR_EUSAGE,       /* bad command line */
} Status;

/* A user-facing error: the first error wins, later ones are dropped. */
typedef struct Diag {
    Status status;
    char msg[1024];
} Diag;

Status diag_error(Diag *d, Status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like diag_error, prefixed with "node 'NAME' (OP): ". */
Status diag_node(Diag *d, Status s, const Node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
_Noreturn void wr_die(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Both return s. The static analyzer (tools/lint.sh) does not look into other
 * files; without this it follows an error return as if it were WR_OK and reports
 * the unset outputs of the failed call. Compiled code is unchanged. */
#ifdef __clang_analyzer__
#define diag_error(d, s, ...) (diag_error((d), (s), __VA_ARGS__), (s))
#define diag_node(d, s, ...) (diag_node((d), (s), __VA_ARGS__), (s))
#endif

#define WR_ASSERT(c) ((c) ? (void)0 : wr_die(__FILE__, __LINE__, "assertion failed: %s", #c))
#define WR_UNREACHABLE() wr_die(__FILE__, __LINE__, "unreachable")
#define WR_TRY(expr)                                                                               \
    do {                                                                                           \
        Status wr_try_s_ = (expr);                                                                 \
        if (wr_try_s_ != WR_OK)                                                                    \
            return wr_try_s_;                                                                      \
    } while (0)

/* ---- arena.c ---- */

/* Bump allocator: everything a Graph owns lives here and is freed at once. */
typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
    ArenaBlock *head;
    size_t total;
} Arena;

void *arena_alloc(Arena *a, size_t n); /* zeroed, 64-byte aligned; aborts when out of memory */
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(Arena *a);

/* ---- dtype.c (table in dtypes.def) ---- */

typedef enum {
    DT_UNDEF = 0,
#define DT(ID, onnx, bytes, ctype, name) DT_##ID,
#include "dtypes.def"
#undef DT
    DT_COUNT
} DType;

typedef struct DTypeInfo {
    int onnx;          /* TensorProto.DataType value */
    int bytes;         /* element size */
    const char *ctype; /* C type in generated code */
    const char *name;
} DTypeInfo;

extern const DTypeInfo dtype_info[DT_COUNT];
DType dtype_from_onnx(int onnx_type); /* DT_UNDEF when unknown */
bool dtype_is_float(DType t);
bool dtype_is_signed_int(DType t);
/* float16, bfloat16, float8*, float4e2m1: stored as codes (runtime/wrpnc_float.h) */
bool dtype_is_narrow_float(DType t);
/* Case labels of the narrow float dtypes, for switches over DType (the last label
 * without its colon: write `DT_NARROW_FLOAT_CASES:`). */
#define DT_NARROW_FLOAT_CASES                                                                      \
    case DT_F16:                                                                                   \
    case DT_BF16:                                                                                  \
    case DT_F8E4M3FN:                                                                              \
    case DT_F8E4M3FNUZ:                                                                            \
    case DT_F8E5M2:                                                                                \
    case DT_F8E5M2FNUZ:                                                                            \
    case DT_F4E2M1:                                                                                \
    case DT_F8E8M0
/* Element i of a narrow-float buffer as a double; v rounded into one (sat:
 * float8 overflow clamps; round_mode: float8e8m0's WRPNC_E8M0_*). */
double dtype_narrow_get(DType t, const void *p, int64_t i);
void dtype_narrow_set(DType t, void *p, int64_t i, double v, bool sat, int round_mode);
/* 4 or 2 for the sub-byte types (packed in ONNX files: int4/uint4/int2/uint2 and
 * float4e2m1), else 0 */
int dtype_subbyte_bits(DType t);
/* Element i of a buffer of type t, as double / int64 (for attribute-like data). */
double dtype_get_f64(DType t, const void *p, int64_t i);
int64_t dtype_get_i64(DType t, const void *p, int64_t i);
void dtype_set_f64(DType t, void *p, int64_t i, double v);

/* ---- qtype.c: quantized tensors (docs/quantization.md) ----
 *
 * A tensor of integer codes carries its quantization: element q (integer in
 * [lo, hi]) stands for the value (q - zp) * scale[c], c its index along dim 1
 * when nscale > 1 (per channel), or, for bipolar codes q in {0, 1}, for
 * (2q - 1) * scale. Its Layout (layouts.def) says how the codes are stored; the
 * dims stay the logical ones (N, C, spatial...). Plain tensors have q = NULL. */
typedef struct QType {
    int bits;          /* storage width of one code: 1..8 */
    bool is_signed;    /* two's complement codes (lo < 0) */
    bool bipolar;      /* {0, 1} stands for {-scale, +scale} */
    int32_t lo, hi;    /* code range */
    int32_t zp;        /* zero point */
    int64_t nscale;    /* 1, or one scale per channel (dim 1) */
    const float *scale;
    const float *divisor; /* non-NULL: value = (code - zp) / divisor[c] (written as Div(N)) */
} QType;

typedef enum {
#define LAYOUT(ID, fn, name) LAYOUT_##ID,
#include "layouts.def"
#undef LAYOUT
    LAYOUT_COUNT
} Layout;

/* ---- graph.c ---- */

enum { IR_MAX_DIMS = 8 };

struct Tensor {
    const char *name;     /* ONNX name, in the arena */
    DType dtype;
    int ndim;             /* -1 while unknown */
    int64_t dim[IR_MAX_DIMS];
    void *data;           /* constant contents (initializer or folded), else NULL */
    Node *producer;       /* NULL for graph inputs and constants */
    int nuse;             /* number of node inputs that read it */
    int id;               /* index in g->tensor */
    int input_index;      /* position in g->input, or -1 */
    int output_index;     /* position in g->output, or -1 */
    int64_t offset;       /* workspace offset set by memplan, -1 if none */
    int alias_of;         /* tensor id whose storage this one shares (views), or -1 */
    const char *sym_dim[IR_MAX_DIMS]; /* symbolic names of unknown dims (graph inputs) */
    const QType *q;       /* codes of a quantizer, or NULL for plain values */
    Layout layout;        /* how the elements are stored (LAYOUT_DENSE: row-major) */
    int64_t group;        /* channel groups of a packed layout (1 otherwise) */
    bool scratch;         /* a kernel's workspace output (ir/scratch.c), not ONNX's */
};

/* ONNX attribute types keep their AttributeProto enum values. */
typedef enum {
    ATTR_UNDEF = 0,
    ATTR_FLOAT = 1,
    ATTR_INT = 2,
    ATTR_STRING = 3,
    ATTR_TENSOR = 4,
    ATTR_GRAPH = 5,
    ATTR_FLOATS = 6,
    ATTR_INTS = 7,
    ATTR_STRINGS = 8,
} AttrType;

typedef struct Attr {
    const char *name;
    AttrType type;
    int64_t i;
    float f;
    const char *s;     /* STRING: NUL-terminated copy */
    int n;             /* FLOATS / INTS / STRINGS count */
    int64_t *ints;
    float *floats;
    const char **strings;
    Tensor *t;         /* TENSOR: a detached constant tensor */
    const struct SubGraph *sub; /* GRAPH: the subgraph, names only (ir/subgraph.h) */
} Attr;

/* Activation fused into a producer's epilogue by passes/fuse_act.c. */
typedef enum { ACT_NONE = 0, ACT_RELU, ACT_CLIP, ACT_LEAKY_RELU, ACT_SIGMOID, ACT_HARD_SWISH } Act;

struct Node {
    int op;               /* OpKind */
    const char *name;     /* ONNX node name, or a generated "op_N" */
    const char *domain;
    int64_t opset;        /* opset version of the node's domain */
    int nin, nout;
    Tensor **in;          /* NULL entry = optional input absent */
    Tensor **out;
    int nattr;
    Attr *attr;
    int id;               /* position in g->node */
    const char *why_float; /* Conv / Gemm / MatMul left in float: why (passes/quantize.c);
                            * a QOperator layer left on its plain loops (quant_qop.c) */
    Act act;              /* fused epilogue */
    float act_lo, act_hi; /* ACT_CLIP bounds, ACT_LEAKY_RELU alpha in act_lo */
    void *priv;           /* op-private data set by the op's infer (in the arena) */
    const char *bad_attr; /* set by an attribute getter that met the wrong type */
    AttrType bad_attr_want;
};

struct Graph {
    Arena arena;
    const char *name;
    const char *path;     /* model file, for diagnostics */
    Node **node;
    int nnode, cap_node;
    Tensor **tensor;
    int ntensor, cap_tensor;
    Tensor **input;
    int ninput;
    Tensor **output;
    int noutput;
    int64_t opset;        /* default-domain opset version */
    int64_t ws_bytes;     /* workspace size, set by memplan */
    int *hash;            /* name -> tensor id, open addressing */
    int hash_cap;
    int name_seq;         /* counter for generated names */
};

Graph *ir_graph_new(const char *name);
void ir_graph_free(Graph *g);
/* Returns the tensor named name, creating it when create is true; NULL otherwise. */
Tensor *ir_tensor_get(Graph *g, const char *name, bool create);
/* A new tensor with a fresh unique name derived from hint. */
Tensor *ir_tensor_fresh(Graph *g, const char *hint);
Node *ir_node_new(Graph *g, int op, const char *name, int nin, int nout);
/* Re-point node input slot i to t, keeping nuse counts current. */
void ir_node_set_input(Node *n, int i, Tensor *t);
/* Recompute producers, nuse counts and ids after structural edits. */
void ir_graph_relink(Graph *g);
/* Drop nodes whose outputs nobody reads (and are not graph outputs); keeps order. */
int ir_graph_remove_dead(Graph *g);
/* Replace every use of old (node inputs and graph outputs) by t. */
void ir_graph_replace_uses(Graph *g, Tensor *old, Tensor *t);

int64_t ir_tensor_numel(const Tensor *t);
int64_t ir_tensor_bytes(const Tensor *t);
/* numel of dims, or -1 on overflow past 2^62 or a negative dim */
int64_t ir_shape_numel(int ndim, const int64_t *dim);
/* Sets dtype and shape; the tensor holds plain dense values (q = NULL). */
void ir_tensor_set_shape(Tensor *t, DType dtype, int ndim, const int64_t *dim);
/* Makes t (shape set) a tensor of codes of type q stored in layout l with group
 * channel groups; its dtype becomes the layout's storage type. */
void ir_tensor_set_codes(Tensor *t, const QType *q, Layout l, int64_t group);
/* Product of the dims after the first two (1 for rank <= 2). */
int64_t ir_tensor_pixels(const Tensor *t);
bool ir_tensor_is_const(const Tensor *t);
/* Allocates zeroed constant storage for t in the arena (shape must be set). */
void *ir_tensor_alloc_data(Graph *g, Tensor *t);
/* "1x3x224x224" into buf */
const char *ir_shape_str(const Tensor *t, char *buf, size_t n);

/* ---- attr.c ---- */

const Attr *ir_attr_find(const Node *n, const char *name);
/* Getters return def when the attribute is absent; a wrong type records n->bad_attr. */
int64_t ir_attr_int(Node *n, const char *name, int64_t def);
float ir_attr_float(Node *n, const char *name, float def);
const char *ir_attr_str(Node *n, const char *name, const char *def);
/* INTS / FLOATS: count returned, -1 when absent; *out points into the arena. */
int ir_attr_ints(Node *n, const char *name, const int64_t **out);
int ir_attr_floats(Node *n, const char *name, const float **out);
Tensor *ir_attr_tensor(Node *n, const char *name);
const char *ir_attr_type_name(AttrType t);
/* Setters for passes that build or rewrite nodes (replace a present attribute). */
void ir_attr_set_int(Graph *g, Node *n, const char *name, int64_t v);
void ir_attr_set_float(Graph *g, Node *n, const char *name, float v);
void ir_attr_set_str(Graph *g, Node *n, const char *name, const char *v);
void ir_attr_set_floats(Graph *g, Node *n, const char *name, int count, const float *v);
void ir_attr_remove(Graph *g, Node *n, const char *name);
/* Copies src's attribute name (if any) to dst. */
void ir_attr_copy(Graph *g, Node *dst, const Node *src, const char *name);

/* ---- op.c (table in ops.def) ---- */

typedef enum {
#define OP(ID, fn, name, domain, imin, imax, omin, omax, flags) OP_##ID,
#include "ops.def"
#undef OP
    OP_COUNT
} OpKind;

enum {
    OPF_ELTWISE = 1 << 0,    /* same-shape elementwise: output i depends on input i */
    OPF_VIEW = 1 << 1,       /* output is the input's bytes reshaped (Reshape, Flatten ...) */
    OPF_SHAPE_ONLY = 1 << 2, /* folds from input shapes alone (Shape, Size) */
    OPF_NOFOLD = 1 << 3,     /* never constant-fold */
    OPF_INPLACE = 1 << 4,    /* output may share the first input's storage */
    OPF_DATA_IN0 = 1 << 5,   /* reads only input 0's data; the rest give types or shapes */
    OPF_CODES = 1 << 6,      /* moves or selects elements: on dense codes (all data inputs
                              * of one QType) its output holds codes of that type */
    OPF_EXPAND = 1 << 7,     /* infer replaces the node by plain nodes (control flow) */
    OPF_SCRATCH = 1 << 8,    /* infer adds output slot max_out: workspace (ir/scratch.c) */
    OPF_QLINEAR = 1 << 9,    /* ONNX Runtime's QOperator layer (QLinearParams): integer;
                              * passes/quant_qop.c lowers it onto QConv where it can */
};

/* Checks attributes and inputs and sets output dtypes and shapes. */
typedef Status (*InferFn)(Graph *g, Node *n, Diag *d);
/* Reference evaluation: in[i] / out[i] are the data of n->in[i] / n->out[i]. */
typedef Status (*EvalFn)(const Node *n, void *const *in, void *const *out, Diag *d);

typedef struct OpInfo {
    const char *name;   /* ONNX op_type */
    const char *domain; /* "" for the default domain */
    int min_in, max_in, min_out, max_out;
    unsigned flags;
    InferFn infer;
    EvalFn eval;
} OpInfo;

extern const OpInfo op_info[OP_COUNT];
/* The op for (domain, op_type), or -1. */
int op_lookup(const char *domain, const char *op_type);
const char *op_name(const Node *n);

#define OP(ID, fn, name, domain, imin, imax, omin, omax, flags)                                    \
    Status op_##fn##_infer(Graph *g, Node *n, Diag *d);                                            \
    Status op_##fn##_eval(const Node *n, void *const *in, void *const *out, Diag *d);
#include "ops.def"
#undef OP

/* ---- infer.c ---- */

typedef struct InferOptions {
    int64_t fold_limit_bytes; /* largest tensor constant folding may create */
} InferOptions;

/* Shape inference over the whole graph in order, folding constant subgraphs
 * on the way so that data-dependent shapes (Reshape targets...) resolve. */
Status ir_infer(Graph *g, const InferOptions *opt, Diag *d);
/* Re-infers one node after a pass changed it or made it: arity and attribute
 * checks, the op's infer, output checks, QTypes through OPF_CODES ops. The one
 * entry point passes use (never an op's infer directly). */
Status ir_infer_node(Graph *g, Node *n, Diag *d);
/* Whether n (an OPF_CODES op), reading the dense code tensors codes[i] in place of its
 * data inputs, writes codes of their type: one QType for all, MaxPool's Indices unread,
 * per-channel scales only where dims 0 and 1 stay. */
bool ir_codes_through(const Node *n, Tensor *const *codes);
/* Shape helpers for op infer functions. */
Status ir_broadcast_shape(const Node *n, int na, const int64_t *a, int nb, const int64_t *b,
                          int *nout, int64_t *out, Diag *d);
/* Normalizes a possibly negative axis against rank; error when out of range. */
Status ir_norm_axis(const Node *n, int64_t axis, int rank, int *out, Diag *d);
/* The constant data of input i, or an error naming it. */
Status ir_const_input(const Node *n, int i, const void **data, Diag *d);

/* ---- promote.c ---- */

/* Before node pos is inferred: inserts Casts to float32 before it for its narrow
 * float inputs; returns how many (node pos moved that far). *narrow: the type
 * its float32 outputs go back to (its first narrow operand's), or DT_UNDEF. */
int ir_promote_inputs(Graph *g, int pos, DType *narrow);
/* After node pos is inferred: its float32 outputs become Casts to narrow placed
 * right after it; returns how many. */
int ir_promote_outputs(Graph *g, int pos, DType narrow);

/* ---- broadcast.c ---- */

enum { IR_BCAST_MAX = 16 };

/* Loops over a broadcast output: dims of size 1 dropped, and adjacent dims
 * merged where every operand walks them alike (both contiguous or both
 * broadcast), so same-shape operands need one flat dim. stride[k][j] is the
 * element stride of operand k along dim j, 0 where it is broadcast; the
 * output is contiguous (ystride). ndim 0 means a single element. */
typedef struct Bcast {
    int ndim, nop;
    int64_t dim[IR_MAX_DIMS];
    int64_t ystride[IR_MAX_DIMS];
    int64_t stride[IR_BCAST_MAX][IR_MAX_DIMS];
} Bcast;

/* Plans operands x[0..nop) (NULL entries: scalars) against output shape y. */
void ir_bcast_plan(Bcast *b, const Tensor *y, int nop, const Tensor *const *x);
/* Element index in operand k for flat output index i. */
int64_t ir_bcast_index(const Bcast *b, int k, int64_t i);

/* ---- qtype.c ---- */

/* A QType in g's arena over the range [lo, hi] (bits, signedness derived), scale copied. */
QType *qtype_new(Graph *g, int32_t lo, int32_t hi, bool bipolar, int32_t zp, int64_t nscale,
                 const float *scale);
/* The range of a bits-wide grid: signed two's complement (narrow: without its most
 * negative code) or unsigned (narrow: without its top code), as QONNX defines it. */
void qtype_range(int bits, bool is_signed, bool narrow, int32_t *lo, int32_t *hi);
/* The same type with values computed as (code - zp) / divisor (nscale values). */
QType *qtype_with_divisor(Graph *g, const QType *q, const float *divisor);
float qtype_scale(const QType *q, int64_t c);
/* The value code q of channel c stands for (in float32, as the dequantizers compute it). */
float qtype_value(const QType *q, int64_t c, int32_t code);
/* Same codes standing for the same values. */
bool qtype_equal(const QType *a, const QType *b);
/* "u2", "s2n" (narrow signed), "bip", "u8 zp 128", plus the scale ("s 0.333" or "s[64]"). */
const char *qtype_str(const QType *q, char *buf, size_t n);
/* dtype of codes stored one per byte: int8 for signed codes, uint8 otherwise. */
DType qtype_byte_dtype(const QType *q);

/* ---- layout.c (table in layouts.def) ---- */

typedef struct LayoutInfo {
    const char *name;
    /* storage bytes of t (codes of type t->q, dims N, C, spatial...) */
    int64_t (*bytes)(const Tensor *t);
    /* reference unpack: the code of image n, channel c, flat pixel p */
    int32_t (*get)(const Tensor *t, const void *buf, int64_t n, int64_t c, int64_t p);
    /* reference pack into storage that started zeroed */
    void (*put)(const Tensor *t, void *buf, int64_t n, int64_t c, int64_t p, int32_t code);
} LayoutInfo;

extern const LayoutInfo layout_info[LAYOUT_COUNT];
/* The layout named s, or -1. */
int layout_lookup(const char *s);
/* Storage dtype of codes of type q in layout l. */
DType layout_dtype(Layout l, const QType *q);
/* Channels per group, 64-bit words per plane, bytes per pixel (PLANES / BYTES geometry). */
int64_t layout_cg(const Tensor *t);
int64_t layout_plane_words(const Tensor *t);
int64_t layout_pixel_bytes(const Tensor *t);
/* Makes t (shape set) codes of type q in the layout and group that n's attributes
 * layout_attr (a layout name, default dense) and group_attr (default 1) say. */
Status layout_set_output(Node *n, const char *layout_attr, const char *group_attr, Tensor *t,
                         const QType *q, Diag *d);

/* ---- interp.c ---- */

/* Runs the graph on inputs (in g->input order); writes outputs (g->output order)
 * into caller buffers of the right byte size. */
Status ir_interp_run(Graph *g, void *const *inputs, void *const *outputs, Diag *d);

/* ---- dump.c ---- */

#include <stdio.h>
void ir_dump(const Graph *g, FILE *f);

/* ---- verify.c ---- */

/* Structural invariants: order, producers, use counts, shapes known. */
Status ir_verify(const Graph *g, Diag *d);

#endif
