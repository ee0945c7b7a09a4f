//! The zombie free list of one code object: what `ZfCode *` points to.
//!
//! Zombies form a LIFO stack threaded through their block headers, so push
//! and pop touch only this struct and the block's header. Fields are `Cell`s
//! because a code is reached from two places (the caller's handle and the
//! pool's ring of lists holding zombies) and the library is single-threaded
//! per pool.

use crate::block::{Block, List};
use crate::pool::Pool;
use std::cell::Cell;
use std::ptr::NonNull;

pub struct Code {
    // Hot: read or written by every acquire and release.
    zombies: List,
    /// Most zombies kept: `per_code_max`, or 0 once the code is freed.
    pub(crate) limit: Cell<u32>,
    /// The shortest `len` since the last aging sweep (tcmalloc's low-water mark).
    pub(crate) low_water: Cell<u32>,
    /// Set by every acquire (and by a release that must make room), cleared
    /// by the eviction clock as it passes: a second chance.
    pub(crate) used: Cell<bool>,
    /// Frames acquired and not yet released.
    pub(crate) live: Cell<usize>,
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
    pub fn new(pool: NonNull<Pool>, id: u64, frame_bytes: usize, limit: u32) -> Code {
        Code {
            zombies: List::default(),
            limit: Cell::new(limit),
            low_water: Cell::new(0),
            used: Cell::new(false),
            live: Cell::new(0),
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
        self.zombies.len()
    }

    pub fn is_full(&self) -> bool {
        self.zombies.len() >= self.limit.get()
    }

    pub fn push(&self, block: Block) {
        self.zombies.push(block);
    }

    /// The most recently released zombie (the warmest in the CPU caches).
    pub fn pop(&self) -> Option<Block> {
        let block = self.zombies.pop()?;
        self.low_water.set(self.low_water.get().min(self.zombies.len()));
        Some(block)
    }

    pub fn zombies(&self) -> &List {
        &self.zombies
    }

    /// Bytes the zombies hold together.
    pub fn cached_bytes(&self) -> u64 {
        self.zombies.bytes()
    }
}
