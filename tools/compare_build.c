/*
 * compare_build.c: each variant of `wrpnc compare` goes through the same steps
 * as `wrpnc compile` and `wrpnc run` (cli_load, cli_generate, cli_build_objects,
 * cli_link) in a child process of its own, so variants build in parallel (-j)
 * and a variant that fails, even by crashing, is reported rather than ending
 * the comparison. The child writes what only the graph knows (layers, MACs,
 * BOPs, parameters) to DIR/result.txt; the parent measures the rest from the
 * files: code and constant bytes from the objects (elf_size.c), workspace bytes
 * from the generated header's macro.
 */
#include "compare.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The command-line options of variant v (its precision, width and init). */
static void configure(const Compare *c, const Variant *v, CliOptions *o)
{
    *o = *c->o;
    o->name = v->cname;
    o->passes.width = v->width > 1 ? v->width : 0;
    o->passes.width_init = v->init >= 0 ? v->init : WIDTH_PRESERVE;
    o->passes.wbits = o->passes.abits = 0;
    o->requantize = v->kind == VK_FP32 || (v->kind == VK_BITS && c->o->requantize);
    if (v->kind != VK_BITS)
        o->calibrate = NULL;
    if (v->kind == VK_BITS) {
        o->passes.wbits = v->kw;
        o->passes.abits = v->ka;
    }
}

/* Layers, those on integer kernels, and bit operations of the lowered graph. */
static void count(const Graph *g, FILE *f)
{
    int layers = 0, q = 0;
    int64_t bops = 0;
    for (int i = 0; i < g->nnode; i++) {
        Node *n = g->node[i];
        bool qc = n->op == OP_QCONV;
        int64_t b = qc ? ir_attr_int(n, "wbits", 32) * ir_attr_int(n, "abits", 32) : INT64_C(1024);
        layers += qc || n->op == OP_CONV || n->op == OP_GEMM || n->op == OP_MATMUL ||
                  n->op == OP_CONV_TRANSPOSE;
        q += qc;
        bops += cost_node_macs(n) * b;
    }
    fprintf(f, "layers %d\nqlayers %d\nbops %lld\n", layers, q, (long long)bops);
}

/* Parameters and MACs of the float network at the variant's width. */
static Status float_cost(const CliOptions *o, FILE *f, Diag *d)
{
    CliOptions fo = *o;
    Graph *g;
    fo.passes.wbits = fo.passes.abits = 0;
    fo.calibrate = NULL;
    fo.requantize = true;
    WR_TRY(cli_load(&fo, &g, d));
    int64_t params = 0, macs = 0;
    for (int i = 0; i < g->nnode; i++) {
        params += cost_node_params(g->node[i]);
        macs += cost_node_macs(g->node[i]);
    }
    fprintf(f, "params %lld\nmacs %lld\n", (long long)params, (long long)macs);
    ir_graph_free(g);
    return WR_OK;
}

static Status build(const Compare *c, const Variant *v, FILE *f, Diag *d)
{
    CliOptions o;
    Graph *g;
    configure(c, v, &o);
    if (v->kind == VK_BITS && (v->kw == 32 || v->ka == 32) && !o.calibrate)
        return diag_error(d, WR_EUSAGE, "%s keeps one side float: that needs --calibrate "
                          "(WRPN's quantizer sets weights and activations together)", v->name);
    WR_TRY(float_cost(&o, f, d));
    WR_TRY(cli_load(&o, &g, d));
    count(g, f);
    fprintf(f, "calib_examples %d\n", o.calibrate ? o.calib_samples_used : 0);
    Status s = cli_generate(&o, g, v->dir, v->cname, d);
    ir_graph_free(g);
    CliObjects ob;
    char exe[4300];
    WR_TRY(s);
    WR_TRY(cli_build_objects(&o, v->dir, v->cname, &ob, d));
    snprintf(exe, sizeof exe, "%s/harness", v->dir);
    return cli_link(&o, v->dir, v->cname, "wrpnc_harness.c", &ob, exe, d);
}

/* The child: builds v, writes DIR/result.txt, exits 0 or 1. */
static void child(const Compare *c, const Variant *v)
{
    char path[4300];
    Diag d = {0};
    snprintf(path, sizeof path, "%s/result.txt", v->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        _exit(1);
    Status s = build(c, v, f, &d);
    if (s != WR_OK) {
        for (char *p = d.msg; *p; p++)
            *p = *p == '\n' ? ' ' : *p;
        fprintf(f, "error %s\n", d.msg);
    }
    fclose(f);
    fflush(NULL);
    _exit(s == WR_OK ? 0 : 1);
}

/* ---- the parent ---- */

static void fail(Variant *v, const char *msg)
{
    snprintf(v->status, sizeof v->status, "failed");
    snprintf(v->error, sizeof v->error, "%.590s", msg);
}

/* Reads DIR/result.txt of a finished child. */
static void read_result(Variant *v)
{
    char path[4300], line[1024];
    snprintf(path, sizeof path, "%s/result.txt", v->dir);
    FILE *f = fopen(path, "r");
    bool err = false;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *val = strchr(line, ' ');
        if (!val)
            continue;
        *val++ = 0;
        long long x = strtoll(val, NULL, 10);
        if (!strcmp(line, "error"))
            fail(v, val), err = true;
        else if (!strcmp(line, "layers") || !strcmp(line, "qlayers"))
            *(line[0] == 'l' ? &v->layers : &v->qlayers) = (int)x;
        else if (!strcmp(line, "calib_examples"))
            v->calib_examples = (int)x;
        else if (!strcmp(line, "params") || !strcmp(line, "macs") || !strcmp(line, "bops"))
            *(line[0] == 'p' ? &v->params : line[0] == 'm' ? &v->macs : &v->bops) = x;
    }
    if (f)
        fclose(f);
    if (!f && !err)
        fail(v, "the build stopped before writing its result (crashed?)");
}

/* NAME_WORKSPACE_BYTES from the generated header, or -1. */
static int64_t workspace(const Variant *v)
{
    char path[4400], line[512], key[200], upper[160];
    size_t k = 0;
    for (; v->cname[k] && k + 1 < sizeof upper; k++)
        upper[k] = (char)toupper((unsigned char)v->cname[k]);
    upper[k] = 0;
    snprintf(key, sizeof key, "#define %s_WORKSPACE_BYTES ", upper);
    snprintf(path, sizeof path, "%.4100s/%s.h", v->dir, v->cname);
    FILE *f = fopen(path, "r");
    int64_t ws = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key)))
            ws = strtoll(line + strlen(key), NULL, 10);
    if (f)
        fclose(f);
    return ws;
}

/* Code and constant bytes of the objects the build left (NAME.o, NAME_weights.o). */
static void measure(Variant *v)
{
    static const char *const suffix[] = {"", "_weights"};
    v->workspace = workspace(v);
    v->text = v->rodata = v->weights = 0;
    for (int i = 0; i < 2; i++) {
        char path[4400];
        ElfSizes s;
        Diag d = {0};
        snprintf(path, sizeof path, "%s/%s%s.o", v->dir, v->cname, suffix[i]);
        if (i && access(path, F_OK) != 0)
            continue;
        if (elf_sizes(path, &s, &d) != WR_OK) {
            v->text = v->rodata = v->weights = -1;
            return;
        }
        v->text += s.text;
        v->rodata += s.rodata;
        v->weights += s.objects;
    }
}

/* Starts the build of c->v[i] in a child; returns its pid (0: failed to start). */
static pid_t start(Compare *c, int i)
{
    Variant *v = &c->v[i];
    Diag d = {0};
    if (cli_mkdir_p(v->dir, &d) != WR_OK) {
        fail(v, d.msg);
        return 0;
    }
    fprintf(stderr, "[%d/%d] %s: building\n", i + 1, c->n, v->name);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        child(c, v);
    if (pid < 0)
        fail(v, "cannot start a process for the build");
    return pid > 0 ? pid : 0;
}

static void finish(Compare *c, int i)
{
    Variant *v = &c->v[i];
    read_result(v);
    if (!v->error[0])
        measure(v);
    if (v->error[0])
        fprintf(stderr, "[%d/%d] %s: FAILED: %s\n", i + 1, c->n, v->name, v->error);
    else
        fprintf(stderr, "[%d/%d] %s: built\n", i + 1, c->n, v->name);
}

void cmp_build_all(Compare *c)
{
    pid_t pid[CMP_MAX_VARIANTS + 1] = {0};
    int next = 0, running = 0;
    while (next < c->n || running) {
        if (next < c->n && running < c->o->jobs) {
            pid[next] = start(c, next);
            running += pid[next] > 0;
            next++;
            continue;
        }
        int st;
        pid_t done = wait(&st);
        if (done < 0)
            break;
        for (int i = 0; i < next; i++)
            if (pid[i] == done) {
                pid[i] = 0;
                running--;
                finish(c, i);
            }
    }
}
