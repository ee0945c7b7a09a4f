/*
 * 10,000 short-lived code objects (lambdas, exec'd snippets): each is made,
 * called CALLS times, and destroyed WINDOW codes later. Frame sizes vary.
 * The budget is far smaller than what the live codes' zombies would take,
 * so caching keeps evicting idle codes' zombies (CLOCK); cached bytes must
 * stay within the budget after every call (minipy checks), and the pool
 * must drain to 0: by aging sweeps once the codes go idle, or by their
 * code_dealloc.
 */
#include "check.h"
#include "minipy.h"

enum { CODES = 10000, WINDOW = 50, CALLS = 3, BUDGET = 8 * 1024 };

static PyCodeObject *window[WINDOW];
static uint64_t max_block;
static uint64_t dealloc_frees; /* zombies code_dealloc freed */

static void dealloc(PyCodeObject *co)
{
    uint64_t before = pool_stats().cached_frames;
    code_dealloc(co);
    dealloc_frees += before - pool_stats().cached_frames;
}

/* Where every freed block went: aged, evicted, or with its code. No
 * release frees its frame here, since none finds its code's list full or
 * the budget unmakeable. */
static void check_frees(void)
{
    ZfStats s = pool_stats();
    CHECK_EQ(s.frees, s.aged_frees + s.evicted_frees + dealloc_frees);
}

static PyCodeObject *make_code(int i)
{
    PyCodeObject *co = code_new("<lambda>", i % 17, 1 + i % 13, i % 3 == 0, i % 5 == 0);
    if (co != NULL && BLOCK_BYTES(code_frame_bytes(co)) > max_block)
        max_block = BLOCK_BYTES(code_frame_bytes(co));
    return co;
}

/* Creates every code, calls each CALLS times one after another. */
static void churn(void)
{
    int i, c;
    for (i = 0; i < CODES; i++) {
        PyCodeObject *co = make_code(i);
        dealloc(window[i % WINDOW]); /* NULL for the first WINDOW */
        window[i % WINDOW] = co;
        for (c = 0; c < CALLS && co != NULL; c++)
            call_leave(call_enter(co, NULL));
    }
}

static void dealloc_window(void)
{
    int i;
    for (i = 0; i < WINDOW; i++) {
        dealloc(window[i]);
        window[i] = NULL;
    }
}

/* The part every run shares: a release never needs to rob the releasing
 * code (its list is empty then), so each code's first call allocates and
 * the others hit, whatever the clock evicts. */
static void check_churn(void)
{
    ZfStats s = pool_stats();
    CHECK_EQ(s.codes_created, CODES);
    CHECK_EQ(s.codes, WINDOW);
    CHECK_EQ(s.acquires, (uint64_t)CODES * CALLS);
    CHECK_EQ(s.fresh_allocs, CODES);
    CHECK_EQ(s.zombie_hits, (uint64_t)CODES * (CALLS - 1));
    CHECK(s.evicted_frees > 0); /* the budget was really in the way */
    /* Eviction starts only when the next block would not fit. */
    CHECK(s.peak_cached_bytes <= BUDGET && s.peak_cached_bytes > BUDGET - max_block);
    CHECK_EQ(s.sweeps, (uint64_t)CODES * CALLS / ZF_DEFAULT_SWEEP_EVERY);
    CHECK(s.cached_frames <= WINDOW); /* one zombie per live code at most */
    check_frees();
}

static int start(void)
{
    ZfConfig cfg;
    scenario_config(&cfg);
    cfg.budget_bytes = BUDGET;
    max_block = 0;
    dealloc_frees = 0;
    return minipy_init(&cfg);
}

static void drained_by_sweeps(void)
{
    uint64_t churn_frees;
    ZfStats s;
    if (start() != 0) {
        CHECK(0);
        return;
    }
    churn();
    check_churn();
    print_summary("many-codes (drained by sweeps)");
    printf("  evicted %llu, aged %llu, freed by code_dealloc %llu\n",
           (unsigned long long)pool_stats().evicted_frees,
           (unsigned long long)pool_stats().aged_frees, (unsigned long long)dealloc_frees);
    /* Every list holds at most one zombie, so two collections empty the
     * pool: the first frees the lists whose low-water mark is already 1
     * and marks the others, the second frees those. */
    gc_collect(0);
    gc_collect(0);
    s = pool_stats();
    CHECK_EQ(s.cached_bytes, 0);
    CHECK_EQ(s.cached_frames, 0);
    CHECK_EQ(gc_collect(2), 0);
    churn_frees = dealloc_frees;
    dealloc_window();
    s = pool_stats();
    CHECK_EQ(s.codes, 0);
    CHECK_EQ(s.frees, CODES);
    CHECK_EQ(dealloc_frees, churn_frees); /* the sweeps left nothing to free */
    check_frees();
    CHECK_AUDIT_CLEAN();
    minipy_fini();
}

static void drained_by_dealloc(void)
{
    ZfStats s;
    if (start() != 0) {
        CHECK(0);
        return;
    }
    churn();
    check_churn();
    print_summary("many-codes (drained by code_dealloc)");
    dealloc_window();
    s = pool_stats();
    CHECK_EQ(s.cached_bytes, 0);
    CHECK_EQ(s.cached_frames, 0);
    CHECK_EQ(s.codes, 0);
    CHECK_EQ(s.frees, CODES);
    check_frees();
    CHECK_AUDIT_CLEAN();
    minipy_fini();
}

int main(void)
{
    drained_by_sweeps();
    drained_by_dealloc();
    return check_done();
}
