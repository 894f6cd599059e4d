/*
 * cli_cross.c: running generated code for a target this CPU cannot execute.
 * On a non-aarch64 host, `neon` code is built with Debian's cross compiler
 * (gcc-aarch64-linux-gnu) and run under qemu-user with the cross sysroot:
 *   aarch64-linux-gnu-gcc ... -o harness && qemu-aarch64 -L SYSROOT harness ...
 * --cc / WRPNC_CC and --exec / WRPNC_EXEC override the defaults; WRPNC_NO_EMULATION=1
 * turns the emulated targets off. Emulated runs
 * check correctness only: their timings say nothing about the target.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char cross_cc[] = "aarch64-linux-gnu-gcc", qemu[] = "qemu-aarch64",
                  sysroot[] = "/usr/aarch64-linux-gnu";

/* Whether an executable named prog is on PATH. */
static bool in_path(const char *prog)
{
    const char *path = getenv("PATH");
    char dir[4096], full[4200];
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)n, p);
        snprintf(full, sizeof full, "%s/%s", n ? dir : ".", prog);
        if (access(full, X_OK) == 0)
            return true;
        p += n + (p[n] == ':');
    }
    return false;
}

/* The target needs an emulator here, and the cross tools for it are installed
 * (WRPNC_NO_EMULATION=1 turns emulation off, e.g. for sanitizer builds, whose
 * shadow memory qemu-user cannot host). */
static bool emulated(Target t)
{
    const char *off = getenv("WRPNC_NO_EMULATION");
    if (t != TARGET_NEON || target_runs_here(t) || (off && *off && strcmp(off, "0") != 0))
        return false;
    struct stat st;
    return in_path(cross_cc) && in_path(qemu) && stat(sysroot, &st) == 0;
}

const char *cli_target_how(Target t)
{
    if (target_runs_here(t))
        return "runs here";
    return emulated(t) ? "runs under qemu (aarch64-linux-gnu-gcc, qemu-aarch64)"
                       : "cannot run here";
}

/* Fills o->cc and o->exec: explicit options, then the environment, then the
 * cross tools for an emulated target, then the host compiler (default_cc). */
Status cli_pick_tools(CliOptions *o, const char *(*default_cc)(void), Diag *d)
{
    const char *env = getenv("WRPNC_EXEC");
    if (!o->exec && env && *env)
        o->exec = env;
    if (emulated(o->target) && !o->exec) {
        static char cmd[64];
        snprintf(cmd, sizeof cmd, "%s -L %s", qemu, sysroot);
        o->exec = cmd;
        if (!o->cc)
            o->cc = cross_cc;
    }
    if (o->target == TARGET_NEON && !target_runs_here(o->target) && !o->exec &&
        strcmp(o->engine, "c") == 0)
        return diag_error(d, WR_EUSAGE,
                          "target neon cannot run on this CPU: install gcc-aarch64-linux-gnu and "
                          "qemu-user, or give --cc and --exec");
    if (!o->cc)
        o->cc = default_cc();
    return WR_OK;
}

int cli_split_words(char *s, char **argv, int max)
{
    int n = 0;
    for (char *t = strtok(s, " "); t && n < max; t = strtok(NULL, " "))
        argv[n++] = t;
    return n;
}
