//! The pool: every cached frame of one interpreter, its accounting, and the
//! acquire / release paths.
//!
//! Ownership runs one way: a live frame keeps its code alive, a code keeps
//! its pool alive. `zf_code_free` and `zf_pool_free` drop the caller's claim
//! and every zombie at once; the memory of the struct itself goes with the
//! last thing that needs it. So any order of frees is defined, and no handle
//! the caller still holds ever dangles.

use crate::block::{block_bytes, size_class, Block, Heap};
use crate::code::{Code, Loss, Miss, PoolLink};
use crate::config::{ZfConfig, ZF_MAX_FRAME_BYTES, ZF_POLICY_LEGACY};
use crate::debug::{self, Handler, Record};
use crate::error::Error;
use crate::record::Recorder;
use crate::reserve::Reserve;
use crate::ring::Ring;
use crate::stats::{Counters, Tally, ZfStats};
use alloc::string::String;
use bound::Bound;
use core::cell::{Cell, RefCell};
use core::ptr::NonNull;
use policy::Aging;

mod bound;
mod checked;
mod policy;

pub struct Pool {
    cfg: ZfConfig,
    heap: Heap,
    /// The bound in force, and what the automatic bound follows.
    bound: Bound,
    closed: Cell<bool>,
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
    /// `ZF_FLAG_DEBUG`: every frame this pool handed out (src/debug.rs).
    record: Record,
    /// Why the latest system allocation was needed (read by the replay).
    last_miss: Cell<Miss>,
}

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

    pub fn create(cfg: &ZfConfig) -> Result<NonNull<Pool>, Error> {
        cfg.validate()?;
        let mut cfg = *cfg;
        let bound = Bound::new(&cfg);
        let reserve_max = match cfg.policy {
            ZF_POLICY_LEGACY => {
                // One zombie per code, bounded the way CPython bounds it.
                cfg.per_code_max = 1;
                cfg.sweep_every = 0;
                LEGACY_FREE_LIST_MAX
            }
            _ => cfg.reserve_max,
        };
        let heap = Heap::new(&cfg);
        let trace = cfg.trace_file().ok().flatten().and_then(|path| Recorder::create(path, heap)).map(RefCell::new);
        // The caller's string need not outlive zf_pool_new: keep no pointer to it.
        cfg.trace_path = core::ptr::null();
        let pool = Pool {
            cfg,
            heap,
            bound,
            closed: Cell::new(false),
            aging: Aging::new(cfg.sweep_every),
            ring: Ring::default(),
            reserve: Reserve::new(cfg.policy == ZF_POLICY_LEGACY),
            reserve_max,
            handler: Cell::new(Handler::default()),
            counters: Counters::default(),
            // Legacy too: CPython hands any block to any code, which the
            // fast path's one-size-per-code accounting cannot follow.
            watched: cfg.debug() || trace.is_some() || cfg.policy == ZF_POLICY_LEGACY,
            trace,
            record: Record::new(heap),
            last_miss: Cell::new(Miss::None),
        };
        heap.boxed(pool, "a pool")
    }

    /// Hands the recorder to `record` when the pool records a trace.
    #[inline]
    pub(crate) fn traced(&self, record: impl FnOnce(&mut Recorder)) {
        if let Some(trace) = &self.trace {
            record(&mut trace.borrow_mut());
        }
    }

    pub fn legacy(&self) -> bool {
        self.cfg.policy == ZF_POLICY_LEGACY
    }

    /// `zf_pool_free`: drops every zombie and stops caching. The struct lives
    /// on while codes do (they may still acquire and release: uncached).
    ///
    /// # Safety
    /// `pool` came from `create` and this is the caller's only free of it.
    pub unsafe fn close(pool: NonNull<Pool>) {
        {
            // SAFETY: the pool is alive (the caller has not freed it before).
            let p = unsafe { pool.as_ref() };
            p.traced(|t| t.finish());
            p.clear();
            p.closed.set(true);
            p.bound.close();
            if p.cfg.debug() {
                p.report_leaks();
            }
        }
        // SAFETY: no reference to the pool is held here.
        unsafe { Pool::free_if_unused(pool) };
    }

    /// # Safety
    /// `pool` is alive and no reference to it outlives this call.
    unsafe fn free_if_unused(pool: NonNull<Pool>) {
        // SAFETY: alive by the contract.
        let p = unsafe { pool.as_ref() };
        // Live frames keep their code's struct, hence the pool, even once
        // the code itself was freed.
        let unused = p.closed.get() && p.counters.codes.get() == 0 && p.counters.live_frames.get() == 0;
        let heap = p.heap;
        if unused {
            // SAFETY: closed by the caller and no code points to it any more.
            unsafe { heap.unbox(pool) };
        }
    }

    pub fn new_code(&self, frame_bytes: usize) -> Result<NonNull<Code>, Error> {
        if frame_bytes == 0 || frame_bytes > ZF_MAX_FRAME_BYTES {
            return Err(Error::FrameBytes { asked: frame_bytes, max: ZF_MAX_FRAME_BYTES });
        }
        let id = self.counters.codes_created.get() + 1;
        let block_frame = debug::block_frame_bytes(frame_bytes, self.cfg.debug());
        // Legacy blocks keep the size asked, as CPython's do.
        let capacity = if self.legacy() { block_frame } else { size_class(block_frame) };
        let bytes = block_bytes(capacity).ok_or(Error::FrameBytes { asked: frame_bytes, max: ZF_MAX_FRAME_BYTES })?;
        let limit = self.cfg.per_code_max;
        let code =
            Code::new(PoolLink(NonNull::from(self).cast()), id, block_frame, capacity, bytes, limit, self.watched);
        let code = self.heap.boxed(code, "a code's free list")?;
        self.counters.codes_created.set(id);
        self.counters.codes.add(1);
        self.traced(|t| t.create_code(id, frame_bytes));
        Ok(code)
    }

    /// `zf_code_free`: the code object is gone. Its zombies go at once; the
    /// struct stays until its last live frame is released.
    ///
    /// # Safety
    /// `code` came from `new_code` and this is the caller's only free of it.
    pub unsafe fn free_code(code: NonNull<Code>) {
        {
            // SAFETY: alive: the caller has not freed it before.
            let c = unsafe { code.as_ref() };
            let p = Pool::of(c);
            p.traced(|t| t.destroy(c.id));
            p.sync(c);
            // Its room first, then the bound shrinks: its zombies retire
            // only within what is left, and others are trimmed if need be.
            p.revoke_room(c, u32::MAX);
            let shrunk = c.has_run() && p.bound.code_gone(c.ran_bytes());
            while let Some(block) = p.drop_zombie(c, false) {
                match p.legacy() {
                    true => p.free_block(block),
                    false => _ = p.retire(block),
                }
            }
            if shrunk {
                p.trim();
            }
            c.set_freed();
            p.counters.codes.sub(1);
        }
        // SAFETY: no reference is held here.
        unsafe { Pool::free_code_if_unused(code) };
    }

    /// # Safety
    /// `code` is alive and no reference to it outlives this call.
    unsafe fn free_code_if_unused(code: NonNull<Code>) {
        // SAFETY: alive by the contract.
        let c = unsafe { code.as_ref() };
        if !c.is_freed() || c.live() > 0 {
            return;
        }
        let p = Pool::of(c);
        let pool = NonNull::from(p);
        let heap = p.heap;
        // SAFETY: freed by the caller, no live frames, out of the ring.
        unsafe { heap.unbox(code) };
        // SAFETY: no reference to the pool is held any more.
        unsafe { Pool::free_if_unused(pool) };
    }

    /// Adds what the fast path did on `code` since the last look to the
    /// pool's counters. Every slow path starts here, so the counters are
    /// exact but for what the fast path did since on other codes, which
    /// `stats` adds in without changing anything. Watched pools leave the
    /// same work unseen (see `acquire_unchecked`), so the counters, and the
    /// decisions read from them, are the same in every pool.
    pub(crate) fn sync(&self, code: &Code) {
        let work = code.sync();
        if work.hits == 0 && work.releases == 0 {
            return;
        }
        work.apply(&self.counters);
        if work.hits > 0 {
            code.mark_used();
        }
    }

    /// Bytes charged to the bound: what is held (zombies and the reserve)
    /// and what is promised (the room of every allowance).
    pub(crate) fn charged_bytes(&self) -> u64 {
        self.counters.cached_bytes.get() + self.counters.allowance_bytes.get()
    }

    fn raise_peak(&self) {
        self.counters.peak_cached_bytes.raise_to(self.charged_bytes());
    }

    /// `zf_frame_acquire` when the hot stack was empty: a cold zombie of
    /// this code, else a frame from the reserve or a fresh block.
    #[cold]
    #[inline(never)]
    pub fn acquire(&self, code: &Code) -> Result<(NonNull<u8>, bool), Error> {
        if self.cfg.debug() {
            return self.checked_acquire(code);
        }
        self.acquire_unchecked(code)
    }

    pub(crate) fn acquire_unchecked(&self, code: &Code) -> Result<(NonNull<u8>, bool), Error> {
        // What the inline path serves, a watched pool serves the same way,
        // leaving the counting to the next sync: so every pool counts, and
        // decides, at the same moments. Legacy has no inline path.
        if !self.legacy() {
            if let Some(frame) = code.state().take() {
                self.traced(|t| t.acquire(code.id, frame.as_ptr()));
                return Ok((frame, true));
            }
        }
        self.sync(code);
        code.mark_used();
        let (block, hit) = match self.take_zombie(code) {
            Some(block) => (block, true),
            None => (self.miss(code)?, false),
        };
        if !hit {
            code.add_live(1);
            self.counters.live_frames.add(1);
        }
        if !hit || self.legacy() {
            self.counters.peak_live_frames.raise_to(self.counters.live_frames.get());
        }
        if self.legacy() {
            // CPython keeps no place for the zombie it just handed out.
            self.revoke_room(code, u32::MAX);
        }
        self.traced(|t| t.acquire(code.id, block.frame().as_ptr()));
        Ok((block.frame(), hit))
    }

    /// The slow path's zombie hit: the hit path itself (`ZfCodeHot::take`),
    /// after bringing a cold zombie up if the hot stack is empty.
    fn take_zombie(&self, code: &Code) -> Option<Block> {
        code.warm_up();
        // SAFETY: the hot stack holds only this code's zombies.
        let block = unsafe { Block::from_frame(code.state().take()?) };
        self.sync(code);
        self.count_own_size(code, block, -1);
        Some(block)
    }

    /// The slow path's cached release: the hit path itself (`ZfCodeHot::give`).
    fn give_zombie(&self, code: &Code, block: Block) -> bool {
        // SAFETY: `block` is a live frame of `code` (the callers' contract).
        if !unsafe { code.state().give(block.frame()) } {
            return false;
        }
        self.sync(code);
        self.count_own_size(code, block, 1);
        true
    }

    /// `sync` counted the block at its code's size; under legacy, a block
    /// keeps its own (`sign`: +1 cached, -1 taken out).
    fn count_own_size(&self, code: &Code, block: Block, sign: i64) {
        let extra = block.bytes() as i64 - code.bytes() as i64;
        if extra != 0 {
            debug_assert!(self.legacy(), "a per-code code owns blocks of one size");
            self.counters.cached_bytes.shift(sign * extra);
            self.raise_peak();
        }
    }

    /// A frame for a code without zombies: from the reserve, else a fresh
    /// block. Under legacy, CPython's rule: the head of the list, resized
    /// when too small. Else the first frame of the code's size class, so
    /// nothing is resized and all frames of a code are one size.
    #[cold]
    fn miss(&self, code: &Code) -> Result<Block, Error> {
        if code.first_run() {
            self.bound.code_ran(code.ran_bytes());
        }
        self.bound.note_depth(code);
        let deeper = code.reach_depth();
        self.serve_miss(code, deeper)
    }

    /// `miss` past its bookkeeping; `deeper`: the code never had so many
    /// frames live (why it had no zombie, if the system must be asked).
    fn serve_miss(&self, code: &Code, deeper: bool) -> Result<Block, Error> {
        // Legacy: the head of its one list, whatever the size.
        let Some(block) = self.reserve.take_class(code.capacity()) else {
            return self.fresh_block(code, deeper);
        };
        self.aging.note_reserve(self.reserve.len());
        self.uncount_cached(block);
        if self.cfg.debug() && self.corrupt_zombie(block) {
            self.free_block(block);
            return self.serve_miss(code, deeper);
        }
        if block.capacity() >= code.frame_bytes {
            self.counters.shared_hits.add(1);
            return Ok(block);
        }
        // A resize. Another code's contents are dead: no need to copy them.
        match self.new_block(code) {
            Ok(bigger) => {
                self.forget_if_debug(block);
                // SAFETY: taken out of the reserve just now.
                unsafe { self.heap.free_block(block) };
                self.counters.reallocs.add(1);
                self.last_miss.set(code.charge_miss(deeper));
                Ok(bigger)
            }
            Err(e) => {
                self.free_block(block);
                Err(e)
            }
        }
    }

    fn fresh_block(&self, code: &Code, deeper: bool) -> Result<Block, Error> {
        let block = self.new_block(code)?;
        self.counters.fresh_allocs.add(1);
        self.last_miss.set(code.charge_miss(deeper));
        Ok(block)
    }

    fn new_block(&self, code: &Code) -> Result<Block, Error> {
        let capacity = code.capacity();
        match self.heap.new_block(capacity) {
            Err(_) if self.counters.cached_frames.get() > 0 => {
                self.clear(); // memory is short: our zombies are the first to go
                self.heap.new_block(capacity)
            }
            other => other,
        }
    }

    /// `zf_frame_release` when the code's allowance had no room.
    ///
    /// # Safety
    /// `frame` came from `acquire` on `code` and has not been released since.
    #[cold]
    #[inline(never)]
    pub unsafe fn release(code: NonNull<Code>, frame: NonNull<u8>) {
        // SAFETY: a code with a live frame is alive.
        let p = Pool::of(unsafe { code.as_ref() });
        match p.cfg.debug() {
            // SAFETY: forwarded; debug mode checks the frame before reading its header.
            true => unsafe { Pool::checked_release(code, frame) },
            // SAFETY: forwarded contract.
            false => unsafe { Pool::release_unchecked(code, frame) },
        }
    }

    /// The frame becomes a zombie if the code may have one more slot (its
    /// limit and the bound allow, making room if need be); else it
    /// retires to the reserve or goes back to the allocator.
    ///
    /// # Safety
    /// As `release`.
    pub(crate) unsafe fn release_unchecked(code: NonNull<Code>, frame: NonNull<u8>) {
        {
            // SAFETY: a code with a live frame is alive.
            let c = unsafe { code.as_ref() };
            let p = Pool::of(c);
            // SAFETY: by the contract, `frame` is a live frame of ours.
            let block = unsafe { Block::from_frame(frame) };
            p.traced(|t| t.release(frame.as_ptr()));
            // SAFETY: `frame` is a live frame of `c` (the contract).
            if !p.legacy() && unsafe { c.state().give(frame) } {
                return; // as the inline path would: counted at the next sync
            }
            p.sync(c);
            if !p.give_zombie(c, block) {
                let kept = match p.grant_slot(c) {
                    Ok(()) => p.give_zombie(c, block),
                    Err(why) => {
                        c.note_loss(why);
                        false
                    }
                };
                if !kept {
                    p.counters.releases.add(1);
                    p.counters.live_frames.sub(1);
                    c.add_live(-1);
                    p.retire(block);
                }
                p.sweep_if_due();
            }
            if c.live() > 0 || !c.is_freed() {
                return;
            }
        }
        // SAFETY: the code was freed and this was its last live frame.
        unsafe { Pool::free_code_if_unused(code) };
    }

    /// One more slot for `code`, charged to the bound (making room by
    /// evicting idle zombies of other codes when it is short).
    fn grant_slot(&self, code: &Code) -> Result<(), Loss> {
        let need = code.bytes() as u64;
        let fits = self.charged_bytes() + need <= self.bound.bytes();
        // Past half its limit, a code grows only into room nobody holds: a
        // deep recursion keeps its frames while the bound is not spent, but
        // many codes with long lists (coroutines) do not rob each other.
        if !code.may_grow() || !(fits || code.may_make_room()) {
            return Err(Loss::Limit);
        }
        if !fits && !self.make_room(code, need) {
            return Err(Loss::Bound);
        }
        code.grant();
        self.counters.allowance_bytes.add(need);
        if !code.in_ring.get() {
            self.ring.link(code);
        }
        self.raise_peak();
        Ok(())
    }

    /// Takes back a code's unused slots (up to `most`); a code left
    /// without slots leaves the ring.
    pub(crate) fn revoke_room(&self, code: &Code, most: u32) {
        let room = code.revoke_room(most);
        self.counters.allowance_bytes.sub(room as u64 * code.bytes() as u64);
        if code.slots() == 0 {
            self.ring.unlink(code);
        }
    }

    /// Takes one zombie of `code` out of the cache, with its slot.
    pub(crate) fn drop_zombie(&self, code: &Code, coldest_first: bool) -> Option<Block> {
        let block = code.remove(coldest_first)?;
        self.uncount_cached(block);
        if code.slots() == 0 {
            self.ring.unlink(code);
        }
        Some(block)
    }

    /// A frame its code will not keep (its list is full, aging dropped it,
    /// or its code died): onto the reserve if there is room within the
    /// bound, else back to the allocator. True when kept.
    #[cold]
    pub(crate) fn retire(&self, block: Block) -> bool {
        let room = self.reserve.len() < self.reserve_max;
        if room && self.charged_bytes() + block.bytes() as u64 <= self.bound.bytes() {
            self.reserve.push(block);
            self.counters.cached_frames.add(1);
            self.counters.cached_bytes.add(block.bytes() as u64);
            self.raise_peak();
            return true;
        }
        self.free_block(block);
        false
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

    pub(crate) fn uncount_cached(&self, block: Block) {
        self.counters.cached_frames.sub(1);
        self.counters.cached_bytes.sub(block.bytes() as u64);
    }

    /// Gives back a block that is in no list.
    pub(crate) fn free_block(&self, block: Block) {
        self.forget_if_debug(block);
        // SAFETY: the caller has taken the block out of every list.
        unsafe { self.heap.free_block(block) };
        self.counters.frees.add(1);
    }

    /// Frees up to `count` blocks of the reserve; returns the bytes
    /// given back. Its low-water mark follows it down.
    pub(crate) fn drain_reserve(&self, count: u32) -> u64 {
        let mut freed = 0;
        for _ in 0..count {
            let Some(block) = self.reserve.pop() else { break };
            self.uncount_cached(block);
            freed += block.bytes() as u64;
            self.free_block(block);
        }
        self.aging.note_reserve(self.reserve.len());
        freed
    }

    /// `zf_pool_clear`. A trace keeps it as a comment: the format has no
    /// event for it, so a replay of such a trace differs from here on.
    pub fn clear_on_request(&self) -> u64 {
        self.traced(|t| t.note("zf_pool_clear"));
        self.clear()
    }

    /// Every zombie goes now, and every allowance.
    pub fn clear(&self) -> u64 {
        let mut freed = self.drain_reserve(u32::MAX);
        while let Some(code) = self.ring.front() {
            self.sync(code);
            while let Some(block) = self.drop_zombie(code, false) {
                freed += block.bytes() as u64;
                self.free_block(block);
            }
            self.revoke_room(code, u32::MAX);
        }
        freed
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

    /// A misuse report, through the handler the caller set.
    pub(crate) fn report(&self, kind: i32, message: &str) {
        self.handler.get().report(kind, message);
    }

    pub fn set_handler(&self, handler: Handler) {
        self.handler.set(handler);
    }
}
