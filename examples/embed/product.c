/*
 * product.c: a minimal product that embeds a model compiled by wrpnc. It owns
 * the workspace (a static buffer sized by the header's macro: no malloc),
 * classifies one built-in 28x28 image and prints the class scores.
 */
#include "net.h"

#include <stdio.h>

static float workspace[(NET_WORKSPACE_BYTES + sizeof(float) - 1) / sizeof(float) + 16];

int main(void)
{
    /* 64-byte alignment from a float array: step to the next aligned address. */
    unsigned char *ws = (unsigned char *)workspace;
    ws += (64 - (unsigned long)ws % 64) % 64;
    float image[NET_INPUT_0_COUNT], scores[NET_OUTPUT_0_COUNT];
    for (int i = 0; i < NET_INPUT_0_COUNT; i++) /* a bright ring on black */
        image[i] = ((i / 28 - 14) * (i / 28 - 14) + (i % 28 - 14) * (i % 28 - 14)) < 100 ? 1.0f : 0.0f;
    net_run(image, scores, ws);
    int best = 0;
    for (int i = 0; i < NET_OUTPUT_0_COUNT; i++) {
        printf("class %d: %.4f\n", i, (double)scores[i]);
        if (scores[i] > scores[best])
            best = i;
    }
    printf("predicted class: %d\n", best);
    return 0;
}
