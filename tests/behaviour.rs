//! The policy's promises, one scenario each, through the C ABI. That the
//! hit path allocates nothing is tests/hit_path_allocs.rs's.

mod common;

use common::{last_error, stats};
use std::ffi::{c_int, c_void};
use std::ptr;
use zombie_frames::*;

const FRAME: usize = 464; // a typical CPython 3.9 frame, and a size class of its own
const BLOCK: u64 = (ZF_HEADER_BYTES + FRAME) as u64;

/// A pool without a reserve, so each code's list is seen alone.
fn pool_with(per_code_max: u32, budget: usize, sweep_every: u32) -> *mut ZfPool {
    pool_with_reserve(per_code_max, budget, sweep_every, 0)
}

fn pool_with_reserve(per_code_max: u32, budget: usize, sweep_every: u32, reserve_max: u32) -> *mut ZfPool {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let mut cfg = ZfConfig::default();
        zf_config_default(&mut cfg);
        cfg.per_code_max = per_code_max;
        cfg.budget_bytes = budget;
        cfg.sweep_every = sweep_every;
        cfg.reserve_max = reserve_max;
        cfg.sweep_generation = 1; // these scenarios age the lists at zf_pool_collect(pool, 1)
        let pool = zf_pool_new(&cfg);
        assert!(!pool.is_null());
        pool
    }
}

fn acquire(code: *mut ZfCode) -> (*mut c_void, bool) {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let mut z: c_int = -1;
        let f = zf_frame_acquire(code, &mut z);
        assert!(!f.is_null());
        (f, z == 1)
    }
}

/// Calls `code` recursively `depth` deep, then returns all the way.
fn recurse(code: *mut ZfCode, depth: usize) -> usize {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let frames: Vec<_> = (0..depth).map(|_| acquire(code)).collect();
        let hits = frames.iter().filter(|f| f.1).count();
        for (f, _) in frames.into_iter().rev() {
            zf_frame_release(code, f);
        }
        hits
    }
}

#[test]
fn a_zombie_comes_back_to_its_own_code_with_its_bytes() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = pool_with(4, 1 << 20, 0);
        let (a, b) = (zf_code_new(pool, FRAME), zf_code_new(pool, FRAME));
        let (f, hit) = acquire(a);
        assert!(!hit);
        ptr::write_bytes(f.cast::<u8>(), 0xA5, FRAME);
        zf_frame_release(a, f);
        let (other, hit) = acquire(b);
        assert!(!hit, "another code never gets a's zombie");
        let (g, hit) = acquire(a);
        assert!(hit && g == f);
        assert!(std::slice::from_raw_parts(g.cast::<u8>(), FRAME).iter().all(|&x| x == 0xA5));
        let s = stats(pool);
        assert_eq!((s.acquires, s.zombie_hits, s.fresh_allocs, s.reallocs), (3, 1, 2, 0));
        zf_frame_release(a, g);
        zf_frame_release(b, other);
        zf_code_free(a);
        zf_code_free(b);
        zf_pool_free(pool);
    }
}

#[test]
fn each_code_keeps_at_most_per_code_max_zombies() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = pool_with(8, 1 << 20, 0);
        let code = zf_code_new(pool, FRAME);
        recurse(code, 100);
        let s = stats(pool);
        assert_eq!((s.cached_frames, s.frees), (8, 92));
        assert_eq!(recurse(code, 100), 8, "the next recursion gets 8 zombies back");
        zf_code_free(code);
        zf_pool_free(pool);
    }
}

#[test]
fn two_interleaved_recursions_keep_their_own_lists() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        // The seed's case: CPython's one global list would serve both, realloc'ing.
        let pool = pool_with(32, 1 << 20, 0);
        let (a, b) = (zf_code_new(pool, 400), zf_code_new(pool, 1200));
        recurse(a, 20);
        recurse(b, 20);
        for _ in 0..10 {
            assert_eq!(recurse(a, 20), 20);
            assert_eq!(recurse(b, 20), 20);
        }
        assert_eq!(stats(pool).fresh_allocs, 40);
        zf_code_free(a);
        zf_code_free(b);
        zf_pool_free(pool);
    }
}

#[test]
fn the_budget_evicts_idle_codes_first() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        // Room for 10 zombies. Code `old` fills it, then sits idle while `hot` runs.
        let pool = pool_with(100, 10 * BLOCK as usize, 0);
        let (old, hot) = (zf_code_new(pool, FRAME), zf_code_new(pool, FRAME));
        recurse(old, 10);
        assert_eq!(stats(pool).cached_bytes, 10 * BLOCK);
        recurse(hot, 6);
        let s = stats(pool);
        assert_eq!((s.cached_bytes, s.evicted_frees), (10 * BLOCK, 6), "hot's six frames pushed out six of old's");
        assert_eq!(recurse(hot, 6), 6, "and hot gets them all back");
        zf_code_free(old);
        zf_code_free(hot);
        zf_pool_free(pool);
    }
}

#[test]
fn past_half_its_limit_a_code_takes_only_free_room() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        // Room for 6 zombies; each code may keep 8, and evict others for 4.
        let pool = pool_with(8, 6 * BLOCK as usize, 0);
        let (old, deep) = (zf_code_new(pool, FRAME), zf_code_new(pool, FRAME));
        recurse(old, 6);
        assert_eq!(stats(pool).cached_bytes, 6 * BLOCK, "old grew past 4 into free room");
        recurse(deep, 8);
        let s = stats(pool);
        assert_eq!((s.cached_bytes, s.evicted_frees), (6 * BLOCK, 4), "deep took 4 of old's, not 6");
        assert_eq!(recurse(old, 2), 2, "old kept two zombies");
        assert_eq!(recurse(deep, 4), 4, "deep kept its four");
        zf_code_free(old);
        zf_code_free(deep);
        zf_pool_free(pool);
    }
}

#[test]
fn a_recursion_past_half_the_limit_keeps_its_frames_in_free_room() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        // The default limit (128) and bound (at least 128 KiB, ~280 blocks):
        // a 100-deep recursion keeps every frame, call after call.
        let pool = pool_with(ZF_DEFAULT_PER_CODE_MAX, ZF_BUDGET_AUTO, 0);
        let code = zf_code_new(pool, FRAME);
        recurse(code, 100);
        assert_eq!(recurse(code, 100), 100);
        assert_eq!(stats(pool).fresh_allocs, 100);
        zf_code_free(code);
        zf_pool_free(pool);
    }
}

#[test]
fn a_frame_larger_than_the_budget_is_never_cached() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = pool_with(4, 1000, 0);
        let code = zf_code_new(pool, 2000);
        recurse(code, 1);
        assert_eq!(stats(pool).cached_bytes, 0);
        zf_code_free(code);
        zf_pool_free(pool);
    }
}

#[test]
fn aging_empties_idle_lists_and_spares_used_ones() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = pool_with(64, 1 << 20, 0);
        let (idle, busy) = (zf_code_new(pool, FRAME), zf_code_new(pool, FRAME));
        recurse(idle, 64);
        recurse(busy, 3);
        zf_pool_collect(pool, 1); // the first sweep only takes the low-water marks
        let mut left = vec![];
        for _ in 0..8 {
            recurse(busy, 3);
            assert_eq!(zf_pool_collect(pool, 0), 0, "young collections do not age");
            zf_pool_collect(pool, 1);
            left.push(stats(pool).cached_frames - 3);
        }
        // 64 -> 32 -> 16 -> 8 -> 4 -> 2 -> 1 -> 0: halving, then the last one.
        assert_eq!(left, [32, 16, 8, 4, 2, 1, 0, 0]);
        assert_eq!(recurse(busy, 3), 3, "the list in use kept all its zombies");
        assert_eq!(stats(pool).aged_frees, 64);
        zf_code_free(idle);
        zf_code_free(busy);
        zf_pool_free(pool);
    }
}

#[test]
fn a_new_code_takes_a_retired_frame_of_its_size_class() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        // Frames of 1,000 bytes: a block of 1,024, a size class of its own
        // (from 512 bytes up, classes are 32 bytes apart or more).
        const BIG: usize = 1000;
        let pool = pool_with_reserve(4, 1 << 20, 0, 5);
        let deep = zf_code_new(pool, BIG);
        recurse(deep, 12); // 4 zombies stay, 5 retire to the reserve, 3 are freed
        let s = stats(pool);
        assert_eq!((s.cached_frames, s.frees), (9, 3));
        let close = zf_code_new(pool, BIG - 16); // a block of 1,008, rounded up to BIG's class
        let (f, zombie) = acquire(close);
        assert!(!zombie, "another code's frame is not a zombie");
        assert_eq!((stats(pool).shared_hits, stats(pool).fresh_allocs), (1, 12));
        for bytes in [BIG + 24, BIG / 2] {
            let far = zf_code_new(pool, bytes); // another class: too big for the frame, or too small to waste it on
            let (g, _) = acquire(far);
            assert_eq!((stats(pool).shared_hits, stats(pool).fresh_allocs), (1, 13 + (bytes < BIG) as u64));
            zf_frame_release(far, g);
            zf_code_free(far);
        }
        zf_frame_release(close, f);
        // A dying code's zombies retire too; the reserve keeps reserve_max.
        zf_code_free(close);
        zf_code_free(deep);
        let s = stats(pool);
        assert_eq!(s.cached_frames, 5, "{s:?}");
        // Aging gives back a quarter (rounded up) of what the reserve never served.
        zf_pool_collect(pool, 1);
        zf_pool_collect(pool, 1);
        assert_eq!(stats(pool).cached_frames, 3);
        zf_pool_free(pool);
    }
}

#[test]
fn the_reserve_stays_within_the_budget() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = pool_with_reserve(2, 6 * BLOCK as usize, 0, 100);
        let code = zf_code_new(pool, FRAME);
        recurse(code, 20);
        let s = stats(pool);
        assert_eq!((s.cached_frames, s.peak_cached_bytes), (6, 6 * BLOCK));
        zf_code_free(code);
        zf_pool_free(pool);
    }
}

#[test]
fn automatic_sweeps_run_every_sweep_every_releases() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = pool_with(64, 1 << 20, 10);
        let code = zf_code_new(pool, FRAME);
        recurse(code, 25);
        assert_eq!(stats(pool).sweeps, 2);
        zf_code_free(code);
        zf_pool_free(pool);
    }
}

#[test]
fn a_code_freed_with_live_frames_frees_them_on_release() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = pool_with(8, 1 << 20, 0);
        let code = zf_code_new(pool, FRAME);
        recurse(code, 3);
        let (f, _) = acquire(code);
        zf_code_free(code);
        let s = stats(pool);
        assert_eq!((s.cached_frames, s.live_frames, s.codes), (0, 1, 0), "freed at once for the caller");
        zf_frame_release(code, f); // the handle is still valid for its live frame
        let s = stats(pool);
        assert_eq!((s.cached_frames, s.live_frames, s.codes), (0, 0, 0));
        assert_eq!((s.fresh_allocs, s.frees), (3, 3), "every block went back");
        zf_pool_free(pool);
    }
}

#[test]
fn codes_outlive_a_freed_pool_uncached() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = pool_with(8, 1 << 20, 0);
        let code = zf_code_new(pool, FRAME);
        recurse(code, 3);
        zf_pool_free(pool);
        assert_eq!(recurse(code, 3), 0, "no caching after zf_pool_free");
        zf_code_free(code); // and the pool's memory goes with this last code
    }
}

/// Serves up to 1 MiB, refuses more: a frame near `ZF_MAX_FRAME_BYTES`
/// gets as far as the allocator without a gigabyte being taken.
unsafe extern "C" fn small_only(_: *mut c_void, size: usize) -> *mut c_void {
    match size <= 1 << 20 {
        // SAFETY: malloc's contract; aligned_alloc wants a multiple of 16.
        true => unsafe { libc::aligned_alloc(16, size.next_multiple_of(16)) },
        false => ptr::null_mut(),
    }
}

unsafe extern "C" fn small_only_free(_: *mut c_void, p: *mut c_void, _: usize) {
    // SAFETY: from small_only.
    unsafe { libc::free(p) }
}

/// Every size `zf_code_new` takes can be acquired: a frame of up to
/// `ZF_MAX_FRAME_BYTES` reaches the allocator (here refused: out of
/// memory), in every pool. Its size class is larger than that, and a
/// check of the class against it once refused the frames of the top
/// eighth under a message about `zf_code_new` and a size nobody asked.
#[test]
fn the_largest_frames_reach_the_allocator() {
    for (policy, flags) in [(ZF_POLICY_PER_CODE, 0), (ZF_POLICY_LEGACY, 0), (ZF_POLICY_PER_CODE, ZF_FLAG_DEBUG)] {
        // SAFETY: every handle and frame below is used as the header says.
        unsafe {
            let cfg = ZfConfig {
                policy,
                flags,
                alloc: Some(small_only),
                dealloc: Some(small_only_free),
                ..ZfConfig::default()
            };
            let pool = zf_pool_new(&cfg);
            for bytes in [ZF_MAX_FRAME_BYTES - 32, ZF_MAX_FRAME_BYTES - 16, ZF_MAX_FRAME_BYTES] {
                let code = zf_code_new(pool, bytes);
                assert!(!code.is_null(), "{bytes}: {}", last_error());
                assert!(zf_frame_acquire(code, ptr::null_mut()).is_null());
                let e = last_error();
                assert!(
                    e.contains("out of memory") && e.contains("for a frame"),
                    "policy {policy} flags {flags}, {bytes}: {e}"
                );
                zf_code_free(code);
            }
            zf_pool_free(pool);
        }
    }
}

#[test]
fn bad_arguments_fail_cleanly() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = pool_with(8, 1 << 20, 0);
        assert!(zf_code_new(pool, 0).is_null());
        assert!(last_error().contains("frame_bytes 0"), "{}", last_error());
        assert!(zf_code_new(pool, ZF_MAX_FRAME_BYTES + 1).is_null());
        assert!(zf_code_new(pool, usize::MAX).is_null());
        let huge = zf_code_new(pool, ZF_MAX_FRAME_BYTES);
        assert!(!huge.is_null(), "the largest size is allowed (frames are allocated on acquire)");
        assert_eq!(zf_pool_collect(pool, -1), 0);
        assert!(last_error().contains("generation -1"));
        assert!(zf_frame_acquire(ptr::null_mut(), ptr::null_mut()).is_null());
        assert_eq!(last_error(), "zf_frame_acquire: code is NULL");
        assert!(zf_frame_acquire_slow(ptr::null_mut(), ptr::null_mut()).is_null());
        assert_eq!(last_error(), "zf_frame_acquire_slow: code is NULL");
        // A NULL frame is a no-op: no message either.
        zf_frame_release(ptr::null_mut(), ptr::null_mut());
        zf_frame_release_slow(ptr::null_mut(), ptr::null_mut());
        assert_eq!(last_error(), "zf_frame_acquire_slow: code is NULL");
        let mut frame = [0u64; 4];
        zf_frame_release_slow(ptr::null_mut(), frame.as_mut_ptr().cast());
        assert_eq!(last_error(), "zf_frame_release_slow: code is NULL");
        zf_frame_release(ptr::null_mut(), frame.as_mut_ptr().cast());
        assert_eq!(last_error(), "zf_frame_release: code is NULL");
        zf_code_free(ptr::null_mut());
        zf_pool_free(ptr::null_mut());
        assert_eq!(zf_pool_clear(ptr::null_mut()), 0);
        assert_eq!(zf_pool_print_stats(ptr::null(), 1), -1);
        let mut s = ZfStats { acquires: 9, ..Default::default() };
        zf_pool_stats(ptr::null(), &mut s);
        assert_eq!(s, ZfStats::default());
        let cfg = ZfConfig { policy: 7, ..Default::default() };
        assert!(zf_pool_new(&cfg).is_null());
        assert!(last_error().contains("policy"), "{}", last_error());
        zf_pool_free(pool); // the huge code is still alive: the pool waits for it
        zf_code_free(huge); // and goes with it
    }
}

#[test]
fn a_smaller_config_struct_is_refused_before_it_is_read_past() {
    let older: [u32; 2] = [8, 0]; // a caller built against a smaller ZfConfig
                                  // SAFETY: the library reads only struct_size before refusing.
    unsafe {
        assert!(zf_pool_new(older.as_ptr().cast()).is_null());
        assert!(last_error().contains("struct_size is 8"), "{}", last_error());
        let mut older = older;
        assert_eq!(zf_config_from_env(older.as_mut_ptr().cast()), -1);
        assert_eq!(older, [8, 0], "nothing written");
    }
}

/// Runs `code` once: a call and its return.
fn run_once(code: *mut ZfCode) {
    let (f, _) = acquire(code);
    // SAFETY: a live frame of `code`.
    unsafe { zf_frame_release(code, f) };
}

/// Held against the bound: what the bound covers never exceeds it.
fn assert_within_bound(pool: *mut ZfPool, when: &str) -> ZfStats {
    let s = stats(pool);
    assert!(s.cached_bytes + s.allowance_bytes <= s.bound_bytes, "{when}: {s:?}");
    s
}

#[test]
fn the_automatic_bound_grows_with_the_codes_that_run_and_shrinks_when_they_die() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = zf_pool_new(ptr::null()); // the defaults: budget_bytes ZF_BUDGET_AUTO
        let floor = ZF_AUTO_BOUND_FLOOR as u64;
        assert_eq!(stats(pool).bound_bytes, floor);
        // One frame of 4000 bytes, what CPython keeps per code, in the block
        // the pool holds it in (its size class's: 4096 bytes, not 4016).
        let weight = zf_frame_block_bytes(4000) as u64;
        assert!(weight > (ZF_HEADER_BYTES + 4000usize.next_multiple_of(16)) as u64);
        let codes: Vec<_> = (0..100).map(|_| zf_code_new(pool, 4000)).collect();
        assert_eq!(stats(pool).bound_bytes, floor, "codes that never ran weigh nothing");
        for (i, &code) in codes.iter().enumerate() {
            run_once(code);
            let s = assert_within_bound(pool, "growing");
            assert_eq!(s.bound_bytes, floor.max(weight * (i as u64 + 1)), "after {} codes ran", i + 1);
        }
        for &code in &codes {
            run_once(code); // again: the bound counts a code once
        }
        let s = assert_within_bound(pool, "grown");
        assert_eq!(s.bound_bytes, 100 * weight);
        assert!(s.cached_bytes > floor, "the cache grew past the floor with the program: {s:?}");
        for (i, &code) in codes.iter().enumerate() {
            zf_code_free(code);
            let s = assert_within_bound(pool, "shrinking");
            assert_eq!(s.bound_bytes, floor.max(weight * (99 - i as u64)), "after {} codes died", i + 1);
        }
        let s = stats(pool);
        assert_eq!(s.bound_bytes, floor, "back to the floor");
        assert!(s.cached_bytes <= floor, "trimmed back: {s:?}");
        zf_pool_free(pool);
    }
}

#[test]
fn a_code_counts_in_the_bound_once_a_frame_of_it_comes_back() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = zf_pool_new(ptr::null()); // the defaults: budget_bytes ZF_BUDGET_AUTO
        let floor = ZF_AUTO_BOUND_FLOOR as u64;
        let weight = zf_frame_block_bytes(4000) as u64;
        // A module body or a main loop: called, not yet returned. CPython
        // holds no zombie of theirs, so neither does the bound.
        let codes: Vec<_> = (0..20).map(|_| zf_code_new(pool, 4000)).collect();
        let running: Vec<_> = codes.iter().map(|&c| acquire(c).0).collect();
        assert_eq!(assert_within_bound(pool, "running").bound_bytes, floor, "20 codes running weigh nothing");
        for (i, (&code, &frame)) in codes.iter().zip(&running).enumerate() {
            zf_frame_release(code, frame);
            let s = assert_within_bound(pool, "returned");
            assert_eq!(s.bound_bytes, floor.max(weight * (i as u64 + 1)), "after {} returned", i + 1);
        }
        // Freed before its first frame came back: it never counts.
        let gone = zf_code_new(pool, 4000);
        let (frame, _) = acquire(gone);
        zf_code_free(gone);
        zf_frame_release(gone, frame);
        assert_eq!(assert_within_bound(pool, "gone").bound_bytes, 20 * weight);
        codes.iter().for_each(|&c| zf_code_free(c));
        assert_eq!(assert_within_bound(pool, "all gone").bound_bytes, floor);
        zf_pool_free(pool);
    }
}

#[test]
fn a_body_running_since_before_a_recursion_takes_its_block_out_of_the_room() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = zf_pool_new(ptr::null()); // the defaults: budget_bytes ZF_BUDGET_AUTO
        let weight = (ZF_HEADER_BYTES + 1008) as u64;
        let (body, code) = (zf_code_new(pool, 4000), zf_code_new(pool, 1000));
        let (frame, _) = acquire(body);
        recurse(code, 100);
        assert_eq!(assert_within_bound(pool, "recursed").bound_bytes, 100 * weight);
        // CPython malloc'd the body's frame (its free list was empty) and
        // now holds it beside the recursion's 99: a block more than this
        // bound, which is kept a block short (`Bound::code_returned`).
        zf_frame_release(body, frame);
        assert_eq!(assert_within_bound(pool, "returned").bound_bytes, 100 * weight);
        zf_code_free(code);
        zf_code_free(body);
        zf_pool_free(pool);
    }
}

/// A code with two frames live at once and no more (a call back into a
/// function on the stack) keeps one zombie: its second frame goes to the
/// reserve, as CPython's goes to its free list, and serves the next
/// re-entry; a second zombie would have been taken from another code's
/// last one. Three deep, it recurses, and its list grows.
#[test]
fn a_reentry_keeps_one_zombie_and_a_recursion_grows_the_list() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = zf_pool_new(ptr::null()); // the defaults
        let code = zf_code_new(pool, FRAME);
        run_once(code);
        recurse(code, 2);
        let s = assert_within_bound(pool, "re-entered");
        assert_eq!((s.cached_frames, s.shared_frames), (2, 1), "{s:?}");
        for _ in 0..3 {
            assert_eq!(recurse(code, 2), 1, "the zombie, then the reserve's frame");
        }
        let s = assert_within_bound(pool, "re-entered again");
        assert_eq!((s.fresh_allocs, s.shared_hits, s.cached_frames, s.shared_frames), (2, 3, 2, 1), "{s:?}");
        recurse(code, 3);
        assert_eq!(recurse(code, 3), 3, "three zombies of its own");
        zf_code_free(code);
        zf_pool_free(pool);
    }
}

/// Under the automatic bound, the second frames re-entries leave behind
/// are room, as they fill CPython's free list: two codes re-entered at
/// once (a, b, a, b on the stack) leave two frames, which the reserve
/// keeps, and the next such stack takes both; a full collection empties
/// CPython's list, and the reserve gives them back. Whatever
/// `per_code_max` (at 1 and 2 a code with one slot is at or past half its
/// limit, which refuses the slot first, or lets a release skip the slow
/// path's work).
#[test]
fn the_frames_reentries_leave_are_room_until_a_full_collection() {
    for per_code_max in [1, 2, ZF_DEFAULT_PER_CODE_MAX] {
        reentries_leave_room(per_code_max);
    }
}

fn reentries_leave_room(per_code_max: u32) {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        // Frames of a whole size class: a block weighs what the bound counts.
        let mut cfg = ZfConfig::default();
        zf_config_default(&mut cfg); // the defaults but `per_code_max`
        cfg.per_code_max = per_code_max;
        let pool = zf_pool_new(&cfg);
        let codes: Vec<_> = (0..10).map(|_| zf_code_new(pool, 4096 - ZF_HEADER_BYTES)).collect();
        codes.iter().for_each(|&c| run_once(c));
        let s = assert_within_bound(pool, "one zombie a code");
        assert_eq!((s.cached_bytes, s.bound_bytes), (10 * 4096, 10 * 4096), "the cache fills the bound");
        let (a, b) = (codes[0], codes[1]);
        // The stack, and the bound with all four frames live.
        let stack = || {
            let frames = [acquire(a), acquire(b), acquire(a), acquire(b)];
            let deepest = stats(pool).bound_bytes;
            for (&code, (f, _)) in [a, b, a, b].iter().zip(frames).rev() {
                zf_frame_release(code, f);
            }
            deepest
        };
        // The two inner misses (a second frame each: the room for one, as
        // for a recursion two deep), then the two ends: the room for both.
        assert_eq!(stack(), 11 * 4096);
        let s = assert_within_bound(pool, "after the first stack");
        assert_eq!((s.fresh_allocs, s.frees, s.shared_frames), (10 + 2, 0, 2), "both second frames kept: {s:?}");
        assert_eq!(s.bound_bytes, 12 * 4096);
        for round in 0..3 {
            // Each inner miss takes a frame back, as from CPython's list.
            assert_eq!(stack(), 11 * 4096);
            let s = assert_within_bound(pool, "again");
            assert_eq!((s.fresh_allocs, s.shared_hits, s.frees), (12, 2 * (round + 1), 0), "{s:?}");
            assert_eq!(s.bound_bytes, 12 * 4096);
        }
        zf_pool_collect(pool, 2);
        let s = assert_within_bound(pool, "collected");
        assert_eq!((s.bound_bytes, s.shared_frames, s.cached_frames), (10 * 4096, 0, 10), "{s:?}");
        codes.into_iter().for_each(|c| zf_code_free(c));
        zf_pool_free(pool);
    }
}

#[test]
fn a_dying_codes_frame_takes_spare_room_never_another_codes_only_zombie() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        // The defaults (budget_bytes ZF_BUDGET_AUTO), and frames of a whole
        // size class: a block weighs what the bound counts.
        let pool = zf_pool_new(ptr::null());
        let codes: Vec<_> = (0..10).map(|_| zf_code_new(pool, 4096 - ZF_HEADER_BYTES)).collect();
        codes.iter().for_each(|&c| run_once(c));
        // The first code recurses three deep: room for two frames more,
        // and two zombies more (two frames alone are a re-entry, whose
        // second frame goes to the reserve: `Code::ends_reentry`).
        recurse(codes[0], 3);
        let s = assert_within_bound(pool, "full");
        assert_eq!((s.cached_frames, s.cached_bytes), (12, s.bound_bytes), "the cache fills the bound");
        // A code dies and the bound shrinks by its frame: its zombie takes
        // the place of the first code's coldest, in the reserve.
        zf_code_free(codes[9]);
        let s = assert_within_bound(pool, "one died");
        assert_eq!((s.cached_frames, s.shared_frames, s.evicted_frees), (11, 1, 1), "{s:?}");
        // The next new code of its class takes it: no system allocation.
        let newcomer = zf_code_new(pool, 4000);
        run_once(newcomer);
        let after = stats(pool);
        assert_eq!((after.fresh_allocs, after.shared_hits), (s.fresh_allocs, s.shared_hits + 1));
        // It dies too, and its frame takes the first code's last spare
        // zombie's place in the reserve.
        zf_code_free(newcomer);
        let s = assert_within_bound(pool, "the newcomer died");
        assert_eq!((s.cached_frames, s.shared_frames, s.evicted_frees), (10, 1, 2), "{s:?}");
        // Nothing spare now (one zombie a code, the newcomer's frame in the
        // reserve): a dying code's frame is freed, and every other code
        // keeps its zombie.
        zf_code_free(codes[8]);
        let s = assert_within_bound(pool, "nothing spare");
        assert_eq!((s.cached_frames, s.evicted_frees, s.frees), (9, 2, 3), "{s:?}");
        for &code in &codes[..8] {
            let (frame, zombie) = acquire(code);
            assert!(zombie, "every live code kept its zombie");
            zf_frame_release(code, frame);
        }
        zf_pool_free(pool);
        codes[..8].iter().for_each(|&c| zf_code_free(c));
    }
}

#[test]
fn a_deep_recursion_makes_room_up_to_a_ceiling_until_a_full_collection() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = zf_pool_new(ptr::null()); // the defaults: budget_bytes ZF_BUDGET_AUTO
        let floor = ZF_AUTO_BOUND_FLOOR as u64;
        let ceiling = 192 * 1024; // how high room for recursion goes (src/pool/bound.rs)
        let code = zf_code_new(pool, 1000);
        let shallow = zf_code_new(pool, 1000);
        // 19 frames past the first: 20 KiB of room, under the floor.
        recurse(shallow, 20);
        assert_eq!(assert_within_bound(pool, "shallow").bound_bytes, floor);
        // CPython would keep 200 frames of this one in its free list (200
        // KiB with the codes' own): the room stops at the ceiling.
        recurse(code, 400);
        let s = assert_within_bound(pool, "deep");
        assert_eq!(s.bound_bytes, ceiling);
        assert!(s.cached_bytes > floor, "the recursion's frames fill the room: {s:?}");
        let fresh = s.fresh_allocs;
        recurse(code, 400);
        let served = 400 - (stats(pool).fresh_allocs - fresh);
        assert!(served * 1016 > floor, "the next recursion is served from it: {served} frames");
        zf_pool_collect(pool, 1);
        assert_eq!(assert_within_bound(pool, "young collection").bound_bytes, ceiling, "only a full collection");
        let before = stats(pool);
        let given_back = zf_pool_collect(pool, 2) as u64;
        let s = assert_within_bound(pool, "full collection");
        assert_eq!(s.bound_bytes, floor, "CPython empties its free list: the room goes");
        assert!(given_back > 0, "the trim freed frames");
        assert_eq!(given_back, before.cached_bytes - s.cached_bytes, "every byte given back is reported");
        assert!(s.cached_bytes <= floor, "trimmed back: {s:?}");
        zf_code_free(code);
        zf_code_free(shallow);
        zf_pool_free(pool);
    }
}

#[test]
fn a_new_codes_first_frame_comes_out_of_the_room_for_recursion() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = zf_pool_new(ptr::null()); // the defaults: budget_bytes ZF_BUDGET_AUTO
        let weight = (ZF_HEADER_BYTES + 1008) as u64; // a 1000-byte frame's block, at the size asked
        let code = zf_code_new(pool, 1000);
        // 99 frames past the first: CPython's free list keeps them when it returns.
        recurse(code, 100);
        let s = assert_within_bound(pool, "deep");
        assert_eq!(s.bound_bytes, (1 + 99) * weight);
        // Ten new codes run: CPython serves each from that free list, and
        // the frame stays as the code's zombie. The bound does not grow.
        let newcomers: Vec<_> = (0..10).map(|_| zf_code_new(pool, 1000)).collect();
        newcomers.iter().for_each(|&c| run_once(c));
        assert_eq!(assert_within_bound(pool, "new codes").bound_bytes, s.bound_bytes, "no byte counted twice");
        // The same recursion again fills CPython's free list again.
        recurse(code, 100);
        assert_eq!(assert_within_bound(pool, "deep again").bound_bytes, (11 + 99) * weight);
        newcomers.iter().for_each(|&c| zf_code_free(c));
        zf_code_free(code);
        zf_pool_free(pool);
    }
}

#[test]
fn recursions_in_turn_make_room_at_their_mean_frame_not_the_largest() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = zf_pool_new(ptr::null()); // the defaults: budget_bytes ZF_BUDGET_AUTO
        let (small, large) = (zf_code_new(pool, 400), zf_code_new(pool, 800));
        let (ws, wl) = ((ZF_HEADER_BYTES + 400) as u64, (ZF_HEADER_BYTES + 800) as u64);
        // Both codes' zombies, in their classes' blocks.
        let zombies = (zf_frame_block_bytes(400) + zf_frame_block_bytes(800)) as u64;
        let in_turn = |each: usize| -> Vec<_> {
            (0..2 * each).map(|i| [small, large][i % 2]).map(|c| (c, acquire(c).0)).collect()
        };
        let back =
            |frames: Vec<(*mut ZfCode, *mut c_void)>| frames.iter().rev().for_each(|&(c, f)| zf_frame_release(c, f));
        // Within half their limit (64 of per_code_max's 128), the codes'
        // lists take room from others: the room counts each at its size.
        let frames = in_turn(60);
        assert_eq!(assert_within_bound(pool, "shallow").bound_bytes, 59 * wl, "the larger's 59 frames past its first");
        back(frames);
        zf_pool_collect(pool, 2);
        // A pipeline: the two codes' frames are made in turn, 300 of each
        // live, and go back in turn. CPython's free list then holds 200
        // frames of both sizes, not 200 of the larger.
        let frames = in_turn(300);
        let room = assert_within_bound(pool, "in turn").bound_bytes;
        assert!(room < 200 * (ws + wl) / 2 + 200 * (wl - ws) / 8, "near the mean frame, not the larger: {room}");
        assert!(room > 200 * ws, "more than the smaller frame's: {room}");
        back(frames);
        // One code recursing alone makes room at its own size again, as
        // the mean leaves the pipeline's (1/32 a miss, up to 200 deep).
        zf_pool_collect(pool, 2);
        recurse(large, 400);
        let room = assert_within_bound(pool, "alone").bound_bytes - zombies;
        assert!(room < 200 * wl && room > 200 * (ws + wl) / 2, "on its way: {room}");
        (0..3).for_each(|_| _ = recurse(large, 400));
        let room = assert_within_bound(pool, "alone, again").bound_bytes - zombies;
        assert_eq!(room, 200 * wl, "the larger code's own size");
        zf_code_free(small);
        zf_code_free(large);
        zf_pool_free(pool);
    }
}

#[test]
fn the_peak_of_live_frames_counts_no_frame_returned_unseen() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = zf_pool_new(ptr::null()); // the defaults
        let (a, b) = (zf_code_new(pool, 400), zf_code_new(pool, 400));
        recurse(a, 50); // 50 live at most, and a list of 50
        let first = stats(pool).peak_live_frames;
        assert!((50 - 50 / 8..=50).contains(&first), "peak {first}, true 50: counted within an eighth");
        // Again, all hits; a full collection at the bottom looks at every
        // code (50 live), then the 50 go back through the inline path,
        // unseen: a's count stays at 50 until it next reaches the library.
        let frames: Vec<_> = (0..50).map(|_| acquire(a)).collect();
        assert!(frames.iter().all(|f| f.1));
        zf_pool_collect(pool, 2);
        frames.into_iter().rev().for_each(|(f, _)| zf_frame_release(a, f));
        // b misses 30 deep: never more than 50 live at once.
        recurse(b, 30);
        assert_eq!(stats(pool).peak_live_frames, first, "a's returned frames count no more");
        // b 80 deep: a new peak, counted within an eighth.
        recurse(b, 80);
        let peak = stats(pool).peak_live_frames;
        assert!((80 - 80 / 8..=80).contains(&peak), "peak {peak}, true 80");
        zf_code_free(a);
        zf_code_free(b);
        zf_pool_free(pool);
    }
}

#[test]
fn a_users_budget_is_a_hard_cap_however_many_codes_run() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let budget = 64 << 10;
        let pool = pool_with_reserve(ZF_DEFAULT_PER_CODE_MAX, budget, 0, ZF_DEFAULT_RESERVE_MAX);
        let codes: Vec<_> = (0..200).map(|_| zf_code_new(pool, 4000)).collect();
        for &code in &codes {
            recurse(code, 3);
            let s = assert_within_bound(pool, "running");
            assert_eq!(s.bound_bytes, budget as u64, "a budget the caller set does not follow the program");
        }
        assert!(stats(pool).evicted_frees > 0, "the cap was really in the way");
        for &code in &codes {
            zf_code_free(code);
            assert_eq!(assert_within_bound(pool, "freeing").bound_bytes, budget as u64);
        }
        zf_pool_free(pool);
    }
}

#[test]
fn a_miss_takes_a_reserve_frame_of_its_own_class_among_many() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = pool_with_reserve(0, 1 << 30, 0, 1000);
        // 60 size classes, 3 frames each, retired by codes that keep none.
        let sizes: Vec<usize> = (0..60).map(|i| (256 << (i / 16)) + (i % 16) * (16 << (i / 16))).collect();
        let mut frames = vec![];
        for &size in &sizes {
            let code = zf_code_new(pool, size);
            let live: Vec<_> = (0..3).map(|_| acquire(code).0).collect();
            for &frame in &live {
                zf_frame_release(code, frame);
            }
            frames.push((size, live));
            zf_code_free(code);
        }
        let s = stats(pool);
        assert_eq!(s.shared_frames, 180, "{s:?}");
        // Each new code gets the last frame its class retired, never another class's.
        for (size, retired) in frames.iter().rev() {
            let code = zf_code_new(pool, *size);
            let mut live = vec![];
            for want in retired.iter().rev() {
                let (f, zombie) = acquire(code);
                assert_eq!((f, zombie), (*want, false), "size {size}");
                live.push(f);
            }
            let before = stats(pool).fresh_allocs;
            live.push(acquire(code).0);
            assert_eq!(stats(pool).fresh_allocs, before + 1, "size {size}: its class is empty, so a fresh frame");
            for f in live {
                zf_frame_release(code, f);
            }
            zf_code_free(code);
        }
        assert_eq!(stats(pool).shared_hits, 180);
        zf_pool_free(pool);
    }
}

/// Allocator hooks that count what they hand out (`ctx`: a `[u64; 2]`,
/// allocations and frees).
unsafe extern "C" fn counting_alloc(ctx: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: the test's counters, alive while its pool is.
    unsafe { (*ctx.cast::<[u64; 2]>())[0] += 1 };
    let mut p = ptr::null_mut();
    // SAFETY: a plain aligned allocation.
    assert_eq!(unsafe { libc::posix_memalign(&mut p, 16, size) }, 0);
    p
}

unsafe extern "C" fn counting_dealloc(ctx: *mut c_void, p: *mut c_void, _: usize) {
    // SAFETY: as in `counting_alloc`; `p` came from it.
    unsafe {
        (*ctx.cast::<[u64; 2]>())[1] += 1;
        libc::free(p);
    }
}

#[test]
fn a_dead_codes_struct_serves_the_next_code_once_its_frames_are_back() {
    for debug in [false, true] {
        let mut counts = [0u64; 2];
        // The hooks write through this pointer; the test reads through it too.
        let counts: *mut [u64; 2] = &mut counts;
        let cfg = ZfConfig {
            alloc: Some(counting_alloc),
            dealloc: Some(counting_dealloc),
            alloc_ctx: counts.cast(),
            flags: if debug { ZF_FLAG_DEBUG } else { 0 },
            ..ZfConfig::default()
        };
        // SAFETY: every handle and frame below is used as the header says;
        // `counts` outlives the pool and is read only between calls.
        unsafe {
            let pool = zf_pool_new(&cfg);
            let a = zf_code_new(pool, FRAME);
            recurse(a, 1);
            zf_code_free(a);
            let before = (*counts)[0];
            let b = zf_code_new(pool, 300);
            // A debug pool keeps no spare: a freed handle's misuse stays visible.
            assert_eq!((*counts)[0] - before, debug as u64, "debug {debug}");
            assert_eq!(recurse(b, 3), 0, "a new code: no zombie of the old one's");
            assert_eq!(recurse(b, 3), 3);
            // A freed code with a frame live keeps its struct until the release.
            let (frame, _) = acquire(b);
            zf_code_free(b);
            let before = (*counts)[0];
            let c = zf_code_new(pool, FRAME);
            assert_eq!((*counts)[0] - before, 1, "b's struct serves its live frame");
            zf_frame_release(b, frame);
            let before = (*counts)[0];
            let d = zf_code_new(pool, FRAME);
            assert_eq!((*counts)[0] - before, debug as u64);
            let s = stats(pool);
            assert_eq!((s.codes, s.codes_created, s.live_frames), (2, 4, 0));
            zf_code_free(c);
            zf_code_free(d);
            zf_pool_free(pool);
            // The spare structs went with the pool: every allocation is back.
            let [made, freed] = *counts;
            assert_eq!(made, freed, "debug {debug}");
        }
    }
}

#[test]
fn the_peak_of_live_frames_misses_zombies_taken_inline_since_the_last_look() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let pool = zf_pool_new(ptr::null()); // the defaults
        let (a, b) = (zf_code_new(pool, 400), zf_code_new(pool, 400));
        recurse(a, 50); // a list of 50, and a peak of (about) 50
        let first = stats(pool).peak_live_frames;
        // All 50 of a's zombies taken inline: the library does not see
        // them, so b's 45 misses, with 95 live, make no look due.
        let held_a: Vec<_> = (0..50).map(|_| acquire(a)).collect();
        assert!(held_a.iter().all(|f| f.1), "a's frames are its zombies");
        let held_b: Vec<_> = (0..45).map(|_| acquire(b)).collect();
        assert!(held_b.iter().all(|f| !f.1), "b's are misses");
        let (true_peak, taken_inline) = (95, 50);
        let peak = stats(pool).peak_live_frames;
        // The contract (ZfStats::peak_live_frames): never over, and under
        // by at most an eighth plus the zombies taken inline since.
        assert!(peak <= true_peak, "peak {peak}, true {true_peak}: never over");
        assert!(peak >= true_peak - true_peak / 8 - taken_inline, "peak {peak}: within the documented bound");
        // ARCHITECTURE quotes this case: update it if the figure moves.
        assert_eq!(peak, first, "50 where 95 were live");
        held_b.into_iter().rev().for_each(|(f, _)| zf_frame_release(b, f));
        held_a.into_iter().rev().for_each(|(f, _)| zf_frame_release(a, f));
        zf_code_free(a);
        zf_code_free(b);
        zf_pool_free(pool);
    }
}

/// Blocks the hooks handed out and took back (`ctx`: one per test).
#[derive(Default)]
struct Blocks {
    out: i64,
    bytes_out: i64,
}

unsafe extern "C" fn blocks_alloc(ctx: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: `ctx` is the test's live `Blocks`, used by one thread.
    let b = unsafe { &mut *ctx.cast::<Blocks>() };
    (b.out, b.bytes_out) = (b.out + 1, b.bytes_out + size as i64);
    // SAFETY: malloc's contract; aligned_alloc wants a multiple of 16.
    unsafe { libc::aligned_alloc(16, size.next_multiple_of(16)) }
}

unsafe extern "C" fn blocks_free(ctx: *mut c_void, p: *mut c_void, size: usize) {
    // SAFETY: as in blocks_alloc; `p` came from it.
    let b = unsafe { &mut *ctx.cast::<Blocks>() };
    (b.out, b.bytes_out) = (b.out - 1, b.bytes_out - size as i64);
    // SAFETY: from blocks_alloc.
    unsafe { libc::free(p) }
}

unsafe extern "C" fn count_leaks(ctx: *mut c_void, kind: c_int, _: *const std::ffi::c_char) {
    assert_eq!(kind, ZF_ERR_LEAK);
    // SAFETY: the test's live counter.
    unsafe { *ctx.cast::<c_int>() += 1 };
}

/// The kits' exit: the pool is freed before the modules go, and some code
/// dies only after that, one of its frames still live (a generator kept
/// to the end); that frame's release is the last thing the pool waits
/// for. Per-code and legacy, plain, debug, and with CPython 2.7's 32-byte
/// prefix: every block and struct goes back, the pool's with the frame.
#[test]
fn a_code_freed_after_its_pool_goes_with_its_last_live_frame() {
    for (policy, flags, prefix_bytes) in [
        (ZF_POLICY_PER_CODE, 0, 0),
        (ZF_POLICY_PER_CODE, ZF_FLAG_DEBUG, 0),
        (ZF_POLICY_PER_CODE, ZF_FLAG_FRAME_PREFIX, 32),
        (ZF_POLICY_LEGACY, 0, 0),
        (ZF_POLICY_LEGACY, ZF_FLAG_DEBUG | ZF_FLAG_FRAME_PREFIX, 32),
    ] {
        let what = format!("policy {policy}, flags {flags}, prefix_bytes {prefix_bytes}");
        let mut blocks = Box::new(Blocks::default());
        // SAFETY: every handle and frame below is used as the header says.
        unsafe {
            let mut cfg = ZfConfig::default();
            zf_config_default(&mut cfg);
            (cfg.policy, cfg.flags, cfg.prefix_bytes) = (policy, flags, prefix_bytes);
            cfg.alloc = Some(blocks_alloc);
            cfg.dealloc = Some(blocks_free);
            cfg.alloc_ctx = (&mut *blocks as *mut Blocks).cast();
            let pool = zf_pool_new(&cfg);
            assert!(!pool.is_null(), "{what}");
            // Debug mode reports the live frame as a leak at zf_pool_free,
            // as the kits' glue expects at exit: counted, not fatal.
            let mut leaks: c_int = 0;
            zf_set_error_handler(pool, Some(count_leaks), (&mut leaks as *mut c_int).cast());
            let (gen, other) = (zf_code_new(pool, FRAME), zf_code_new(pool, 2 * FRAME));
            recurse(gen, 3);
            recurse(other, 2);
            let (live, _) = acquire(gen);
            zf_pool_free(pool);
            zf_code_free(other); // after the pool: nothing of it is cached
            zf_code_free(gen); // its struct waits for the live frame
            assert!(blocks.out >= 2, "{what}: the live frame and gen's struct are still out");
            zf_frame_release(gen, live); // ... which takes gen's struct and the pool's with it
            assert_eq!((blocks.out, blocks.bytes_out), (0, 0), "{what}: everything back");
            assert_eq!(leaks, (flags & ZF_FLAG_DEBUG != 0) as c_int, "{what}: the leak report");
        }
    }
}

/// A clear under legacy, whose blocks keep the size they grew to: a small
/// code's zombie is a big code's block. The counts come back to nothing,
/// byte for byte, and every block goes back with its own size.
#[test]
fn a_clear_counts_each_block_at_its_own_size() {
    let mut blocks = Box::new(Blocks::default());
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let mut cfg = ZfConfig::default();
        zf_config_default(&mut cfg);
        cfg.policy = ZF_POLICY_LEGACY;
        cfg.alloc = Some(blocks_alloc);
        cfg.dealloc = Some(blocks_free);
        cfg.alloc_ctx = (&mut *blocks as *mut Blocks).cast();
        let pool = zf_pool_new(&cfg);
        let (small, big) = (zf_code_new(pool, 100), zf_code_new(pool, 4000));
        recurse(big, 2); // one zombie of big's, one big block on the free list
        let (f, warm) = acquire(small); // the free list's head fits: no resize
        assert!(!warm);
        zf_frame_release(small, f); // small's zombie: a block of big's size
        let before = stats(pool);
        assert_eq!((before.cached_frames, before.shared_frames), (2, 0));
        let structs = blocks.out - 2;
        let freed = zf_pool_clear(pool);
        let after = stats(pool);
        assert_eq!(freed, before.cached_bytes as usize);
        assert_eq!((after.cached_frames, after.cached_bytes, after.allowance_bytes), (0, 0, 0));
        assert_eq!(after.frees, before.frees + 2);
        assert_eq!(blocks.out, structs, "both frames went back to the hooks");
        zf_code_free(small);
        zf_code_free(big);
        zf_pool_free(pool);
        assert_eq!((blocks.out, blocks.bytes_out), (0, 0));
    }
}

/// A code's frames weigh what its own size says, whatever sizes the codes
/// made before it asked: the pool keeps the shapes it made lately, and
/// sizes 128 bytes apart share a place in that memo.
#[test]
fn a_codes_blocks_are_its_own_size_whatever_codes_came_before() {
    let pool = pool_with(8, 64 << 20, 0);
    let sizes = [464, 592, 464, 720, 592, 8, 136, 464, 1000, 1128, 1000, 9, 137, 8];
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let mut codes = vec![];
        for size in sizes {
            let before = stats(pool).cached_bytes;
            let code = zf_code_new(pool, size);
            assert!(!code.is_null());
            let (frame, _) = acquire(code);
            zf_frame_release(code, frame);
            let after = stats(pool).cached_bytes;
            assert_eq!(after - before, zf_frame_block_bytes(size) as u64, "a code of {size} bytes");
            codes.push(code);
        }
        codes.into_iter().for_each(|c| zf_code_free(c));
        zf_pool_free(pool);
    }
}
