/*
 * bad_example.c: code the lint configuration must reject (test lint_catches,
 * which expects tools/lint.sh --check-file on it to fail): a string compared
 * without an explicit result test (clang-tidy) and a read past an array's end
 * (cppcheck). Never built.
 */
#include <string.h>

int lint_bad_compare(const char *a);
int lint_bad_index(void);

int lint_bad_compare(const char *a)
{
    if (strcmp(a, "x"))
        return 1;
    return 0;
}

int lint_bad_index(void)
{
    int v[4] = {0, 1, 2, 3};
    return v[4];
}
