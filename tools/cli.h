/*
 * cli.h: the wrpnc command-line driver. wrpnc.c parses options and
 * dispatches; cli_build.c turns a model into generated C and a runnable
 * harness; cli_run.c runs it and compares outputs; cli_info.c reports.
 */
#ifndef WRPNC_CLI_H
#define WRPNC_CLI_H

#include "codegen.h"
#include "frontend.h"
#include "passes.h"

enum { CLI_MAX_FILES = 64 };

typedef struct CliOptions {
    const char *model;
    const char *outdir;
    const char *name;
    const char *cc;
    const char *cflags;     /* extra flags for building generated code */
    const char *exec;       /* command prefix running the harness (an emulator), or NULL */
    const char *engine;     /* "c" (generated code) or "interp" */
    Target target;
    WeightsMode weights;    /* WEIGHTS_AUTO until cli_load resolves it for the model */
    int64_t weights_threshold;
    FrontendOptions fe;
    PassOptions passes;
    const char *inputs[CLI_MAX_FILES];
    int ninputs;
    const char *dataset;
    double rtol, atol;
    int reps, warmup;
    bool keep;
    bool json;              /* info: one JSON object */
} CliOptions;

/* ---- cli_build.c ---- */

/* Loads the model and runs the middle end. On error prints nothing. */
Status cli_load(CliOptions *o, Graph **g, Diag *d);
/* A C identifier from the model file name (or o->name). */
const char *cli_model_name(const CliOptions *o, char *buf, size_t n);
Status cli_generate(const CliOptions *o, const Graph *g, const char *dir, const char *name,
                    Diag *d);
/* Builds dir/harness from dir/NAME.c; returns its path in exe. */
Status cli_build_harness(const CliOptions *o, const char *dir, const char *name, char *exe,
                         size_t n, Diag *d);
/* Runs argv; returns its exit status (or -1); stdout captured into out if non-NULL. */
int cli_exec(char *const *argv, char *out, size_t n);
Status cli_mkdir_p(const char *path, Diag *d);
void cli_rm_rf(const char *path);

/* ---- cli_cross.c ---- */

/* "runs here", "runs under qemu (...)" or "cannot run here". */
const char *cli_target_how(Target t);
/* Sets o->exec and o->cc (cross compiler + emulator for a target run under
 * emulation); errors when the target cannot run at all. */
Status cli_pick_tools(CliOptions *o, const char *(*default_cc)(void), Diag *d);
/* Splits s in place on spaces into at most max words; returns the count. */
int cli_split_words(char *s, char **argv, int max);

/* ---- cli_run.c ---- */

int cli_cmd_run(CliOptions *o);
int cli_cmd_verify(CliOptions *o);

/* ---- cli_widen.c ---- */

int cli_cmd_widen(CliOptions *o);

/* ---- cli_compare.c ---- */

/* Runs tools/wrpnc_compare.py with the command line after "compare". */
int cli_cmd_compare(int argc, char **argv);

/* ---- cli_info.c ---- */

int cli_cmd_info(CliOptions *o);

#endif
