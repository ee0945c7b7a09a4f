/*
 * The inline fast path: the zombie hit and the cached release, in the
 * caller, with exactly the meaning of zf_frame_acquire and
 * zf_frame_release (mix the two pairs freely, frame by frame). They read
 * and write the ZfCodeHot at the start of every ZfCode, and the first word
 * of a zombie's block header (ZF_HEADER_BYTES before the frame): the next
 * zombie's frame. Everything else, they leave to the exported functions.
 * A pool in debug mode, tracing, or under ZF_POLICY_LEGACY keeps every
 * ZfCodeHot inert (top NULL, room 0), so every call reaches the library
 * and its checks.
 *
 * Unlike the exported pair, neither tests its arguments for NULL: pass a
 * code from zf_code_new and, to the release, a frame acquired for it.
 */

#define ZF_HAVE_FAST_PATH 1

/* The layout the fast path relies on, checked where the header is used. */
typedef char zf_check_code_hot_layout[
    (sizeof(ZfCodeHot) == ZF_CODE_HOT_BYTES && offsetof(ZfCodeHot, top) == 0 &&
     offsetof(ZfCodeHot, room) == 8 && offsetof(ZfCodeHot, hits) == 16 && ZF_HEADER_BYTES == 16)
        ? 1 : -1];

static inline void *zf_frame_acquire_fast(ZfCode *code, int *is_zombie)
{
    ZfCodeHot *hot = (ZfCodeHot *)(void *)code;
    void *frame = hot->top;
    if (frame != NULL) {
        hot->top = *(void **)(void *)((char *)frame - ZF_HEADER_BYTES);
        hot->room += 1;
        hot->hits += 1;
        if (is_zombie != NULL)
            *is_zombie = 1;
        return frame;
    }
    return zf_frame_acquire(code, is_zombie);
}

static inline void zf_frame_release_fast(ZfCode *code, void *frame)
{
    ZfCodeHot *hot = (ZfCodeHot *)(void *)code;
    if (hot->room != 0) {
        *(void **)(void *)((char *)frame - ZF_HEADER_BYTES) = hot->top;
        hot->top = frame;
        hot->room -= 1;
        return;
    }
    zf_frame_release(code, frame);
}
