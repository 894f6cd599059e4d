/*
 * rewrite.h: helpers the graph-rewriting passes share (rewrite.c).
 */
#ifndef WRPNC_REWRITE_H
#define WRPNC_REWRITE_H

#include "passes.h"

/* New nodes go before nodes of the original graph; rw_finish puts them in place. */
typedef struct Rewrite {
    Graph *g;
    int n0;         /* node count when started: new nodes are anchored to these */
    Node ***before; /* per original node: new nodes to place before it */
    int *nbefore;
    bool *drop;     /* per original node: removed */
} Rewrite;

void rw_init(Rewrite *r, Graph *g);
/* A new node named "<at>_<suffix>" placed before at (an original node). */
Node *rw_node(Rewrite *r, Node *at, int op, const char *suffix, int nin, int nout);
/* A copy of src (inputs, attributes, domain) placed before at; outputs unset. */
Node *rw_clone(Rewrite *r, Node *at, const Node *src, const char *suffix);
void rw_drop(Rewrite *r, const Node *n);
bool rw_dropped(const Rewrite *r, const Node *n);
/* A fresh tensor named "<at>_<suffix>". */
Tensor *rw_fresh(Rewrite *r, const Node *at, const char *suffix);
Tensor *rw_const(Rewrite *r, const char *hint, DType dt, int ndim, const int64_t *dim,
                 const void *data);
/* Places the new nodes, removes dropped ones, infers the new ones in graph order
 * (ir_infer_node) and drops dead nodes. Frees r either way. */
Status rw_finish(Rewrite *r, Diag *d);
void rw_abort(Rewrite *r);

/* A constant tensor holding a copy of data. */
Tensor *pass_const(Graph *g, const char *hint, DType dt, int ndim, const int64_t *dim,
                   const void *data);
/* The only node reading t, when t has exactly one use and is not a graph output. */
Node *pass_sole_reader(const Graph *g, const Tensor *t);
/* Removes node n (whose outputs nobody reads any more). */
void pass_remove_node(Graph *g, Node *n);
/* The single value of a constant tensor of any numeric dtype. */
bool pass_scalar(const Tensor *t, double *v);

#endif
