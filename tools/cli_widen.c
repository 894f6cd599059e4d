/*
 * cli_widen.c: `wrpnc widen MODEL.onnx -o WIDE.onnx --width W [--init
 * preserve|random] [--seed N] [--map mod|random]`: loads and infers the
 * model, runs the width pass (passes/width_scale.c) on the ops as loaded and
 * writes the widened model back as ONNX (frontend/onnx_save.c).
 */
#include "cli.h"

#include <stdio.h>

int cli_cmd_widen(CliOptions *o)
{
    if (!o->outdir) {
        fprintf(stderr, "wrpnc widen: -o WIDE.onnx is required\n");
        return 2;
    }
    if (o->passes.width < 1.0) {
        fprintf(stderr, "wrpnc widen: --width W (W >= 1) is required\n");
        return 2;
    }
    Diag d = {0};
    Graph *g;
    Status s = fe_onnx_load(o->model, &o->fe, &g, &d);
    if (s != WR_OK) {
        fprintf(stderr, "%s: error: %s\n", o->model, d.msg);
        return 1;
    }
    s = ir_infer(g, NULL, &d);
    if (s == WR_OK)
        s = pass_width_scale(g, &o->passes, &d);
    if (s == WR_OK)
        s = fe_onnx_save(g, o->outdir, &d);
    ir_graph_free(g);
    if (s != WR_OK) {
        fprintf(stderr, "%s: error: %s\n", o->model, d.msg);
        return 1;
    }
    printf("wrote %s (width %g, init %s)\n", o->outdir, o->passes.width,
           o->passes.width_init == WIDTH_RANDOM ? "random" : "preserve");
    return 0;
}
