/*
 * product.c: a minimal product that embeds a model compiled by wrpnc. It owns
 * the workspace (a static buffer the header's NET_WORKSPACE_DECLARE sizes and
 * aligns: no malloc), classifies one built-in 28x28 image and prints the
 * class scores.
 */
#include "net.h"

#include <stdio.h>

NET_WORKSPACE_DECLARE(workspace);

int main(void)
{
    float image[NET_INPUT_0_COUNT], scores[NET_OUTPUT_0_COUNT];
    for (int i = 0; i < NET_INPUT_0_COUNT; i++) { /* a bright ring on black */
        int y = i / 28 - 14, x = i % 28 - 14;
        image[i] = y * y + x * x < 100 ? 1.0f : 0.0f;
    }
    net_run(image, scores, workspace);
    int best = 0;
    for (int i = 0; i < NET_OUTPUT_0_COUNT; i++) {
        printf("class %d: %.4f\n", i, (double)scores[i]);
        if (scores[i] > scores[best])
            best = i;
    }
    printf("predicted class: %d\n", best);
    return 0;
}
