//! The zombie free list of one code object: what `ZfCode *` points to.
//!
//! Zombies form a LIFO stack threaded through their block headers, so push
//! and pop touch only this struct and the block's header. Fields are `Cell`s
//! because a code is reached from two places (the caller's handle and the
//! pool's ring of lists holding zombies) and the library is single-threaded
//! per pool.

use crate::block::Block;
use crate::pool::Pool;
use std::cell::Cell;
use std::ptr::NonNull;

pub struct Code {
    // Hot: read or written by every acquire and release.
    head: Cell<Option<Block>>,
    len: Cell<u32>,
    /// Most zombies kept: `per_code_max`, or 0 once the code is freed.
    pub(crate) limit: Cell<u32>,
    /// The shortest `len` since the last aging sweep (tcmalloc's low-water mark).
    pub(crate) low_water: Cell<u32>,
    /// Set by every acquire (and by a release that must make room), cleared
    /// by the eviction clock as it passes: a second chance.
    pub(crate) used: Cell<bool>,
    /// Frames acquired and not yet released.
    pub(crate) live: Cell<usize>,
    pub(crate) block_bytes: usize,
    pub(crate) pool: NonNull<Pool>,
    // Cold.
    pub(crate) frame_bytes: usize,
    /// The order in which the pool made this code, from 1.
    pub(crate) id: u64,
    /// `zf_code_free` was called; the struct waits for its last live frame.
    pub(crate) freed: Cell<bool>,
    /// In the pool's ring of lists that may hold zombies.
    pub(crate) in_ring: Cell<bool>,
    pub(crate) prev: Cell<Option<NonNull<Code>>>,
    pub(crate) next: Cell<Option<NonNull<Code>>>,
}

impl Code {
    pub fn new(pool: NonNull<Pool>, id: u64, frame_bytes: usize, block_bytes: usize, limit: u32) -> Code {
        Code {
            head: Cell::new(None),
            len: Cell::new(0),
            limit: Cell::new(limit),
            low_water: Cell::new(0),
            used: Cell::new(false),
            live: Cell::new(0),
            block_bytes,
            pool,
            frame_bytes,
            id,
            freed: Cell::new(false),
            in_ring: Cell::new(false),
            prev: Cell::new(None),
            next: Cell::new(None),
        }
    }

    pub fn len(&self) -> u32 {
        self.len.get()
    }

    pub fn is_full(&self) -> bool {
        self.len.get() >= self.limit.get()
    }

    pub fn push(&self, block: Block) {
        block.set_next(self.head.get());
        self.head.set(Some(block));
        self.len.set(self.len.get() + 1);
    }

    /// The most recently released zombie (the warmest in the CPU caches).
    pub fn pop(&self) -> Option<Block> {
        let block = self.head.get()?;
        self.head.set(block.next());
        let len = self.len.get() - 1;
        self.len.set(len);
        self.low_water.set(self.low_water.get().min(len));
        Some(block)
    }
}
