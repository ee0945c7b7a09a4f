//! Out of memory, at every allocation: an allocator hook fails the Nth
//! allocation the library makes, for every N a scenario reaches, under
//! each policy and in debug mode. Whatever fails, the call that needed the
//! memory returns NULL with a message, the pool's counters stay consistent,
//! the next acquire succeeds once memory is back, and by the end every
//! byte the hook handed out was given back.
//!
//! Two ways memory runs out: only the Nth allocation fails (a transient
//! failure), or every allocation from the Nth fails until the scenario
//! reports the failure and memory is given back.

mod common;

use common::{last_error, stats};
use std::ffi::{c_int, c_void, CStr};
use std::ptr::null_mut;
use zombie_frames::*;

#[derive(Default)]
struct Faulty {
    /// Allocations asked for so far.
    calls: u64,
    /// The allocation that fails (from 1); 0: none.
    fail_at: u64,
    /// Keep failing after `fail_at` until `memory_back`.
    persistent: bool,
    failed: u64,
    blocks_out: i64,
    bytes_out: i64,
}

impl Faulty {
    fn memory_back(&mut self) {
        self.fail_at = 0;
    }
}

unsafe extern "C" fn faulty_alloc(ctx: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: ctx is the test's Faulty, used by one thread.
    let f = unsafe { &mut *ctx.cast::<Faulty>() };
    f.calls += 1;
    let failing = f.fail_at != 0 && (f.calls == f.fail_at || (f.persistent && f.calls > f.fail_at));
    if failing {
        f.failed += 1;
        return null_mut();
    }
    let mut p = null_mut();
    // SAFETY: a valid out-pointer; 16 is a power of two multiple of sizeof(void *).
    assert_eq!(unsafe { libc::posix_memalign(&mut p, 16, size) }, 0);
    f.blocks_out += 1;
    f.bytes_out += size as i64;
    p
}

unsafe extern "C" fn faulty_dealloc(ctx: *mut c_void, p: *mut c_void, size: usize) {
    // SAFETY: as in faulty_alloc; `p` came from it.
    let f = unsafe { &mut *ctx.cast::<Faulty>() };
    f.blocks_out -= 1;
    f.bytes_out -= size as i64;
    // SAFETY: from posix_memalign.
    unsafe { libc::free(p) };
}

fn assert_oom_message(call: &str) {
    let msg = last_error();
    assert!(msg.contains("out of memory"), "{call}: {msg}");
}

/// Drives one pool through the scenario, checking its counters against
/// what the driver knows after every call.
struct Driver<'a> {
    f: &'a mut Faulty,
    pool: *mut ZfPool,
    budget: u64,
    live: Vec<(*mut ZfCode, *mut c_void, usize)>,
    codes: u64,
}

impl Driver<'_> {
    fn check(&self, when: &str) {
        let s = stats(self.pool);
        assert_eq!(s.live_frames, self.live.len() as u64, "{when}: live frames");
        assert_eq!(s.codes, self.codes, "{when}: codes");
        assert_eq!(s.acquires - s.releases, s.live_frames, "{when}: acquires - releases");
        assert!(s.cached_bytes <= self.budget, "{when}: over budget");
        assert_eq!(s.cached_frames == 0, s.cached_bytes == 0, "{when}: cached frames and bytes");
    }

    /// zf_code_new; NULL only for want of memory, then the count is unchanged.
    fn code(&mut self, bytes: usize) -> Option<*mut ZfCode> {
        // SAFETY: a live pool.
        let code = unsafe { zf_code_new(self.pool, bytes) };
        if code.is_null() {
            assert_oom_message("zf_code_new");
            self.f.memory_back();
            self.check("after zf_code_new failed");
            return None;
        }
        self.codes += 1;
        Some(code)
    }

    /// zf_frame_acquire; after a NULL, memory comes back and it must succeed.
    fn acquire(&mut self, code: *mut ZfCode, bytes: usize) {
        // SAFETY: a live code.
        let mut frame = unsafe { zf_frame_acquire(code, null_mut()) };
        if frame.is_null() {
            assert_oom_message("zf_frame_acquire");
            self.check("after zf_frame_acquire failed");
            self.f.memory_back();
            // SAFETY: as above.
            frame = unsafe { zf_frame_acquire(code, null_mut()) };
            assert!(!frame.is_null(), "acquire fails once memory is back: {}", last_error());
        }
        // SAFETY: a live frame of `bytes` bytes.
        unsafe { frame.cast::<u8>().write_bytes(0x77, bytes) };
        self.live.push((code, frame, bytes));
        self.check("after zf_frame_acquire");
    }

    fn release_last(&mut self) {
        let (code, frame, _) = self.live.pop().expect("a live frame");
        // SAFETY: a live frame of `code`.
        unsafe { zf_frame_release(code, frame) };
        self.check("after zf_frame_release");
    }
}

/// `cfg` with its allocator hooks on `f`.
fn hooked(cfg: ZfConfig, f: &mut Faulty) -> ZfConfig {
    ZfConfig { alloc: Some(faulty_alloc), dealloc: Some(faulty_dealloc), alloc_ctx: (f as *mut Faulty).cast(), ..cfg }
}

/// The scenario: codes, recursion, collections, a code freed with a live
/// frame, a clear, and the pool freed with a frame still live.
fn scenario(cfg: &ZfConfig, f: &mut Faulty) {
    let cfg = hooked(*cfg, f);
    // SAFETY: a whole config; every handle below is used as the header says.
    unsafe {
        let pool = zf_pool_new(&cfg);
        if pool.is_null() {
            assert_oom_message("zf_pool_new");
            return;
        }
        // Misuse reports are not expected, but a leak report is: the scenario
        // frees the pool with a frame live.
        zf_set_error_handler(pool, Some(expect_only_leaks), null_mut());
        let budget = if cfg.policy == ZF_POLICY_LEGACY { u64::MAX } else { cfg.budget_bytes as u64 };
        let mut d = Driver { f, pool, budget, live: vec![], codes: 0 };
        let sizes = [64, 200, 1000, 64, 5000];
        let codes: Vec<(*mut ZfCode, usize)> = sizes.iter().filter_map(|&b| Some((d.code(b)?, b))).collect();
        for round in 0..3 {
            for &(code, bytes) in &codes {
                for _ in 0..3 {
                    d.acquire(code, bytes);
                }
            }
            while !d.live.is_empty() {
                d.release_last();
            }
            zf_pool_collect(pool, round);
            d.check("after zf_pool_collect");
        }
        let (doomed, bytes) = codes[0];
        d.acquire(doomed, bytes);
        zf_code_free(doomed);
        d.codes -= 1;
        d.check("after zf_code_free");
        d.release_last();
        zf_pool_clear(pool);
        d.check("after zf_pool_clear");
        let (code, bytes) = codes[1];
        d.acquire(code, bytes);
        d.acquire(code, bytes);
        d.release_last();
        // The pool goes with a frame live: its code releases it afterwards.
        zf_pool_free(pool);
        let (code, frame, _) = d.live.pop().unwrap();
        zf_frame_release(code, frame);
        for &(code, _) in &codes[1..] {
            zf_code_free(code);
        }
    }
}

unsafe extern "C" fn expect_only_leaks(_: *mut c_void, kind: c_int, message: *const std::ffi::c_char) {
    // SAFETY: the library passes a NUL-terminated message.
    let message = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    assert_eq!(kind, ZF_ERR_LEAK, "unexpected report: {message}");
}

/// Runs the scenario failing allocation N, for every N it makes.
fn sweep(name: &str, cfg: ZfConfig) {
    let mut clean = Faulty::default();
    scenario(&cfg, &mut clean);
    let total = clean.calls;
    assert!(total > 10, "{name}: the scenario allocates");
    assert_eq!((clean.blocks_out, clean.bytes_out), (0, 0), "{name}: leak without failures");
    for persistent in [false, true] {
        for n in 1..=total {
            let mut f = Faulty { fail_at: n, persistent, ..Faulty::default() };
            scenario(&cfg, &mut f);
            let what = format!("{name}, allocation {n} of {total} fails{}", if persistent { " and on" } else { "" });
            assert!(f.failed > 0, "{what}: the failure happened");
            assert_eq!((f.blocks_out, f.bytes_out), (0, 0), "{what}: blocks and bytes leaked");
        }
    }
    println!("{name}: {total} allocations, each failed in turn, transiently and for good: no leak");
}

#[test]
fn every_allocation_can_fail_per_code() {
    sweep("per-code", ZfConfig { per_code_max: 2, budget_bytes: 4096, sweep_every: 5, ..ZfConfig::default() });
}

#[test]
fn every_allocation_can_fail_legacy() {
    sweep("legacy", ZfConfig { policy: ZF_POLICY_LEGACY, ..ZfConfig::default() });
}

#[test]
fn every_allocation_can_fail_in_debug_mode() {
    let cfg = ZfConfig { per_code_max: 2, budget_bytes: 4096, flags: ZF_FLAG_DEBUG, ..ZfConfig::default() };
    sweep("debug", cfg);
}

static FREED_CODE_REPORTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

unsafe extern "C" fn count_freed_code(_: *mut c_void, kind: c_int, message: *const std::ffi::c_char) {
    // SAFETY: the library passes a NUL-terminated message.
    let message = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    assert_eq!(kind, ZF_ERR_FREED_CODE, "unexpected report: {message}");
    FREED_CODE_REPORTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// A debug pool keeps a freed code's struct whatever memory is left, so
/// that freeing it again is reported, never a use after free: keeping it
/// allocates nothing (once, it needed a slot in a table, and without one
/// the struct went, and its memory to the next code).
#[test]
fn a_code_freed_twice_is_reported_when_memory_runs_out() {
    for n in 1..=12 {
        let mut f = Faulty { fail_at: n, ..Faulty::default() };
        let cfg = hooked(ZfConfig { flags: ZF_FLAG_DEBUG, ..ZfConfig::default() }, &mut f);
        FREED_CODE_REPORTS.store(0, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: a whole config; the handles are used as the header says
        // (but for the second free, debug mode's to report).
        unsafe {
            let pool = zf_pool_new(&cfg);
            if pool.is_null() {
                continue;
            }
            zf_set_error_handler(pool, Some(count_freed_code), null_mut());
            let code = zf_code_new(pool, 64);
            if code.is_null() {
                assert_oom_message("zf_code_new");
                zf_pool_free(pool);
                continue;
            }
            let frame = zf_frame_acquire(code, null_mut());
            if !frame.is_null() {
                zf_frame_release(code, frame);
            }
            zf_code_free(code);
            let other = zf_code_new(pool, 64);
            assert_ne!(other, code, "allocation {n} fails: a freed code's struct was made anew");
            zf_code_free(code);
            assert_eq!(FREED_CODE_REPORTS.load(std::sync::atomic::Ordering::Relaxed), 1, "allocation {n} fails");
            zf_code_free(other);
            zf_pool_free(pool);
        }
        assert!(f.failed > 0 || f.calls < n, "allocation {n}: failed");
        assert_eq!((f.blocks_out, f.bytes_out), (0, 0), "allocation {n} fails: leaked");
    }
}

/// A zombie the inline path cached (a release into the code's free slot,
/// which the library counts only at the code's next call) is freed like
/// any other when the allocator fails: the pool clears its cache and asks
/// once more, so a failure that passes costs no NULL. Once, the pool
/// looked only at the frames it had counted, found none, and returned NULL
/// at once.
#[test]
fn a_zombie_cached_inline_is_cleared_when_the_allocator_fails() {
    let mut f = Faulty::default();
    // zf_pool_collect(pool, 0) sweeps: the zombie goes cold.
    let cfg = hooked(ZfConfig { sweep_generation: 0, ..ZfConfig::default() }, &mut f);
    // SAFETY: a whole config; every handle is used as the header says.
    unsafe {
        let pool = zf_pool_new(&cfg);
        let (a, b) = (zf_code_new(pool, 100), zf_code_new(pool, 3000));
        assert!(!pool.is_null() && !a.is_null() && !b.is_null());
        let frame = zf_frame_acquire(a, null_mut());
        zf_frame_release(a, frame);
        zf_pool_collect(pool, 0);
        // Taken cold by the library, which leaves the code's slot free...
        let mut is_zombie = 0;
        let frame = zf_frame_acquire(a, &mut is_zombie);
        assert_eq!(is_zombie, 1);
        // ...for the inline release.
        zf_frame_release(a, frame);
        assert_eq!(stats(pool).cached_frames, 1, "the inline release's zombie");
        let freed_before = stats(pool).frees;
        (*cfg.alloc_ctx.cast::<Faulty>()).fail_at = (*cfg.alloc_ctx.cast::<Faulty>()).calls + 1;
        let other = zf_frame_acquire(b, null_mut());
        assert!(!other.is_null(), "the retry after the clear has memory: {}", last_error());
        let s = stats(pool);
        assert_eq!((s.cached_frames, s.frees), (0, freed_before + 1), "the zombie was cleared");
        zf_frame_release(b, other);
        zf_code_free(a);
        zf_code_free(b);
        zf_pool_free(pool);
    }
    assert_eq!((f.failed, f.blocks_out, f.bytes_out), (1, 0, 0));
}

/// The other side of the same count: zombies the pool counted as cached,
/// which the inline path has since taken, are no longer there to clear.
/// A refused frame then comes back NULL at once, with one request, not a
/// clear of nothing and a second request. Once, the pool counted them
/// still, and asked twice.
#[test]
fn zombies_taken_inline_are_not_cleared_twice_when_the_allocator_fails() {
    let mut f = Faulty::default();
    let cfg = hooked(ZfConfig::default(), &mut f);
    // SAFETY: a whole config; every handle is used as the header says.
    unsafe {
        let pool = zf_pool_new(&cfg);
        let (a, b) = (zf_code_new(pool, 100), zf_code_new(pool, 3000));
        assert!(!pool.is_null() && !a.is_null() && !b.is_null());
        // Three frames of `a` back (a recursion: its list grows): the
        // later releases reach the library, which counts every zombie.
        let frames: Vec<_> = (0..3).map(|_| zf_frame_acquire(a, null_mut())).collect();
        frames.iter().for_each(|&f| zf_frame_release(a, f));
        assert_eq!(stats(pool).cached_frames, 3);
        // All taken again by the hit path (the library does not look): nothing is cached.
        let frames: Vec<_> = (0..3)
            .map(|_| {
                let mut is_zombie = 0;
                let f = zf_frame_acquire(a, &mut is_zombie);
                assert_eq!(is_zombie, 1);
                f
            })
            .collect();
        assert_eq!(stats(pool).cached_frames, 0);
        let ctx = cfg.alloc_ctx.cast::<Faulty>();
        let calls = (*ctx).calls;
        (*ctx).fail_at = calls + 1;
        assert!(zf_frame_acquire(b, null_mut()).is_null(), "nothing to clear: NULL");
        assert_eq!((*ctx).calls, calls + 1, "one request, no second after a clear of nothing");
        frames.iter().for_each(|&f| zf_frame_release(a, f));
        zf_code_free(a);
        zf_code_free(b);
        zf_pool_free(pool);
    }
    assert_eq!((f.failed, f.blocks_out, f.bytes_out), (1, 0, 0));
}
