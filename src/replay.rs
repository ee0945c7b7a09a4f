//! Replaying a trace through the C ABI, exactly as an interpreter would
//! drive it: the engine behind `zf-replay`, the trace tests and benchmarks.

use crate::ffi::*;
use crate::os;
use crate::trace::Event;
use crate::{ZfConfig, ZfStats};
use std::ffi::{c_int, c_void};
use std::ptr::null_mut;
use std::time::Instant;

/// What a pool is asked to do with the trace's events.
#[derive(Clone, Copy, Debug)]
pub enum Contender {
    /// A pool with this configuration; `s` lines become `zf_pool_collect`.
    Pool(ZfConfig),
    /// A cache without limits and without aging: its misses are the cold
    /// misses that no policy avoids.
    Oracle,
    /// No cache: malloc on every acquire, free on every release.
    Malloc,
}

/// One replay's outcome.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    /// The pool's counters after the last event (before anything is freed).
    pub stats: ZfStats,
    pub events: u64,
    /// Wall time of the replay loop, in nanoseconds.
    pub nanos: u64,
}

impl Outcome {
    /// What the system allocator was asked for: fresh blocks and resizes.
    pub fn system_allocs(&self) -> u64 {
        self.stats.fresh_allocs + self.stats.reallocs
    }

    pub fn ns_per_event(&self) -> f64 {
        self.nanos as f64 / self.events.max(1) as f64
    }
}

/// Replays `events` (`slots` from the parser) once, timed. With
/// `check_budget`, also checks after every release that the zombies and
/// the allowances hold no more than the bound in force (`bound_bytes`,
/// which is `budget_bytes` when that is set; per-code pools: legacy has
/// none), and the time is not worth reading.
pub fn replay(events: &[Event], slots: u32, contender: Contender, check_budget: bool) -> Result<Outcome, String> {
    match contender {
        Contender::Malloc => Ok(replay_malloc(events, slots)),
        Contender::Oracle => {
            let unbounded = ZfConfig {
                per_code_max: u32::MAX,
                budget_bytes: usize::MAX,
                reserve_max: u32::MAX,
                ..ZfConfig::default()
            };
            let cfg = ZfConfig { sweep_every: 0, ..unbounded };
            replay_pool(events, slots, &cfg, false, check_budget)
        }
        Contender::Pool(cfg) => replay_pool(events, slots, &cfg, true, check_budget),
    }
}

// One SAFETY argument covers every call of the loop below, as it would a C
// caller's: the block is one unit, not a bundle of unrelated operations.
#[allow(clippy::multiple_unsafe_ops_per_block)]
fn replay_pool(events: &[Event], slots: u32, cfg: &ZfConfig, collect: bool, check: bool) -> Result<Outcome, String> {
    // SAFETY: a valid config; every handle below comes from this pool and
    // is used by the rules the trace reader checked (no release of a frame
    // that is not live, no use of a destroyed code).
    unsafe {
        let pool = zf_pool_new(cfg);
        if pool.is_null() {
            return Err(last_error());
        }
        let mut codes: Vec<*mut ZfCode> = Vec::new();
        let mut frames: Vec<*mut c_void> = vec![null_mut(); slots as usize];
        let budget = cfg.budget_bytes as u64;
        let check = check && cfg.policy == crate::ZF_POLICY_PER_CODE;
        let start = Instant::now();
        for (i, e) in events.iter().enumerate() {
            match *e {
                Event::Create { bytes, .. } => {
                    let code = zf_code_new(pool, bytes);
                    if code.is_null() {
                        return Err(format!("event {}: {}", i + 1, last_error()));
                    }
                    codes.push(code);
                }
                Event::Acquire { code, slot } => {
                    let frame = zf_frame_acquire(codes[code as usize], null_mut());
                    if frame.is_null() {
                        return Err(format!("event {}: {}", i + 1, last_error()));
                    }
                    frames[slot as usize] = frame;
                }
                Event::Release { code, slot } => {
                    zf_frame_release(codes[code as usize], frames[slot as usize]);
                    if check {
                        let s = stats(pool);
                        let held = s.cached_bytes + s.allowance_bytes;
                        let (cached, bound) = (s.cached_bytes, s.bound_bytes);
                        if held > bound || (budget != 0 && bound != budget) {
                            return Err(format!(
                                "event {}: zombies hold {cached} bytes and allowances {} more, over the bound of {bound} (budget_bytes {budget})",
                                i + 1,
                                s.allowance_bytes
                            ));
                        }
                    }
                }
                Event::Destroy { code } => zf_code_free(codes[code as usize]),
                Event::Collect { generation } if collect => _ = zf_pool_collect(pool, generation as c_int),
                Event::Collect { .. } => {}
            }
        }
        let nanos = start.elapsed().as_nanos() as u64;
        let outcome = Outcome { stats: stats(pool), events: events.len() as u64, nanos };
        // Frames live at the end stay live, as in the interpreter; the pool
        // and every code still go, so a leak checker sees nothing.
        zf_pool_free(pool);
        for (code, e) in codes.iter().zip(destroyed(events, codes.len())) {
            if !e {
                zf_code_free(*code);
            }
        }
        let live = frames_live_at_end(events, slots);
        for (slot, frame) in frames.iter().enumerate() {
            if let Some(code) = live[slot] {
                zf_frame_release(codes[code as usize], *frame);
            }
        }
        Ok(outcome)
    }
}

fn replay_malloc(events: &[Event], slots: u32) -> Outcome {
    let mut bytes: Vec<usize> = Vec::new();
    let mut frames: Vec<*mut c_void> = vec![null_mut(); slots as usize];
    let mut s = ZfStats::default();
    let start = Instant::now();
    for e in events {
        match *e {
            Event::Create { bytes: b, .. } => bytes.push(b),
            Event::Acquire { code, slot } => {
                // Plain malloc; a NULL result is only ever freed.
                frames[slot as usize] = os::malloc(bytes[code as usize]);
                s.fresh_allocs += 1;
                s.live_frames += 1;
                s.peak_live_frames = s.peak_live_frames.max(s.live_frames);
            }
            Event::Release { slot, .. } => {
                // SAFETY: malloc'd by the acquire of this slot, freed once.
                unsafe { os::free(frames[slot as usize]) };
                s.releases += 1;
                s.frees += 1;
                s.live_frames -= 1;
            }
            Event::Destroy { .. } | Event::Collect { .. } => {}
        }
    }
    let nanos = start.elapsed().as_nanos() as u64;
    s.acquires = s.fresh_allocs;
    s.codes_created = bytes.len() as u64;
    for (slot, code) in frames_live_at_end(events, slots).iter().enumerate() {
        if code.is_some() {
            // SAFETY: still live from its acquire.
            unsafe { os::free(frames[slot]) };
        }
    }
    Outcome { stats: s, events: events.len() as u64, nanos }
}

/// For each code, whether the trace destroys it.
fn destroyed(events: &[Event], codes: usize) -> Vec<bool> {
    let mut d = vec![false; codes];
    for e in events {
        if let Event::Destroy { code } = e {
            d[*code as usize] = true;
        }
    }
    d
}

/// For each slot, the code of the frame still in it at the end, if any.
fn frames_live_at_end(events: &[Event], slots: u32) -> Vec<Option<u32>> {
    let mut live = vec![None; slots as usize];
    for e in events {
        match *e {
            Event::Acquire { code, slot } => live[slot as usize] = Some(code),
            Event::Release { slot, .. } => live[slot as usize] = None,
            _ => {}
        }
    }
    live
}

fn stats(pool: *const ZfPool) -> ZfStats {
    let mut s = ZfStats::default();
    // SAFETY: a live pool and a valid out-pointer.
    unsafe { zf_pool_stats(pool, &mut s) };
    s
}

fn last_error() -> String {
    let e = zf_last_error();
    if e.is_null() {
        return "unknown error".into();
    }
    // SAFETY: zf_last_error returns NULL or a NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(e) }.to_string_lossy().into_owned()
}
