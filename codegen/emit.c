/*
 * emit.c: writes NAME.c and NAME.h from a planned graph (memplan has given
 * every intermediate tensor a workspace offset). Each node becomes one static
 * function whose parameters are the tensors it touches; NAME_run calls them in
 * order with pointers into the inputs, outputs, constants and the workspace.
 *
 * Generated-code contract: C99, no malloc, no mutable globals, libc + libm
 * only, every external symbol prefixed by NAME, macros upper-cased NAME_.
 * Constants go inline, to NAME_weights.c (--weights c) or to the binary
 * NAME.bin (--weights blob: 64-byte aligned, little-endian, read through the
 * `weights` argument of NAME_run). Names from the model are escaped before
 * they reach comments or string literals.
 */
#include "codegen.h"

#include <ctype.h>
#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef Status (*EmitFn)(Emitter *e, const Node *n, Diag *d);

static const EmitFn emit_fn[OP_COUNT] = {
#define OP(ID, fn, name, domain, imin, imax, omin, omax, flags) [OP_##ID] = cg_##fn##_emit,
#include "ops.def"
#undef OP
};

const char *cg_ctype(DType t) { return dtype_info[t].ctype; }

const char *cg_in(Emitter *e, int i)
{
    WR_ASSERT(i < e->node->nin && i < CG_MAX_PARAMS && e->node->in[i]);
    e->in_used[i] = true;
    static const char *names[] = {"in0",  "in1",  "in2",  "in3",  "in4",  "in5",  "in6",  "in7",
                                  "in8",  "in9",  "in10", "in11", "in12", "in13", "in14", "in15"};
    if (i < 16)
        return names[i];
    return arena_printf(&((Graph *)e->g)->arena, "in%d", i);
}

const char *cg_out(Emitter *e, int i)
{
    WR_ASSERT(i < e->node->nout && i < CG_MAX_PARAMS && e->node->out[i]);
    e->out_used[i] = true;
    static const char *names[] = {"out0", "out1", "out2", "out3", "out4", "out5", "out6", "out7"};
    if (i < 8)
        return names[i];
    return arena_printf(&((Graph *)e->g)->arena, "out%d", i);
}

void cg_helper(Emitter *e, const char *key, const char *text)
{
    for (int i = 0; i < e->nonce; i++)
        if (strcmp(e->once[i], key) == 0)
            return;
    if (e->nonce == e->cap_once) {
        e->cap_once = e->cap_once ? e->cap_once * 2 : 32;
        const char **p = realloc(e->once, sizeof *p * (size_t)e->cap_once);
        if (!p)
            wr_die(__FILE__, __LINE__, "out of memory");
        e->once = p;
    }
    e->once[e->nonce++] = key;
    buf_puts(&e->helpers, text);
    buf_puts(&e->helpers, "\n");
}

const char *cg_comment_safe(const Emitter *e, const char *s)
{
    char *out = arena_strdup(&((Graph *)e->g)->arena, s);
    for (char *p = out; *p; p++) {
        unsigned char c = (unsigned char)*p;
        /* '*' and '/' could close or open a comment, '?' start a trigraph,
         * '\\' splice lines; control and non-ASCII bytes stay out too. */
        if (c < 0x20 || c >= 0x7f || c == '*' || c == '?' || c == '\\')
            *p = '_';
    }
    return out;
}

/* s as a C string literal: printable ASCII kept, the rest as octal escapes. */
static void string_literal(Buf *b, const char *s)
{
    buf_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '?')
            buf_printf(b, "\\%03o", c);
        else
            buf_printf(b, "%c", c);
    }
    buf_puts(b, "\"");
}

void cg_literal(Buf *b, DType t, const void *data, int64_t i)
{
    switch (t) {
    case DT_F32:
    case DT_F64: {
        double v = dtype_get_f64(t, data, i);
        const char *cast = t == DT_F64 ? "(double)" : ""; /* NAN, INFINITY are floats */
        if (v != v)
            buf_printf(b, "%sNAN", cast);
        else if (isinf(v))
            buf_printf(b, "%s%sINFINITY", v > 0 ? "" : "-", cast);
        else /* hex floats are exact and C99 */
            buf_printf(b, "%a%s", v, t == DT_F32 ? "f" : "");
        return;
    }
    case DT_I64: {
        int64_t v = ((const int64_t *)data)[i];
        if (v == INT64_MIN)
            buf_puts(b, "(-INT64_C(9223372036854775807) - 1)");
        else
            buf_printf(b, "INT64_C(%lld)", (long long)v);
        return;
    }
    case DT_U64: buf_printf(b, "UINT64_C(%llu)", (unsigned long long)((const uint64_t *)data)[i]); return;
    case DT_U32: buf_printf(b, "%luu", (unsigned long)((const uint32_t *)data)[i]); return;
    case DT_I32: {
        int32_t v = ((const int32_t *)data)[i];
        if (v == INT32_MIN)
            buf_puts(b, "(-2147483647 - 1)");
        else
            buf_printf(b, "%ld", (long)v);
        return;
    }
    case DT_U8:
    case DT_I8:
    case DT_U16:
    case DT_I16:
    case DT_U4:
    case DT_I4:
    case DT_U2:
    case DT_I2:
    case DT_BOOL: buf_printf(b, "%lld", (long long)dtype_get_i64(t, data, i)); return;
    case DT_F16: /* narrow floats: their storage codes */
    case DT_BF16: buf_printf(b, "%u", (unsigned)((const uint16_t *)data)[i]); return;
    case DT_F8E4M3FN:
    case DT_F8E4M3FNUZ:
    case DT_F8E5M2:
    case DT_F8E5M2FNUZ:
    case DT_F4E2M1:
    case DT_F8E8M0: buf_printf(b, "%u", (unsigned)((const uint8_t *)data)[i]); return;
    case DT_UNDEF:
    case DT_COUNT: break;
    }
    WR_UNREACHABLE();
}

/* ---- constants ---- */

static void array_body(Buf *b, DType dtype, const void *data, int64_t count)
{
    buf_puts(b, " = {");
    for (int64_t i = 0; i < count; i++) {
        buf_puts(b, i % 8 ? ", " : (i ? ",\n    " : "\n    "));
        cg_literal(b, dtype, data, i);
    }
    if (count == 0)
        buf_puts(b, "0");
    buf_puts(b, "\n};\n");
}

static void blob_reserve(Buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        wr_die(__FILE__, __LINE__, "out of memory");
    b->p = p;
    b->cap = cap;
}

/* Appends count elements at the next 64-byte boundary, little-endian whatever
 * the host; returns their offset. Every constant takes at least 64 bytes, so
 * no two share an address and none sits at the blob's end. */
static int64_t blob_append(Buf *b, DType dtype, const void *data, int64_t count)
{
    const union { uint16_t u; unsigned char c[2]; } probe = {1};
    size_t esz = (size_t)dtype_info[dtype].bytes, bytes = (size_t)count * esz;
    size_t off = b->len, span = (bytes + 63) / 64 * 64;
    blob_reserve(b, span ? span : 64);
    memset(b->p + off, 0, span ? span : 64);
    const unsigned char *src = data;
    for (size_t i = 0; i < bytes; i += esz)
        for (size_t k = 0; k < esz; k++)
            b->p[off + i + k] = (char)src[i + (probe.c[0] ? k : esz - 1 - k)];
    b->len = off + (span ? span : 64);
    return (int64_t)off;
}

/* Bytes as a C string literal: printable characters as they are, the rest as
 * three-digit octal escapes (which cannot swallow a following digit). Large
 * constants go this way: compilers read a string literal ~100x faster and with
 * ~10x less memory than an initializer list of the same values. */
static void byte_string(Buf *b, const unsigned char *p, size_t n)
{
    buf_puts(b, "\n    \"");
    for (size_t i = 0, col = 0; i < n; i++) {
        unsigned c = p[i];
        char tmp[8];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?')
            tmp[0] = (char)c, tmp[1] = 0;
        else
            snprintf(tmp, sizeof tmp, "\\%03o", c);
        buf_puts(b, tmp);
        col += strlen(tmp);
        if (col >= 96 && i + 1 < n) {
            buf_puts(b, "\"\n    \"");
            col = 0;
        }
    }
    buf_puts(b, "\"");
}

enum { BYTES_AS_STRING = 1024 }; /* constants at least this large are emitted as strings */

/* Before definitions defs that hold string-literal constants: such literals
 * pass the 4095 bytes C99 promises to support; gcc and clang take any length
 * but say so under -Wpedantic. */
static void overlength_pragma(Buf *out, const Buf *defs)
{
    if (defs->p && strstr(defs->p, " = {\n    \""))
        buf_puts(out, "#if defined(__GNUC__)\n"
                      "#pragma GCC diagnostic ignored \"-Woverlength-strings\"\n#endif\n");
}

/* A constant as a union of its bytes (initialized from a string) and its
 * elements; returns the expression naming the elements. */
static const char *string_array(Emitter *e, Buf *decl, Buf *def, const char *name, DType dtype,
                                const void *data, int64_t count)
{
    size_t bytes = (size_t)count * (size_t)dtype_info[dtype].bytes;
    char type[512];
    snprintf(type, sizeof type, "union %s_u { unsigned char b[%zu]; %s v[%lld]; }", name, bytes,
             cg_ctype(dtype), (long long)count);
    if (def != decl)
        buf_printf(decl, "extern const %s %s;\n", type, name);
    buf_printf(def, "%sconst %s %s = {", def == decl ? "static " : "", type, name);
    byte_string(def, data, bytes);
    buf_puts(def, "};\n");
    return arena_printf(&((Graph *)e->g)->arena, "%s.v", name);
}

const char *cg_const_array(Emitter *e, const char *hint, DType dtype, const void *data,
                           int64_t count)
{
    Arena *A = &((Graph *)e->g)->arena;
    const char *name = arena_printf(A, "%s_%s%d", e->opt->name, hint, e->nconst++);
    int64_t n = count ? count : 1;
    if (e->opt->weights == WEIGHTS_BLOB) {
        int64_t off = blob_append(&e->blob, dtype, data, count);
        e->wts_used = true;
        return arena_printf(A, "((const %s *)(wts + %lld))", cg_ctype(dtype), (long long)off);
    }
    Buf *def = e->opt->weights == WEIGHTS_C ? &e->weights_c : &e->consts;
    if (count * dtype_info[dtype].bytes >= BYTES_AS_STRING)
        return string_array(e, &e->consts, def, name, dtype, data, count);
    if (e->opt->weights == WEIGHTS_C) {
        buf_printf(&e->consts, "extern const %s %s[%lld];\n", cg_ctype(dtype), name, (long long)n);
        buf_printf(&e->weights_c, "const %s %s[%lld]", cg_ctype(dtype), name, (long long)n);
        array_body(&e->weights_c, dtype, data, count);
    } else {
        buf_printf(&e->consts, "static const %s %s[%lld]", cg_ctype(dtype), name, (long long)n);
        array_body(&e->consts, dtype, data, count);
    }
    return name;
}

/* ---- tensor storage ---- */

typedef struct Refs {
    const char **ref; /* per tensor id: C expression of its storage inside NAME_run */
} Refs;

static const Tensor *alias_root(const Graph *g, const Tensor *t)
{
    while (t->alias_of >= 0)
        t = g->tensor[t->alias_of];
    return t;
}

static const char *tensor_ref(Emitter *e, Refs *r, const Tensor *t)
{
    if (r->ref[t->id])
        return r->ref[t->id];
    Arena *A = &((Graph *)e->g)->arena;
    const char *ct = cg_ctype(t->dtype), *s;
    const Tensor *root = alias_root(e->g, t);
    if (t->data)
        s = cg_const_array(e, "c", t->dtype, t->data, ir_tensor_numel(t));
    else if (t->input_index >= 0) /* also a graph output: copied there after the nodes */
        s = arena_printf(A, "input_%d", t->input_index);
    else if (t->output_index >= 0)
        s = arena_printf(A, "output_%d", t->output_index);
    else if (root != t && root->input_index >= 0)
        s = arena_printf(A, "((const %s *)input_%d)", ct, root->input_index);
    else {
        WR_ASSERT(root->offset >= 0);
        s = arena_printf(A, "((%s *)(ws + %lld))", ct, (long long)root->offset);
    }
    r->ref[t->id] = s;
    return s;
}

/* ---- node functions ---- */

static void node_comment(const Emitter *e, Buf *b, const Node *n)
{
    char s[128];
    buf_printf(b, "/* node %d: %s '%s'", n->id, op_name(n), cg_comment_safe(e, n->name));
    for (int i = 0; i < n->nin; i++)
        if (n->in[i])
            buf_printf(b, " %s(%s)", n->in[i]->data ? "c" : "x",
                       ir_shape_str(n->in[i], s, sizeof s));
    buf_puts(b, " ->");
    for (int i = 0; i < n->nout; i++)
        if (n->out[i])
            buf_printf(b, " (%s)", ir_shape_str(n->out[i], s, sizeof s));
    buf_puts(b, " */\n");
}

static void signature(Emitter *e, const Node *n, Buf *b)
{
    buf_printf(b, "static void %s_node%d(", e->opt->name, n->id);
    const char *sep = "";
    for (int i = 0; i < n->nin; i++)
        if (e->in_used[i]) {
            buf_printf(b, "%sconst %s *in%d", sep, cg_ctype(n->in[i]->dtype), i);
            sep = ", ";
        }
    for (int i = 0; i < n->nout; i++)
        if (e->out_used[i]) {
            buf_printf(b, "%s%s *out%d", sep, cg_ctype(n->out[i]->dtype), i);
            sep = ", ";
        }
    if (e->wts_used)
        buf_printf(b, "%sconst unsigned char *wts", sep);
    else if (!*sep)
        buf_puts(b, "void");
    buf_puts(b, ")\n{\n");
}

static void call(Emitter *e, Refs *r, const Node *n, bool wts)
{
    buf_printf(&e->run, "    %s_node%d(", e->opt->name, n->id);
    const char *sep = "";
    for (int i = 0; i < n->nin; i++)
        if (e->in_used[i]) {
            buf_printf(&e->run, "%s%s", sep, tensor_ref(e, r, n->in[i]));
            sep = ", ";
        }
    for (int i = 0; i < n->nout; i++)
        if (e->out_used[i]) {
            buf_printf(&e->run, "%s%s", sep, tensor_ref(e, r, n->out[i]));
            sep = ", ";
        }
    if (wts)
        buf_printf(&e->run, "%swts", sep);
    buf_puts(&e->run, ");\n");
}

static bool is_view(const Node *n)
{
    return (op_info[n->op].flags & OPF_VIEW) && n->out[0] && n->out[0]->alias_of >= 0;
}

/* A node whose outputs hold no element has nothing to compute. */
static bool empty_outputs(const Node *n)
{
    for (int i = 0; i < n->nout; i++)
        if (n->out[i] && ir_tensor_numel(n->out[i]) > 0)
            return false;
    return true;
}

static Status emit_node(Emitter *e, Refs *r, const Node *n, Diag *d)
{
    if (is_view(n)) {
        buf_printf(&e->run, "    /* node %d: %s '%s' is a view, no code */\n", n->id, op_name(n),
                   cg_comment_safe(e, n->name));
        return WR_OK;
    }
    if (empty_outputs(n)) {
        buf_printf(&e->run, "    /* node %d: %s '%s' has empty outputs, no code */\n", n->id,
                   op_name(n), cg_comment_safe(e, n->name));
        return WR_OK;
    }
    e->node = n;
    memset(e->in_used, 0, sizeof e->in_used);
    memset(e->out_used, 0, sizeof e->out_used);
    e->body.len = 0;
    if (e->body.p)
        e->body.p[0] = 0;
    e->cur = &e->body;
    e->indent = 1;
    e->wts_used = false;
    WR_TRY(emit_fn[n->op](e, n, d));
    bool wts = e->wts_used;
    WR_ASSERT(e->indent == 1);
    node_comment(e, &e->fns, n);
    signature(e, n, &e->fns);
    buf_puts(&e->fns, e->body.p ? e->body.p : "");
    buf_puts(&e->fns, "}\n\n");
    call(e, r, n, wts);
    return WR_OK;
}

/* Graph outputs no node writes (constants, graph inputs) are copied in. */
static void copy_outputs(Emitter *e, Refs *r)
{
    for (int i = 0; i < e->g->noutput; i++) {
        const Tensor *t = e->g->output[i];
        if (t->producer)
            continue;
        const char *src;
        if (t->data)
            src = cg_const_array(e, "c", t->dtype, t->data, ir_tensor_numel(t));
        else {
            WR_ASSERT(t->input_index >= 0);
            src = arena_printf(&((Graph *)e->g)->arena, "input_%d", t->input_index);
        }
        buf_printf(&e->run, "    memcpy(output_%d, %s, %lld);\n", i, src,
                   (long long)ir_tensor_bytes(t));
    }
}

/* ---- the header ---- */

static void upper(char *dst, const char *src, size_t n)
{
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++)
        dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = 0;
}

static void io_macros(Buf *h, const char *P, const char *kind, int i, const Tensor *t)
{
    buf_printf(h, "#define %s_%s_%d_NAME ", P, kind, i);
    string_literal(h, t->name);
    buf_puts(h, "\n");
    buf_printf(h, "#define %s_%s_%d_DTYPE \"%s\"\n", P, kind, i, dtype_info[t->dtype].name);
    buf_printf(h, "#define %s_%s_%d_RANK %d\n", P, kind, i, t->ndim);
    buf_printf(h, "#define %s_%s_%d_SHAPE {", P, kind, i);
    for (int k = 0; k < t->ndim; k++)
        buf_printf(h, "%s%lld", k ? ", " : "", (long long)t->dim[k]);
    buf_printf(h, "%s}\n", t->ndim ? "" : "1");
    buf_printf(h, "#define %s_%s_%d_COUNT %lld\n", P, kind, i, (long long)ir_tensor_numel(t));
    buf_printf(h, "#define %s_%s_%d_BYTES %lld\n", P, kind, i, (long long)ir_tensor_bytes(t));
}

static void bytes_list(Buf *h, const char *P, const char *kind, Tensor *const *ts, int n)
{
    buf_printf(h, "#define %s_%s_BYTES_LIST {", P, kind);
    for (int i = 0; i < n; i++)
        buf_printf(h, "%s%lld", i ? ", " : "", (long long)ir_tensor_bytes(ts[i]));
    buf_printf(h, "%s}\n", n ? "" : "0");
}

static void run_params(Buf *b, const Emitter *e)
{
    const Graph *g = e->g;
    for (int i = 0; i < g->ninput; i++)
        buf_printf(b, "const %s *input_%d, ", cg_ctype(g->input[i]->dtype), i);
    for (int i = 0; i < g->noutput; i++)
        buf_printf(b, "%s *output_%d, ", cg_ctype(g->output[i]->dtype), i);
    buf_puts(b, e->opt->weights == WEIGHTS_BLOB ? "void *workspace, const void *weights"
                                                 : "void *workspace");
}

/* Inputs and outputs of narrow float types travel as their bit codes. */
static void narrow_io_comment(const Emitter *e, Buf *h)
{
    bool any = false;
    for (int i = 0; i < e->g->ninput + e->g->noutput; i++) {
        bool in = i < e->g->ninput;
        const Tensor *t = in ? e->g->input[i] : e->g->output[i - e->g->ninput];
        if (!dtype_is_narrow_float(t->dtype))
            continue;
        if (!any)
            buf_puts(h, " *\n * Narrow float tensors are passed as their bit codes, one per storage\n"
                        " * element (float16, bfloat16: uint16_t; float8*, float4e2m1: uint8_t,\n"
                        " * the float4 code in the low 4 bits); ops compute them in float32:\n");
        any = true;
        buf_printf(h, " *   %s_%d %s (%s)\n", in ? "input" : "output",
                   in ? i : i - e->g->ninput, dtype_info[t->dtype].name, cg_ctype(t->dtype));
    }
}

static void header_comment(const Emitter *e, Buf *h, const char *P)
{
    const char *N = e->opt->name;
    buf_printf(h, "/* %s.h: generated by wrpnc from %s. Do not edit.\n *\n", N,
               cg_comment_safe(e, e->opt->source));
    buf_printf(h, " * Call %s_run with the inputs, the outputs and a workspace of\n"
                  " * %s_WORKSPACE_BYTES bytes aligned to %s_WORKSPACE_ALIGN. The function keeps\n"
                  " * no state: calls with distinct workspaces may run concurrently.\n",
               N, P, P);
    if (e->opt->weights == WEIGHTS_BLOB)
        buf_printf(h, " *\n * Weights are not in the code: `weights` points to the contents of\n"
                      " * %s.bin (exactly %s_WEIGHTS_BYTES bytes, little-endian), loaded by the\n"
                      " * caller at an address aligned to %s_WEIGHTS_ALIGN. They are only read,\n"
                      " * so one copy may serve every call and thread.\n",
                   N, P, P);
    narrow_io_comment(e, h);
    buf_puts(h, " */\n");
}

/* NAME_WORKSPACE_DECLARE(var): a static workspace without malloc, in C99. The alignment
 * is asked for where the compiler can (GNU C, C11); elsewhere a union gives the strictest
 * alignment of the standard types, all the code itself relies on. */
static void workspace_declare(Buf *h, const char *P)
{
    buf_printf(h, "/* %s_WORKSPACE_DECLARE(ws); declares a static workspace ws to pass to the "
                  "run function. */\n#if defined(__GNUC__)\n", P);
    buf_printf(h, "#define %s_WORKSPACE_DECLARE(var) static unsigned char var[%s_WORKSPACE_BYTES] "
                  "__attribute__((aligned(%s_WORKSPACE_ALIGN)))\n", P, P, P);
    buf_printf(h, "#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L\n"
                  "#define %s_WORKSPACE_DECLARE(var) static _Alignas(%s_WORKSPACE_ALIGN) "
                  "unsigned char var[%s_WORKSPACE_BYTES]\n#else\n", P, P, P);
    buf_printf(h, "#define %s_WORKSPACE_DECLARE(var) static union { long double ld; double d; "
                  "int64_t i; void *p; unsigned char b[%s_WORKSPACE_BYTES]; } var[1]\n#endif\n",
               P, P);
}

static void header(Emitter *e, Buf *h)
{
    const Graph *g = e->g;
    const char *N = e->opt->name;
    char P[256];
    upper(P, N, sizeof P);
    header_comment(e, h, P);
    buf_printf(h, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n", P, P);
    buf_printf(h, "#define %s_WORKSPACE_BYTES %lld\n", P, (long long)(g->ws_bytes ? g->ws_bytes : 64));
    buf_printf(h, "#define %s_WORKSPACE_ALIGN 64\n", P);
    workspace_declare(h, P);
    if (e->opt->weights == WEIGHTS_BLOB)
        buf_printf(h, "#define %s_WEIGHTS_BYTES %lld\n#define %s_WEIGHTS_ALIGN 64\n", P,
                   (long long)e->blob.len, P);
    buf_printf(h, "#define %s_TARGET \"%s\"\n", P, target_name(e->opt->target));
    buf_printf(h, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n", P, g->ninput, P,
               g->noutput);
    for (int i = 0; i < g->ninput; i++)
        io_macros(h, P, "INPUT", i, g->input[i]);
    for (int i = 0; i < g->noutput; i++)
        io_macros(h, P, "OUTPUT", i, g->output[i]);
    bytes_list(h, P, "INPUT", g->input, g->ninput);
    bytes_list(h, P, "OUTPUT", g->output, g->noutput);
    buf_printf(h, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    buf_printf(h, "/* Runs the model: inputs and outputs in graph order (see the macros above). */\n");
    buf_printf(h, "void %s_run(", N);
    run_params(h, e);
    buf_printf(h, ");\n\n/* The same, with untyped arrays of input and output pointers. */\n");
    buf_printf(h, "void %s_run_v(const void *const *inputs, void *const *outputs, "
                  "void *workspace%s);\n",
               N, e->opt->weights == WEIGHTS_BLOB ? ", const void *weights" : "");
    buf_printf(h, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}

/* ---- the source ---- */

/* Whether the emitted code names an x86 intrinsic or vector type (_mm..., __m...).
 * <immintrin.h> is most of a small model's build time, so code without them goes
 * without it; a false positive only costs the include. */
static bool uses_x86_simd(const Emitter *e)
{
    const Buf *parts[] = {&e->helpers, &e->fns, &e->run};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (parts[i]->p && (strstr(parts[i]->p, "_mm") || strstr(parts[i]->p, "__m")))
            return true;
    return false;
}

/* Refuses, at compile time and with the fix in the message, to build code that
 * uses an instruction set's intrinsics without its flags (code that uses none is
 * plain C), or constants on a big-endian machine. */
static void isa_guard(const Emitter *e, Buf *c)
{
    static const char *const need[TARGET_COUNT] = {
        [TARGET_GENERIC] = NULL,
        [TARGET_AVX2] = "defined(__AVX2__) && defined(__FMA__) && defined(__BMI2__) && "
                        "defined(__POPCNT__)",
        [TARGET_AVX512] = "defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) "
                          "&& defined(__AVX512DQ__) && defined(__AVX512VPOPCNTDQ__) && "
                          "defined(__AVX512VNNI__) && defined(__FMA__)",
        [TARGET_NEON] = "defined(__ARM_NEON)",
    };
    Target t = e->opt->target;
    buf_puts(c, "\n#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__\n"
                "#error \"wrpnc stores constants little-endian\"\n#endif\n");
    if (need[t] && (t == TARGET_NEON || uses_x86_simd(e)))
        buf_printf(c, "#if !(%s)\n#error \"generated for target %s: compile with %s\"\n#endif\n",
                   need[t], target_name(t), target_cflags(t));
    buf_puts(c, "\n");
}

static void source(Emitter *e, Buf *c)
{
    const Graph *g = e->g;
    const char *N = e->opt->name;
    bool blob = e->opt->weights == WEIGHTS_BLOB;
    buf_printf(c, "/* %s.c: generated by wrpnc from %s for target %s. Do not edit. */\n", N,
               cg_comment_safe(e, e->opt->source), target_name(e->opt->target));
    buf_printf(c, "#include \"%s.h\"\n\n#include <math.h>\n#include <stdint.h>\n#include <string.h>\n",
               N);
    if ((e->opt->target == TARGET_AVX2 || e->opt->target == TARGET_AVX512) && uses_x86_simd(e))
        buf_puts(c, "#include <immintrin.h>\n");
    if (e->opt->target == TARGET_NEON)
        buf_puts(c, "#include <arm_neon.h>\n");
    isa_guard(e, c);
    overlength_pragma(c, &e->consts);
    if (e->helpers.p)
        buf_puts(c, e->helpers.p);
    if (e->consts.p)
        buf_printf(c, "%s\n", e->consts.p);
    if (e->fns.p)
        buf_puts(c, e->fns.p);
    buf_printf(c, "void %s_run(", N);
    run_params(c, e);
    buf_puts(c, ")\n{\n    unsigned char *ws = (unsigned char *)workspace;\n    (void)ws;\n");
    if (blob)
        buf_puts(c, "    const unsigned char *wts = (const unsigned char *)weights;\n"
                    "    (void)wts;\n");
    /* Unused inputs, and outputs of no size that no node writes, stay quiet. */
    for (int i = 0; i < g->ninput; i++)
        buf_printf(c, "    (void)input_%d;\n", i);
    for (int i = 0; i < g->noutput; i++)
        buf_printf(c, "    (void)output_%d;\n", i);
    if (e->run.p)
        buf_puts(c, e->run.p);
    buf_puts(c, "}\n\n");
    buf_printf(c, "void %s_run_v(const void *const *inputs, void *const *outputs, "
                  "void *workspace%s)\n{\n    %s_run(", N, blob ? ", const void *weights" : "", N);
    for (int i = 0; i < g->ninput; i++)
        buf_printf(c, "(const %s *)inputs[%d], ", cg_ctype(g->input[i]->dtype), i);
    for (int i = 0; i < g->noutput; i++)
        buf_printf(c, "(%s *)outputs[%d], ", cg_ctype(g->output[i]->dtype), i);
    buf_puts(c, blob ? "workspace, weights);\n" : "workspace);\n");
    if (!g->ninput)
        buf_puts(c, "    (void)inputs;\n");
    buf_puts(c, "}\n");
}

/* ---- files ---- */

/* Writes b to a fresh temporary file beside the final one (mkstemp: created
 * anew, so a planted symlink cannot redirect the write) and returns its path. */
static Status write_file(const char *dir, const char *name, const char *ext, const Buf *b,
                         char tmp_out[4096], Diag *d)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s%s.tmpXXXXXX", dir, name, ext) >= (int)sizeof path)
        return diag_error(d, WR_EIO, "%s: output path too long", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return diag_error(d, WR_EIO, "%s/%s%s: cannot write: %s", dir, name, ext,
                          strerror(errno));
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    FILE *f = fdopen(fd, "wb");
    bool ok = f && fwrite(b->p ? b->p : "", 1, b->len, f) == b->len;
    int err = errno;
    if (f ? fclose(f) != 0 : close(fd) != 0)
        ok = false;
    if (!ok) {
        remove(path);
        return diag_error(d, WR_EIO, "%s/%s%s: cannot write: %s", dir, name, ext,
                          strerror(err ? err : errno));
    }
    memcpy(tmp_out, path, sizeof path); /* both 4096 bytes */
    return WR_OK;
}

/* A final name that is a folder would make its rename fail after the others
 * succeeded: refused before any rename. */
static Status check_target(const char *path, Diag *d)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return diag_error(d, WR_EIO, "%s: cannot write: it is a folder", path);
    return WR_OK;
}

/* Writes every file under a temporary name, then renames them all, the
 * header last: a failure leaves no temporary file and no half-written output
 * behind, and an older output stays as it was unless a rename fails midway. */
static Status write_all(const char *dir, const char *name, const Buf *const *bufs,
                        const char *const *exts, int n, Diag *d)
{
    char tmp[4][4096];
    int done = 0;
    Status s = WR_OK;
    WR_ASSERT(n <= 4);
    for (; done < n && s == WR_OK; done++)
        s = write_file(dir, name, exts[done], bufs[done], tmp[done], d);
    if (s != WR_OK) {
        for (int i = 0; i < done - 1; i++) /* the failed one removed itself */
            remove(tmp[i]);
        return s;
    }
    char final[4][4200];
    for (int i = 0; i < n && s == WR_OK; i++) {
        snprintf(final[i], sizeof final[i], "%s/%s%s", dir, name, exts[i]);
        s = check_target(final[i], d);
    }
    for (int i = 0; i < n; i++) {
        if (s == WR_OK && rename(tmp[i], final[i]) != 0)
            s = diag_error(d, WR_EIO, "%s: cannot rename: %s", final[i], strerror(errno));
        if (s != WR_OK)
            remove(tmp[i]);
    }
    return s;
}

static void emitter_free(Emitter *e)
{
    buf_free(&e->helpers);
    buf_free(&e->consts);
    buf_free(&e->fns);
    buf_free(&e->run);
    buf_free(&e->body);
    buf_free(&e->weights_c);
    buf_free(&e->blob);
    free(e->once);
}

static Status emit_all(Emitter *e, Diag *d)
{
    Refs r;
    r.ref = calloc((size_t)e->g->ntensor + 1, sizeof *r.ref);
    if (!r.ref)
        wr_die(__FILE__, __LINE__, "out of memory");
    Status s = WR_OK;
    for (int i = 0; i < e->g->nnode && s == WR_OK; i++)
        s = emit_node(e, &r, e->g->node[i], d);
    if (s == WR_OK)
        copy_outputs(e, &r);
    free(r.ref);
    return s;
}

/* Files in rename order: the weights first, then NAME.c, NAME.h last. */
static int output_files(const Emitter *e, Buf *w, const Buf **bufs, const char **exts)
{
    int n = 0;
    if (e->opt->weights == WEIGHTS_C) {
        buf_printf(w, "/* %s_weights.c: generated by wrpnc from %s. Do not edit. */\n"
                      "#include <math.h>\n#include <stdint.h>\n\n", e->opt->name,
                   cg_comment_safe(e, e->opt->source));
        overlength_pragma(w, &e->weights_c);
        buf_puts(w, e->weights_c.p ? e->weights_c.p : "");
        bufs[n] = w;
        exts[n++] = "_weights.c";
    }
    if (e->opt->weights == WEIGHTS_BLOB) {
        bufs[n] = &e->blob;
        exts[n++] = ".bin";
    }
    return n;
}

int64_t cg_const_bytes(const Graph *g)
{
    bool *seen = calloc((size_t)g->ntensor + 1, 1);
    if (!seen)
        wr_die(__FILE__, __LINE__, "out of memory");
    int64_t total = 0;
    for (int i = 0; i < g->nnode; i++)
        for (int k = 0; k < g->node[i]->nin; k++) {
            const Tensor *t = g->node[i]->in[k];
            if (t && t->data && !seen[t->id]) {
                seen[t->id] = true;
                total += ir_tensor_bytes(t);
            }
        }
    free(seen);
    return total;
}

/* Above the threshold the weights leave NAME.c for NAME_weights.c rather than
 * the blob: NAME_run keeps its signature, so the switch is invisible to the
 * caller, and NAME.c stays small enough to rebuild quickly while the weights
 * (string literals) compile once, fast, in their own file. */
WeightsMode cg_weights_resolve(const Graph *g, WeightsMode m, int64_t threshold)
{
    if (m != WEIGHTS_AUTO)
        return m;
    int64_t limit = threshold > 0 ? threshold : CG_WEIGHTS_THRESHOLD;
    return cg_const_bytes(g) > limit ? WEIGHTS_C : WEIGHTS_INLINE;
}

Status cg_generate(const Graph *g, const CodegenOptions *opt_in, const char *outdir, Diag *d)
{
    CodegenOptions resolved = *opt_in;
    resolved.weights = cg_weights_resolve(g, opt_in->weights, opt_in->weights_threshold);
    const CodegenOptions *opt = &resolved;
    Emitter e = {0};
    e.g = g;
    e.opt = opt;
    Status s = emit_all(&e, d);
    Buf h = {0}, c = {0}, w = {0};
    if (s == WR_OK) {
        header(&e, &h);
        source(&e, &c);
        const Buf *bufs[4];
        const char *exts[4];
        int n = output_files(&e, &w, bufs, exts);
        bufs[n] = &c;
        exts[n++] = ".c";
        bufs[n] = &h;
        exts[n++] = ".h";
        s = write_all(outdir, opt->name, bufs, exts, n, d);
    }
    buf_free(&h);
    buf_free(&c);
    buf_free(&w);
    emitter_free(&e);
    return s;
}
