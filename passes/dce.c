/*
 * dce.c: dead-code elimination. Nodes whose outputs nobody reads and that
 * produce no graph output are removed.
 */
#include "passes.h"

Status pass_dce(Graph *g, const PassOptions *opt, Diag *d)
{
    (void)opt;
    (void)d;
    ir_graph_remove_dead(g);
    return WR_OK;
}
