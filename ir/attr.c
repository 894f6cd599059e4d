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
