/*
 * cli.h: the wrpnc command-line driver. wrpnc.c parses options and
 * dispatches; cli_build.c turns a model into generated C and a runnable
 * harness; cli_run.c runs it and compares outputs; cli_info.c reports.
 */
#ifndef WRPNC_CLI_H
#define WRPNC_CLI_H

#include "codegen.h"
#include "frontend.h"
#include "calibrate.h"
#include "passes.h"

#include <stdio.h>

enum { CLI_MAX_FILES = 64 };

/* The commands; cli_options.c holds each one's synopsis and which options apply. */
typedef enum {
    CMD_COMPILE,
    CMD_RUN,
    CMD_VERIFY,
    CMD_INFO,
    CMD_WIDEN,
    CMD_CALIBRATE,
    CMD_COMPARE,
    CMD_TARGETS,
    CMD_CFLAGS,
    CMD_OPS,
    CMD_COUNT
} Command;

typedef struct CliOptions {
    FrontendOptions fe;
    PassOptions passes;
    CalibReport calib;      /* what cli_load's calibration did */
    const char *inputs[CLI_MAX_FILES];
    const char *model;
    const char *outdir;
    const char *name;
    const char *cc;
    const char *cflags;     /* extra flags for building generated code */
    const char *exec;       /* command prefix running the harness (an emulator), or NULL */
    const char *engine;     /* "c" (generated code) or "interp" */
    const char *verify_dir; /* verify: a test_data_set_N folder, or a folder of them */
    const char *calibrate;  /* calibration data (passes/calibrate.c), or NULL */
    /* compare */
    const char *variants, *report, *inputs_dir, *data, *labels;
    int64_t weights_threshold;
    double rtol, atol;
    double calib_percentile; /* activation range: this percentile of |x| (100: max) */
    Command cmd;
    Target target;
    WeightsMode weights;    /* WEIGHTS_AUTO until cli_load resolves it for the model */
    int ninputs;
    int reps, warmup;
    int calib_samples;      /* calibrate on at most this many examples */
    int calib_samples_used; /* examples the calibration ran */
    int jobs, samples;      /* compare; samples: random inputs, or at most that many examples */
    bool keep;
    bool json;              /* info: one JSON object */
    bool requantize;        /* strip the model's own quantizers before --wbits / --calibrate */
    bool dry_run;
    bool usage_failed;      /* set by cli_load when the command line is what is wrong */
} CliOptions;

/* ---- cli_options.c ---- */

/* The command named s, or -1. */
int cli_command(const char *s);
const char *cli_command_name(Command c);
/* Parses argv[2..] for command o->cmd into o (defaults set first) and up to 2
 * positional arguments; returns 0, 2 after printing a usage error, or -1 after
 * printing the command's help (--help). */
int cli_parse(CliOptions *o, int argc, char **argv, const char **pos, int *npos);
/* The help of one command, or of everything (cmd < 0). */
void cli_help(FILE *f, int cmd);
/* Prints "wrpnc: MESSAGE" and the help hint to stderr; returns 2. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- cli_build.c ---- */

/* Loads the model and runs the middle end: --keep-fp32 checked, a quantized model's
 * quantizers stripped (--requantize) or --wbits refused, --calibrate applied. On error
 * prints nothing; o->usage_failed tells a command-line problem. */
Status cli_load(CliOptions *o, Graph **g, Diag *d);
/* What cli_load does between loading and the pipeline; po: the pipeline's options,
 * changed by calibration (which widens and quantizes itself). */
Status cli_prepare(CliOptions *o, Graph *g, PassOptions *po, Diag *d);
/* Prints "MODEL: error: MESSAGE"; returns the exit code (2 for usage, else 1). */
int cli_fail(const CliOptions *o, const Diag *d);
/* $WRPNC_CC, else clang when it runs, else cc. */
const char *cli_default_cc(void);
/* A C identifier from the model file name (or o->name). */
const char *cli_model_name(const CliOptions *o, char *buf, size_t n);
Status cli_generate(const CliOptions *o, const Graph *g, const char *dir, const char *name,
                    Diag *d);
/* The objects of generated code: NAME.o, and NAME_weights.o with --weights c. */
typedef struct CliObjects {
    char path[2][4200];
    int n;
} CliObjects;
/* Compiles dir/NAME.c (and NAME_weights.c) with the target's flags into dir/NAME*.o. */
Status cli_build_objects(const CliOptions *o, const char *dir, const char *name, CliObjects *ob,
                         Diag *d);
/* Writes runtime file rt (wrpnc_harness.c, wrpnc_eval.c) into dir and links it with the
 * objects into exe. */
Status cli_link(const CliOptions *o, const char *dir, const char *name, const char *rt,
                const CliObjects *ob, const char *exe, Diag *d);
/* Objects plus the harness: dir/NAME_harness, its path in exe. */
Status cli_build_harness(const CliOptions *o, const char *dir, const char *name, char *exe,
                         size_t n, Diag *d);
/* Runs argv; returns its exit status (or -1); stdout captured into out if non-NULL. */
int cli_exec(char *const *argv, char *out, size_t n);
Status cli_mkdir_p(const char *path, Diag *d);
void cli_rm_rf(const char *path);

/* ---- cli_data.c ---- */

/* Examples for a model: nsample runs' worth of inputs and, when known, labels. */
typedef struct Dataset {
    int nsample;     /* model runs */
    int batch;       /* examples per run (the input's first dim for arrays, else 1) */
    int ninput;
    void **x;        /* x[s * ninput + i]: sample s of graph input i, malloc'ed */
    int64_t *labels; /* nsample * batch labels, or NULL */
    char desc[512];  /* "N example(s) from PATH" */
} Dataset;

/* Which half of a train/test folder (Fashion-MNIST's idx files) to read. */
typedef enum { SPLIT_TRAIN, SPLIT_TEST } DataSplit;

/* Loads path (a folder of test_data_set_* or input_*.pb, an .npy array, idx files or
 * their folder) for g's inputs, at most limit examples (0: all); labels: a file of
 * integer labels, or NULL (idx images find theirs). */
Status cli_data_load(const char *path, const char *labels, const Graph *g, DataSplit split,
                     int limit, Dataset *ds, Diag *d);
/* n samples of seeded standard normal values. */
void cli_data_random(const Graph *g, int n, uint64_t seed, Dataset *ds);
void cli_data_free(Dataset *ds);
/* A host tensor read for graph input t: same dtype and shape, else an error naming both. */
Status cli_check_input(const Tensor *t, const HostTensor *h, const char *path, Diag *d);
/* How many test_data_set_<k> folders dir holds, k = 0, 1, ... without a gap. */
int cli_count_sets(const char *dir);

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

int cli_cmd_compare(CliOptions *o);

/* ---- cli_calibrate.c ---- */

int cli_cmd_calibrate(CliOptions *o);

/* ---- cli_info.c ---- */

int cli_cmd_info(CliOptions *o);

#endif
