/*
 * fuzz_compile.c: libFuzzer target over the whole compiler. The input is a
 * model description (fuzz_model.c: layers, attributes, shapes, dtypes, bit
 * widths, quantizer parameters, --wbits/--abits and the other options), turned
 * into an ONNX model, then fe_onnx_load_mem -> pass_pipeline -> cg_generate
 * (the C files go to a scratch folder, overwritten on every run). Any input
 * must end in WR_OK or a clean error: a crash, an internal assertion, a
 * sanitizer report, a leak or a timeout is a finding. Models that compile
 * are run against the reference interpreter by tests/fuzz/fuzz_diff.py.
 * Built with clang and -DWRPNC_FUZZ=ON; seeds: fuzz_gen --seeds DIR.
 */
#include "codegen.h"
#include "frontend.h"
#include "fuzz_model.h"
#include "passes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64];

/* Removes what cg_generate wrote (NAME.c, NAME.h, NAME_weights.c, NAME.bin). */
static void clean_scratch(void)
{
    static const char *const files[] = {"fz.c", "fz.h", "fz_weights.c", "fz.bin"};
    char path[128];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", scratch, files[i]);
        unlink(path);
    }
    rmdir(scratch);
}

static const char *scratch_dir(void)
{
    if (!scratch[0]) {
        snprintf(scratch, sizeof scratch, "%s/wrpnc-fuzz-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(scratch))
            abort();
        atexit(clean_scratch);
    }
    return scratch;
}

static void pass_options(const FzOptions *o, PassOptions *po)
{
    memset(po, 0, sizeof *po);
    po->wbits = o->wbits;
    po->abits = o->abits;
    po->quantize_all = o->quantize_all;
    po->no_pack = o->no_pack;
    po->no_fuse = o->no_fuse;
    po->kernel = o->kernel;
    po->width = o->width;
    po->width_init = WIDTH_RANDOM;
    po->width_seed = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FzModel m;
    fz_model_build(data, size, &m);
    Graph *g = NULL;
    Diag d = {0};
    FrontendOptions fe = {0};
    if (fe_onnx_load_mem(m.bytes, m.len, "/nonexistent-wrpnc-fuzz/fuzz.onnx", &fe, &g, &d) ==
        WR_OK) {
        PassOptions po;
        pass_options(&m.opt, &po);
        if (pass_pipeline(g, &po, &d) == WR_OK) {
            CodegenOptions co = {"fz", (Target)m.opt.target, WEIGHTS_AUTO, "fuzz.onnx", 0};
            (void)cg_generate(g, &co, scratch_dir(), &d);
        }
        ir_graph_free(g);
    }
    fz_model_free(&m);
    return 0;
}
