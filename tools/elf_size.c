/*
 * elf_size.c: what a compiled object holds, read from its ELF headers (32 or
 * 64 bit, either byte order), so that compare reports sizes the compiler
 * produced rather than a formula: .text* bytes, .rodata* / .lrodata* bytes,
 * and the sized data symbols in those read-only sections (the model's constant
 * arrays: weights, scales, thresholds, packed tables).
 */
#include "compare.h"

#include <stdlib.h>
#include <string.h>

typedef struct Elf {
    const unsigned char *p;
    size_t n;
    bool is64, big;
} Elf;

/* An unsigned field of w bytes at offset off (0 when outside the file). */
static uint64_t field(const Elf *e, size_t off, int w)
{
    uint64_t v = 0;
    if (off + (size_t)w > e->n)
        return 0;
    for (int i = 0; i < w; i++)
        v |= (uint64_t)e->p[off + (size_t)(e->big ? w - 1 - i : i)] << (8 * i);
    return v;
}

typedef struct Section {
    uint64_t name, type, off, size, link, entsize;
} Section;

static Section section(const Elf *e, uint64_t shoff, uint64_t shentsize, uint64_t i)
{
    size_t o = (size_t)(shoff + i * shentsize);
    Section s;
    int w = e->is64 ? 8 : 4;
    s.name = field(e, o, 4);
    s.type = field(e, o + 4, 4);
    s.off = field(e, o + (e->is64 ? 24 : 16), w);
    s.size = field(e, o + (e->is64 ? 32 : 20), w);
    s.link = field(e, o + (e->is64 ? 40 : 24), 4);
    s.entsize = field(e, o + (e->is64 ? 56 : 36), w);
    return s;
}

/* 1: .text*, 2: .rodata* or .lrodata*, 0: other. */
static int kind(const Elf *e, const Section *names, const Section *s)
{
    size_t at = (size_t)(names->off + s->name);
    if (at >= e->n)
        return 0;
    const char *nm = (const char *)e->p + at;
    size_t room = e->n - at;
    if (room > 5 && !strncmp(nm, ".text", 5))
        return 1;
    if ((room > 7 && !strncmp(nm, ".rodata", 7)) || (room > 8 && !strncmp(nm, ".lrodata", 8)))
        return 2;
    return 0;
}

/* Sums the sizes of the data symbols (STT_OBJECT) defined in read-only sections. */
static int64_t objects(const Elf *e, const Section *sym, const int *kinds, uint64_t nsec)
{
    int64_t total = 0;
    size_t esz = e->is64 ? 24 : 16;
    for (uint64_t i = 0; sym->entsize && i < sym->size / esz; i++) {
        size_t o = (size_t)(sym->off + i * esz);
        uint64_t info = field(e, o + (e->is64 ? 4 : 12), 1);
        uint64_t shndx = field(e, o + (e->is64 ? 6 : 14), 2);
        uint64_t size = field(e, o + (e->is64 ? 16 : 8), e->is64 ? 8 : 4);
        if ((info & 15) == 1 && shndx < nsec && kinds[shndx] == 2)
            total += (int64_t)size;
    }
    return total;
}

static Status parse(const Elf *e, ElfSizes *s, const char *path, Diag *d)
{
    uint64_t shoff = field(e, e->is64 ? 0x28 : 0x20, e->is64 ? 8 : 4);
    uint64_t shentsize = field(e, e->is64 ? 0x3A : 0x2E, 2);
    uint64_t shnum = field(e, e->is64 ? 0x3C : 0x30, 2);
    uint64_t shstrndx = field(e, e->is64 ? 0x3E : 0x32, 2);
    if (!shnum || shstrndx >= shnum || shoff + shnum * shentsize > e->n)
        return diag_error(d, WR_EPARSE, "%s: no section headers", path);
    Section names = section(e, shoff, shentsize, shstrndx);
    int *kinds = calloc(shnum, sizeof *kinds);
    WR_ASSERT(kinds);
    memset(s, 0, sizeof *s);
    for (uint64_t i = 0; i < shnum; i++) {
        Section sc = section(e, shoff, shentsize, i);
        kinds[i] = kind(e, &names, &sc);
        s->text += kinds[i] == 1 ? (int64_t)sc.size : 0;
        s->rodata += kinds[i] == 2 ? (int64_t)sc.size : 0;
    }
    for (uint64_t i = 0; i < shnum; i++) {
        Section sc = section(e, shoff, shentsize, i);
        if (sc.type == 2) /* SHT_SYMTAB */
            s->objects += objects(e, &sc, kinds, shnum);
    }
    free(kinds);
    return WR_OK;
}

Status elf_sizes(const char *path, ElfSizes *s, Diag *d)
{
    unsigned char *buf;
    size_t n;
    WR_TRY(fe_read_file(path, &buf, &n, d));
    Elf e = {buf, n, n > 5 && buf[4] == 2, n > 5 && buf[5] == 2};
    Status st = n < 0x40 || memcmp(buf, "\x7f" "ELF", 4) != 0
                    ? diag_error(d, WR_EPARSE, "%s is not an ELF object", path)
                    : parse(&e, s, path, d);
    free(buf);
    return st;
}
