/*
 * wrpnc.c: command-line entry point. Parses options, dispatches to the
 * commands, prints errors as "FILE: error: MESSAGE". Exit codes: 0 success,
 * 1 bad input or failed verification, 2 usage.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmd_compile(CliOptions *o)
{
    if (!o->outdir)
        return cli_usage_error("compile needs -o OUTDIR");
    Diag d = {0};
    Graph *g;
    char name[256];
    cli_model_name(o, name, sizeof name);
    Status s = cli_load(o, &g, &d);
    if (s == WR_OK) {
        s = cli_generate(o, g, o->outdir, name, &d);
        ir_graph_free(g);
    }
    if (s != WR_OK)
        return cli_fail(o, &d);
    const char *wext = o->weights == WEIGHTS_C ? "_weights.c" : ".bin";
    if (o->weights == WEIGHTS_INLINE)
        printf("wrote %s/%s.c and %s/%s.h\n", o->outdir, name, o->outdir, name);
    else
        printf("wrote %s/%s.c, %s/%s.h and %s/%s%s\n", o->outdir, name, o->outdir, name,
               o->outdir, name, wext);
    return 0;
}

static int cmd_targets(void)
{
    for (int t = 0; t < TARGET_COUNT; t++)
        printf("%-8s %s\n", target_name((Target)t),
               cli_target_how((Target)t));
    printf("native = %s\n", target_name(target_native()));
    return 0;
}

#ifndef WRPNC_VERSION
#define WRPNC_VERSION "unknown"
#endif

/* Commands that need no model. */
static int no_model(const CliOptions *o)
{
    if (o->cmd == CMD_TARGETS)
        return cmd_targets();
    if (o->cmd == CMD_CFLAGS) {
        printf("%s\n", target_cflags(o->target));
        return 0;
    }
    for (int i = 0; i < OP_COUNT; i++)
        printf("%s%s%s\n", op_info[i].domain, *op_info[i].domain ? "::" : "", op_info[i].name);
    return 0;
}

/* Picks the C compiler (and an emulator) for commands that build code. */
static int tools_for(CliOptions *o)
{
    Diag d = {0};
    if (o->cmd == CMD_RUN || o->cmd == CMD_VERIFY) {
        if (cli_pick_tools(o, cli_default_cc, &d) != WR_OK) {
            fprintf(stderr, "%s: error: %s\n", o->model, d.msg);
            return 1;
        }
    }
    return 0;
}

static int dispatch(CliOptions *o, const char *const *pos)
{
    o->model = pos[0];
    if (o->cmd == CMD_TARGETS || o->cmd == CMD_CFLAGS || o->cmd == CMD_OPS)
        return no_model(o);
    if (!o->model)
        return cli_usage_error("%s needs a MODEL.onnx", cli_command_name(o->cmd));
    int rc = tools_for(o);
    if (rc)
        return rc;
    switch (o->cmd) {
    case CMD_COMPILE: return cmd_compile(o);
    case CMD_RUN: return cli_cmd_run(o);
    case CMD_VERIFY: o->verify_dir = pos[1]; return cli_cmd_verify(o);
    case CMD_INFO: return cli_cmd_info(o);
    case CMD_WIDEN: return cli_cmd_widen(o);
    case CMD_CALIBRATE: o->calibrate = pos[1]; return cli_cmd_calibrate(o);
    case CMD_COMPARE: return cli_cmd_compare(o);
    case CMD_TARGETS:
    case CMD_CFLAGS:
    case CMD_OPS:
    case CMD_COUNT: break;
    }
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        cli_help(argc < 2 ? stderr : stdout, -1);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("wrpnc %s\n", WRPNC_VERSION);
        return 0;
    }
    int c = cli_command(argv[1]);
    if (c < 0)
        return cli_usage_error("unknown command '%s'", argv[1]);
    const char *pos[2] = {0};
    int npos = 0;
    CliOptions o = {.cmd = (Command)c};
    int rc = cli_parse(&o, argc, argv, pos, &npos);
    if (rc)
        return rc < 0 ? 0 : rc;
    return dispatch(&o, pos);
}
