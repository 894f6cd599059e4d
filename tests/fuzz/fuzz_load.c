/*
 * fuzz_load.c: libFuzzer target over the front and middle end: bytes ->
 * fe_onnx_load_mem -> pass_pipeline (shape inference with folding, every
 * pass, the verifier between them). Any input must end in WR_OK or a clean
 * error: a crash, an internal assertion, a sanitizer report, a leak or a
 * timeout is a finding, and each becomes a case in tests/e2e/test_malformed.py.
 * Built with clang and -DWRPNC_FUZZ=ON; seeds in tests/fuzz/seeds/.
 */
#include "frontend.h"
#include "passes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Graph *g = NULL;
    Diag d = {0};
    FrontendOptions fe = {0};
    /* A folder that does not exist: external data references fail cleanly. */
    if (fe_onnx_load_mem(data, size, "/nonexistent-wrpnc-fuzz/model.onnx", &fe, &g, &d) != WR_OK)
        return 0;
    PassOptions po = {0};
    (void)pass_pipeline(g, &po, &d);
    ir_graph_free(g);
    return 0;
}
