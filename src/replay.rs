//! Replaying a trace through the C ABI, exactly as an interpreter would
//! drive it: the engine behind `zf-replay`, the trace tests and benchmarks.

use crate::code::{Loss, Miss};
use crate::ffi::*;
use crate::os;
use crate::pool::Pool;
use crate::trace::Event;
use crate::{ZfConfig, ZfStats};
use std::ffi::{c_int, c_void};
use std::fmt;
use std::ptr::null_mut;
use std::time::Instant;

/// Why a replay stopped: at an event (numbered from 1, as
/// `Parser::line_of` takes it), or before the first (no pool).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayError {
    pub event: Option<u64>,
    pub why: String,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.event {
            Some(n) => write!(f, "event {n}: {}", self.why),
            None => f.write_str(&self.why),
        }
    }
}

impl std::error::Error for ReplayError {}

impl ReplayError {
    fn at(i: usize, why: String) -> ReplayError {
        ReplayError { event: Some(i as u64 + 1), why }
    }
}

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
pub fn replay(events: &[Event], slots: u32, contender: Contender, check_budget: bool) -> Result<Outcome, ReplayError> {
    match contender {
        Contender::Malloc => Ok(replay_malloc(events, slots)),
        Contender::Oracle => replay_pool(events, slots, &oracle(), false, check_budget),
        Contender::Pool(cfg) => replay_pool(events, slots, &cfg, true, check_budget),
    }
}

/// One pool driven through a trace, event by event, as an interpreter
/// would drive it.
struct Run {
    pool: *mut ZfPool,
    codes: Vec<*mut ZfCode>,
    frames: Vec<*mut c_void>,
    /// `s` lines become `zf_pool_collect`.
    collect: bool,
}

impl Run {
    /// A replay records nothing and uses the library's own allocator:
    /// the config's pointers (`trace_path`, the hooks and their context),
    /// which safe code may have set to anything, are not used.
    fn new(cfg: &ZfConfig, slots: u32, collect: bool) -> Result<Run, ReplayError> {
        let cfg = ZfConfig { trace_path: core::ptr::null(), alloc: None, dealloc: None, alloc_ctx: null_mut(), ..*cfg };
        // SAFETY: a whole ZfConfig whose pointers are all NULL.
        let pool = unsafe { zf_pool_new(&cfg) };
        if pool.is_null() {
            return Err(ReplayError { event: None, why: last_error() });
        }
        Ok(Run { pool, codes: Vec::new(), frames: vec![null_mut(); slots as usize], collect })
    }

    /// The pool itself, for what only the library can say (`lockstep`).
    fn inner(&self) -> &Pool {
        // SAFETY: a live pool (freed only by `finish`, which takes self).
        unsafe { &*self.pool.cast::<Pool>() }
    }

    /// Event `i` (from 0), `e`. Every handle comes from this pool and is
    /// used by the rules the trace reader checked (no release of a frame
    /// that is not live, no use of a destroyed code): the safety argument
    /// of each call below.
    fn step(&mut self, i: usize, e: &Event) -> Result<(), ReplayError> {
        let failed = |why| Err(ReplayError::at(i, why));
        match *e {
            Event::Create { bytes, .. } => {
                // SAFETY: a live pool.
                let code = unsafe { zf_code_new(self.pool, bytes) };
                if code.is_null() {
                    return failed(last_error());
                }
                self.codes.push(code);
            }
            Event::Acquire { code, slot } => {
                // SAFETY: a live code of this pool.
                let frame = unsafe { zf_frame_acquire(self.codes[code as usize], null_mut()) };
                if frame.is_null() {
                    return failed(last_error());
                }
                self.frames[slot as usize] = frame;
            }
            // SAFETY: the slot's frame is live, acquired on this code.
            Event::Release { code, slot } => unsafe {
                zf_frame_release(self.codes[code as usize], self.frames[slot as usize])
            },
            // SAFETY: a code of this pool, freed once.
            Event::Destroy { code } => unsafe { zf_code_free(self.codes[code as usize]) },
            Event::Collect { generation } if self.collect => {
                // SAFETY: a live pool.
                _ = unsafe { zf_pool_collect(self.pool, generation as c_int) }
            }
            Event::Collect { .. } => {}
            // SAFETY: a live pool.
            Event::Clear => _ = unsafe { zf_pool_clear(self.pool) },
        }
        Ok(())
    }

    fn stats(&self) -> ZfStats {
        stats(self.pool)
    }

    /// Frees the pool and every code; frames live at the end stay live
    /// until then, as in the interpreter, so a leak checker sees nothing.
    fn finish(self, events: &[Event]) {
        // SAFETY: the pool of this run, freed once.
        unsafe { zf_pool_free(self.pool) };
        for (code, e) in self.codes.iter().zip(destroyed(events, self.codes.len())) {
            if !e {
                // SAFETY: a code the trace never destroyed, freed once.
                unsafe { zf_code_free(*code) };
            }
        }
        for (slot, code) in frames_live_at_end(events, self.frames.len() as u32).iter().enumerate() {
            if let Some(code) = code {
                // SAFETY: still live from its acquire on that code, released once.
                unsafe { zf_frame_release(self.codes[*code as usize], self.frames[slot]) };
            }
        }
    }
}

fn replay_pool(
    events: &[Event],
    slots: u32,
    cfg: &ZfConfig,
    collect: bool,
    check: bool,
) -> Result<Outcome, ReplayError> {
    let mut run = Run::new(cfg, slots, collect)?;
    let budget = cfg.budget_bytes as u64;
    let check = check && cfg.policy == crate::ZF_POLICY_PER_CODE;
    let start = Instant::now();
    for (i, e) in events.iter().enumerate() {
        run.step(i, e)?;
        if check && matches!(e, Event::Release { .. }) {
            let s = run.stats();
            let held = s.cached_bytes + s.allowance_bytes;
            let (cached, bound) = (s.cached_bytes, s.bound_bytes);
            if held > bound || (budget != 0 && bound != budget) {
                let why = format!(
                    "zombies hold {cached} bytes and allowances {} more, over the bound of {bound} (budget_bytes {budget})",
                    s.allowance_bytes
                );
                return Err(ReplayError::at(i, why));
            }
        }
    }
    let nanos = start.elapsed().as_nanos() as u64;
    let outcome = Outcome { stats: run.stats(), events: events.len() as u64, nanos };
    run.finish(events);
    Ok(outcome)
}

/// Why per-code asked the system for blocks (`lockstep`), one count each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Causes {
    /// The oracle (no limits) allocated at the same acquire: unavoidable.
    pub cold: u64,
    /// A depth the code never reached, which the oracle served from
    /// another code's retired frame: the reserve had none of the class.
    pub no_reserve_frame: u64,
    /// The code had the frame once; the bound took it back (evicted, or no
    /// room for it within the bound when it was released).
    pub bound: u64,
    /// Its release found the code's list at its limit.
    pub limit: u64,
    /// An aging sweep took it.
    pub aged: u64,
    /// The code had that many frames before and lost none that it can name.
    pub unexplained: u64,
}

impl Causes {
    fn add(&mut self, why: Miss, oracle_allocated: bool) {
        let n = match why {
            _ if oracle_allocated => &mut self.cold,
            Miss::Deeper => &mut self.no_reserve_frame,
            Miss::Lost(Loss::Bound) => &mut self.bound,
            Miss::Lost(Loss::Limit) => &mut self.limit,
            Miss::Lost(Loss::Aged) => &mut self.aged,
            Miss::None | Miss::Unexplained => &mut self.unexplained,
        };
        *n += 1;
    }

    pub fn total(&self) -> u64 {
        self.named().iter().map(|(_, n)| n).sum()
    }

    /// Each count with its field's name, in the order above.
    pub fn named(&self) -> [(&'static str, u64); 6] {
        [
            ("cold", self.cold),
            ("no_reserve_frame", self.no_reserve_frame),
            ("bound", self.bound),
            ("limit", self.limit),
            ("aged", self.aged),
            ("unexplained", self.unexplained),
        ]
    }
}

/// Per-code, legacy and the oracle replayed together, event by event.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lockstep {
    pub per_code: ZfStats,
    pub legacy: ZfStats,
    pub oracle: ZfStats,
    /// Acquires at which per-code asked the system for a block and legacy
    /// did not; `better`: the reverse.
    pub worse: u64,
    pub better: u64,
    /// Every system allocation of per-code by cause, and those of `worse`.
    pub causes: Causes,
    pub worse_causes: Causes,
    /// Legacy's peak cached bytes without the library's block headers: what
    /// CPython's own frames would have held.
    pub legacy_peak_own_bytes: u64,
    /// Per-code's peak of what its zombies and reserve held, without the
    /// free room of allowances that `peak_cached_bytes` adds (read after
    /// every release: only releases add to it).
    pub per_code_peak_held_bytes: u64,
}

/// Replays `events` through per-code (`cfg`), legacy and the oracle at
/// once, and says at which acquires per-code asked the system for a block
/// where legacy did not, and why per-code had no frame at hand. Failures
/// as `replay`'s.
pub fn lockstep(events: &[Event], slots: u32, cfg: &ZfConfig) -> Result<Lockstep, ReplayError> {
    let legacy_cfg = ZfConfig { policy: crate::ZF_POLICY_LEGACY, ..ZfConfig::default() };
    let mut runs =
        [Run::new(cfg, slots, true)?, Run::new(&legacy_cfg, slots, true)?, Run::new(&oracle(), slots, false)?];
    let mut l = Lockstep::default();
    for (i, e) in events.iter().enumerate() {
        let before = runs.each_ref().map(|r| r.inner().system_allocs());
        for run in &mut runs {
            run.step(i, e)?;
        }
        let [p, leg, o] = [0, 1, 2].map(|k| runs[k].inner().system_allocs() > before[k]);
        if p {
            let why = runs[0].inner().last_miss();
            l.causes.add(why, o);
            if !leg {
                l.worse += 1;
                l.worse_causes.add(why, o);
            }
        } else if leg {
            l.better += 1;
        }
        if matches!(e, Event::Release { .. }) {
            l.per_code_peak_held_bytes = l.per_code_peak_held_bytes.max(runs[0].stats().cached_bytes);
        }
        let (frames, bytes) = runs[1].inner().cached_now();
        l.legacy_peak_own_bytes = l.legacy_peak_own_bytes.max(bytes - frames * crate::ZF_HEADER_BYTES as u64);
    }
    [l.per_code, l.legacy, l.oracle] = runs.each_ref().map(Run::stats);
    for run in runs {
        run.finish(events);
    }
    Ok(l)
}

/// The oracle's configuration: no limits, no aging.
fn oracle() -> ZfConfig {
    ZfConfig {
        per_code_max: u32::MAX,
        budget_bytes: usize::MAX,
        reserve_max: u32::MAX,
        sweep_every: 0,
        ..ZfConfig::default()
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
            Event::Destroy { .. } | Event::Collect { .. } | Event::Clear => {}
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
