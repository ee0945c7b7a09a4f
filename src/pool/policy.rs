//! What to give back, and when.
//!
//! * **Aging** (the 2007 python-dev proposal's "aging mechanism"): tcmalloc's low-water mark.
//!   A list's low-water mark is the zombies no acquire touched since the
//!   last sweep (its cold stack, `src/code.rs`); that many were never
//!   needed, so a sweep retires half of them (the last one too, so idle
//!   lists reach empty). A list its code keeps dipping into keeps
//!   everything; an idle list of n zombies is empty after about
//!   log2(n) + 1 sweeps. Sweeps run on `zf_pool_collect` and every
//!   `sweep_every` releases (checked when a release reaches the library).
//!   A full collection that does not sweep (the default) ages only lists
//!   idle through several full collections, and keeps their last zombie
//!   (`age_idle`): calls through the inline pair count no releases, so
//!   this is what ages them.
//! * **Bound**: when a code needs one more slot and the bound is spent,
//!   the CLOCK algorithm (second chance) picks victims among the codes
//!   with an allowance: a code used (acquired from, or releasing past the
//!   bound) since the hand last passed is spared once; a code with unused
//!   room gives up a slot of it at once (that frees nothing and costs
//!   only a slow release later), else the victim gives up its coldest
//!   zombie. Idle codes pay first;
//!   the releasing code itself is never robbed to cache its own frame (its
//!   frame goes to the reserve or is freed instead), so the hard bound holds.
//!
//! Both walk only the ring of codes with an allowance (a code joins when it
//! gets its first slot and leaves when it has none), so their cost never
//! grows with the codes that merely exist.

use super::Pool;
use crate::code::{Code, Loss};
use crate::stats::Tally;
use core::cell::Cell;

impl Pool {
    /// Takes back, by the clock, until `need` more bytes fit: a unit of
    /// room from each code the hand reaches with some (used or not), else
    /// the coldest zombie of a code idle since the hand last passed. False
    /// when it finds no victim but `code` itself.
    #[cold]
    pub(crate) fn make_room(&self, code: &Code, need: u64) -> bool {
        // A code returning from deep recursion acquires nothing while it
        // releases, yet it is the one in use: keep the hand off it.
        code.mark_used();
        let bound = self.bound.bytes();
        if need > bound {
            return false;
        }
        while self.charged_bytes() + need > bound {
            match self.ring.clock_victim(|c| self.spared(c)) {
                Some(victim) if !core::ptr::eq(victim, code) => _ = self.evict(victim),
                _ => return false,
            }
        }
        true
    }

    /// Takes back, until `need` more bytes fit, only what CPython's scheme
    /// would not hold in our place: unused room, and zombies beyond a
    /// code's first (CPython keeps one zombie per code), from codes with
    /// two slots or more. The clock hand walks at most `SPARE_WALK` codes
    /// (skipping `code`), and none when no code has two slots: a dying
    /// code costs O(1) when nothing is spare. True when `need` fits.
    #[cold]
    #[inline(never)]
    pub(crate) fn make_spare_room(&self, code: &Code, need: u64) -> bool {
        debug_assert_eq!(self.multi_slot.get() as usize, self.ring.iter().filter(|c| c.slots() >= 2).count());
        let bound = self.bound.bytes();
        for _ in 0..SPARE_WALK.min(self.ring.len()) {
            if self.charged_bytes() + need <= bound || self.multi_slot.get() == 0 {
                break;
            }
            let Some(c) = self.ring.advance() else { break };
            if core::ptr::eq(c, code) || c.slots() < 2 {
                continue;
            }
            self.sync(c);
            self.revoke_room(c, u32::MAX);
            while c.slots() >= 2 && self.charged_bytes() + need > bound {
                _ = self.evict(c); // its coldest zombie: the room is gone
            }
        }
        self.charged_bytes() + need <= bound
    }

    /// After the bound shrank: takes back room and zombies by the same
    /// clock as `make_room` (no code exempt), then reserve frames, until
    /// what is held fits the bound again. Returns the bytes given back.
    /// The test inline: a dying code shrinks the automatic bound, and
    /// usually leaves what is held within it.
    #[inline(always)]
    pub(crate) fn trim(&self) -> u64 {
        match self.charged_bytes() > self.bound.bytes() {
            true => self.trim_over(false),
            false => 0,
        }
    }

    /// The trim proper; `reserve_first`: after a full collection emptied
    /// CPython's free list, the reserve, which holds what that list would,
    /// gives back before any zombie.
    #[cold]
    fn trim_over(&self, reserve_first: bool) -> u64 {
        let bound = self.bound.bytes();
        let mut freed = 0;
        while self.charged_bytes() > bound {
            let victim = match reserve_first && self.reserve.len() > 0 {
                true => None,
                false => self.ring.clock_victim(|c| self.spared(c)),
            };
            match victim {
                Some(victim) => freed += self.evict(victim),
                None => match self.drain_reserve(1) {
                    0 => break,
                    bytes => {
                        self.counters.evicted_frees.add(1);
                        freed += bytes;
                    }
                },
            }
        }
        freed
    }

    /// Whether the clock's hand passes `c` by this time: used since the
    /// hand last passed (the mark is cleared), and no room. Room costs
    /// nothing to take back (no frame is freed): a code with some gives it
    /// up, used or not.
    fn spared(&self, c: &Code) -> bool {
        self.sync(c);
        c.free_units() == 0 && c.take_used()
    }

    /// A victim of the clock gives up its room, or else one zombie.
    /// Returns the bytes given back (0 for room: no frame is freed).
    fn evict(&self, victim: &Code) -> u64 {
        if victim.free_units() > 0 {
            self.revoke_room(victim, 1);
            return 0;
        }
        let Some(block) = self.drop_zombie(victim, true) else { return 0 };
        victim.note_loss(Loss::Bound);
        self.counters.evicted_frees.add(1);
        self.free_zombie(victim, block)
    }

    /// The interpreter ran a collection of `generation`: under legacy, a
    /// full one (2) empties the reserve, as CPython's `gc` does; else
    /// collections of `sweep_generation` and older run one aging sweep,
    /// and full ones below it age idle lists (`age_idle`). A full one
    /// also forgets the room made for CPython's free list (recursion and
    /// re-entries), and what no longer fits goes, the reserve's frames
    /// first. Returns every byte given back.
    pub fn collect(&self, generation: u32) -> u64 {
        self.traced(|t| t.collect(generation));
        let trimmed = match generation >= 2 && self.bound.forget_free_list() {
            true => self.trim_over(true),
            false => 0,
        };
        let aged = match self.legacy() {
            true if generation >= 2 => {
                self.counters.sweeps.add(1);
                self.drain_reserve(u32::MAX)
            }
            false if generation >= self.cfg.sweep_generation => self.sweep(),
            false if generation >= 2 => self.age_idle(),
            _ => 0,
        };
        trimmed + aged
    }

    /// A full collection when collections do not sweep (the default): a
    /// list that no acquire touched through `IDLE_COLLECTIONS` full
    /// collections in a row frees half its zombies at each one after, down
    /// to one, which it keeps (CPython keeps a zombie for every code that
    /// ran): an idle list of n zombies is down to it within about
    /// `IDLE_COLLECTIONS` + log2(n) + 1 full collections. A list its code
    /// uses at all keeps everything: trimming the unused part of live
    /// lists at this cadence cost more misses than it saved memory.
    /// Returns the bytes given back.
    fn age_idle(&self) -> u64 {
        let mut freed = 0;
        for code in self.ring.iter() {
            self.sync_outlined(code);
            if code.count_idle() > IDLE_COLLECTIONS {
                for _ in 0..code.len() / 2 {
                    let Some(block) = self.drop_zombie_outlined(code, true) else { break };
                    code.note_loss(Loss::Aged);
                    freed += self.free_zombie(code, block);
                    self.counters.aged_frees.add(1);
                }
            }
            self.vet_walk(code);
            code.cool_down();
        }
        self.counters.sweeps.add(1);
        freed
    }

    /// One aging sweep; returns the bytes it gave back. Each list gives up
    /// half the zombies no acquire touched since the last sweep (its cold
    /// ones: see `src/code.rs`); they retire to the reserve, which gives
    /// back a quarter of what it never served (a slower pace: it holds the
    /// frames the next new code needs). Every zombie turns cold. Room
    /// stays: it is held for frames out of the list, which will come back.
    pub fn sweep(&self) -> u64 {
        let drop = self.aging.reserve_unused().div_ceil(4);
        let mut freed = self.drain_reserve(drop);
        self.counters.aged_frees.add(drop as u64);
        for code in self.ring.iter() {
            self.sync_outlined(code);
            let low = code.untouched();
            let drop = if low > 1 { low / 2 } else { low };
            for _ in 0..drop {
                let Some(block) = self.drop_zombie_outlined(code, true) else { break };
                code.note_loss(Loss::Aged);
                let bytes = self.heap.bytes(block, code.bytes()) as u64;
                if !self.retire_aged(code, block) {
                    self.counters.aged_frees.add(1);
                    freed += bytes;
                }
            }
            self.vet_walk(code);
            code.cool_down();
        }
        self.counters.sweeps.add(1);
        self.aging.restart(self.counters.releases.get(), self.reserve.len());
        freed
    }

    /// Runs the automatic sweep once `sweep_every` releases have been
    /// counted since the last one (the inline path's, when their code next
    /// reaches the library). Asked where a release reaches the library.
    pub(crate) fn sweep_if_due(&self) {
        if self.aging.is_due(self.counters.releases.get()) {
            self.sweep();
        }
    }
}

/// Codes `make_spare_room` looks at, at most, for one frame: enough to
/// find codes with two slots among codes with one (the tuning half lost a
/// little at 8), few enough that a dying code costs at most a few hundred
/// instructions.
const SPARE_WALK: usize = 32;

/// Full collections a list must stay idle through before `age_idle` starts
/// to free it.
const IDLE_COLLECTIONS: u32 = 4;

/// Aging's own state, written here alone: when the next automatic sweep
/// is due, and the reserve's low-water mark since the last sweep (the
/// frames it held all along, which no miss needed).
pub(super) struct Aging {
    /// Releases between automatic sweeps; 0: never.
    every: u64,
    /// The count of releases at which the next automatic sweep is due.
    due_at: Cell<u64>,
    reserve_low: Cell<u32>,
}

impl Aging {
    pub fn new(sweep_every: u32) -> Aging {
        let aging = Aging { every: sweep_every as u64, due_at: Cell::new(0), reserve_low: Cell::new(0) };
        aging.restart(0, 0);
        aging
    }

    pub fn is_due(&self, releases: u64) -> bool {
        releases >= self.due_at.get()
    }

    /// A sweep ran: the countdown and the low-water mark start again.
    pub fn restart(&self, releases: u64, reserve_len: u32) {
        // With `every` 0 the next sweep is due at u64::MAX: in practice, never.
        self.due_at.set(if self.every == 0 { u64::MAX } else { releases.saturating_add(self.every) });
        self.reserve_low.set(reserve_len);
    }

    /// The reserve shrank to `len`.
    pub fn note_reserve(&self, len: u32) {
        self.reserve_low.set(self.reserve_low.get().min(len));
    }

    /// Frames the reserve held since the last sweep without serving a miss.
    pub fn reserve_unused(&self) -> u32 {
        self.reserve_low.get()
    }
}
