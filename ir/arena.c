/*
 * arena.c: bump allocation for everything a Graph owns.
 * Blocks are malloc'ed and chained; nothing is freed before arena_free.
 * Large requests get a block of their own so weights do not waste space.
 */
#include "ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ARENA_BLOCK = 1 << 20, ARENA_ALIGN = 64 };

struct ArenaBlock {
    ArenaBlock *next;
    size_t used, cap;
    _Alignas(64) unsigned char mem[];
};

static ArenaBlock *block_new(size_t cap)
{
    ArenaBlock *b = aligned_alloc(ARENA_ALIGN, (sizeof(ArenaBlock) + cap + 63) / 64 * 64);
    if (!b)
        wr_die(__FILE__, __LINE__, "out of memory allocating %zu bytes", cap);
    b->next = NULL;
    b->used = 0;
    b->cap = cap;
    return b;
}

void *arena_alloc(Arena *a, size_t n)
{
    size_t need = (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (need < n)
        wr_die(__FILE__, __LINE__, "allocation size overflow");
    ArenaBlock *b = a->head;
    if (!b || b->cap - b->used < need) {
        if (need >= ARENA_BLOCK / 4) {
            /* A big request gets its own block behind the current one. */
            ArenaBlock *big = block_new(need);
            if (b) {
                big->next = b->next;
                b->next = big;
            } else {
                a->head = big;
            }
            big->used = need;
            a->total += need;
            memset(big->mem, 0, need);
            return big->mem;
        }
        b = block_new(ARENA_BLOCK);
        b->next = a->head;
        a->head = b;
    }
    void *p = b->mem + b->used;
    b->used += need;
    a->total += need;
    memset(p, 0, need);
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(a, n);
    memcpy(p, s, n);
    return p;
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_free(Arena *a)
{
    ArenaBlock *b = a->head;
    while (b) {
        ArenaBlock *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}
