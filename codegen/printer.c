/*
 * printer.c: text buffers and the indenting line printer every emitter uses.
 */
#include "codegen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(Buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        wr_die(__FILE__, __LINE__, "out of memory");
    b->p = p;
    b->cap = cap;
}

void buf_puts(Buf *b, const char *s)
{
    size_t n = strlen(s);
    reserve(b, n);
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

void buf_vprintf(Buf *b, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    reserve(b, (size_t)n);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(Buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_free(Buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void indent(Emitter *e)
{
    for (int i = 0; i < e->indent; i++)
        buf_puts(e->cur, "    ");
}

void cg_line(Emitter *e, const char *fmt, ...)
{
    indent(e);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(e->cur, fmt, ap);
    va_end(ap);
    buf_puts(e->cur, "\n");
}

void cg_open(Emitter *e, const char *fmt, ...)
{
    indent(e);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(e->cur, fmt, ap);
    va_end(ap);
    buf_puts(e->cur, " {\n");
    e->indent++;
}

void cg_close_with(Emitter *e, const char *tail)
{
    WR_ASSERT(e->indent > 0);
    e->indent--;
    indent(e);
    buf_printf(e->cur, "}%s\n", tail);
}

void cg_close(Emitter *e) { cg_close_with(e, ""); }
