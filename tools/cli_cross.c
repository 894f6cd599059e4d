/*
 * cli_cross.c: running generated code for a target this CPU cannot execute.
 * neon on a non-aarch64 host: built with Debian's cross compiler
 * (gcc-aarch64-linux-gnu) and run under qemu-user with the cross sysroot:
 *   aarch64-linux-gnu-gcc ... -o harness && qemu-aarch64 -L SYSROOT harness ...
 * avx512 on an x86-64 CPU with AVX2 but without AVX-512: built against SIMDe
 * (Debian libsimde-dev) by a compiler wrapper written to a temporary folder that
 * drops the -mavx512* flags and puts first on the include path an <immintrin.h>
 * that includes the real one, then runtime/wrpnc_simde.h (so only a file that uses
 * intrinsics pays for SIMDe's headers, about a second per file), and run natively. --cc / WRPNC_CC and --exec / WRPNC_EXEC
 * override the defaults; WRPNC_NO_EMULATION=1 turns the emulated targets off.
 * Emulated runs check correctness only: their timings say nothing about the target.
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

/* SIMDe's AVX-512 header in the compiler's default include folders. */
static bool have_simde(void)
{
    static const char *const dirs[] = {"/usr/include", "/usr/local/include"};
    struct stat st;
    char path[256];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/simde/x86/avx512.h", dirs[i]);
        if (stat(path, &st) == 0)
            return true;
    }
    return false;
}

/* The target needs emulation here, and its tools are installed
 * (WRPNC_NO_EMULATION=1 turns emulation off, e.g. for sanitizer builds, whose
 * shadow memory qemu-user cannot host). */
static bool emulated(Target t)
{
    const char *off = getenv("WRPNC_NO_EMULATION");
    if (target_runs_here(t) || (off && *off && strcmp(off, "0") != 0))
        return false;
    struct stat st;
    if (t == TARGET_AVX512)
        return target_runs_here(TARGET_AVX2) && have_simde();
    return t == TARGET_NEON && in_path(cross_cc) && in_path(qemu) && stat(sysroot, &st) == 0;
}

const char *cli_target_how(Target t)
{
    if (target_runs_here(t))
        return "runs here";
    if (t == TARGET_AVX512)
        return emulated(t) ? "runs emulated (SIMDe: AVX-512 intrinsics on AVX2; results "
                             "checked, speed meaningless)"
               : target_runs_here(TARGET_AVX2)
                   ? "cannot run here (no AVX-512; install libsimde-dev to run it emulated)"
                   : "cannot run here";
    return emulated(t) ? "runs under qemu (aarch64-linux-gnu-gcc, qemu-aarch64)"
                       : "cannot run here";
}

/* ---- avx512 through SIMDe ---- */

static char simde_dir[64];

static void simde_cleanup(void)
{
    if (simde_dir[0])
        cli_rm_rf(simde_dir);
}

static Status write_file(const char *path, const char *text, int mode, Diag *d)
{
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(text, f) >= 0;
    if (f)
        ok &= fclose(f) == 0;
    if (!ok || chmod(path, (mode_t)mode) != 0)
        return diag_error(d, WR_EIO, "%s: cannot write", path);
    return WR_OK;
}

/* Writes wrpnc_simde.h, an <immintrin.h> that includes the compiler's own and then
 * it, and a wrapper of cc to a temporary folder (removed at exit); the wrapper drops
 * -mavx512* flags and searches the folder first. Sets *wrapper. */
static Status simde_wrapper(const char *cc, const char **wrapper, Diag *d)
{
    snprintf(simde_dir, sizeof simde_dir, "/tmp/wrpnc-simde-XXXXXX");
    if (!mkdtemp(simde_dir))
        return simde_dir[0] = 0, diag_error(d, WR_EIO, "cannot create a temporary folder");
    atexit(simde_cleanup);
    static char hdr[128], shim[128], sh[128];
    snprintf(hdr, sizeof hdr, "%s/wrpnc_simde.h", simde_dir);
    snprintf(shim, sizeof shim, "%s/immintrin.h", simde_dir);
    snprintf(sh, sizeof sh, "%s/cc", simde_dir);
    char text[1024];
    snprintf(text, sizeof text,
             "#!/bin/sh\n# wrpnc: --target avx512 on a CPU without AVX-512, through SIMDe\n"
             "for a do\n    shift\n    case $a in -mavx512*) ;; *) set -- \"$@\" \"$a\" ;; "
             "esac\ndone\nexec %s -Wno-psabi -isystem %s \"$@\"\n",
             cc, simde_dir);
    WR_TRY(write_file(hdr, cg_runtime_file("wrpnc_simde.h"), 0644, d));
    WR_TRY(write_file(shim, "#ifndef WRPNC_IMMINTRIN_SHIM\n#define WRPNC_IMMINTRIN_SHIM\n"
                            "#include_next <immintrin.h>\n#include \"wrpnc_simde.h\"\n#endif\n",
                      0644, d));
    WR_TRY(write_file(sh, text, 0755, d));
    *wrapper = sh;
    return WR_OK;
}

/* Fills o->cc and o->exec: explicit options, then the environment, then the
 * cross tools for an emulated target, then the host compiler (default_cc). */
Status cli_pick_tools(CliOptions *o, const char *(*default_cc)(void), Diag *d)
{
    const char *env = getenv("WRPNC_EXEC");
    if (!o->exec && env && *env)
        o->exec = env;
    if (o->target == TARGET_NEON && emulated(o->target) && !o->exec) {
        static char cmd[64];
        snprintf(cmd, sizeof cmd, "%s -L %s", qemu, sysroot);
        o->exec = cmd;
        if (!o->cc)
            o->cc = cross_cc;
    }
    bool c_engine = strcmp(o->engine, "c") == 0;
    if (o->target == TARGET_NEON && !target_runs_here(o->target) && !o->exec && c_engine)
        return diag_error(d, WR_EUSAGE,
                          "target neon cannot run on this CPU: install gcc-aarch64-linux-gnu and "
                          "qemu-user, or give --cc and --exec");
    if (o->target == TARGET_AVX512 && !target_runs_here(o->target) && !o->exec && c_engine &&
        !emulated(o->target))
        return diag_error(d, WR_EUSAGE,
                          "target avx512 cannot run on this CPU (no AVX-512): install "
                          "libsimde-dev to run it emulated through SIMDe, or give --exec");
    if (!o->cc)
        o->cc = default_cc();
    if (o->target == TARGET_AVX512 && emulated(o->target) && !o->exec && c_engine) {
        WR_TRY(simde_wrapper(o->cc, &o->cc, d));
        printf("wrpnc: target avx512 runs emulated (SIMDe) on this CPU: results are checked, "
               "timings mean nothing\n");
        fflush(stdout);
    }
    return WR_OK;
}

int cli_split_words(char *s, char **argv, int max)
{
    int n = 0;
    for (char *t = strtok(s, " "); t && n < max; t = strtok(NULL, " "))
        argv[n++] = t;
    return n;
}
