/*
 * subgraph.h: the bodies of control flow (Loop, Scan, If) and how they become
 * plain nodes. The frontend keeps each GRAPH attribute as a SubGraph: value
 * names and nodes, no tensors, so one body can be instantiated many times.
 * Shape inference meets a control-flow node (OPF_EXPAND) and its op's infer
 * replaces it by instances of its bodies (ir/ops/loop.c, scan.c, if.c), built
 * with the functions below; nested control flow is expanded when inference
 * reaches it in turn.
 */
#ifndef WRPNC_SUBGRAPH_H
#define WRPNC_SUBGRAPH_H

#include "ir.h"

/* A node of a subgraph: names of its values ("" = an absent optional one). */
typedef struct SubNode {
    int op; /* OpKind */
    const char *name, *domain;
    int64_t opset;
    int nin, nout, nattr;
    const char **in, **out;
    Attr *attr; /* GRAPH attributes hold nested subgraphs */
} SubNode;

/* A GRAPH attribute. Names a node reads that the subgraph does not define
 * (inputs, initializers, node outputs) come from the enclosing scope. */
typedef struct SubGraph {
    const char *name;
    int ninput, noutput, ninit, nnode;
    const char **input, **output;
    Tensor **init; /* detached constants, named */
    SubNode *node; /* in topological order */
} SubGraph;

/* Most nodes shape inference may create by expanding control flow. */
enum { SUBGRAPH_MAX_NODES = 1 << 16 };

/* The subgraph attribute name of n, or an error naming the node. */
Status ir_subgraph_attr(const Node *n, const char *name, const SubGraph **sg, Diag *d);

/* Appends one instance of sg to g: formal input i is bound to in[i] (NULL:
 * absent), every value sg defines gets a fresh tensor named after prefix,
 * names sg does not define are looked up in g. out[i] receives the tensor of
 * formal output i. Errors name the node `at`. */
Status ir_subgraph_instance(Graph *g, const Node *at, const SubGraph *sg, const char *prefix,
                            Tensor *const *in, Tensor **out, Diag *d);

/* Moves the nodes appended since g->nnode was first to where n stands, and
 * drops n: n's expansion takes its place in the order. */
void ir_subgraph_splice(Graph *g, Node *n, int first);

/* ---- small nodes the expansions need (appended to g, opset from g) ---- */

/* y = x (y: an existing tensor, e.g. the control-flow node's output). */
void ir_add_identity(Graph *g, const char *name, Tensor *x, Tensor *y);
/* A constant scalar: int64 v, or bool when is_bool. */
Tensor *ir_add_scalar(Graph *g, const char *hint, int64_t v, bool is_bool);
/* x[..., index, ...] along axis, that axis dropped (Gather with a scalar index). */
Tensor *ir_add_take(Graph *g, const char *name, Tensor *x, int64_t index, int64_t axis);
/* The n parts stacked along a new axis (Unsqueeze + Concat) into y. */
void ir_add_stack(Graph *g, const char *name, Tensor *const *part, int n, int64_t axis,
                  Tensor *y);

#endif
