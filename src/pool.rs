//! The pool: every cached frame of one interpreter, its accounting, and the
//! acquire / release paths.
//!
//! Ownership runs one way: a live frame keeps its code alive, a code keeps
//! its pool alive. `zf_code_free` and `zf_pool_free` drop the caller's claim
//! and every zombie at once; the memory of the struct itself goes with the
//! last thing that needs it. So any order of frees is defined, and no handle
//! the caller still holds ever dangles.

use crate::block::{block_bytes, Block, Heap};
use crate::code::Code;
use crate::config::{ZfConfig, ZF_MAX_FRAME_BYTES};
use crate::debug::{Handler, ZF_ERR_LEAK};
use crate::error::Error;
use crate::policy::Ring;
use crate::stats::{Counters, Tally, ZfStats};
use std::cell::Cell;
use std::ptr::NonNull;

pub struct Pool {
    pub(crate) cfg: ZfConfig,
    pub(crate) heap: Heap,
    /// `cfg.budget_bytes`, or 0 once the pool is freed: then nothing is cached.
    pub(crate) budget: Cell<usize>,
    pub(crate) closed: Cell<bool>,
    /// Releases left before the next automatic sweep.
    pub(crate) until_sweep: Cell<u64>,
    pub(crate) ring: Ring,
    pub(crate) handler: Cell<Handler>,
    pub(crate) n: Counters,
}

impl Pool {
    pub fn create(cfg: &ZfConfig) -> Result<NonNull<Pool>, Error> {
        cfg.validate()?;
        let heap = Heap::new(cfg);
        let pool = Pool {
            cfg: *cfg,
            heap,
            budget: Cell::new(cfg.budget_bytes),
            closed: Cell::new(false),
            until_sweep: Cell::new(0),
            ring: Ring::default(),
            handler: Cell::new(Handler::default()),
            n: Counters::default(),
        };
        pool.reset_sweep_countdown();
        heap.boxed(pool, "a pool")
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
            p.clear();
            p.closed.set(true);
            p.budget.set(0);
            let live = p.n.live_frames.get();
            if p.cfg.debug() && live > 0 {
                p.report(ZF_ERR_LEAK, &format!("zf_pool_free: {live} frames are still live (never released)"));
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
        let bytes = block_bytes(frame_bytes).ok_or(Error::FrameBytes(frame_bytes))?;
        let id = self.n.codes_created.get() + 1;
        let code = Code::new(NonNull::from(self), id, frame_bytes, bytes, self.cfg.per_code_max);
        let code = self.heap.boxed(code, "a code's free list")?;
        self.n.codes_created.set(id);
        self.n.codes.add(1);
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
            p.drain(c, u32::MAX);
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

    /// `zf_frame_acquire`: a zombie of this code if it has one, else a fresh block.
    pub fn acquire(&self, code: &Code) -> Result<(NonNull<u8>, bool), Error> {
        code.used.set(true);
        let (block, hit) = match code.pop() {
            Some(block) => {
                self.uncount_cached(code);
                self.n.zombie_hits.add(1);
                (block, true)
            }
            None => (self.fresh_block(code)?, false),
        };
        code.live.set(code.live.get() + 1);
        let live = self.n.live_frames.get() + 1;
        self.n.live_frames.set(live);
        self.n.peak_live_frames.raise_to(live);
        Ok((block.frame(), hit))
    }

    #[cold]
    fn fresh_block(&self, code: &Code) -> Result<Block, Error> {
        let owner = (code as *const Code).cast();
        let block = match self.heap.new_block(code.block_bytes, owner) {
            Err(_) if self.n.cached_frames.get() > 0 => {
                self.clear(); // memory is short: our zombies are the first to go
                self.heap.new_block(code.block_bytes, owner)?
            }
            other => other?,
        };
        self.n.fresh_allocs.add(1);
        Ok(block)
    }

    /// `zf_frame_release`: the frame becomes a zombie of its code, if the
    /// code's limit and the pool's budget allow.
    ///
    /// # Safety
    /// `frame` came from `acquire` on `code` and has not been released since.
    pub unsafe fn release(code: NonNull<Code>, frame: NonNull<u8>) {
        {
            // SAFETY: a code with a live frame is alive; it keeps its pool alive.
            let (c, p) = unsafe { (code.as_ref(), code.as_ref().pool.as_ref()) };
            // SAFETY: by the contract, `frame` is a live frame of ours.
            let block = unsafe { Block::from_frame(frame) };
            debug_assert_eq!(block.owner(), code.as_ptr().cast_const().cast());
            p.n.releases.add(1);
            p.n.live_frames.sub(1);
            c.live.set(c.live.get() - 1);
            if !c.is_full() && p.fits(c) {
                p.cache(c, block);
            } else {
                p.free_block(c, block);
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
    fn fits(&self, code: &Code) -> bool {
        self.n.cached_bytes.get() + code.block_bytes as u64 <= self.budget.get() as u64 || self.make_room(code)
    }

    fn cache(&self, code: &Code, block: Block) {
        code.push(block);
        if !code.in_ring.get() {
            self.ring.link(code);
        }
        self.n.cached_frames.add(1);
        let cached = self.n.cached_bytes.get() + code.block_bytes as u64;
        self.n.cached_bytes.set(cached);
        self.n.peak_cached_bytes.raise_to(cached);
    }

    fn uncount_cached(&self, code: &Code) {
        self.n.cached_frames.sub(1);
        self.n.cached_bytes.sub(code.block_bytes as u64);
    }

    pub(crate) fn free_block(&self, code: &Code, block: Block) {
        // SAFETY: blocks of `code` are all `code.block_bytes` long, and the
        // caller has taken this one out of every list.
        unsafe { self.heap.free_block(block, code.block_bytes) };
        self.n.frees.add(1);
    }

    /// Frees up to `count` zombies of `code`; returns the bytes given back.
    pub(crate) fn drain(&self, code: &Code, count: u32) -> u64 {
        let mut freed = 0;
        for _ in 0..count {
            let Some(block) = code.pop() else { break };
            self.uncount_cached(code);
            self.free_block(code, block);
            freed += code.block_bytes as u64;
        }
        freed
    }

    /// `zf_pool_clear`: every zombie goes now.
    pub fn clear(&self) -> u64 {
        let mut freed = 0;
        while let Some(code) = self.ring.pop_front() {
            freed += self.drain(code, u32::MAX);
        }
        freed
    }

    pub fn stats(&self) -> ZfStats {
        self.n.snapshot()
    }

    pub(crate) fn report(&self, kind: i32, message: &str) {
        self.handler.get().report(kind, message);
    }
}
