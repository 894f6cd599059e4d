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

Status cli_load(CliOptions *o, Graph **g, Diag *d)
{
    WR_TRY(fe_onnx_load(o->model, &o->fe, g, d));
    Status s = pass_pipeline(*g, &o->passes, d);
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

Status cli_build_harness(const CliOptions *o, const char *dir, const char *name, char *exe,
                         size_t n, Diag *d)
{
    char hpath[4096], csrc[4096], def_h[512], def_n[300], def_u[300], upper[256], inc[4200];
    snprintf(hpath, sizeof hpath, "%s/wrpnc_harness.c", dir);
    WR_TRY(write_text(hpath, cg_runtime_file("wrpnc_harness.c"), d));
    snprintf(csrc, sizeof csrc, "%s/%s.c", dir, name);
    snprintf(exe, n, "%s/%s_harness", dir, name);
    size_t k = 0;
    for (; name[k] && k + 1 < sizeof upper; k++)
        upper[k] = (char)toupper((unsigned char)name[k]);
    upper[k] = 0;
    snprintf(def_h, sizeof def_h, "-DWRPNC_HEADER=\"%s.h\"", name);
    snprintf(def_n, sizeof def_n, "-DWRPNC_NAME=%s", name);
    snprintf(def_u, sizeof def_u, "-DWRPNC_UNAME=%s", upper);
    snprintf(inc, sizeof inc, "-I%s", dir);
    /* WRPNC_CFLAGS (environment) comes last: test suites use it to build every
     * generated model with sanitizers or extra warnings without changing each call. */
    const char *env = getenv("WRPNC_CFLAGS");
    char flags[2048];
    snprintf(flags, sizeof flags, "-O2 -std=c99 %s %s %s", target_cflags(o->target),
             o->cflags ? o->cflags : "", env ? env : "");
    char *argv[96];
    int a = 0;
    argv[a++] = (char *)o->cc;
    a += cli_split_words(flags, argv + a, 72);
    char *tail[] = {inc, def_h, def_n, def_u, "-o", exe, hpath, csrc};
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
        argv[a++] = tail[i];
    char wsrc[4200];
    if (o->weights == WEIGHTS_C) {
        snprintf(wsrc, sizeof wsrc, "%s/%s_weights.c", dir, name);
        argv[a++] = wsrc;
    }
    if (o->weights == WEIGHTS_BLOB)
        argv[a++] = "-DWRPNC_WEIGHTS_BLOB";
    argv[a++] = "-lm";
    argv[a] = NULL;
    int rc = cli_exec(argv, NULL, 0);
    if (rc != 0)
        return diag_error(d, WR_EIO, "building the generated code with '%s' failed (exit %d)",
                          o->cc, rc);
    return WR_OK;
}
