/*
 * cli_widen.c: `wrpnc widen MODEL.onnx -o WIDE.onnx --width W [--init
 * preserve|random] [--seed N] [--map mod|random]`: loads and infers the
 * model, runs the width pass (passes/width_scale.c) on the ops as loaded and
 * writes the widened model back as ONNX (frontend/onnx_save.c).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

/* Prints how many hidden activations get wider and names a few that do not
 * (an op the pass cannot see through pins its channels), so a partial
 * widening is never silent. */
static Status summary(Graph *g, const PassOptions *po, Diag *d)
{
    WidthPlan *p;
    WR_TRY(width_plan(g, po->width, po->width_random_map, po->width_seed, &p, d));
    int hidden = 0, wide = 0;
    char kept[256] = "";
    for (int i = 0; i < g->ntensor; i++) {
        Tensor *t = g->tensor[i];
        if (width_plan_group(p, t) < 0 || t->input_index >= 0 || t->output_index >= 0)
            continue;
        hidden++;
        if (width_plan_widened(p, t))
            wide++;
        else if (strlen(kept) + strlen(t->name) + 5 < sizeof kept) {
            size_t k = strlen(kept);
            snprintf(kept + k, sizeof kept - k, "%s'%s'", k ? ", " : "", t->name);
        }
    }
    width_plan_free(p);
    printf("%d of %d hidden activations widened", wide, hidden);
    printf(wide < hidden ? "; kept: %s\n" : "\n", kept);
    return WR_OK;
}

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
        s = summary(g, &o->passes, &d);
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
