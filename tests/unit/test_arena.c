/*
 * test_arena.c: the graph arena (ir/arena.c): every allocation 64-byte
 * aligned and zeroed, big requests in blocks of their own, strings copied,
 * and arena_free leaving an arena that works again.
 */
#include "unit.h"

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void test_alignment_and_zeroing(void **state)
{
    (void)state;
    Arena a = {0};
    for (size_t n = 0; n < 3000; n += 7) {
        unsigned char *p = arena_alloc(&a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        assert_true(all_zero(p, n));
        memset(p, 0xab, n); /* dirty it: the next allocation must still be zero */
    }
    arena_free(&a);
}

static void test_big_blocks(void **state)
{
    (void)state;
    Arena a = {0};
    unsigned char *small1 = arena_alloc(&a, 100);
    size_t big_n = (size_t)3 << 20; /* larger than a whole block */
    unsigned char *big = arena_alloc(&a, big_n);
    unsigned char *small2 = arena_alloc(&a, 100);
    assert_int_equal((uintptr_t)big % 64, 0);
    assert_true(all_zero(big, big_n));
    memset(big, 0xcd, big_n);
    /* The big block does not end the current one: small2 follows small1. */
    assert_ptr_equal(small2, small1 + 128);
    assert_true(all_zero(small2, 100));
    assert_true(a.total >= big_n + 256);
    /* A request exactly at the block size, and many blocks. */
    for (int i = 0; i < 40; i++) {
        unsigned char *p = arena_alloc(&a, (size_t)1 << 18);
        assert_int_equal((uintptr_t)p % 64, 0);
        assert_true(all_zero(p, (size_t)1 << 18));
        memset(p, 0xef, (size_t)1 << 18);
    }
    arena_free(&a);
    assert_null(a.head);
    assert_int_equal(a.total, 0);
}

static void test_reuse_after_free(void **state)
{
    (void)state;
    Arena a = {0};
    for (int round = 0; round < 3; round++) {
        unsigned char *p = arena_alloc(&a, 5000);
        assert_true(all_zero(p, 5000));
        memset(p, 0x11, 5000);
        arena_free(&a);
    }
}

static void test_strings(void **state)
{
    (void)state;
    Arena a = {0};
    char *s = arena_strdup(&a, "conv1/weight");
    assert_string_equal(s, "conv1/weight");
    assert_int_equal((uintptr_t)s % 64, 0);
    assert_string_equal(arena_strdup(&a, ""), "");
    char *f = arena_printf(&a, "%s_%d_%lld", "node", 7, (long long)INT64_MIN);
    assert_string_equal(f, "node_7_-9223372036854775808");
    char longer[5000];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    assert_string_equal(arena_printf(&a, "%s", longer), longer);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_zeroing),
        cmocka_unit_test(test_big_blocks),
        cmocka_unit_test(test_reuse_after_free),
        cmocka_unit_test(test_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
