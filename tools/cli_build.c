/*
 * cli_build.c: model -> graph -> C files -> harness executable. Generated
 * code is built by an external C compiler (clang by default) with the
 * target's flags; the harness comes from the runtime sources embedded in
 * wrpnc, so nothing needs to be installed beside the binary.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int cli_fail(const CliOptions *o, const Diag *d)
{
    fprintf(stderr, "%s: error: %s\n", o->model, d->msg);
    return o->usage_failed ? 2 : 1;
}

const char *cli_default_cc(void)
{
    const char *env = getenv("WRPNC_CC");
    if (env && *env)
        return env;
    char *argv[] = {"clang", "--version", NULL};
    char out[256];
    return cli_exec(argv, out, sizeof out) == 0 ? "clang" : "cc";
}

/* A usage error: the command line, not the model, is what is wrong (exit 2). */
static Status usage(CliOptions *o, Diag *d, const char *msg, const char *a, const char *b)
{
    o->usage_failed = true;
    return diag_error(d, WR_EUSAGE, msg, a, b);
}

/* Every name in --keep-fp32 names a node of g. */
static Status check_keep(CliOptions *o, const Graph *g, Diag *d)
{
    for (const char *p = o->passes.keep_fp32; p && *p;) {
        size_t n = strcspn(p, ",");
        bool found = false;
        for (int i = 0; i < g->nnode && !found; i++)
            found = strlen(g->node[i]->name) == n && strncmp(g->node[i]->name, p, n) == 0;
        if (!found) {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(n < 200 ? n : 200), p);
            return usage(o, d, "--keep-fp32 names '%s', which is no node of the model%s", name,
                         " (wrpnc info lists them)");
        }
        p += n + (p[n] == ',');
    }
    return WR_OK;
}

/* The model's own quantization meets --wbits / --calibrate only with --requantize,
 * which strips it first. */
static Status own_quant(CliOptions *o, Graph *g, Diag *d)
{
    const Node *q = quant_first(g);
    if (q && (o->passes.wbits || o->calibrate) && !o->requantize) {
        char what[512];
        snprintf(what, sizeof what, "node '%.200s' (%s)", q->name, op_name(q));
        return usage(o, d, "the model is already quantized (%s); --wbits/--abits%s would "
                     "replace its own quantization: add --requantize to strip it first, or "
                     "drop them to lower the model as exported", what,
                     o->calibrate ? " with --calibrate" : "");
    }
    if (o->requantize)
        quant_strip(g);
    return WR_OK;
}

static void dump_after(const PassOptions *po, const Graph *g, const char *name)
{
    if (!po->dump || (po->dump_only && strcmp(po->dump_only, name) != 0))
        return;
    fprintf(stderr, "---- after %s ----\n", name);
    ir_dump(g, stderr);
}

/* --calibrate: the float graph, widened first, gets calibrated QONNX quantizers; the
 * pipeline then lowers them as an export's (no --wbits, no second widening). */
static Status calibrate(CliOptions *o, Graph *g, PassOptions *po, Diag *d)
{
    Dataset ds;
    WR_TRY(ir_infer(g, NULL, d));
    WR_TRY(pass_width_scale(g, po, d));
    WR_TRY(cli_data_load(o->calibrate, NULL, g, SPLIT_TRAIN, o->calib_samples, &ds, d));
    CalibOptions co = {po->wbits, po->abits, po->quantize_all, po->keep_fp32,
                       o->calib_percentile};
    CalibData cd = {ds.nsample, ds.x};
    Status s = pass_calibrate(g, &co, &cd, &o->calib, d);
    o->calib_samples_used = ds.nsample * ds.batch;
    cli_data_free(&ds);
    po->width = 0;
    po->wbits = po->abits = 0;
    dump_after(po, g, "calibrate");
    return s;
}

Status cli_prepare(CliOptions *o, Graph *g, PassOptions *po, Diag *d)
{
    WR_TRY(check_keep(o, g, d));
    WR_TRY(own_quant(o, g, d));
    return o->calibrate ? calibrate(o, g, po, d) : WR_OK;
}

Status cli_load(CliOptions *o, Graph **g, Diag *d)
{
    WR_TRY(fe_onnx_load(o->model, &o->fe, g, d));
    PassOptions po = o->passes;
    po.bitserial_max = target_bitserial_max(o->target);
    Status s = cli_prepare(o, *g, &po, d);
    if (s == WR_OK)
        s = pass_pipeline(*g, &po, d);
    if (s != WR_OK) {
        ir_graph_free(*g);
        *g = NULL;
        return s;
    }
    /* decided once per model, so the harness build sees the files codegen writes */
    o->weights = cg_weights_resolve(*g, o->weights, o->weights_threshold);
    return WR_OK;
}

const char *cli_model_name(const CliOptions *o, char *buf, size_t n)
{
    const char *src = o->name;
    char base[256];
    if (!src) {
        const char *slash = strrchr(o->model, '/');
        snprintf(base, sizeof base, "%s", slash ? slash + 1 : o->model);
        char *dot = strrchr(base, '.');
        if (dot && dot != base)
            *dot = 0;
        src = base;
    }
    size_t k = 0;
    if (!isalpha((unsigned char)src[0]) && src[0] != '_')
        k += (size_t)snprintf(buf, n, "m_");
    for (size_t i = 0; src[i] && k + 1 < n; i++)
        buf[k++] = isalnum((unsigned char)src[i]) ? src[i] : '_';
    buf[k] = 0;
    return buf;
}

Status cli_mkdir_p(const char *path, Diag *d)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0777);
            *p = '/';
        }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return diag_error(d, WR_EIO, "%s: cannot create directory: %s", path, strerror(errno));
    return WR_OK;
}

int cli_exec(char *const *argv, char *out, size_t n)
{
    int pipefd[2];
    if (out && pipe(pipefd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (out) {
            dup2(pipefd[1], 1);
            close(pipefd[0]);
            close(pipefd[1]);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "wrpnc: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (out) {
        close(pipefd[1]);
        size_t k = 0;
        ssize_t r;
        while ((r = read(pipefd[0], out + k, n - 1 - k)) > 0 && k + 1 < n)
            k += (size_t)r;
        out[k] = 0;
        char sink[4096];
        while (read(pipefd[0], sink, sizeof sink) > 0) {
        }
        close(pipefd[0]);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

void cli_rm_rf(const char *path)
{
    char *argv[] = {"rm", "-rf", (char *)path, NULL};
    cli_exec(argv, NULL, 0);
}

Status cli_generate(const CliOptions *o, const Graph *g, const char *dir, const char *name,
                    Diag *d)
{
    CodegenOptions co = {name, o->target, o->weights, o->model, o->weights_threshold};
    WR_TRY(cli_mkdir_p(dir, d));
    return cg_generate(g, &co, dir, d);
}

static Status write_text(const char *path, const char *text, Diag *d)
{
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0) {
        if (f)
            fclose(f);
        return diag_error(d, WR_EIO, "%s: cannot write: %s", path, strerror(errno));
    }
    fclose(f);
    return WR_OK;
}

/* "-O2 -std=c99", the target's flags, --cflags, $WRPNC_CFLAGS as words in argv; the
 * environment comes last: test suites use it to build every generated model with
 * sanitizers or extra warnings without changing each call. Returns the count. */
static int base_flags(const CliOptions *o, char *flags, size_t n, char **argv, int max)
{
    const char *env = getenv("WRPNC_CFLAGS");
    snprintf(flags, n, "-O2 -std=c99 %s %s %s", target_cflags(o->target),
             o->cflags ? o->cflags : "", env ? env : "");
    argv[0] = (char *)o->cc;
    return 1 + cli_split_words(flags, argv + 1, max - 1);
}

static Status run_cc(const CliOptions *o, char **argv, Diag *d)
{
    int rc = cli_exec(argv, NULL, 0);
    if (rc != 0)
        return diag_error(d, WR_EIO, "building the generated code failed (%s, exit %d)", o->cc,
                          rc);
    return WR_OK;
}

Status cli_build_objects(const CliOptions *o, const char *dir, const char *name, CliObjects *ob,
                         Diag *d)
{
    static const char *const src[] = {"", "_weights"};
    ob->n = 0;
    for (int k = 0; k < (o->weights == WEIGHTS_C ? 2 : 1); k++) {
        char flags[2048], inc[4200], c[4200], *argv[96];
        int a = base_flags(o, flags, sizeof flags, argv, 80);
        snprintf(inc, sizeof inc, "-I%s", dir);
        snprintf(c, sizeof c, "%s/%s%s.c", dir, name, src[k]);
        snprintf(ob->path[k], sizeof ob->path[k], "%s/%s%s.o", dir, name, src[k]);
        char *tail[] = {inc, "-c", c, "-o", ob->path[k], NULL};
        memcpy(argv + a, tail, sizeof tail);
        WR_TRY(run_cc(o, argv, d));
        ob->n++;
    }
    return WR_OK;
}

Status cli_link(const CliOptions *o, const char *dir, const char *name, const char *rt,
                const CliObjects *ob, const char *exe, Diag *d)
{
    char rpath[4200], def_h[512], def_n[300], def_u[300], upper[256], inc[4200], flags[2048];
    snprintf(rpath, sizeof rpath, "%s/%s", dir, rt);
    WR_TRY(write_text(rpath, cg_runtime_file(rt), d));
    size_t k = 0;
    for (; name[k] && k + 1 < sizeof upper; k++)
        upper[k] = (char)toupper((unsigned char)name[k]);
    upper[k] = 0;
    snprintf(def_h, sizeof def_h, "-DWRPNC_HEADER=\"%s.h\"", name);
    snprintf(def_n, sizeof def_n, "-DWRPNC_NAME=%s", name);
    snprintf(def_u, sizeof def_u, "-DWRPNC_UNAME=%s", upper);
    snprintf(inc, sizeof inc, "-I%s", dir);
    char *argv[96];
    int a = base_flags(o, flags, sizeof flags, argv, 80);
    char *tail[] = {inc, def_h, def_n, def_u, "-o", (char *)exe, rpath};
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
        argv[a++] = tail[i];
    for (int i = 0; i < ob->n; i++)
        argv[a++] = (char *)ob->path[i];
    if (o->weights == WEIGHTS_BLOB)
        argv[a++] = "-DWRPNC_WEIGHTS_BLOB";
    argv[a++] = "-lm";
    argv[a] = NULL;
    return run_cc(o, argv, d);
}

Status cli_build_harness(const CliOptions *o, const char *dir, const char *name, char *exe,
                         size_t n, Diag *d)
{
    CliObjects ob;
    snprintf(exe, n, "%s/%s_harness", dir, name);
    WR_TRY(cli_build_objects(o, dir, name, &ob, d));
    return cli_link(o, dir, name, "wrpnc_harness.c", &ob, exe, d);
}
