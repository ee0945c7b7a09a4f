/*
 * The inline fast path: the zombie hit and the cached release, in the
 * caller, with exactly the meaning of zf_frame_acquire and
 * zf_frame_release (mix the two pairs freely, frame by frame); and each
 * half alone, zf_frame_hit_fast and zf_frame_give_fast (zf_hot_hit and
 * zf_hot_give on a ZfCodeHot itself), for glue with slow paths of its
 * own. They read and write the ZfCodeHot at the start of
 * every ZfCode, or, through zf_hot_hit and zf_hot_give, the one the
 * caller keeps for a code from zf_code_new_with_hot (one load less: glue
 * can hold it in its code object); and, in a pool whose inline state is
 * live, the word just before a stacked zombie's frame (its block
 * header's last word, or the prefix's under ZF_FLAG_FRAME_PREFIX): the
 * next zombie's frame.
 * Everything else, they leave to the exported functions: on a miss, to
 * zf_frame_acquire_slow and zf_frame_release_slow, the exported pair less
 * its own first try of the inline state. A pool in debug mode,
 * tracing, or under ZF_POLICY_LEGACY keeps every ZfCodeHot inert (slot
 * ZF_SLOT_SHUT, top NULL, room 0), so every call reaches the library and
 * its checks.
 *
 * A release fills the slot when it is free (NULL), else pushes onto the
 * stack while `room` lasts; a hit takes the slot's zombie, else pops the
 * stack. So a code with one frame at a time costs CPython's own zombie (a
 * load, a test, a store) plus the count; a recursion's frames cost a push
 * and a pop. A code's zombies are blocks of one size: which one a hit
 * gets does not matter.
 *
 * Unlike the exported pair, none tests its arguments for NULL: pass a
 * code from zf_code_new and, to the release, a frame acquired for it. Or,
 * to the two halves, an inert ZfCodeHot of the caller's own
 * (ZF_CODE_HOT_INERT): it never hits and never takes a frame, so glue can
 * stand it in for "no ZfCode yet" and test for that on its slow paths
 * only, never pass it to the exported functions. So can a ZfCodeHot of
 * the caller's own before zf_code_new_with_hot is given it, and after
 * zf_code_free: inert then.
 */

#define ZF_HAVE_FAST_PATH 1

/* The layout the fast path relies on, checked where the header is used. */
typedef char zf_check_code_hot_layout[
    (sizeof(ZfCodeHot) == ZF_CODE_HOT_BYTES && offsetof(ZfCodeHot, top) == 0 &&
     offsetof(ZfCodeHot, room) == 8 && offsetof(ZfCodeHot, hits) == 16 &&
     offsetof(ZfCodeHot, slot) == 24 && ZF_HEADER_BYTES == 16)
        ? 1 : -1];

/* An inert ZfCodeHot's initializer: static ZfCodeHot none = ZF_CODE_HOT_INERT; */
#define ZF_CODE_HOT_INERT { NULL, 0, 0, 0, (void *)ZF_SLOT_SHUT }

/* The hit alone, on a code's inline state: the zombie it holds, counted
 * as a zombie hit, or NULL when it holds none; NULL is not an error:
 * acquire with zf_frame_acquire_slow then (which may still find a zombie).
 * `hot` is a code's inline state: the one zf_code_new_with_hot was given,
 * the one at the start of a ZfCode from zf_code_new, or an inert one. */
static inline void *zf_hot_hit(ZfCodeHot *hot)
{
    void *frame = hot->slot;
    if ((uintptr_t)frame > ZF_SLOT_SHUT) {
        hot->slot = NULL;
    } else if ((frame = hot->top) != NULL) {
        hot->top = ((void **)frame)[-1];
        hot->room += 1;
    } else {
        return NULL;
    }
    hot->hits += 1;
    return frame;
}

/* zf_hot_hit on the state at the start of a ZfCode from zf_code_new: for
 * glue that keeps its miss path out of line, so the hit writes no
 * is_zombie flag. */
static inline void *zf_frame_hit_fast(ZfCode *code)
{
    return zf_hot_hit((ZfCodeHot *)(void *)code);
}

static inline void *zf_frame_acquire_fast(ZfCode *code, int *is_zombie)
{
    void *frame = zf_frame_hit_fast(code);
    if (frame == NULL) {
        /* A flag of its own for the call: the caller's never has its
         * address passed on, so it can stay in a register on a hit. */
        int zombie = 0;
        frame = zf_frame_acquire_slow(code, &zombie);
        if (frame != NULL && is_zombie != NULL)
            *is_zombie = zombie;
        return frame;
    }
    if (is_zombie != NULL)
        *is_zombie = 1;
    return frame;
}

/* The cached release alone, on a code's inline state: 1 when it took the
 * frame, else 0: release it with zf_frame_release_slow then. `hot` as
 * for zf_hot_hit. */
static inline int zf_hot_give(ZfCodeHot *hot, void *frame)
{
#if defined(__GNUC__)
    /* Where a code with one frame at a time releases: GCC's guess (a
     * pointer is seldom NULL) would put it out of line. */
    if (__builtin_expect(hot->slot == NULL, 1)) {
#else
    if (hot->slot == NULL) {
#endif
        hot->slot = frame;
        return 1;
    }
    if (hot->room != 0) {
        ((void **)frame)[-1] = hot->top;
        hot->top = frame;
        hot->room -= 1;
        return 1;
    }
    return 0;
}

/* zf_hot_give on the state at the start of a ZfCode from zf_code_new. */
static inline int zf_frame_give_fast(ZfCode *code, void *frame)
{
    return zf_hot_give((ZfCodeHot *)(void *)code, frame);
}

static inline void zf_frame_release_fast(ZfCode *code, void *frame)
{
    if (!zf_frame_give_fast(code, frame))
        zf_frame_release_slow(code, frame);
}
