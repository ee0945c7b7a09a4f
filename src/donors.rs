//! The donors: per size class, the codes that reached two slots, the
//! latest first, in doubly linked lists threaded through
//! `Code::donor_prev`/`donor_next`. A miss that finds no reserve frame of
//! its class takes a zombie past a donor's first (`Pool::take_spare`):
//! a frame CPython's scheme would hold in its free list, not as a zombie.
//!
//! A code joins, or moves to the head, when a grant gives it its second
//! slot; it leaves when a miss finds it below two (so the slow paths that
//! take slots away do no list work) and when it is freed.

use crate::code::Code;
use crate::reserve::CLASSES;
use core::cell::Cell;
use core::ptr::NonNull;

pub struct Donors {
    heads: [Cell<Option<NonNull<Code>>>; CLASSES],
}

/// A member of a list.
///
/// # Safety
/// `code` is a member, and `'a` ends before it leaves and is freed
/// (codes leave before they are freed: `Pool::free_code`).
unsafe fn member<'a>(code: NonNull<Code>) -> &'a Code {
    // SAFETY: the caller's promise.
    unsafe { code.as_ref() }
}

impl Default for Donors {
    fn default() -> Donors {
        Donors { heads: core::array::from_fn(|_| Cell::new(None)) }
    }
}

impl Donors {
    /// `code` got its second slot: it heads its class's list.
    #[cold]
    pub fn join(&self, code: &Code) {
        self.leave(code);
        let head = &self.heads[code.class];
        code.donor_prev.set(None);
        code.donor_next.set(head.get());
        if let Some(next) = head.get() {
            // SAFETY: the head is a member; the reference ends here.
            unsafe { member(next) }.donor_prev.set(Some(NonNull::from(code)));
        }
        head.set(Some(NonNull::from(code)));
        code.in_donors.set(true);
    }

    /// Takes `code` out of its class's list, if it is in.
    pub fn leave(&self, code: &Code) {
        if !code.in_donors.replace(false) {
            return;
        }
        let (prev, next) = (code.donor_prev.get(), code.donor_next.get());
        match prev {
            // SAFETY: `code`'s neighbours are members; the references end here.
            Some(p) => unsafe { member(p) }.donor_next.set(next),
            None => self.heads[code.class].set(next),
        }
        if let Some(n) = next {
            // SAFETY: as above.
            unsafe { member(n) }.donor_prev.set(prev);
        }
    }

    /// The latest member of `class` other than `code`.
    pub fn first_but(&self, class: usize, code: &Code) -> Option<&Code> {
        // SAFETY: the head, and a member's next, are members.
        let first = unsafe { member(self.heads[class].get()?) };
        match core::ptr::eq(first, code) {
            // SAFETY: as above.
            true => first.donor_next.get().map(|next| unsafe { member(next) }),
            false => Some(first),
        }
    }

    /// Whether `code`'s class has a member other than `code`.
    #[inline(always)]
    pub fn hold_for(&self, code: &Code) -> bool {
        match self.heads[code.class].get() {
            Some(head) => head != NonNull::from(code) || code.donor_next.get().is_some(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Codes 0 to n-1, of class `class(id)`; the lists read only their own links.
    fn codes(n: u64, class: impl Fn(u64) -> usize) -> Vec<Code> {
        (0..n)
            .map(|id| {
                let shape =
                    crate::code::Shape { frame_bytes: 64, capacity: 64, bytes: 80, ran_bytes: 80, class: class(id) };
                Code::new(crate::code::PoolLink(NonNull::dangling()), id, shape, 1, false, crate::block::Link::FAST)
            })
            .collect()
    }

    fn first(d: &Donors, class: usize, but: &Code) -> Option<u64> {
        d.first_but(class, but).map(|c| c.id)
    }

    #[test]
    fn the_latest_to_join_comes_first_and_a_code_never_finds_itself() {
        let cs = codes(4, |id| (id == 3) as usize);
        let d = Donors::default();
        cs.iter().for_each(|c| d.join(c));
        assert_eq!((first(&d, 0, &cs[3]), first(&d, 0, &cs[2]), first(&d, 1, &cs[0])), (Some(2), Some(1), Some(3)));
        assert!(d.hold_for(&cs[0]) && !d.hold_for(&cs[3]), "code 3 is alone in its class");
        d.join(&cs[0]); // again: to the head
        assert_eq!(first(&d, 0, &cs[3]), Some(0));
        d.leave(&cs[0]);
        d.leave(&cs[0]); // not in: nothing
        d.leave(&cs[1]); // from the middle
        assert_eq!((first(&d, 0, &cs[3]), first(&d, 0, &cs[2])), (Some(2), None));
        assert!(!d.hold_for(&cs[2]));
        d.leave(&cs[2]);
        d.leave(&cs[3]);
        assert_eq!((first(&d, 0, &cs[3]), first(&d, 1, &cs[0])), (None, None));
    }
}
