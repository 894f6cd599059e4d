/*
 * cli_calibrate.c: `wrpnc calibrate MODEL.onnx DATASET -o OUT.onnx --wbits K --abits J`
 * writes the model with the QONNX quantizers calibration inserts (passes/calibrate.c):
 * what --calibrate compiles, as a file other QONNX tools (and the tests) can read.
 */
#include "cli.h"

#include <stdio.h>

int cli_cmd_calibrate(CliOptions *o)
{
    if (!o->outdir)
        return cli_usage_error("calibrate needs -o OUT.onnx");
    if (!o->calibrate)
        return cli_usage_error("calibrate needs a DATASET");
    if (!o->passes.wbits)
        return cli_usage_error("calibrate needs --wbits and --abits");
    Diag d = {0};
    Graph *g;
    if (fe_onnx_load(o->model, &o->fe, &g, &d) != WR_OK)
        return cli_fail(o, &d);
    PassOptions po = o->passes;
    Status s = cli_prepare(o, g, &po, &d);
    if (s == WR_OK)
        s = fe_onnx_save(g, o->outdir, &d);
    ir_graph_free(g);
    if (s != WR_OK)
        return cli_fail(o, &d);
    printf("wrote %s: %d layers quantized (w%d a%d), %d activation quantizers (%d signed), "
           "calibrated on %d examples\n", o->outdir, o->calib.layers, o->passes.wbits,
           o->passes.abits, o->calib.acts, o->calib.signed_acts, o->calib_samples_used);
    return 0;
}
