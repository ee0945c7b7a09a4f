//! The slow release: reached when the code's allowance had no room. The
//! frame becomes a zombie if its code is granted one more slot within the
//! bound; else it retires to the reserve, or goes back to the allocator.

use super::{Lane, Pool};
use crate::block::Block;
use crate::code::{Code, Loss};
use crate::stats::Tally;
use core::ptr::NonNull;

impl Pool {
    /// `zf_frame_release` when the code's allowance had no room.
    ///
    /// # Safety
    /// `frame` came from `acquire` on `code` and has not been released since.
    #[inline]
    pub unsafe fn release(code: NonNull<Code>, frame: NonNull<u8>, function: &'static str) {
        // SAFETY: a code with a live frame is alive.
        let p = Pool::of(unsafe { code.as_ref() });
        match p.cfg.debug() {
            // SAFETY: forwarded; debug mode checks the frame before reading its header.
            true => unsafe { Pool::checked_release(code, frame, function) },
            // SAFETY: forwarded contract.
            false => unsafe { Pool::release_unchecked(code, frame) },
        }
    }

    /// The lane of a plain pool's release past the inline state:
    /// `plain_free` when nothing but the free is due (no free unit, no
    /// slot for the code: `over_limit`, no reserve room within the bound,
    /// the code alive and counted in the bound), after a `sync` if the
    /// fast path did work since the last one (which changes neither the
    /// free units nor the bytes charged); else the slow path. Tests only,
    /// inlined into the slow entries: a call they turn away pays them and
    /// a jump.
    #[inline(always)]
    pub(crate) fn release_lane(&self, c: &Code) -> Lane {
        // Below half its limit a code is never refused outright: the
        // cheapest test first (a code's first releases end here).
        if self.full_releases || c.may_make_room() {
            return Lane::Full;
        }
        let fits = self.fits(c.bytes() as u64);
        // What the full path would find: no slot (`grant_slot`), no reserve room.
        let refused = self.over_limit(c, fits) && !(fits && self.reserve_has_room());
        // A freed code's release may free the struct; an uncounted code's
        // first release counts it in the bound, even at a limit of 0.
        if !refused || !c.counted() {
            return Lane::Full;
        }
        match (c.full(), c.free_units()) {
            (true, _) => Lane::Plain,
            (false, 0) => Lane::Pending,
            _ => Lane::Full,
        }
    }

    /// The release `release_lane` found, synced: the frame goes back to the
    /// allocator, counted as `release_unchecked` counts it, with no other
    /// step between (a deep recursion's every frame past its list comes
    /// this way).
    ///
    /// # Safety
    /// As `release`.
    pub(crate) unsafe fn plain_free(&self, c: &Code, frame: NonNull<u8>) {
        debug_assert!(matches!(self.release_lane(c), Lane::Plain));
        c.note_loss(Loss::Limit);
        self.count_release(c);
        // SAFETY: by the contract, `frame` is a live frame of ours, whose
        // block is its code's size, as every block of a plain pool.
        self.free_block(unsafe { Block::from_frame(frame) }, c.bytes());
        self.sweep_if_due();
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
            p.traced(|t| t.release(frame.as_ptr()));
            // SAFETY: `frame` is a live frame of `c` (the contract).
            if unsafe { c.give(frame) } {
                return; // as the inline path would: counted at the next sync
            }
            // No free unit (legacy never has one here: its acquires take
            // them back), and `sync` makes none: only a slot granted now
            // can keep the frame.
            p.sync(c);
            debug_assert_eq!(c.free_units(), 0, "a free unit the release missed");
            if c.first_release() {
                p.bound.code_returned(c);
            }
            // SAFETY: by the contract, `frame` is a live frame of ours.
            let block = unsafe { Block::from_frame(frame) };
            let kept = match p.grant_slot(c) {
                Ok(()) => p.give_zombie(c, block),
                Err(why) => {
                    c.note_loss(why);
                    false
                }
            };
            if !kept {
                p.count_release(c);
                p.retire(c, block);
            }
            p.sweep_if_due();
            if c.live() > 0 || !c.is_freed() {
                return;
            }
        }
        // SAFETY: the code was freed and this was its last live frame.
        unsafe { Pool::free_code_if_unused(code) };
    }

    /// A frame the code did not keep is no longer live.
    #[inline(always)]
    fn count_release(&self, c: &Code) {
        self.counters.releases.add(1);
        self.counters.live_frames.sub(1);
        c.add_live(-1);
    }

    /// The slow path's cached release: the hit path itself (`ZfCodeHot::give`).
    fn give_zombie(&self, code: &Code, block: Block) -> bool {
        // SAFETY: `block` is a live frame of `code` (the callers' contract),
        // which the caller synced.
        let Some(work) = (unsafe { code.give_synced(block.frame()) }) else { return false };
        self.add_work(&work);
        self.count_own_size(code, block, 1);
        true
    }

    /// One more slot for `code`, charged to the bound (making room by
    /// evicting idle zombies of other codes when it is short).
    fn grant_slot(&self, code: &Code) -> Result<(), Loss> {
        let need = code.bytes() as u64;
        // (Whether it fits matters only to a code that may grow.)
        let fits = code.may_grow() && self.fits(need);
        // The end of a re-entry, whatever the limit: CPython's list takes
        // the frame, and the automatic bound makes room for it. (The limit
        // first: a release it refuses under legacy or a fixed budget, the
        // slow path of every legacy call, pays one test more, not a call.)
        let refused = self.over_limit(code, fits);
        if (!refused || self.bound.is_auto()) && code.ends_reentry() {
            self.bound.note_reentry(code);
            return Err(Loss::Limit);
        }
        if refused {
            return Err(Loss::Limit);
        }
        if !fits && !self.make_room(code, need) {
            return Err(Loss::Bound);
        }
        code.grant();
        self.note_slots(code, code.slots() - 1);
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
        let before = code.slots();
        let room = code.revoke_room(most);
        self.note_slots(code, before);
        self.counters.allowance_bytes.sub(room as u64 * code.bytes() as u64);
        if code.slots() == 0 {
            self.ring.unlink(code);
        }
    }

    /// A zombie of `code` an aging sweep dropped: onto the reserve if there
    /// is room within the bound, else back to the allocator. Out of line:
    /// sweeps are rare. True when kept.
    #[cold]
    pub(crate) fn retire_aged(&self, code: &Code, block: Block) -> bool {
        self.retire(code, block)
    }

    /// The same for a zombie of a dying code. Where the bound is short,
    /// room is made from what CPython's scheme would not hold either
    /// (`make_spare_room`): the dead code's frame is the newest, and the
    /// next new code of its class takes it instead of asking the system.
    /// Inlined into `free_code`: a code's death usually retires one.
    #[inline(always)]
    pub(crate) fn retire_dead(&self, code: &Code, block: Block) -> bool {
        let bytes = self.heap.bytes(block, code.bytes());
        let kept = self.reserve_has_room() && (self.fits(bytes as u64) || self.make_spare_room(code, bytes as u64));
        self.keep_or_free(code, block, bytes, kept)
    }

    /// A frame its code has no slot for: onto the reserve if it takes it,
    /// else back to the allocator. Inlined into the slow release: there,
    /// past a code's list, it runs at every release.
    #[inline(always)]
    fn retire(&self, code: &Code, block: Block) -> bool {
        let bytes = self.heap.bytes(block, code.bytes());
        self.keep_or_free(code, block, bytes, self.reserve_takes(bytes))
    }

    /// Onto the reserve (`kept`), else back to the allocator.
    #[inline(always)]
    fn keep_or_free(&self, code: &Code, block: Block, bytes: usize, kept: bool) -> bool {
        if kept {
            self.reserve.push(code.class(), block);
            if self.cfg.debug() {
                self.mark_retired(block, code.class());
            }
            self.counters.cached_frames.add(1);
            self.counters.cached_bytes.add(bytes as u64);
            self.raise_peak();
        } else {
            self.free_block(block, bytes);
        }
        kept
    }

    /// Whether the reserve has room for a frame of `bytes` within the bound.
    #[inline(always)]
    fn reserve_takes(&self, bytes: usize) -> bool {
        self.reserve_has_room() && self.fits(bytes as u64)
    }

    /// Whether the reserve holds fewer than `reserve_max` frames.
    #[inline(always)]
    fn reserve_has_room(&self) -> bool {
        self.reserve.len() < self.reserve_max
    }

    /// Whether `bytes` more fit within the bound.
    #[inline(always)]
    fn fits(&self, bytes: u64) -> bool {
        self.charged_bytes() + bytes <= self.bound.bytes()
    }

    /// Whether `code` is refused one more slot outright (`fits`: whether
    /// it fits within the bound): its limit, or past half of it, a bound
    /// already spent. A code that long grows only into room nobody holds:
    /// a deep recursion keeps its frames while the bound is not spent, but
    /// many codes with long lists (coroutines) do not rob each other.
    #[inline(always)]
    fn over_limit(&self, code: &Code, fits: bool) -> bool {
        !code.may_grow() || (!fits && !code.may_make_room())
    }
}
