//! The hit path: what a zombie hit and a cached release do, in one place.
//!
//! `ZfCodeHot` starts every `ZfCode`, or, for a code from
//! `zf_code_new_with_hot`, lives in the caller's memory
//! (`Code::inline_state` says where). The header's inline halves
//! (`zf_hot_hit`, `zf_hot_give`, in `src/fast_path.h`) are the C twins
//! of `take` and `give` below, reading the same fields; the exported
//! functions run `take` and `give` first too, so every caller shares one
//! hit path, and everything else is the library's slow path.
//!
//! A code's free units of allowance (slots the pool charged to its bound
//! and no zombie fills) are of two kinds: `slot` when it is NULL, and
//! `room`. A release fills an empty slot before it pushes onto the stack;
//! a hit takes the slot's zombie before it pops the stack. So a code with
//! one frame at a time lives in the slot at what CPython's own zombie
//! costs (a load, a test, a store) plus a count, and a recursion's frames
//! pay the slot's test on top of a push and a pop. A code's zombies are
//! blocks of one size, so which one a hit gets does not matter.
//!
//! The fast path never touches the pool. It keeps two promises the slow
//! path relies on:
//! * it caches only into a free unit, which the pool charged to its bound:
//!   the bound holds without the pool seeing the release;
//! * `hits` counts hits. With the free units, that tells the slow path
//!   exactly what happened since it last looked (`Code::sync`): each hit
//!   freed one unit, each cached release filled one.
//!
//! A slot the code has no unit for holds `ZF_SLOT_SHUT`: neither function
//! uses it. A pool the library must watch call by call (debug mode, a
//! trace, the legacy policy) leaves this state inert (`slot` shut, `top`
//! NULL, `room` 0), so both functions always fall through to the slow path.

use crate::block::{Block, Link, Stack};
use crate::stats::ZfStats;
use core::cell::Cell;
use core::ffi::c_void;
use core::mem::{offset_of, size_of};
use core::ptr::NonNull;

/// The state the header's inline fast path reads and writes, at the start
/// of every `ZfCode` (or the caller's own: `zf_code_new_with_hot`). Part
/// of the ABI. Only the fast path and the library write it, under the
/// pool's one-thread-at-a-time rule.
#[repr(C)]
pub struct ZfCodeHot {
    /// The top of the code's stack of zombies, or NULL. The word just
    /// before each zombie's frame holds the next one's frame.
    pub top: Cell<*mut c_void>,
    /// Free units of the allowance besides the slot: releases the stack may
    /// still take.
    pub room: Cell<u32>,
    /// Reserved; always 0.
    pub reserved: u32,
    /// Zombie hits since the library last looked; it adds them to the
    /// pool's count and sets this back to 0.
    pub hits: Cell<u64>,
    /// A zombie beside the stack; NULL: a free unit; `ZF_SLOT_SHUT`: no
    /// unit. A release and a hit both try it first.
    pub slot: Cell<*mut c_void>,
}

/// `sizeof(ZfCodeHot)`: the header checks its own layout against it.
pub const ZF_CODE_HOT_BYTES: usize = 32;
const _: () = assert!(
    size_of::<ZfCodeHot>() == ZF_CODE_HOT_BYTES
        && offset_of!(ZfCodeHot, top) == 0
        && offset_of!(ZfCodeHot, room) == 8
        && offset_of!(ZfCodeHot, hits) == 16
        && offset_of!(ZfCodeHot, slot) == 24
);

/// `ZfCodeHot.slot` when the code has no free unit there: the fast release
/// leaves it to the library. No frame has this address.
pub const ZF_SLOT_SHUT: usize = 1;

fn shut() -> *mut c_void {
    ZF_SLOT_SHUT as *mut c_void
}

impl ZfCodeHot {
    pub fn inert() -> ZfCodeHot {
        ZfCodeHot {
            top: Cell::new(core::ptr::null_mut()),
            room: Cell::new(0),
            reserved: 0,
            hits: Cell::new(0),
            slot: Cell::new(shut()),
        }
    }

    /// Whether it holds nothing and has no unit: `inert`'s state.
    pub fn is_inert(&self) -> bool {
        self.top.get().is_null() && self.room.get() == 0 && self.hits.get() == 0 && self.slot.get() == shut()
    }

    /// Makes it inert again (a debug pool's repair: `Pool::vet_hot`).
    pub fn make_inert(&self) {
        self.top.set(core::ptr::null_mut());
        self.room.set(0);
        self.hits.set(0);
        self.slot.set(shut());
    }

    /// The slot's zombie, if it holds one.
    pub fn slot_zombie(&self) -> Option<NonNull<u8>> {
        let slot = self.slot.get();
        NonNull::new(slot.cast::<u8>()).filter(|_| slot != shut())
    }

    /// Whether the slot is a free unit (NULL).
    pub fn slot_free(&self) -> bool {
        self.slot.get().is_null()
    }

    /// Free units: releases the fast path may still cache.
    pub fn free_units(&self) -> u32 {
        self.room.get() + self.slot_free() as u32
    }

    /// One more free unit: the slot, if it has none, else room.
    pub fn add_unit(&self) {
        match self.slot.get() == shut() {
            true => self.slot.set(core::ptr::null_mut()),
            false => self.room.set(self.room.get() + 1),
        }
    }

    /// Gives a shut slot one of the free room units, if there is one, so
    /// that the next release takes the short way (the free units stay as
    /// they are).
    pub fn open_slot(&self) {
        if self.slot.get() == shut() && self.room.get() > 0 {
            self.room.set(self.room.get() - 1);
            self.slot.set(core::ptr::null_mut());
        }
    }

    /// Takes back up to `most` free units, room first; returns how many.
    pub fn take_free_units(&self, most: u32) -> u32 {
        let room = self.room.get().min(most);
        self.room.set(self.room.get() - room);
        let slot = room < most && self.slot_free();
        if slot {
            self.slot.set(shut());
        }
        room + slot as u32
    }

    /// The slot's zombie as a block, if it holds one.
    pub fn slot_block(&self) -> Option<Block> {
        // SAFETY: the slot holds only frames of this code the library made.
        self.slot_zombie().map(|frame| unsafe { Block::from_frame(frame) })
    }

    /// Takes the zombie out of the slot, leaving it shut (or open, if a
    /// room unit can move in): the free units stay as they are.
    pub fn remove_slot_block(&self) -> Option<Block> {
        let block = self.slot_block()?;
        self.slot.set(shut());
        self.open_slot();
        Some(block)
    }

    /// The stack of hot zombies, linked `at` their pool's `Layout::link`
    /// (`Link::FAST` wherever the fast path reads it).
    pub fn stack(&self, at: Link) -> Stack<'_> {
        // SAFETY: Cell<*mut c_void> and Cell<*mut u8> have the same layout.
        Stack::new(unsafe { &*(&self.top as *const Cell<*mut c_void>).cast::<Cell<*mut u8>>() }, at)
    }

    /// A zombie hit: the slot's zombie, else the stack's top, or None.
    /// `zf_frame_hit_fast` (with `Link::FAST`).
    #[inline(always)]
    pub fn take(&self, at: Link) -> Option<NonNull<u8>> {
        let frame = match self.slot_zombie() {
            Some(frame) => {
                self.slot.set(core::ptr::null_mut());
                frame
            }
            None => {
                let block = self.stack(at).pop()?;
                self.room.set(self.room.get() + 1);
                block.frame()
            }
        };
        self.hits.set(self.hits.get() + 1);
        Some(frame)
    }

    /// A cached release: the frame fills the slot if it is free, else goes
    /// on the stack if there is room. `zf_frame_give_fast` (with
    /// `Link::FAST`).
    ///
    /// # Safety
    /// `frame` is a live frame of this code, whose pool links blocks `at`.
    #[inline(always)]
    pub unsafe fn give(&self, frame: NonNull<u8>, at: Link) -> bool {
        if self.slot_free() {
            self.slot.set(frame.as_ptr().cast());
            return true;
        }
        let room = self.room.get();
        if room == 0 {
            return false;
        }
        // SAFETY: by the contract, a live frame of ours.
        self.stack(at).push(unsafe { Block::from_frame(frame) });
        self.room.set(room - 1);
        true
    }
}

/// What the fast path did on one code since the library last looked.
pub struct Work {
    pub hits: u64,
    pub releases: u64,
    /// The code's block size.
    pub bytes: u64,
}

impl Work {
    /// Adds this work to a snapshot of the pool's counters.
    pub fn add_to(&self, s: &mut ZfStats) {
        s.zombie_hits += self.hits;
        s.acquires += self.hits;
        s.releases += self.releases;
        s.live_frames = s.live_frames + self.hits - self.releases;
        // Cached releases moved bytes from the allowance into zombies, hits back.
        s.cached_frames = s.cached_frames + self.releases - self.hits;
        s.cached_bytes = s.cached_bytes + self.releases * self.bytes - self.hits * self.bytes;
        s.allowance_bytes = s.allowance_bytes + self.hits * self.bytes - self.releases * self.bytes;
    }
}
