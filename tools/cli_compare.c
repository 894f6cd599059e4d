/*
 * cli_compare.c: `wrpnc compare` hands its command line to
 * tools/wrpnc_compare.py. The comparison is orchestration (parallel builds,
 * timing, statistics over output files, CSV/JSON/SVG/HTML writing), which is
 * far shorter and safer in Python with numpy and onnx than in C; every
 * variant is still built by this binary (`wrpnc compile`). This wrapper tells
 * the script where the binary is and each target's compiler flags, so both
 * agree with codegen/target.c.
 * Overrides: WRPNC_PYTHON (interpreter), WRPNC_COMPARE_SCRIPT (script path).
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef WRPNC_TOOLS_DIR
#define WRPNC_TOOLS_DIR "tools"
#endif
#ifndef WRPNC_DEFAULT_PYTHON
#define WRPNC_DEFAULT_PYTHON ""
#endif

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

/* Exports WRPNC_BIN, WRPNC_NATIVE_TARGET and WRPNC_CFLAGS_<target> for the script. */
static void export_env(void)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        setenv("WRPNC_BIN", self, 1);
    }
    setenv("WRPNC_NATIVE_TARGET", target_name(target_native()), 1);
    for (int t = 0; t < TARGET_COUNT; t++) {
        char key[64];
        snprintf(key, sizeof key, "WRPNC_CFLAGS_%s", target_name((Target)t));
        setenv(key, target_cflags((Target)t), 1);
        snprintf(key, sizeof key, "WRPNC_RUNS_%s", target_name((Target)t));
        setenv(key, target_runs_here((Target)t) ? "1" : "0", 1);
    }
}

int cli_cmd_compare(int argc, char **argv)
{
    const char *def = *WRPNC_DEFAULT_PYTHON ? WRPNC_DEFAULT_PYTHON : "python3";
    const char *py = env_or("WRPNC_PYTHON", def);
    const char *script = env_or("WRPNC_COMPARE_SCRIPT", WRPNC_TOOLS_DIR "/wrpnc_compare.py");
    char **args = calloc((size_t)argc + 3, sizeof(char *));
    if (!args)
        return 1;
    args[0] = (char *)py;
    args[1] = (char *)script;
    for (int i = 0; i < argc; i++)
        args[i + 2] = argv[i];
    export_env();
    fflush(stdout);
    execvp(py, args);
    fprintf(stderr, "wrpnc compare: cannot run %s %s: %s\n", py, script, strerror(errno));
    free(args);
    return 1;
}
