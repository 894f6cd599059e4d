/*
 * Loop, Scan and If have no kernels: shape inference replaces them by the
 * nodes of their bodies (ir/subgraph.h), so none reaches code generation.
 */
#include "codegen.h"

static Status expanded(const Node *n, Diag *d)
{
    return diag_node(d, WR_EVERIFY, n, "control flow reached code generation unexpanded");
}

Status cg_loop_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)e;
    return expanded(n, d);
}

Status cg_scan_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)e;
    return expanded(n, d);
}

Status cg_if_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)e;
    return expanded(n, d);
}
