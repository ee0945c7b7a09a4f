//! Frames leaving the cache: a zombie taken out of its code's list, the
//! reserve drained, every zombie and allowance cleared, and the block
//! given back to the allocator.

use super::Pool;
use crate::block::Block;
use crate::code::Code;
use crate::reserve::class_bytes;
use crate::stats::Tally;

impl Pool {
    /// Takes one zombie of `code` out of the cache, with its slot.
    #[inline(always)]
    pub(crate) fn drop_zombie(&self, code: &Code, coldest_first: bool) -> Option<Block> {
        self.vet_pop(code, coldest_first);
        let block = code.remove(coldest_first)?;
        self.vet_size(block);
        self.note_slots(code, code.slots() + 1);
        self.uncount_cached(self.heap.bytes(block, code.bytes()));
        if code.slots() == 0 {
            self.ring.unlink(code);
        }
        Some(block)
    }

    /// `drop_zombie` in one copy, for aging and a debug pool's repairs
    /// (neither hot), where `free_code` and eviction (which runs at every
    /// release past a fixed budget) keep theirs inline.
    #[inline(never)]
    pub(crate) fn drop_zombie_outlined(&self, code: &Code, coldest_first: bool) -> Option<Block> {
        self.drop_zombie(code, coldest_first)
    }

    /// Gives back a block of `bytes` (`Heap::bytes`) that is in no list.
    pub(crate) fn free_block(&self, block: Block, bytes: usize) {
        self.forget_if_debug(block);
        // SAFETY: the caller has taken the block out of every list.
        unsafe { self.heap.free_block(block, bytes) };
        self.counters.frees.add(1);
    }

    /// Gives back a zombie `code` no longer holds; returns its bytes.
    /// Out of line: it serves eviction, aging and clearing, none hot.
    #[inline(never)]
    pub(crate) fn free_zombie(&self, code: &Code, block: Block) -> u64 {
        let bytes = self.heap.bytes(block, code.bytes());
        self.free_block(block, bytes);
        bytes as u64
    }

    /// Frees up to `count` blocks of the reserve; returns the bytes
    /// given back. Its low-water mark follows it down.
    #[inline(never)]
    pub(crate) fn drain_reserve(&self, count: u32) -> u64 {
        let mut freed = 0;
        for _ in 0..count {
            if self.cfg.debug() {
                if let Some(i) = self.reserve.lowest() {
                    self.vet_reserve(i);
                }
            }
            let Some((class, block)) = self.reserve.pop() else { break };
            self.vet_size(block);
            let bytes = self.heap.bytes(block, class_bytes(class));
            self.uncount_cached(bytes);
            freed += bytes as u64;
            self.free_block(block, bytes);
        }
        self.aging.note_reserve(self.reserve.len());
        freed
    }

    /// `zf_pool_clear`.
    pub fn clear_on_request(&self) -> u64 {
        self.traced(|t| t.clear());
        self.clear()
    }

    /// Every zombie goes now, and every allowance.
    pub fn clear(&self) -> u64 {
        let mut freed = self.drain_reserve(u32::MAX);
        while let Some(code) = self.ring.front() {
            freed += self.empty(code);
        }
        freed
    }

    /// `clear` for `close`: the same blocks go back, and the totals that
    /// `clear` takes down code by code (the frames and bytes cached, the
    /// room promised, the codes with two slots), which a pool that no
    /// longer caches keeps at zero, are set to zero once at the end. Each
    /// code is left as `clear` leaves it: synced, no slot, out of the ring.
    pub(crate) fn clear_to_close(&self) {
        let (mut frames, mut freed) = (0, 0);
        // Until the reserve and the ring are both empty: in a debug pool,
        // freeing a zombie written after its release tells the handler,
        // which may release a frame into either.
        loop {
            if self.reserve.len() > 0 {
                self.drain_reserve(u32::MAX);
                continue;
            }
            let Some(code) = self.ring.pop_front() else { break };
            self.sync(code);
            self.vet_walk(code);
            let (f, b) = self.free_zombies(code);
            (frames, freed) = (frames + f, freed + b);
            code.revoke_room(u32::MAX);
        }
        let n = &self.counters;
        debug_assert_eq!((n.cached_frames.get(), n.cached_bytes.get()), (frames, freed));
        n.cached_frames.set(0);
        n.cached_bytes.set(0);
        n.allowance_bytes.set(0);
        self.multi_slot.set(0);
    }

    /// Every zombie of `code` goes, its bytes counted once for all
    /// (`drop_zombie` counts each), then its room (`revoke_room`, which takes it out of
    /// the ring). Returns the bytes freed.
    fn empty(&self, code: &Code) -> u64 {
        self.sync(code);
        // A debug pool checks every link first (and cuts a list where one
        // fails): then nothing moves the slots but the pops.
        self.vet_walk(code);
        let before = code.slots();
        let (frames, freed) = self.free_zombies(code);
        self.note_slots(code, before);
        self.counters.cached_frames.sub(frames);
        self.counters.cached_bytes.sub(freed);
        self.revoke_room(code, u32::MAX);
        debug_assert!(code.slots() == 0 && !code.in_ring.get());
        freed
    }

    /// Gives back every zombie `code` holds, each slot with it; returns the
    /// frames and bytes freed, which the caller takes off the counts.
    #[inline(always)]
    fn free_zombies(&self, code: &Code) -> (u64, u64) {
        let (mut frames, mut freed) = (0, 0);
        while let Some(block) = code.remove(false) {
            self.vet_size(block);
            let bytes = self.heap.bytes(block, code.bytes());
            self.free_block(block, bytes);
            (frames, freed) = (frames + 1, freed + bytes as u64);
        }
        (frames, freed)
    }
}
