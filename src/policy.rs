//! What to give back, and when.
//!
//! * **Aging** (the seed's "aging mechanism"): tcmalloc's low-water mark.
//!   A list's low-water mark is the zombies no acquire touched since the
//!   last sweep (its cold stack, `src/code.rs`); that many were never
//!   needed, so a sweep retires half of them (the last one too, so idle
//!   lists reach empty). A list its code keeps dipping into keeps
//!   everything; an idle list of n zombies is empty after about
//!   log2(n) + 1 sweeps. Sweeps run on `zf_pool_collect` and every
//!   `sweep_every` releases (checked when a release reaches the library).
//! * **Budget**: when a code needs one more slot and the budget is spent,
//!   the CLOCK algorithm (second chance) picks victims among the codes
//!   with an allowance: a code used (acquired from, or releasing past the
//!   budget) since the hand last passed is spared once; a code with unused
//!   room gives up a slot of it at once (that frees nothing and costs
//!   only a slow release later), else the victim gives up its coldest
//!   zombie. Idle codes pay first;
//!   the releasing code itself is never robbed to cache its own frame (its
//!   frame goes to the reserve or is freed instead), so the hard bound holds.
//!
//! Both walk only the ring of codes with an allowance (a code joins when it
//! gets its first slot and leaves when it has none), so their cost never
//! grows with the codes that merely exist.

use crate::code::Code;
use crate::pool::Pool;
use crate::stats::Tally;
use alloc::vec::Vec;
use core::cell::Cell;
use core::ptr::NonNull;

/// A doubly linked list of codes threaded through `Code::prev`/`next`,
/// with a clock hand. Every member is alive: codes leave it before they
/// are freed.
#[derive(Default)]
pub struct Ring {
    head: Cell<Option<NonNull<Code>>>,
    tail: Cell<Option<NonNull<Code>>>,
    /// The next code the clock looks at; None: the head.
    hand: Cell<Option<NonNull<Code>>>,
    len: Cell<usize>,
}

/// A member of the ring.
///
/// # Safety
/// `code` is linked in a ring, and `'a` ends before it is unlinked and freed
/// (members are alive: see Ring).
unsafe fn member<'a>(code: NonNull<Code>) -> &'a Code {
    // SAFETY: the caller's promise.
    unsafe { code.as_ref() }
}

impl Ring {
    /// Adds `code` at the tail (just behind the hand, once it wraps).
    pub fn link(&self, code: &Code) {
        let ptr = NonNull::from(code);
        code.prev.set(self.tail.get());
        code.next.set(None);
        match self.tail.get() {
            // SAFETY: the tail is a member; the reference ends here.
            Some(tail) => unsafe { member(tail) }.next.set(Some(ptr)),
            None => self.head.set(Some(ptr)),
        }
        self.tail.set(Some(ptr));
        code.in_ring.set(true);
        self.len.set(self.len.get() + 1);
    }

    pub fn unlink(&self, code: &Code) {
        if !code.in_ring.get() {
            return;
        }
        let (prev, next) = (code.prev.get(), code.next.get());
        match prev {
            // SAFETY: `code`'s neighbours are members; the references end here.
            Some(p) => unsafe { member(p) }.next.set(next),
            None => self.head.set(next),
        }
        match next {
            // SAFETY: as above.
            Some(n) => unsafe { member(n) }.prev.set(prev),
            None => self.tail.set(prev),
        }
        if self.hand.get() == Some(NonNull::from(code)) {
            self.hand.set(next);
        }
        code.in_ring.set(false);
        self.len.set(self.len.get() - 1);
    }

    pub fn front(&self) -> Option<&Code> {
        // SAFETY: the head is a member, alive while the ring is borrowed.
        self.head.get().map(|head| unsafe { member(head) })
    }

    /// The members, in order; unlinking the yielded code is allowed.
    pub fn iter(&self) -> impl Iterator<Item = &Code> + '_ {
        let mut at = self.head.get();
        core::iter::from_fn(move || {
            // SAFETY: `at` is the head or a member's next: a member.
            let code = unsafe { member(at?) };
            at = code.next.get();
            Some(code)
        })
    }

    /// The next victim of the clock: the first member, from the hand on,
    /// that `used` says has not been used since the hand last passed (it
    /// clears the mark as it answers). Two turns at most.
    fn clock_victim(&self, used: impl Fn(&Code) -> bool) -> Option<&Code> {
        for _ in 0..=2 * self.len.get() {
            // SAFETY: the hand (None: the head) is always a member.
            let code = unsafe { member(self.hand.get().or(self.head.get())?) };
            self.hand.set(code.next.get());
            if !used(code) {
                return Some(code);
            }
        }
        None
    }
}

impl Pool {
    /// Takes budget back until `need` more bytes fit: idle codes' unused
    /// room first, then their coldest zombies. False when that cannot be
    /// done without robbing `code` itself.
    #[cold]
    pub(crate) fn make_room(&self, code: &Code, need: u64) -> bool {
        // A code returning from deep recursion acquires nothing while it
        // releases, yet it is the one in use: keep the hand off it.
        code.used.set(true);
        let budget = self.budget.get() as u64;
        if need > budget {
            return false;
        }
        while self.committed() + need > budget {
            // Room costs nothing to take back (no frame is freed): a code
            // with some gives it up, used or not.
            let used = |c: &Code| {
                self.sync(c);
                c.room() == 0 && c.used.replace(false)
            };
            match self.ring.clock_victim(used) {
                Some(victim) if !core::ptr::eq(victim, code) => self.evict(victim),
                _ => return false,
            }
        }
        true
    }

    /// After the bound shrank: takes back room and zombies by the same
    /// clock as `make_room` (no code spared), then reserve frames, until
    /// what is held fits the bound again.
    #[cold]
    pub(crate) fn trim(&self) {
        let budget = self.budget.get() as u64;
        while self.committed() > budget {
            let used = |c: &Code| {
                self.sync(c);
                c.room() == 0 && c.used.replace(false)
            };
            match self.ring.clock_victim(used) {
                Some(victim) => self.evict(victim),
                None if self.drain_shared(1) > 0 => self.n.evicted_frees.add(1),
                None => break,
            }
        }
    }

    /// A victim of the clock gives up its room, or else one zombie.
    fn evict(&self, victim: &Code) {
        if victim.room() > 0 {
            self.revoke_room(victim, 1);
        } else if let Some(block) = self.drop_zombie(victim, true) {
            self.free_block(block);
            self.n.evicted_frees.add(1);
        }
    }

    /// The interpreter ran a collection of `generation`: under legacy, a
    /// full one (2) empties the shared list, as CPython's `gc` does; else
    /// collections of `sweep_generation` and older run one aging sweep.
    /// Returns the bytes given back.
    pub fn collect(&self, generation: u32) -> u64 {
        self.traced(|t| t.collect(generation));
        match self.legacy() {
            true if generation >= 2 => {
                self.n.sweeps.add(1);
                self.drain_shared(u32::MAX)
            }
            false if generation >= self.cfg.sweep_generation => self.sweep(),
            _ => 0,
        }
    }

    /// One aging sweep; returns the bytes it gave back. Each list gives up
    /// half the zombies no acquire touched since the last sweep (its cold
    /// ones: see `src/code.rs`); they retire to the reserve, which gives
    /// back a quarter of what it never served (a slower pace: it holds the
    /// frames the next new code needs). Every zombie turns cold. Room
    /// stays: it is held for frames out of the list, which will come back.
    pub fn sweep(&self) -> u64 {
        let drop = self.shared_low.get().div_ceil(4);
        let mut freed = self.drain_shared(drop);
        self.n.aged_frees.add(drop as u64);
        for code in self.ring.iter() {
            self.sync(code);
            let low = code.untouched();
            let drop = if low > 1 { low / 2 } else { low };
            for _ in 0..drop {
                let Some(block) = self.drop_zombie(code, true) else { break };
                let bytes = block.bytes() as u64;
                if !self.retire(block) {
                    self.n.aged_frees.add(1);
                    freed += bytes;
                }
            }
            code.cool_down();
        }
        self.shared_low.set(self.shared.len());
        self.n.sweeps.add(1);
        self.reset_sweep_countdown();
        freed
    }

    /// Runs the automatic sweep once `sweep_every` releases have been
    /// counted since the last one (the inline path's, when their code next
    /// reaches the library). Asked where a release reaches the library.
    pub(crate) fn sweep_if_due(&self) {
        if self.n.releases.get() >= self.sweep_at.get() {
            self.sweep();
        }
    }

    /// With `sweep_every` 0 the next sweep is due at u64::MAX: in practice, never.
    pub(crate) fn reset_sweep_countdown(&self) {
        let every = self.cfg.sweep_every as u64;
        self.sweep_at.set(if every == 0 { u64::MAX } else { self.n.releases.get().saturating_add(every) });
    }

    /// The lists holding the most zombie bytes, largest first.
    pub fn top_lists(&self, most: usize) -> Vec<(u64, usize, u32)> {
        // Kept in order as they come (ties: the older code first): `most`
        // is a handful, so no sort of every list.
        let mut top: Vec<(u64, u64, usize, u32)> = Vec::with_capacity(most + 1);
        for c in self.ring.iter().filter(|c| c.len() > 0) {
            let at = top.partition_point(|t| (t.0, t.1) >= (c.cached_bytes(), u64::MAX - c.id));
            if at < most {
                top.insert(at, (c.cached_bytes(), u64::MAX - c.id, c.frame_bytes, c.len()));
                top.truncate(most);
            }
        }
        top.into_iter().map(|(_, id, fb, n)| (u64::MAX - id, fb, n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(n: u64) -> Vec<Code> {
        // The ring reads only its own links: no pool is needed.
        (0..n).map(|id| Code::new(NonNull::dangling(), id, 64, 64, 80, 1, false)).collect()
    }

    fn ids(ring: &Ring) -> Vec<u64> {
        ring.iter().map(|c| c.id).collect()
    }

    #[test]
    fn the_ring_links_in_order_and_unlinks_anywhere() {
        let cs = codes(4);
        let ring = Ring::default();
        cs.iter().for_each(|c| ring.link(c));
        assert_eq!((ids(&ring), ring.front().map(|c| c.id)), (vec![0, 1, 2, 3], Some(0)));
        ring.unlink(&cs[0]); // the head
        ring.unlink(&cs[2]); // the middle
        ring.unlink(&cs[2]); // not linked: nothing
        assert_eq!(ids(&ring), [1, 3]);
        ring.unlink(&cs[3]); // the tail
        ring.link(&cs[0]);
        assert_eq!(ids(&ring), [1, 0]);
        for c in ring.iter() {
            ring.unlink(c); // allowed while iterating
        }
        assert_eq!((ids(&ring), ring.front().is_none()), (vec![], true));
        assert!(cs.iter().all(|c| !c.in_ring.get()));
    }

    #[test]
    fn the_clock_skips_used_codes_once_and_moves_on() {
        let cs = codes(3);
        let ring = Ring::default();
        cs.iter().for_each(|c| ring.link(c));
        cs[0].used.set(true);
        let used = |c: &Code| c.used.replace(false);
        assert_eq!(ring.clock_victim(used).map(|c| c.id), Some(1));
        assert_eq!(ring.clock_victim(used).map(|c| c.id), Some(2));
        // Code 0's mark was cleared as the hand passed: now it is a victim.
        assert_eq!(ring.clock_victim(used).map(|c| c.id), Some(0));
        assert_eq!(ring.clock_victim(used).map(|c| c.id), Some(1));
        // The hand is on code 2: unlinking it moves the hand on (to the head).
        ring.unlink(&cs[2]);
        assert_eq!(ring.clock_victim(used).map(|c| c.id), Some(0));
        cs.iter().for_each(|c| c.used.set(true));
        assert_eq!(ring.clock_victim(|_| true).map(|c| c.id), None, "all in use: none");
    }
}
