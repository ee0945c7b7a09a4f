//! The pool: every cached frame of one interpreter and its accounting.
//! The struct and what every path shares live here; each job has its
//! module:
//!
//! - `lifetime`: pools and codes made and freed;
//! - `acquire`: the slow acquire, a cold zombie or a miss;
//! - `release`: the slow release, a slot granted or the frame retired;
//! - `drain`: frames leaving the cache (dropped, drained, cleared);
//! - `bound`: the bound in force, fixed or following the program;
//! - `policy`: aging (low-water sweeps) and eviction (CLOCK);
//! - `checked`: a debug pool's checks (acquire, release, one thread inside).

use crate::block::{Block, Heap};
use crate::code::Code;
#[cfg(feature = "std")]
use crate::code::Miss;
use crate::config::{ZfConfig, ZF_POLICY_LEGACY};
use crate::debug::{Handler, Record};
use crate::error::Error;
use crate::hot::Work;
use crate::reserve::Reserve;
use crate::ring::Ring;
use crate::stats::{Counters, Tally, TopList, ZfStats};
use crate::trace_writer::Recorder;
use alloc::string::String;
use alloc::vec::Vec;
use bound::Bound;
use core::cell::{Cell, RefCell};
use core::ptr::NonNull;
use policy::Aging;

/// Where a plain pool's slow call past the inline state goes (the slow
/// entries' lanes: `Pool::miss_lane`, `Pool::release_lane`).
pub(crate) enum Lane {
    /// The slow path: something else is due.
    Full,
    /// The lane's work, with nothing else due.
    Plain,
    /// `sync` first (the fast path did work on the code since the last
    /// look), then the lane's work.
    Pending,
}

mod acquire;
mod bound;
mod checked;
mod drain;
mod lifetime;
mod policy;
mod release;

pub struct Pool {
    cfg: ZfConfig,
    heap: Heap,
    /// The bound in force, and what the automatic bound follows.
    bound: Bound,
    closed: Cell<bool>,
    /// A debug pool, freed and unused, whose memory `KEPT` holds on to
    /// (`Pool::keep_dead_pool`).
    kept: Cell<bool>,
    /// When the next sweep is due, and what the reserve never served.
    aging: Aging,
    ring: Ring,
    /// Frames any code may take on a miss: the reserve of retired frames,
    /// by size class, or CPython's global free list under the legacy policy.
    reserve: Reserve,
    reserve_max: u32,
    handler: Cell<Handler>,
    counters: Counters,
    /// `ZF_TRACE`: the recorder of every event, when asked for.
    trace: Option<RefCell<Recorder>>,
    /// Debug mode, a trace or the legacy policy: every call takes the slow
    /// path (each code's fast-path state stays inert).
    watched: bool,
    /// `watched`, or a `per_code_max` of 1 or 2, where a code with one
    /// slot is past half its limit and its release may end a re-entry,
    /// which makes room (`grant_slot`): no release takes the plain lane.
    full_releases: bool,
    /// `ZF_FLAG_DEBUG`: every frame this pool handed out (src/debug.rs).
    record: Record,
    /// Why the latest system allocation was needed (read by the replay).
    #[cfg(feature = "std")]
    last_miss: Cell<Miss>,
    /// Codes holding two slots or more: each has something spare, room
    /// or a zombie past its first (`make_spare_room` looks for them).
    multi_slot: Cell<u32>,
    /// The live count as misses see it: its lowest since the last exact
    /// look at the peak, and the count past which the next look is due
    /// (`raise_peak_live`).
    live_low: Cell<u64>,
    live_look: Cell<u64>,
    /// Structs of dead codes, kept for the next codes (`lifetime`): a
    /// program that makes and drops codes (exec, lambdas) then costs the
    /// allocator nothing per code. The first `spare_len` are held.
    spare_codes: [Cell<Option<NonNull<Code>>>; lifetime::SPARE_CODES_MAX],
    spare_len: Cell<usize>,
    /// Shapes made lately, by the frame bytes asked (`Pool::shape`).
    shapes: lifetime::Shapes,
}

/// A failed acquire; its message is the thread's last error (`Pool::fail`).
/// One word, not an `Error` (56 bytes), so that an acquire's result comes
/// back in registers.
#[derive(Debug)]
pub struct Failed(());

/// CPython 3.9's `PyFrame_MAXFREELIST`.
const LEGACY_FREE_LIST_MAX: u32 = 200;

impl Pool {
    /// The pool that made `code`.
    pub fn of(code: &Code) -> &Pool {
        // SAFETY: the link was made from this pool in `new_code`, and a code
        // keeps its pool alive: a pool's memory goes with its last code
        // (`close`, `free_code`).
        unsafe { code.pool.0.cast::<Pool>().as_ref() }
    }

    /// Hands the recorder to `f` when the pool records a trace.
    #[inline]
    pub(crate) fn traced(&self, f: impl FnOnce(&mut Recorder)) {
        if let Some(trace) = &self.trace {
            f(&mut trace.borrow_mut());
        }
    }

    /// `ZF_FLAG_DEBUG`: every call is checked (`pool/checked.rs`).
    pub(crate) fn is_debug(&self) -> bool {
        self.cfg.debug()
    }

    pub fn legacy(&self) -> bool {
        self.cfg.policy == ZF_POLICY_LEGACY
    }

    /// Adds what the fast path did on `code` since the last look to the
    /// pool's counters. Every slow path starts here (a slow lane's Plain
    /// way finds nothing to add, and skips it), so the counters are
    /// exact but for what the fast path did since on other codes, which
    /// `stats` adds in without changing anything. Watched pools leave the
    /// same work unseen (see `acquire_unchecked`), so the counters, and the
    /// decisions read from them, are the same in every pool.
    pub(crate) fn sync(&self, code: &Code) {
        let work = code.sync();
        if work.hits == 0 && work.releases == 0 {
            return;
        }
        self.add_work(&work);
        if work.hits > 0 {
            code.mark_used();
        }
    }

    /// `sync` in one copy for aging and a debug pool's repairs, where the
    /// acquire, release and eviction paths keep theirs inline.
    #[inline(never)]
    pub(crate) fn sync_outlined(&self, code: &Code) {
        self.sync(code)
    }

    /// Adds a code's inline work to the live counters (`Work::add_to`'s
    /// twin, for the slow path: no snapshot).
    fn add_work(&self, work: &Work) {
        let n = &self.counters;
        n.zombie_hits.add(work.hits);
        n.releases.add(work.releases);
        let moved = work.releases as i64 - work.hits as i64;
        n.live_frames.shift(-moved);
        n.cached_frames.shift(moved);
        n.cached_bytes.shift(moved * work.bytes as i64);
        n.allowance_bytes.shift(-moved * work.bytes as i64);
    }

    /// Bytes charged to the bound: what is held (zombies and the reserve)
    /// and what is promised (the room of every allowance).
    pub(crate) fn charged_bytes(&self) -> u64 {
        self.counters.cached_bytes.get() + self.counters.allowance_bytes.get()
    }

    fn raise_peak(&self) {
        self.counters.peak_cached_bytes.raise_to(self.charged_bytes());
    }

    /// `sync` counted the block at its code's size; under legacy, a block
    /// keeps its own (`sign`: +1 cached, -1 taken out).
    fn count_own_size(&self, code: &Code, block: Block, sign: i64) {
        let extra = self.heap.bytes(block, code.bytes()) as i64 - code.bytes() as i64;
        if extra != 0 {
            debug_assert!(self.legacy(), "a per-code code owns blocks of one size");
            self.counters.cached_bytes.shift(sign * extra);
            self.raise_peak();
        }
    }

    /// `code`'s slots went from `before` to what it holds now (a grant
    /// adds one; a revoke or a drop takes some away).
    fn note_slots(&self, code: &Code, before: u32) {
        let (was, is) = (before >= 2, code.slots() >= 2);
        self.multi_slot.set(self.multi_slot.get() + is as u32 - was as u32);
    }

    /// A block of `bytes` (`Heap::bytes`) leaves the cache.
    pub(crate) fn uncount_cached(&self, bytes: usize) {
        self.counters.cached_frames.sub(1);
        self.counters.cached_bytes.sub(bytes as u64);
    }

    /// Fresh blocks and resizes so far: what the system was asked for
    /// (these three: for the replay's lockstep).
    #[cfg(feature = "std")]
    pub fn system_allocs(&self) -> u64 {
        self.counters.fresh_allocs.get() + self.counters.reallocs.get()
    }

    /// Why the latest system allocation was needed.
    #[cfg(feature = "std")]
    pub fn last_miss(&self) -> Miss {
        self.last_miss.get()
    }

    /// Cached frames and their bytes as counted now: exact for a watched
    /// pool (legacy), whose every event reaches the library.
    #[cfg(feature = "std")]
    pub fn cached_now(&self) -> (u64, u64) {
        (self.counters.cached_frames.get(), self.counters.cached_bytes.get())
    }

    /// The counters, with what the fast path did since the library last
    /// looked. Reading them changes nothing.
    pub fn stats(&self) -> ZfStats {
        let bound_bytes = self.bound.bytes();
        let mut s = ZfStats { shared_frames: self.reserve.len() as u64, bound_bytes, ..self.counters.snapshot() };
        for code in self.ring.iter() {
            code.pending().add_to(&mut s);
        }
        s
    }

    /// What `zf_pool_print_stats` writes.
    pub fn stats_report(&self) -> String {
        crate::stats::report(&self.stats(), &self.cfg, self.closed.get(), &self.top_lists(5))
    }

    /// The report's lists holding the most zombie bytes, largest first.
    pub fn top_lists(&self, most: usize) -> Vec<TopList> {
        // Kept in order as they come (ties: the older code first): `most`
        // is a handful, so no sort of every list.
        let mut top: Vec<(u64, u64, usize, u32)> = Vec::with_capacity(most + 1);
        for c in self.ring.iter().filter(|c| c.len() > 0) {
            let at = top.partition_point(|t| (t.0, t.1) >= (c.cached_bytes(), u64::MAX - c.id));
            if at < most {
                // The size the code asked for, a debug pool's guard left out.
                let asked = if self.cfg.debug() { crate::debug::user_bytes(c) } else { c.frame_bytes() };
                top.insert(at, (c.cached_bytes(), u64::MAX - c.id, asked, c.len()));
                top.truncate(most);
            }
        }
        top.into_iter().map(|(_, id, fb, n)| (u64::MAX - id, fb, n)).collect()
    }

    /// Leaves `e` as this thread's last error, for the caller of the
    /// failed acquire. Nothing of the pool is written: a debug pool fails
    /// this way when another thread is inside it.
    #[cold]
    pub(crate) fn fail(&self, e: Error) -> Failed {
        crate::error::set_error(&e);
        Failed(())
    }

    /// A misuse report, through the handler the caller set (out of line:
    /// it is called from many places). The handler hears of a misuse of
    /// its own call, but not of one its answer to that makes: a handler
    /// that answers by misusing again, told each time, would recurse
    /// until its stack ran out.
    #[inline(never)]
    pub(crate) fn report(&self, kind: i32, message: &str) {
        let told = self.record.told.get();
        if told >= 2 {
            return;
        }
        let outer = self.record.reporting.replace(self.record.depth());
        self.record.told.set(told + 1);
        self.handler.get().report(kind, message);
        self.record.told.set(told);
        self.record.reporting.set(outer);
    }

    pub fn set_handler(&self, handler: Handler) {
        self.handler.set(handler);
    }
}
