/*
 * diag.c: user-facing errors (returned as Status + message, never fatal) and
 * internal invariant failures (wr_die: file and line, then abort).
 */
#include "ir.h"

#include <stdio.h>
#include <stdlib.h>

#undef diag_error /* the analyzer's stand-ins (ir.h) would rename the definitions */
#undef diag_node

static void vset(Diag *d, const char *prefix, const char *fmt, va_list ap)
{
    int n = snprintf(d->msg, sizeof d->msg, "%s", prefix);
    if (n < 0 || (size_t)n >= sizeof d->msg)
        return;
    vsnprintf(d->msg + n, sizeof d->msg - (size_t)n, fmt, ap);
}

Status diag_error(Diag *d, Status s, const char *fmt, ...)
{
    if (!d || d->status != WR_OK)
        return s;
    d->status = s;
    va_list ap;
    va_start(ap, fmt);
    vset(d, "", fmt, ap);
    va_end(ap);
    return s;
}

Status diag_node(Diag *d, Status s, const Node *n, const char *fmt, ...)
{
    if (!d || d->status != WR_OK)
        return s;
    char prefix[384];
    snprintf(prefix, sizeof prefix, "node '%s' (%s): ", n->name, op_name(n));
    d->status = s;
    va_list ap;
    va_start(ap, fmt);
    vset(d, prefix, fmt, ap);
    va_end(ap);
    return s;
}

void wr_die(const char *file, int line, const char *fmt, ...)
{
    fprintf(stderr, "wrpnc: internal error at %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
