/*
 * attr.c: typed attribute access for op infer functions. A getter that finds
 * the attribute with the wrong type records it in the node; ir_infer turns
 * that into an error naming node, op, attribute and both types.
 */
#include "ir.h"

#include <string.h>

const Attr *ir_attr_find(const Node *n, const char *name)
{
    for (int i = 0; i < n->nattr; i++)
        if (strcmp(n->attr[i].name, name) == 0)
            return &n->attr[i];
    return NULL;
}

static const Attr *typed(Node *n, const char *name, AttrType want)
{
    const Attr *a = ir_attr_find(n, name);
    if (a && a->type != want) {
        if (!n->bad_attr) {
            n->bad_attr = a->name;
            n->bad_attr_want = want;
        }
        return NULL;
    }
    return a;
}

int64_t ir_attr_int(Node *n, const char *name, int64_t def)
{
    const Attr *a = typed(n, name, ATTR_INT);
    return a ? a->i : def;
}

float ir_attr_float(Node *n, const char *name, float def)
{
    const Attr *a = typed(n, name, ATTR_FLOAT);
    return a ? a->f : def;
}

const char *ir_attr_str(Node *n, const char *name, const char *def)
{
    const Attr *a = typed(n, name, ATTR_STRING);
    return a ? a->s : def;
}

int ir_attr_ints(Node *n, const char *name, const int64_t **out)
{
    const Attr *a = typed(n, name, ATTR_INTS);
    *out = a ? a->ints : NULL;
    return a ? a->n : -1;
}

int ir_attr_floats(Node *n, const char *name, const float **out)
{
    const Attr *a = typed(n, name, ATTR_FLOATS);
    *out = a ? a->floats : NULL;
    return a ? a->n : -1;
}

Tensor *ir_attr_tensor(Node *n, const char *name)
{
    const Attr *a = typed(n, name, ATTR_TENSOR);
    return a ? a->t : NULL;
}

const char *ir_attr_type_name(AttrType t)
{
    static const char *names[] = {"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR",
                                  "GRAPH", "FLOATS", "INTS", "STRINGS"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "OTHER";
}

/* The attribute name of n, replaced (emptied) when present, else appended. The
 * array is copied first: nodes made from another node may share it. */
static Attr *attr_slot(Graph *g, Node *n, const char *name, AttrType t)
{
    const Attr *old = ir_attr_find(n, name);
    int at = old ? (int)(old - n->attr) : n->nattr;
    Attr *all = arena_alloc(&g->arena, sizeof *all * (size_t)(n->nattr + 1));
    if (n->nattr)
        memcpy(all, n->attr, sizeof *all * (size_t)n->nattr);
    n->attr = all;
    n->nattr += old ? 0 : 1;
    Attr *a = &all[at];
    memset(a, 0, sizeof *a);
    a->name = arena_strdup(&g->arena, name);
    a->type = t;
    return a;
}

void ir_attr_set_int(Graph *g, Node *n, const char *name, int64_t v)
{
    attr_slot(g, n, name, ATTR_INT)->i = v;
}

void ir_attr_set_float(Graph *g, Node *n, const char *name, float v)
{
    attr_slot(g, n, name, ATTR_FLOAT)->f = v;
}

void ir_attr_set_str(Graph *g, Node *n, const char *name, const char *v)
{
    attr_slot(g, n, name, ATTR_STRING)->s = arena_strdup(&g->arena, v);
}

void ir_attr_set_floats(Graph *g, Node *n, const char *name, int count, const float *v)
{
    Attr *a = attr_slot(g, n, name, ATTR_FLOATS);
    float *f = arena_alloc(&g->arena, sizeof(float) * (size_t)(count > 0 ? count : 1));
    memcpy(f, v, sizeof(float) * (size_t)count);
    a->n = count;
    a->floats = f;
}

void ir_attr_remove(Graph *g, Node *n, const char *name)
{
    const Attr *old = ir_attr_find(n, name);
    if (!old)
        return;
    int at = (int)(old - n->attr);
    Attr *all = arena_alloc(&g->arena, sizeof *all * (size_t)n->nattr);
    memcpy(all, n->attr, sizeof *all * (size_t)n->nattr);
    all[at] = all[n->nattr - 1];
    n->attr = all;
    n->nattr--;
}

void ir_attr_copy(Graph *g, Node *dst, const Node *src, const char *name)
{
    const Attr *a = ir_attr_find(src, name);
    if (a)
        *attr_slot(g, dst, name, a->type) = *a;
}
