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
use std::cell::Cell;
use std::ptr::NonNull;

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
fn member<'a>(code: NonNull<Code>) -> &'a Code {
    // SAFETY: only ring members reach here, and members are alive (see Ring).
    unsafe { code.as_ref() }
}

impl Ring {
    /// Adds `code` at the tail (just behind the hand, once it wraps).
    pub fn link(&self, code: &Code) {
        let ptr = NonNull::from(code);
        code.prev.set(self.tail.get());
        code.next.set(None);
        match self.tail.get() {
            Some(tail) => member(tail).next.set(Some(ptr)),
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
            Some(p) => member(p).next.set(next),
            None => self.head.set(next),
        }
        match next {
            Some(n) => member(n).prev.set(prev),
            None => self.tail.set(prev),
        }
        if self.hand.get() == Some(NonNull::from(code)) {
            self.hand.set(next);
        }
        code.in_ring.set(false);
        self.len.set(self.len.get() - 1);
    }

    pub fn front<'a>(&self) -> Option<&'a Code> {
        self.head.get().map(member)
    }

    /// The members, in order; unlinking the yielded code is allowed.
    pub fn iter<'a>(&self) -> impl Iterator<Item = &'a Code> + 'a {
        let mut at = self.head.get();
        std::iter::from_fn(move || {
            let code = member(at?);
            at = code.next.get();
            Some(code)
        })
    }

    /// The next victim of the clock: the first member, from the hand on,
    /// that `used` says has not been used since the hand last passed (it
    /// clears the mark as it answers). Two turns at most.
    fn clock_victim<'a>(&self, used: impl Fn(&Code) -> bool) -> Option<&'a Code> {
        for _ in 0..=2 * self.len.get() {
            let code = member(self.hand.get().or(self.head.get())?);
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
                Some(victim) if !std::ptr::eq(victim, code) => self.evict(victim),
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
        let mut lists: Vec<_> = self
            .ring
            .iter()
            .filter(|c| c.len() > 0)
            .map(|c| (c.id, c.frame_bytes, c.len(), c.cached_bytes()))
            .collect();
        lists.sort_by(|a, b| b.3.cmp(&a.3).then(a.0.cmp(&b.0)));
        lists.into_iter().take(most).map(|(id, fb, n, _)| (id, fb, n)).collect()
    }
}
