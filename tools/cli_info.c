/*
 * cli_info.c: `wrpnc info`: one row per node after the middle end (op, name,
 * output shape, output bytes, parameters, MACs, workspace offset), then totals and the
 * workspace the generated code needs.
 */
#include "cli.h"

#include <stdio.h>

int cli_cmd_info(CliOptions *o)
{
    Diag d = {0};
    Graph *g;
    if (cli_load(o, &g, &d) != WR_OK) {
        fprintf(stderr, "%s: error: %s\n", o->model, d.msg);
        return 1;
    }
    printf("model %s: %d inputs, %d outputs, %d nodes, opset %lld\n", o->model, g->ninput,
           g->noutput, g->nnode, (long long)g->opset);
    printf("%4s  %-20s %-32s %-20s %12s %12s %14s %12s\n", "id", "op", "name", "output",
           "out bytes", "params", "MACs", "ws offset");
    int64_t macs = 0, params = 0;
    for (int i = 0; i < g->nnode; i++) {
        const Node *n = g->node[i];
        char s[128];
        const Tensor *y = n->out[0];
        int64_t m = cost_node_macs(n), p = cost_node_params(n);
        macs += m;
        params += p;
        printf("%4d  %-20s %-32.32s %-20s %12lld %12lld %14lld %12lld\n", i, op_name(n),
               n->name, y ? ir_shape_str(y, s, sizeof s) : "-",
               y ? (long long)ir_tensor_bytes(y) : 0LL, (long long)p, (long long)m,
               y ? (long long)y->offset : -1LL);
    }
    printf("total: %lld parameters, %lld MACs\n", (long long)params, (long long)macs);
    printf("workspace: %lld bytes\n", (long long)g->ws_bytes);
    ir_graph_free(g);
    return 0;
}
