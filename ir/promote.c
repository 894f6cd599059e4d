/*
 * promote.c: ops compute narrow floats (float16, bfloat16, float8*, float4e2m1,
 * float8e8m0) in float32. Only Cast, CastLike and the quantized operands of
 * Q/DQ touch narrow tensors: other nodes get Casts to float32 before them and
 * their float32 outputs a Cast back after them, so every tensor keeps its ONNX
 * type and is rounded once per node, as ONNX does (narrow values are exact in
 * float32). It runs inside ir_infer, node by node, because op infer functions
 * reject narrow types and intermediate types are only known there; constants
 * fold through the inserted Casts.
 */
#include "ir.h"

#include <string.h>

/* Input slots the op reads in its narrow type itself. */
static bool keeps_narrow(const Node *n, int slot)
{
    switch (n->op) {
    case OP_CAST:
    case OP_CAST_LIKE:
    case OP_BITCAST: return true;
    case OP_QUANTIZE_LINEAR: return slot == 2;
    case OP_DEQUANTIZE_LINEAR: return slot != 1;
    }
    return false;
}

static bool promoted_slot(const Node *n, int slot)
{
    return n->in[slot] && dtype_is_narrow_float(n->in[slot]->dtype) && !keeps_narrow(n, slot);
}

/* Moves the node just appended by ir_node_new to position pos. */
static void move_last_to(Graph *g, int pos)
{
    Node *n = g->node[g->nnode - 1];
    memmove(&g->node[pos + 1], &g->node[pos], sizeof(Node *) * (size_t)(g->nnode - 1 - pos));
    g->node[pos] = n;
    for (int i = pos; i < g->nnode; i++)
        g->node[i]->id = i;
}

/* A Cast node y = (to) x at position pos. */
static Node *insert_cast(Graph *g, int pos, Tensor *x, Tensor *y, DType to)
{
    Node *c = ir_node_new(g, OP_CAST, arena_printf(&g->arena, "%s_to_%s", x->name,
                                                   dtype_info[to].name), 1, 1);
    c->nattr = 1;
    c->attr = arena_alloc(&g->arena, sizeof *c->attr);
    c->attr[0].name = "to";
    c->attr[0].type = ATTR_INT;
    c->attr[0].i = dtype_info[to].onnx;
    ir_node_set_input(c, 0, x);
    c->out[0] = y;
    y->producer = c;
    move_last_to(g, pos);
    return c;
}

int ir_promote_inputs(Graph *g, int pos, DType *narrow)
{
    Node *n = g->node[pos];
    int added = 0;
    *narrow = DT_UNDEF;
    for (int k = 0; k < n->nin; k++) {
        if (!promoted_slot(n, k))
            continue;
        Tensor *x = n->in[k];
        /* the first narrow operand gives the result type: ONNX ops that mix
         * float types take it from their data (OneHot's values, Resize's x) */
        if (*narrow == DT_UNDEF)
            *narrow = x->dtype;
        Tensor *y = ir_tensor_fresh(g, x->name);
        insert_cast(g, pos + added++, x, y, DT_F32);
        for (int j = k; j < n->nin; j++) /* the same tensor in later slots */
            if (n->in[j] == x && !keeps_narrow(n, j))
                ir_node_set_input(n, j, y);
    }
    return added;
}

int ir_promote_outputs(Graph *g, int pos, DType narrow)
{
    Node *n = g->node[pos];
    int added = 0;
    for (int k = 0; k < n->nout && narrow != DT_UNDEF; k++) {
        Tensor *o = n->out[k];
        if (!o || o->dtype != DT_F32)
            continue;
        Tensor *y = ir_tensor_fresh(g, o->name);
        ir_tensor_set_shape(y, DT_F32, o->ndim, o->dim);
        n->out[k] = y;
        y->producer = n;
        insert_cast(g, pos + 1 + added++, y, o, narrow);
        o->dtype = DT_UNDEF; /* the Cast's inference sets it */
    }
    return added;
}
