//! The pool: every cached frame of one interpreter, its accounting, and the
//! acquire / release paths.
//!
//! Ownership runs one way: a live frame keeps its code alive, a code keeps
//! its pool alive. `zf_code_free` and `zf_pool_free` drop the caller's claim
//! and every zombie at once; the memory of the struct itself goes with the
//! last thing that needs it. So any order of frees is defined, and no handle
//! the caller still holds ever dangles.

use crate::block::{Block, Heap, List};
use crate::code::Code;
use crate::config::{ZfConfig, ZF_MAX_FRAME_BYTES, ZF_POLICY_LEGACY};
use crate::debug::{self, Handler, Record};
use crate::error::Error;
use crate::policy::Ring;
use crate::stats::{Counters, Tally, ZfStats};
use crate::trace::Recorder;
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

pub struct Pool {
    pub(crate) cfg: ZfConfig,
    pub(crate) heap: Heap,
    /// `cfg.budget_bytes` (unbounded under legacy), or 0 once the pool is
    /// freed: then nothing is cached.
    pub(crate) budget: Cell<usize>,
    pub(crate) closed: Cell<bool>,
    /// Releases left before the next automatic sweep.
    pub(crate) until_sweep: Cell<u64>,
    pub(crate) ring: Ring,
    /// Frames any code may take on a miss: the reserve of retired frames,
    /// or CPython's global free list under the legacy policy.
    pub(crate) shared: List,
    pub(crate) shared_max: u32,
    /// The shortest the shared list has been since the last sweep.
    pub(crate) shared_low: Cell<u32>,
    pub(crate) handler: Cell<Handler>,
    pub(crate) n: Counters,
    /// `ZF_TRACE`: the recorder of every event, when asked for.
    trace: Option<RefCell<Recorder>>,
    /// Debug mode or a trace: every call takes the general paths. One flag,
    /// so the hit paths test once.
    watched: bool,
    /// `ZF_FLAG_DEBUG`: every frame this pool handed out (src/debug.rs).
    pub(crate) record: Record,
}

/// CPython 3.9's `PyFrame_MAXFREELIST`.
const LEGACY_FREE_LIST_MAX: u32 = 200;

impl Pool {
    pub fn create(cfg: &ZfConfig) -> Result<NonNull<Pool>, Error> {
        cfg.validate()?;
        let mut cfg = *cfg;
        let (budget, shared_max) = match cfg.policy {
            ZF_POLICY_LEGACY => {
                // One zombie per code, bounded the way CPython bounds it.
                cfg.per_code_max = 1;
                cfg.sweep_every = 0;
                (usize::MAX, LEGACY_FREE_LIST_MAX)
            }
            _ => (cfg.budget_bytes, cfg.reserve_max),
        };
        let heap = Heap::new(&cfg);
        let trace = cfg.trace_file().ok().flatten().and_then(Recorder::create).map(RefCell::new);
        // The caller's string need not outlive zf_pool_new: keep no pointer to it.
        cfg.trace_path = std::ptr::null();
        let pool = Pool {
            cfg,
            heap,
            budget: Cell::new(budget),
            closed: Cell::new(false),
            until_sweep: Cell::new(0),
            ring: Ring::default(),
            shared: List::default(),
            shared_max,
            shared_low: Cell::new(0),
            handler: Cell::new(Handler::default()),
            n: Counters::default(),
            watched: cfg.debug() || trace.is_some(),
            trace,
            record: Record::new(heap),
        };
        pool.reset_sweep_countdown();
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
            p.budget.set(0);
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
        let unused = p.closed.get() && p.n.codes.get() == 0 && p.n.live_frames.get() == 0;
        let heap = p.heap;
        if unused {
            // SAFETY: closed by the caller and no code points to it any more.
            unsafe { heap.unbox(pool) };
        }
    }

    pub fn new_code(&self, frame_bytes: usize) -> Result<NonNull<Code>, Error> {
        if frame_bytes == 0 || frame_bytes > ZF_MAX_FRAME_BYTES {
            return Err(Error::FrameBytes(frame_bytes));
        }
        let id = self.n.codes_created.get() + 1;
        let block_frame = debug::block_frame_bytes(frame_bytes, self.cfg.debug());
        let code = Code::new(NonNull::from(self), id, block_frame, self.cfg.per_code_max);
        let code = self.heap.boxed(code, "a code's free list")?;
        self.n.codes_created.set(id);
        self.n.codes.add(1);
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
            // SAFETY: a code keeps its pool alive.
            let p = unsafe { c.pool.as_ref() };
            p.traced(|t| t.destroy(c.id));
            match p.legacy() {
                true => _ = p.drain_code(c, u32::MAX),
                false => _ = p.retire_code(c, u32::MAX),
            }
            p.ring.unlink(c);
            c.limit.set(0);
            c.freed.set(true);
            p.n.codes.sub(1);
        }
        // SAFETY: no reference is held here.
        unsafe { Pool::free_code_if_unused(code) };
    }

    /// # Safety
    /// `code` is alive and no reference to it outlives this call.
    unsafe fn free_code_if_unused(code: NonNull<Code>) {
        // SAFETY: alive by the contract; a code keeps its pool alive.
        let (c, pool) = unsafe { (code.as_ref(), code.as_ref().pool) };
        if !c.freed.get() || c.live.get() > 0 {
            return;
        }
        // SAFETY: as above.
        let p = unsafe { pool.as_ref() };
        let heap = p.heap;
        // SAFETY: freed by the caller, no live frames, out of the ring.
        unsafe { heap.unbox(code) };
        // SAFETY: no reference to the pool is held any more.
        unsafe { Pool::free_if_unused(pool) };
    }

    /// `zf_frame_acquire`'s hit path, small enough to inline into it: the
    /// code's warmest zombie, or None (then `acquire`). A traced pool
    /// always takes `acquire`, so this path has no call in it.
    #[inline]
    pub fn acquire_zombie(&self, code: &Code) -> Option<NonNull<u8>> {
        if self.watched {
            return None;
        }
        code.used.set(true);
        let block = code.pop()?;
        self.uncount_cached(block);
        self.n.zombie_hits.add(1);
        self.count_acquired(code);
        Some(block.frame())
    }

    /// `zf_frame_acquire` in general: a zombie of this code if it has one,
    /// else a frame from the shared list or a fresh block. Out of line:
    /// the hit path stays short.
    #[cold]
    #[inline(never)]
    pub fn acquire(&self, code: &Code) -> Result<(NonNull<u8>, bool), Error> {
        if self.cfg.debug() {
            return self.checked_acquire(code);
        }
        self.acquire_unchecked(code)
    }

    #[inline(always)]
    pub(crate) fn acquire_unchecked(&self, code: &Code) -> Result<(NonNull<u8>, bool), Error> {
        code.used.set(true);
        let (block, hit) = match code.pop() {
            Some(block) => {
                self.uncount_cached(block);
                self.n.zombie_hits.add(1);
                (block, true)
            }
            None => (self.miss(code)?, false),
        };
        self.count_acquired(code);
        self.traced(|t| t.acquire(code.id, block.frame().as_ptr()));
        Ok((block.frame(), hit))
    }

    #[inline]
    fn count_acquired(&self, code: &Code) {
        code.live.set(code.live.get() + 1);
        let live = self.n.live_frames.get() + 1;
        self.n.live_frames.set(live);
        self.n.peak_live_frames.raise_to(live);
    }

    /// A frame for a code without zombies: from the shared list, else a
    /// fresh block. Under legacy, CPython's rule: the head of the list,
    /// resized when too small. Else the first reserve frame big enough and
    /// at most a quarter bigger, so nothing is resized and little is wasted.
    #[cold]
    fn miss(&self, code: &Code) -> Result<Block, Error> {
        let need = code.frame_bytes;
        let taken = match self.legacy() {
            true => self.shared.pop(),
            false => self.shared.take_first(|b| (need..=need + need / 4).contains(&b.capacity())),
        };
        let Some(block) = taken else {
            return self.fresh_block(code);
        };
        self.shared_low.set(self.shared_low.get().min(self.shared.len()));
        self.uncount_cached(block);
        if self.cfg.debug() && self.corrupt_zombie(block) {
            self.free_block(block);
            return self.miss(code);
        }
        if block.capacity() >= code.frame_bytes {
            self.n.shared_hits.add(1);
            return Ok(block);
        }
        // A resize. Another code's contents are dead: no need to copy them.
        match self.new_block(code) {
            Ok(bigger) => {
                self.forget_if_debug(block);
                // SAFETY: taken out of the shared list just now.
                unsafe { self.heap.free_block(block) };
                self.n.reallocs.add(1);
                Ok(bigger)
            }
            Err(e) => {
                self.free_block(block);
                Err(e)
            }
        }
    }

    fn fresh_block(&self, code: &Code) -> Result<Block, Error> {
        let block = self.new_block(code)?;
        self.n.fresh_allocs.add(1);
        Ok(block)
    }

    fn new_block(&self, code: &Code) -> Result<Block, Error> {
        match self.heap.new_block(code.frame_bytes) {
            Err(_) if self.n.cached_frames.get() > 0 => {
                self.clear(); // memory is short: our zombies are the first to go
                self.heap.new_block(code.frame_bytes)
            }
            other => other,
        }
    }

    /// `zf_frame_release`: the frame becomes a zombie of its code, if the
    /// code's limit and the pool's budget allow. The common case (room in
    /// the list and in the budget, the list already in the ring, no trace)
    /// is inlined into the caller; everything else is `release_slow`.
    ///
    /// # Safety
    /// `frame` came from `acquire` on `code` and has not been released since.
    #[inline]
    pub unsafe fn release(code: NonNull<Code>, frame: NonNull<u8>) {
        // SAFETY: a code with a live frame is alive; it keeps its pool alive.
        let (c, p) = unsafe { (code.as_ref(), code.as_ref().pool.as_ref()) };
        if p.watched {
            return match p.cfg.debug() {
                // SAFETY: forwarded; debug mode checks the frame before reading its header.
                true => unsafe { Pool::checked_release(code, frame) },
                // SAFETY: forwarded contract.
                false => unsafe { Pool::release_slow(code, frame) },
            };
        }
        // SAFETY: by the contract, `frame` is a live frame of ours.
        let block = unsafe { Block::from_frame(frame) };
        let cached = p.n.cached_bytes.get() + block.bytes() as u64;
        // A freed code has limit 0, so it is full and never takes this path.
        if c.is_full() || cached > p.budget.get() as u64 || !c.in_ring.get() {
            // SAFETY: forwarded contract.
            return unsafe { Pool::release_slow(code, frame) };
        }
        p.n.releases.add(1);
        p.n.live_frames.sub(1);
        c.live.set(c.live.get() - 1);
        c.push(block);
        p.n.cached_frames.add(1);
        p.n.cached_bytes.set(cached);
        p.n.peak_cached_bytes.raise_to(cached);
        p.count_release_toward_sweep();
    }

    /// Every other release: making room in the budget, the shared list,
    /// freeing, tracing, a freed code's last frame.
    ///
    /// # Safety
    /// As `release`.
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn release_slow(code: NonNull<Code>, frame: NonNull<u8>) {
        {
            // SAFETY: a code with a live frame is alive; it keeps its pool alive.
            let (c, p) = unsafe { (code.as_ref(), code.as_ref().pool.as_ref()) };
            // SAFETY: by the contract, `frame` is a live frame of ours.
            let block = unsafe { Block::from_frame(frame) };
            p.traced(|t| t.release(frame.as_ptr()));
            p.n.releases.add(1);
            p.n.live_frames.sub(1);
            c.live.set(c.live.get() - 1);
            if !c.is_full() && p.fits(c, block) {
                c.push(block);
                p.count_cached(c, block);
            } else {
                _ = p.retire(block);
            }
            p.count_release_toward_sweep();
            if c.live.get() > 0 || !c.freed.get() {
                return;
            }
        }
        // SAFETY: the code was freed and this was its last live frame.
        unsafe { Pool::free_code_if_unused(code) };
    }

    /// Whether one more zombie of `code` fits the budget, making room by
    /// evicting idle zombies of other codes when it does not.
    fn fits(&self, code: &Code, block: Block) -> bool {
        let need = block.bytes() as u64;
        self.n.cached_bytes.get() + need <= self.budget.get() as u64 || self.make_room(code, need)
    }

    /// A frame its code will not keep (its list is full, aging dropped it,
    /// or its code died): onto the shared list if there is room within the
    /// budget, else back to the allocator. True when kept.
    #[cold]
    pub(crate) fn retire(&self, block: Block) -> bool {
        let room = self.shared.len() < self.shared_max;
        if room && self.n.cached_bytes.get() + block.bytes() as u64 <= self.budget.get() as u64 {
            self.shared.push(block);
            self.count_cached_shared(block);
            return true;
        }
        self.free_block(block);
        false
    }

    fn count_cached(&self, code: &Code, block: Block) {
        if !code.in_ring.get() {
            self.ring.link(code);
        }
        self.count_cached_shared(block);
    }

    fn count_cached_shared(&self, block: Block) {
        self.n.cached_frames.add(1);
        let cached = self.n.cached_bytes.get() + block.bytes() as u64;
        self.n.cached_bytes.set(cached);
        self.n.peak_cached_bytes.raise_to(cached);
    }

    pub(crate) fn uncount_cached(&self, block: Block) {
        self.n.cached_frames.sub(1);
        self.n.cached_bytes.sub(block.bytes() as u64);
    }

    /// Gives back a block that is in no list.
    pub(crate) fn free_block(&self, block: Block) {
        self.forget_if_debug(block);
        // SAFETY: the caller has taken the block out of every list.
        unsafe { self.heap.free_block(block) };
        self.n.frees.add(1);
    }

    /// Frees up to `count` blocks of `list`; returns the bytes given back.
    pub(crate) fn drain(&self, list: &List, count: u32) -> u64 {
        let mut freed = 0;
        for _ in 0..count {
            let Some(block) = list.pop() else { break };
            self.uncount_cached(block);
            freed += block.bytes() as u64;
            self.free_block(block);
        }
        freed
    }

    /// Retires up to `count` zombies of `code`; returns how many were freed
    /// (the rest went to the reserve).
    pub(crate) fn retire_code(&self, code: &Code, count: u32) -> u32 {
        let mut freed = 0;
        for _ in 0..count {
            let Some(block) = code.pop() else { break };
            self.uncount_cached(block);
            freed += !self.retire(block) as u32;
        }
        freed
    }

    /// `drain` for the shared list: its low-water mark follows it down.
    pub(crate) fn drain_shared(&self, count: u32) -> u64 {
        let freed = self.drain(&self.shared, count);
        self.shared_low.set(self.shared_low.get().min(self.shared.len()));
        freed
    }

    /// `drain` for a code's zombies: its low-water mark follows them down.
    pub(crate) fn drain_code(&self, code: &Code, count: u32) -> u64 {
        let freed = self.drain(code.zombies(), count);
        code.low_water.set(code.low_water.get().min(code.len()));
        freed
    }

    /// `zf_pool_clear`. A trace keeps it as a comment: the format has no
    /// event for it, so a replay of such a trace differs from here on.
    pub fn clear_on_request(&self) -> u64 {
        self.traced(|t| t.note("zf_pool_clear"));
        self.clear()
    }

    /// Every zombie goes now.
    pub fn clear(&self) -> u64 {
        let mut freed = self.drain_shared(u32::MAX);
        while let Some(code) = self.ring.pop_front() {
            freed += self.drain_code(code, u32::MAX);
        }
        freed
    }

    pub fn stats(&self) -> ZfStats {
        ZfStats { shared_frames: self.shared.len() as u64, ..self.n.snapshot() }
    }

    pub(crate) fn report(&self, kind: i32, message: &str) {
        self.handler.get().report(kind, message);
    }
}
