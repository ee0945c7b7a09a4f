//! The donors: per size class, the codes holding two slots or more,
//! newest first, in doubly linked lists threaded through
//! `Code::donor_prev`/`donor_next`. A miss that finds no reserve frame of
//! its class takes a zombie past a donor's first (`Pool::take_spare`):
//! a frame CPython's scheme would hold in its free list, not as a zombie.
//! A code joins when its slots reach two and leaves when they drop below
//! (`Pool::note_slots`), so finding a donor costs O(1).

use crate::code::Code;
use crate::reserve::CLASSES;
use core::cell::Cell;
use core::ptr::NonNull;

pub struct Donors {
    heads: [Cell<Option<NonNull<Code>>>; CLASSES],
    /// Members of every class: the codes with something spare, room or
    /// a zombie past their first (`Pool::make_spare_room` looks for them).
    len: Cell<u32>,
}

/// A member of a list.
///
/// # Safety
/// `code` is a member, and `'a` ends before it leaves and is freed
/// (members hold slots, so they are alive: a code gives up its slots
/// before it is freed).
unsafe fn member<'a>(code: NonNull<Code>) -> &'a Code {
    // SAFETY: the caller's promise.
    unsafe { code.as_ref() }
}

impl Default for Donors {
    fn default() -> Donors {
        Donors { heads: core::array::from_fn(|_| Cell::new(None)), len: Cell::new(0) }
    }
}

impl Donors {
    pub fn len(&self) -> u32 {
        self.len.get()
    }

    /// Adds `code` at the head of its class's list.
    pub fn join(&self, code: &Code) {
        let head = &self.heads[code.class];
        code.donor_prev.set(None);
        code.donor_next.set(head.get());
        if let Some(next) = head.get() {
            // SAFETY: the head is a member; the reference ends here.
            unsafe { member(next) }.donor_prev.set(Some(NonNull::from(code)));
        }
        head.set(Some(NonNull::from(code)));
        self.len.set(self.len.get() + 1);
    }

    /// Takes `code`, a member, out of its class's list.
    pub fn leave(&self, code: &Code) {
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
        self.len.set(self.len.get() - 1);
    }

    /// The newest member of `class` other than `code`.
    pub fn first_but(&self, class: usize, code: &Code) -> Option<&Code> {
        // SAFETY: the head, and a member's next, are members.
        let first = unsafe { member(self.heads[class].get()?) };
        match core::ptr::eq(first, code) {
            // SAFETY: as above.
            true => first.donor_next.get().map(|next| unsafe { member(next) }),
            false => Some(first),
        }
    }

    /// Whether `class` has a member other than `code`.
    #[inline(always)]
    pub fn hold_for(&self, code: &Code) -> bool {
        match self.heads[code.class].get() {
            Some(head) => head != NonNull::from(code) || code.donor_next.get().is_some(),
            None => false,
        }
    }
}
