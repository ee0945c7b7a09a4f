//! The ring: the codes that hold an allowance, in a doubly linked list
//! threaded through `Code::prev`/`next`, with the clock hand that picks
//! victims when the bound is spent (`pool/policy.rs`). Aging and eviction
//! walk only these codes, so their cost never grows with the codes that
//! merely exist.

use crate::code::Code;
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
/// `code` is linked in a ring, and `'a` ends before it is freed
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

    /// Takes the first member out (alive still: codes leave the ring before
    /// they are freed, and the caller keeps it no longer than that).
    pub fn pop_front(&self) -> Option<&Code> {
        let code = self.front()?;
        self.unlink(code);
        Some(code)
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

    /// The member under the clock hand; the hand moves on past it.
    pub fn advance(&self) -> Option<&Code> {
        // SAFETY: the hand (None: the head) is always a member.
        let code = unsafe { member(self.hand.get().or(self.head.get())?) };
        self.hand.set(code.next.get());
        Some(code)
    }

    pub fn len(&self) -> usize {
        self.len.get()
    }

    /// The next victim of the clock: the first member, from the hand on,
    /// that `used` says has not been used since the hand last passed (it
    /// clears the mark as it answers). Two turns at most.
    pub fn clock_victim(&self, used: impl Fn(&Code) -> bool) -> Option<&Code> {
        for _ in 0..=2 * self.len.get() {
            let code = self.advance()?;
            if !used(code) {
                return Some(code);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn codes(n: u64) -> Vec<Code> {
        // The ring reads only its own links: no pool is needed.
        (0..n)
            .map(|id| {
                let shape = crate::code::Shape { frame_bytes: 64, capacity: 64, bytes: 80, weight: 80, class: 0 };
                Code::new(crate::code::PoolLink(NonNull::dangling()), id, shape, 1, false, crate::block::Link::FAST)
            })
            .collect()
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
        cs[0].mark_used();
        let used = |c: &Code| c.take_used();
        assert_eq!(ring.clock_victim(used).map(|c| c.id), Some(1));
        assert_eq!(ring.clock_victim(used).map(|c| c.id), Some(2));
        // Code 0's mark was cleared as the hand passed: now it is a victim.
        assert_eq!(ring.clock_victim(used).map(|c| c.id), Some(0));
        assert_eq!(ring.clock_victim(used).map(|c| c.id), Some(1));
        // The hand is on code 2: unlinking it moves the hand on (to the head).
        ring.unlink(&cs[2]);
        assert_eq!(ring.clock_victim(used).map(|c| c.id), Some(0));
        cs.iter().for_each(|c| c.mark_used());
        assert_eq!(ring.clock_victim(|_| true).map(|c| c.id), None, "all in use: none");
    }
}
