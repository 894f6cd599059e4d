/*
 * dump.c: a stable text form of the graph (wrpnc compile -d), one line per
 * node: id, op, name, inputs -> outputs with dtypes and shapes.
 */
#include "ir.h"

#include <string.h>

static void tensor_str(const Tensor *t, FILE *f)
{
    char buf[128];
    if (!t) {
        fprintf(f, "_");
        return;
    }
    char q[96] = "";
    if (t->q) {
        q[0] = '<';
        qtype_str(t->q, q + 1, sizeof q - 40);
        size_t k = strlen(q);
        snprintf(q + k, sizeof q - k, t->layout != LAYOUT_DENSE ? ", %s/%lld>" : ">",
                 layout_info[t->layout].name, (long long)t->group);
    }
    fprintf(f, "%%%s:%s%s[%s]%s", t->name, dtype_info[t->dtype].name, q,
            ir_shape_str(t, buf, sizeof buf), t->data ? "=const" : "");
}

void ir_dump(const Graph *g, FILE *f)
{
    fprintf(f, "graph %s (opset %lld)\n", g->name, (long long)g->opset);
    for (int i = 0; i < g->ninput; i++) {
        fprintf(f, "  input ");
        tensor_str(g->input[i], f);
        fputc('\n', f);
    }
    for (int i = 0; i < g->nnode; i++) {
        const Node *n = g->node[i];
        fprintf(f, "  %d: %s '%s' (", i, op_name(n), n->name);
        for (int j = 0; j < n->nin; j++) {
            if (j)
                fprintf(f, ", ");
            tensor_str(n->in[j], f);
        }
        fprintf(f, ") -> (");
        for (int j = 0; j < n->nout; j++) {
            if (j)
                fprintf(f, ", ");
            tensor_str(n->out[j], f);
        }
        fprintf(f, ")%s\n", n->act ? " +act" : "");
    }
    for (int i = 0; i < g->noutput; i++) {
        fprintf(f, "  output ");
        tensor_str(g->output[i], f);
        fputc('\n', f);
    }
}
