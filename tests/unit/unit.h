/*
 * unit.h: what the CMocka unit tests share: the includes CMocka needs and
 * small builders for hand-made graphs (float32 tensors, one output per node).
 * Graphs built here own everything in their arena, as the frontend's do.
 */
#ifndef WRPNC_UNIT_H
#define WRPNC_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ir.h"

enum { UNIT_MAX_IO = 16 };

static inline Graph *unit_graph(void)
{
    Graph *g = ir_graph_new("t");
    g->opset = 13;
    g->input = arena_alloc(&g->arena, sizeof(Tensor *) * UNIT_MAX_IO);
    g->output = arena_alloc(&g->arena, sizeof(Tensor *) * UNIT_MAX_IO);
    return g;
}

static inline Tensor *unit_input(Graph *g, const char *name, int ndim, const int64_t *dim)
{
    Tensor *t = ir_tensor_get(g, name, true);
    ir_tensor_set_shape(t, DT_F32, ndim, dim);
    t->input_index = g->ninput;
    g->input[g->ninput++] = t;
    return t;
}

/* A float32 constant; vals may be NULL (zeros). */
static inline Tensor *unit_const(Graph *g, const char *name, int ndim, const int64_t *dim,
                                 const float *vals)
{
    Tensor *t = ir_tensor_get(g, name, true);
    ir_tensor_set_shape(t, DT_F32, ndim, dim);
    ir_tensor_alloc_data(g, t);
    if (vals)
        memcpy(t->data, vals, (size_t)ir_tensor_bytes(t));
    return t;
}

/* A node reading a (and b when not NULL) and writing a new tensor named out. */
static inline Node *unit_node(Graph *g, int op, const char *name, Tensor *a, Tensor *b,
                              const char *out)
{
    Node *n = ir_node_new(g, op, name, b ? 2 : 1, 1);
    ir_node_set_input(n, 0, a);
    if (b)
        ir_node_set_input(n, 1, b);
    Tensor *t = ir_tensor_get(g, out, true);
    t->producer = n;
    n->out[0] = t;
    return n;
}

static inline void unit_output(Graph *g, Tensor *t)
{
    t->output_index = g->noutput;
    g->output[g->noutput++] = t;
}

#endif
