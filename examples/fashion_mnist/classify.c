/*
 * classify.c: classifies the Fashion-MNIST test set with a model compiled by
 * wrpnc (header fmnist.h, symbols fmnist_*), prints accuracy and the
 * confusion matrix, and, given the framework's predictions, how many images
 * the compiled model classifies differently.
 *
 *   classify IMAGES.idx LABELS.idx [REFERENCE_PREDICTIONS.u8]
 *
 * IDX files uncompressed (gzip -dc). Predictions: one byte per image.
 */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include "fmnist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static unsigned char *read_file(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)*n);
    if (p && fread(p, 1, (size_t)*n, f) != (size_t)*n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

int main(int argc, char **argv)
{
    long ni, nl, np = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: %s IMAGES.idx LABELS.idx [PREDICTIONS.u8]\n", argv[0]);
        return 2;
    }
    unsigned char *img = read_file(argv[1], &ni), *lab = read_file(argv[2], &nl);
    unsigned char *ref = argc > 3 ? read_file(argv[3], &np) : NULL;
    if (!img || !lab || ni < 16 || nl < 8 || (argc > 3 && !ref)) {
        fprintf(stderr, "classify: cannot read the data files\n");
        return 1;
    }
    int count = (int)(nl - 8);
    if (ni != 16 + (long)count * 784 || (ref && np != count)) {
        fprintf(stderr, "classify: file sizes do not match %d images\n", count);
        return 1;
    }
    void *ws = NULL;
    if (posix_memalign(&ws, FMNIST_WORKSPACE_ALIGN, FMNIST_WORKSPACE_BYTES) != 0)
        return 1;
    int confusion[10][10] = {{0}}, correct = 0, differ = 0;
    float x[784], logits[10];
    for (int i = 0; i < count; i++) {
        for (int p = 0; p < 784; p++)
            x[p] = (float)img[16 + (long)i * 784 + p] / 255.0f;
        fmnist_run(x, logits, ws);
        int pred = argmax(logits, 10), truth = lab[8 + i];
        confusion[truth][pred]++;
        correct += pred == truth;
        differ += ref && ref[i] != pred;
    }
    printf("accuracy: %.2f %% (%d of %d test images)\n", 100.0 * correct / count, correct, count);
    printf("confusion matrix (rows: true class, columns: predicted):\n%12s", "");
    for (int c = 0; c < 10; c++)
        printf("%6d", c);
    printf("\n");
    for (int r = 0; r < 10; r++) {
        printf("%d %-10s", r, names[r]);
        for (int c = 0; c < 10; c++)
            printf("%6d", confusion[r][c]);
        printf("\n");
    }
    if (ref)
        printf("predictions differing from the framework's: %d of %d\n", differ, count);
    free(ws);
    free(img);
    free(lab);
    free(ref);
    return ref && differ ? 3 : 0;
}
