//! What to give back, and when.
//!
//! * **Aging** (the seed's "aging mechanism"): tcmalloc's low-water mark.
//!   Each list remembers the shortest it has been since the last sweep; that
//!   many zombies were never needed, so a sweep frees half of them (the last
//!   one too, so idle lists reach empty). A list its code keeps dipping into
//!   keeps everything; an idle list of n zombies is empty after about
//!   log2(n) + 1 sweeps. Sweeps run on `zf_pool_collect` and every
//!   `sweep_every` releases.
//! * **Budget**: when caching a released frame would pass `budget_bytes`,
//!   the CLOCK algorithm (second chance) picks victims among the lists
//!   holding zombies: a list used (acquired from, or releasing past the
//!   budget) since the hand last passed is spared once. Idle codes pay
//!   first; the releasing code itself is never robbed to cache its own
//!   frame (its frame is freed instead), so the hard bound holds.
//!
//! Both walk only the ring of lists that hold zombies (a list joins on the
//! release that gives it its first zombie and leaves at a sweep that finds
//! it empty), so their cost never grows with the codes that merely exist.

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

    pub fn pop_front<'a>(&self) -> Option<&'a Code> {
        let code = member(self.head.get()?);
        self.unlink(code);
        Some(code)
    }

    /// The members, in order; unlinking the yielded code is allowed.
    fn iter<'a>(&self) -> impl Iterator<Item = &'a Code> + 'a {
        let mut at = self.head.get();
        std::iter::from_fn(move || {
            let code = member(at?);
            at = code.next.get();
            Some(code)
        })
    }

    /// The next victim of the clock: a list holding zombies whose code has
    /// not acquired since the hand last passed it. Two turns at most: the
    /// first clears every `used` bit it passes.
    fn clock_victim<'a>(&self) -> Option<&'a Code> {
        for _ in 0..=2 * self.len.get() {
            let code = member(self.hand.get().or(self.head.get())?);
            self.hand.set(code.next.get());
            if code.len() == 0 {
                continue;
            }
            if !code.used.replace(false) {
                return Some(code);
            }
        }
        None
    }
}

impl Pool {
    /// Evicts idle zombies until one more of `code` fits the budget. False
    /// when that cannot be done without robbing `code` itself.
    #[cold]
    pub(crate) fn make_room(&self, code: &Code, need: u64) -> bool {
        // A code returning from deep recursion acquires nothing while it
        // releases, yet it is the one in use: keep the hand off it.
        code.used.set(true);
        let budget = self.budget.get() as u64;
        if need > budget {
            return false;
        }
        while self.n.cached_bytes.get() + need > budget {
            match self.ring.clock_victim() {
                Some(victim) if !std::ptr::eq(victim, code) => {
                    self.drain_code(victim, 1);
                    self.n.evicted_frees.add(1);
                }
                _ => return false,
            }
        }
        true
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
    /// half the zombies it never dipped into since the last sweep; they
    /// retire to the reserve, which gives back a quarter of what it never
    /// served (a slower pace: it holds the frames the next new code needs).
    pub fn sweep(&self) -> u64 {
        let before = self.n.cached_bytes.get();
        let drop = self.shared_low.get().div_ceil(4);
        self.drain_shared(drop);
        self.n.aged_frees.add(drop as u64);
        for code in self.ring.iter() {
            let low = code.low_water.get();
            let drop = if low > 1 { low / 2 } else { low };
            let freed = self.retire_code(code, drop);
            self.n.aged_frees.add(freed as u64);
            code.low_water.set(code.len());
            if code.len() == 0 {
                self.ring.unlink(code);
            }
        }
        self.shared_low.set(self.shared.len());
        self.n.sweeps.add(1);
        self.reset_sweep_countdown();
        before - self.n.cached_bytes.get()
    }

    pub(crate) fn count_release_toward_sweep(&self) {
        let left = self.until_sweep.get() - 1;
        self.until_sweep.set(left);
        if left == 0 {
            self.sweep();
        }
    }

    /// With `sweep_every` 0 the countdown starts at u64::MAX: in practice, never.
    pub(crate) fn reset_sweep_countdown(&self) {
        let every = self.cfg.sweep_every as u64;
        self.until_sweep.set(if every == 0 { u64::MAX } else { every });
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
