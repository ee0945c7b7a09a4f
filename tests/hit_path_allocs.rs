//! The hit path allocates nothing: once a code has a zombie, acquire +
//! release pairs (and recursion within `per_code_max`) make no call to the
//! pool's allocator hooks, and no Rust heap allocation either (a counting
//! global allocator sees what the library's Rust code would allocate).
//! Each count is per thread, so the harness's other threads do not blur it.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use zombie_frames::*;

thread_local! {
    static RUST_ALLOCS: Cell<u64> = const { Cell::new(0) };
    static HOOK_ALLOCS: Cell<u64> = const { Cell::new(0) };
    static HOOK_FREES: Cell<u64> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = RUST_ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(p, layout) }
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        let _ = RUST_ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded contract.
        unsafe { System.realloc(p, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

unsafe extern "C" fn hook_alloc(_: *mut c_void, size: usize) -> *mut c_void {
    HOOK_ALLOCS.with(|n| n.set(n.get() + 1));
    let mut p = ptr::null_mut();
    // SAFETY: a valid out-pointer; 16 is a power of two multiple of the pointer size.
    match unsafe { libc::posix_memalign(&mut p, 16, size) } {
        0 => p,
        _ => ptr::null_mut(),
    }
}

unsafe extern "C" fn hook_free(_: *mut c_void, p: *mut c_void, _: usize) {
    HOOK_FREES.with(|n| n.set(n.get() + 1));
    // SAFETY: `p` came from hook_alloc.
    unsafe { libc::free(p) }
}

/// (Rust allocations, hook allocations, hook frees) on this thread so far.
fn counts() -> (u64, u64, u64) {
    (RUST_ALLOCS.with(Cell::get), HOOK_ALLOCS.with(Cell::get), HOOK_FREES.with(Cell::get))
}

fn pool(policy: u32) -> *mut ZfPool {
    let cfg = ZfConfig { policy, alloc: Some(hook_alloc), dealloc: Some(hook_free), ..ZfConfig::default() };
    // SAFETY: a whole, valid config.
    let pool = unsafe { zf_pool_new(&cfg) };
    assert!(!pool.is_null());
    pool
}

/// `depth` frames of `code` acquired, then released innermost first; the
/// number of them that were zombies.
unsafe fn recurse(code: *mut ZfCode, depth: usize) -> usize {
    let mut frames = [ptr::null_mut(); 64];
    let mut warm_count = 0;
    for f in frames.iter_mut().take(depth) {
        let mut warm = 0;
        // SAFETY: a live code.
        *f = unsafe { zf_frame_acquire(code, &mut warm) };
        assert!(!f.is_null());
        warm_count += warm as usize;
    }
    for &f in frames[..depth].iter().rev() {
        // SAFETY: each frame is live and of `code`.
        unsafe { zf_frame_release(code, f) };
    }
    warm_count
}

fn no_allocations_once_warm(policy: u32, depth: usize) {
    let pool = pool(policy);
    // SAFETY: the pool is live; codes and frames are used as the header says.
    unsafe {
        let code = zf_code_new(pool, 448);
        let before = counts();
        assert_eq!(recurse(code, depth), 0, "a new code has no zombies");
        let after_first = counts();
        assert_eq!(after_first.1 - before.1, depth as u64, "the hook must see the first frames: it counts");
        // Past a sweep_every's worth of releases (as the copy of this test
        // that tests/behaviour.rs had, with 100,000 pairs): whatever the hit
        // path counts toward a sweep must not allocate when it comes due.
        let rounds = (ZfConfig::default().sweep_every as usize / depth + 1).max(10_000);
        for _ in 0..rounds {
            assert_eq!(recurse(code, depth), depth, "every frame is a zombie once warm");
        }
        assert_eq!(counts(), after_first, "the hit path allocated (rust, hook allocs, hook frees)");
        zf_code_free(code);
        zf_pool_free(pool);
    }
}

#[test]
fn hit_pair_allocates_nothing() {
    no_allocations_once_warm(ZF_POLICY_PER_CODE, 1);
}

#[test]
fn recursion_within_per_code_max_allocates_nothing() {
    let depth = (ZfConfig::default().per_code_max as usize).min(64);
    assert!(depth > 1);
    no_allocations_once_warm(ZF_POLICY_PER_CODE, depth);
}

#[test]
fn legacy_hit_pair_allocates_nothing() {
    no_allocations_once_warm(ZF_POLICY_LEGACY, 1);
}

#[test]
fn stats_report_hits_without_allocating() {
    let pool = pool(ZF_POLICY_PER_CODE);
    // SAFETY: as above.
    unsafe {
        let code = zf_code_new(pool, 448);
        recurse(code, 1);
        let before = counts();
        recurse(code, 1);
        let s = common::stats(pool);
        assert_eq!(counts(), before);
        assert_eq!((s.acquires, s.zombie_hits, s.fresh_allocs), (2, 1, 1));
        zf_code_free(code);
        zf_pool_free(pool);
    }
}
