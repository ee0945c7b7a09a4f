//! The slow acquire: reached when the code's slot and hot stack were
//! empty. A cold zombie of the code if it has one (a hit), else a miss: a
//! frame from the reserve, resized under legacy when too small, or a fresh
//! block.

use super::{Failed, Lane, Pool};
use crate::block::{Block, NoBlock};
use crate::code::Code;
use crate::stats::Tally;
use core::ptr::NonNull;

impl Pool {
    /// `zf_frame_acquire` when the slot and hot stack were empty: a cold
    /// zombie of this code, else a frame from the reserve or a fresh block.
    /// A pool nobody watches, the common one, goes straight to the work,
    /// inlined into `zf_frame_acquire`'s slow path. `function`: the entry
    /// called, which debug mode's reports name.
    #[inline]
    pub fn acquire(&self, code: &Code, function: &'static str) -> Result<(NonNull<u8>, bool), Failed> {
        if self.watched {
            return match self.cfg.debug() {
                true => self.checked_acquire(code, function),
                false => self.acquire_unchecked(code),
            };
        }
        // `zf_frame_acquire` found the hot state without a zombie (so should
        // a caller of `zf_frame_acquire_slow`; if not, what it gets is still
        // one of the code's frames, its zombie or not).
        self.take_or_miss(code, true)
    }

    /// The lane of a plain pool's acquire past the inline state (which had
    /// no zombie): `plain_miss` when nothing but the miss is due (no cold
    /// zombie, not the code's first miss, no reserve frame of its class),
    /// after a `sync` if the fast path did work since the last one; else
    /// the slow path. Tests only, inlined into the slow entries: a call
    /// they turn away pays them and a jump.
    #[inline(always)]
    pub(crate) fn miss_lane(&self, code: &Code) -> Lane {
        if self.watched || !code.has_run() || code.has_cold() || self.reserve.holds(code.class()) {
            return Lane::Full;
        }
        match code.synced() {
            true => Lane::Plain,
            false => Lane::Pending,
        }
    }

    /// The miss `miss_lane` found, synced: the system's block, counted as
    /// `take_or_miss` counts it, with no other step between (a deep
    /// recursion's every frame past its list comes this way).
    pub(crate) fn plain_miss(&self, code: &Code) -> Result<NonNull<u8>, Failed> {
        debug_assert!(matches!(self.miss_lane(code), Lane::Plain));
        code.mark_used();
        self.bound_miss(code);
        let deeper = code.reach_depth();
        let block = self.new_block(code)?;
        self.count_fresh(code, deeper);
        self.count_live(code);
        Ok(block.frame())
    }

    /// A watched pool's acquire, checks aside (`checked_acquire` makes them).
    #[cold]
    #[inline(never)]
    pub(crate) fn acquire_unchecked(&self, code: &Code) -> Result<(NonNull<u8>, bool), Failed> {
        // What the inline path serves, a watched pool serves the same way,
        // leaving the counting to the next sync: so every pool counts, and
        // decides, at the same moments. Legacy has no inline path.
        if !self.legacy() {
            if let Some(frame) = code.take() {
                self.traced(|t| t.acquire(code.id, frame.as_ptr()));
                return Ok((frame, true));
            }
        }
        let (frame, hit) = self.take_or_miss(code, !self.legacy())?;
        if self.legacy() {
            self.raise_peak_live();
            // CPython keeps no place for the zombie it just handed out.
            self.revoke_room(code, u32::MAX);
        }
        self.traced(|t| t.acquire(code.id, frame.as_ptr()));
        Ok((frame, hit))
    }

    /// The slow acquire proper: a cold zombie, else a miss. `hot_tried`:
    /// the caller found the slot and the hot stack without a zombie.
    #[inline(always)]
    fn take_or_miss(&self, code: &Code, hot_tried: bool) -> Result<(NonNull<u8>, bool), Failed> {
        code.mark_used();
        // A code that never ran has released no frame: nothing to sync,
        // no zombie (its first call comes this way).
        debug_assert!(code.has_run() || (code.synced() && code.peek().is_none()));
        if code.has_run() {
            self.sync(code);
            if let Some(block) = self.take_zombie(code, hot_tried) {
                return Ok((block.frame(), true));
            }
        }
        let block = self.miss(code)?;
        self.count_live(code);
        Ok((block.frame(), false))
    }

    /// The frames cached now, zombies the inline path cached or took
    /// since the library last looked included (what `stats` adds in):
    /// the counter alone may read 0 while a code's slot holds one. (A
    /// code took no more zombies than it held, so no step goes below zero.)
    fn frames_cached(&self) -> u64 {
        self.ring.iter().fold(self.counters.cached_frames.get(), |frames, c| {
            let work = c.pending();
            frames + work.releases - work.hits
        })
    }

    /// A miss, as the bound counts it (`Bound::note_miss`), once a reserve
    /// frame it takes is out of the cache: what no longer fits goes. Before
    /// the system is asked, if it is: nothing waits across that call.
    #[inline(always)]
    fn bound_miss(&self, code: &Code) {
        if self.bound.note_miss(code) {
            self.trim();
        }
    }

    /// A miss's frame is live.
    #[inline(always)]
    fn count_live(&self, code: &Code) {
        code.add_live(1);
        self.counters.live_frames.add(1);
        self.raise_peak_live();
    }

    /// A miss asked the system for a block (`deeper`: `Code::reach_depth`).
    #[inline(always)]
    fn count_fresh(&self, code: &Code, deeper: bool) {
        self.counters.fresh_allocs.add(1);
        self.note_miss(code, deeper);
    }

    /// Why this miss asked the system, for the replay's lockstep; the C
    /// library keeps no causes (`Causes`).
    #[inline(always)]
    fn note_miss(&self, code: &Code, deeper: bool) {
        #[cfg(feature = "std")]
        self.last_miss.set(code.charge_miss(deeper));
        #[cfg(not(feature = "std"))]
        let _ = (code, deeper);
    }

    /// Raises `peak_live_frames` at a miss. The live count leaves other
    /// codes' inline work unseen (frames they returned still counted,
    /// hits not yet), so the peak is raised only to an exact count: every
    /// code's pending work added in, as `stats` does. That look reads
    /// every code with an allowance, so it is due only once the count has
    /// grown, since the last look or its lowest after, past the peak by a
    /// margin: as many frames as those codes, or an eighth of the peak if
    /// less. So once the peak passes eight times the codes, looks cost one
    /// code read a frame of growth; the peak may read up to an eighth
    /// under the most live at a miss, never over, and lower by zombies
    /// other codes took inline since they last reached the library or the
    /// pool last counted their work (not in the count that makes a look
    /// due).
    /// Legacy counts every call: its count is exact, with no margin.
    #[inline(always)]
    fn raise_peak_live(&self) {
        let live = self.counters.live_frames.get();
        if live > self.live_look.get() || live < self.live_low.get() {
            self.follow_live(live);
        }
    }

    #[cold]
    fn follow_live(&self, mut live: u64) {
        let peak = &self.counters.peak_live_frames;
        let mut exact = live;
        if live > self.live_look.get() {
            if !self.legacy() {
                exact = self.live_now();
            }
            peak.raise_to(exact);
        }
        let margin = self.live_margin();
        // Frames other codes returned inline stay in the count until they
        // next reach the library. More than the margin of them hold the
        // count that far above the truth, so its ups and downs make looks
        // due with no frame more live (300 functions calling each other
        // looked at one miss in six): counted now, as their codes' next
        // slow calls would count them.
        if live.saturating_sub(exact) > margin {
            self.ring.iter().for_each(|c| self.sync(c));
            live = exact;
        }
        self.live_low.set(live);
        self.live_look.set(live.max(peak.get()) + margin);
    }

    /// How far past the peak the live count grows before the next look.
    fn live_margin(&self) -> u64 {
        match self.legacy() {
            true => 0,
            false => (self.counters.peak_live_frames.get() / 8).min(self.ring.len() as u64),
        }
    }

    /// The frames live now, the inline path's work included (what
    /// `Work::add_to` adds to `live_frames` in `stats`; a code released no
    /// more than it had live, so no step goes below zero). Its own fold,
    /// like `frames_cached`'s: a helper shared by both cost the miss path
    /// instructions.
    fn live_now(&self) -> u64 {
        self.ring.iter().fold(self.counters.live_frames.get(), |live, c| {
            let work = c.pending();
            live + work.hits - work.releases
        })
    }

    /// The slow path's zombie hit: the hit path itself (`ZfCodeHot::take`),
    /// after bringing a cold zombie up if the slot and hot stack are empty
    /// (`hot_tried`: known to be; sync fills neither).
    #[inline(always)]
    fn take_zombie(&self, code: &Code, hot_tried: bool) -> Option<Block> {
        let warm = match hot_tried {
            true => code.warm_up_cold(),
            false => code.warm_up(),
        };
        if !warm {
            return None;
        }
        // SAFETY: the slot and the hot stack hold only this code's zombies.
        let block = unsafe { Block::from_frame(code.take()?) };
        self.sync(code);
        self.count_own_size(code, block, -1);
        Some(block)
    }

    /// A frame for a code without zombies: from the reserve, else a fresh
    /// block. Under legacy, CPython's rule: the head of the list, resized
    /// when too small. Else the first frame of the code's size class, so
    /// nothing is resized and all frames of a code are one size.
    /// Inlined: most slow acquires are misses.
    #[inline(always)]
    fn miss(&self, code: &Code) -> Result<Block, Failed> {
        code.mark_run();
        // Whether the code never had so many frames live (why it had no
        // zombie, if the system must be asked).
        let deeper = code.reach_depth();
        let shared = self.take_reserve(code);
        self.bound_miss(code);
        let Some(shared) = shared else {
            let block = self.new_block(code)?;
            self.count_fresh(code, deeper);
            return Ok(block);
        };
        // Per-code: the reserve's blocks of the code's class hold its frames.
        if self.heap.capacity(shared, code.capacity()) >= code.frame_bytes() {
            self.counters.shared_hits.add(1);
            return Ok(shared);
        }
        // Legacy: a resize of the reserve's head (another code's contents
        // are dead: no need to copy them).
        let block = match self.new_block(code) {
            Ok(block) => block,
            Err(failed) => {
                self.free_block(shared, self.heap.bytes(shared, code.bytes()));
                return Err(failed);
            }
        };
        self.forget_if_debug(shared);
        // SAFETY: taken out of the reserve just now.
        unsafe { self.heap.free_block(shared, self.heap.bytes(shared, code.bytes())) };
        self.counters.reallocs.add(1);
        self.note_miss(code, deeper);
        Ok(block)
    }

    /// The reserve's latest frame for the code's class (legacy: the head
    /// of its one list, whatever the size), out of the cache. A debug
    /// pool frees those whose bytes changed since they retired. Inlined:
    /// a call of its own cost a reserve hit 9 instructions.
    #[inline(always)]
    fn take_reserve(&self, code: &Code) -> Option<Block> {
        if self.cfg.debug() {
            return self.vetted_reserve(code);
        }
        self.take_reserve_block(code)
    }

    /// A debug pool's `take_reserve`: the next frame whose bytes are as
    /// they retired (the others are freed), taken through checked links.
    #[cold]
    fn vetted_reserve(&self, code: &Code) -> Option<Block> {
        loop {
            self.vet_reserve(code.class());
            let block = self.reserve.take(code.class())?;
            // (Its size words put back, if changed, before they are counted.)
            let corrupt = self.corrupt_zombie(block, false);
            self.count_reserve_take(code, block);
            if !corrupt {
                return Some(block);
            }
            self.free_block(block, self.heap.bytes(block, code.bytes()));
        }
    }

    #[inline(always)]
    fn take_reserve_block(&self, code: &Code) -> Option<Block> {
        let block = self.reserve.take(code.class())?;
        self.count_reserve_take(code, block);
        Some(block)
    }

    /// A frame left the reserve for `code`.
    #[inline(always)]
    fn count_reserve_take(&self, code: &Code, block: Block) {
        self.aging.note_reserve(self.reserve.len());
        self.uncount_cached(self.heap.bytes(block, code.bytes()));
    }

    /// A fresh block for the code. Inlined into the plain lane and both of
    /// `miss`'s calls: every fresh block's.
    #[inline(always)]
    fn new_block(&self, code: &Code) -> Result<Block, Failed> {
        let start = match self.heap.try_alloc(code.bytes()) {
            Ok(start) => start,
            Err(why) => self.alloc_again(code, why)?,
        };
        // The code's sizes read again after the call: fewer registers kept across it.
        Ok(self.heap.block_at(start, code.capacity(), code.bytes()))
    }

    /// The system gave no block (`why`): our zombies are the first to go,
    /// then the system is asked once more.
    #[cold]
    #[inline(never)]
    fn alloc_again(&self, code: &Code, why: NoBlock) -> Result<NonNull<u8>, Failed> {
        if self.frames_cached() == 0 {
            return Err(self.fail(why.error("a frame", code.bytes())));
        }
        self.clear();
        self.heap.alloc(code.bytes(), "a frame").map_err(|e| self.fail(e))
    }
}
