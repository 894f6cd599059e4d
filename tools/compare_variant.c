/*
 * compare_variant.c: variant strings of `wrpnc compare --variants`.
 *
 *   VARIANT = PREC [ "@" W [ "x" ] ] [ ":" ( "preserve" | "random" ) ]
 *   PREC    = "fp32" | "w" K "a" J | "as exported"       K, J in 1..8 or 32
 *
 * W (1 to 64) widens hidden layers; the init applies to widened variants only
 * (default: the --init option). "as exported" is a quantized model's own
 * quantization, lowered as it is; fp32 is the model without quantizers.
 * Case and surrounding spaces do not matter; the name is the string lower-cased.
 */
#include "compare.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static Status bad(Diag *d, const char *s, const char *why)
{
    return diag_error(d, WR_EUSAGE, "bad variant '%s'%s", s, why);
}

/* Parses "K" of "wKaJ" at *p; 1..8 or 32, else -1. */
static int bits(const char **p)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    char *e;
    long k = strtol(*p, &e, 10);
    *p = e;
    return (k >= 1 && k <= 8) || k == 32 ? (int)k : 0;
}

/* The precision at the start of s; advances *p past it. */
static Status precision(const char *s, const char **p, Variant *v, Diag *d)
{
    static const char *const exported[] = {"as exported", "as-exported", "exported"};
    for (size_t i = 0; i < sizeof exported / sizeof exported[0]; i++)
        if (!strncmp(s, exported[i], strlen(exported[i]))) {
            v->kind = VK_EXPORTED;
            v->kw = v->ka = 32;
            *p = s + strlen(exported[i]);
            return WR_OK;
        }
    if (!strncmp(s, "fp32", 4)) {
        v->kind = VK_FP32;
        v->kw = v->ka = 32;
        *p = s + 4;
        return WR_OK;
    }
    *p = s + 1;
    if (s[0] != 'w' || (v->kw = bits(p)) < 0 || **p != 'a' || (++*p, (v->ka = bits(p)) < 0))
        return bad(d, s, " (want fp32, wKaJ or as exported, optionally @Wx and :preserve or "
                         ":random, e.g. w4a4@2x)");
    if (!v->kw || !v->ka)
        return bad(d, s, ": bit widths are 1..8 or 32");
    v->kind = v->kw == 32 && v->ka == 32 ? VK_FP32 : VK_BITS;
    return WR_OK;
}

/* "@W[x]" at *p, if there. */
static Status width(const char *s, const char **p, Variant *v, Diag *d)
{
    v->width = 1;
    if (**p != '@')
        return WR_OK;
    const char *w = *p + 1;
    char *e = (char *)w;
    v->width = isdigit((unsigned char)*w) ? strtod(w, &e) : -1;
    if (v->width < 0)
        return bad(d, s, " (a width is @W or @Wx, W a number, e.g. @2x)");
    *p = e + (*e == 'x');
    if (!(v->width >= 1 && v->width <= 64))
        return bad(d, s, ": width must be in 1..64");
    return WR_OK;
}

static Status parse_one(const char *text, int default_init, Variant *v, Diag *d)
{
    char s[96] = {0};
    size_t k = 0;
    while (isspace((unsigned char)*text))
        text++;
    for (; text[k] && k + 1 < sizeof s; k++)
        s[k] = (char)tolower((unsigned char)text[k]);
    while (k && isspace((unsigned char)s[k - 1]))
        k--;
    s[k] = 0;
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", s);
    const char *p;
    WR_TRY(precision(s, &p, v, d));
    WR_TRY(width(s, &p, v, d));
    v->init = v->width > 1 ? default_init : -1;
    if (*p == ':' && (!strcmp(p + 1, "preserve") || !strcmp(p + 1, "random"))) {
        v->init = p[1] == 'p' ? WIDTH_PRESERVE : WIDTH_RANDOM;
        p += strlen(p);
    }
    if (*p)
        return bad(d, s, " (want fp32, wKaJ or as exported, optionally @Wx and :preserve or "
                         ":random, e.g. w4a4@2x)");
    return WR_OK;
}

Status cmp_parse_variants(const char *list, int default_init, Variant *v, int *n, Diag *d)
{
    *n = 0;
    for (const char *p = list;; p++) {
        size_t len = strcspn(p, ",");
        char item[128];
        snprintf(item, sizeof item, "%.*s", (int)(len < 127 ? len : 127), p);
        if (strspn(item, " \t") == strlen(item))
            return diag_error(d, WR_EUSAGE, "empty variant in '%s'", list);
        if (*n == CMP_MAX_VARIANTS)
            return diag_error(d, WR_EUSAGE, "more than %d variants", CMP_MAX_VARIANTS);
        WR_TRY(parse_one(item, default_init, &v[*n], d));
        for (int i = 0; i < *n; i++)
            if (!strcmp(v[i].name, v[*n].name))
                return diag_error(d, WR_EUSAGE, "variant listed twice: %s", v[i].name);
        ++*n;
        p += len;
        if (!*p)
            return WR_OK;
    }
}

void cmp_slug(const char *name, char *out, size_t n)
{
    size_t k = 0;
    bool sep = false;
    for (const char *p = name; *p && k + 2 < n; p++) {
        if (isalnum((unsigned char)*p)) {
            if (sep && k)
                out[k++] = '_';
            out[k++] = *p;
            sep = false;
        } else
            sep = true;
    }
    out[k] = 0;
}
