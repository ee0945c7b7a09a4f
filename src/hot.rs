//! The hit path: what a zombie hit and a cached release do, in one place.
//!
//! `ZfCodeHot` starts every `ZfCode`. The header's inline pair
//! (`zf_frame_acquire_fast`, `zf_frame_release_fast`, in `src/fast_path.h`)
//! is the C twin of `take` and `give` below, reading the same fields; the
//! exported functions run `take` and `give` first too, so every caller
//! shares one hit path, and everything else is the library's slow path.
//!
//! The fast path never touches the pool. It keeps two promises the slow
//! path relies on:
//! * `room` counts the free slots of the code's allowance, which the pool
//!   charged to its budget: a release caches only into one, so the budget
//!   holds without the pool seeing the release. A hit frees a slot.
//! * `hits` counts hits. With `room`, that tells the slow path exactly what
//!   happened since it last looked (`Code::sync`): each hit added one to
//!   `room`, each cached release took one away.
//!
//! A pool the library must watch call by call (debug mode, a trace, the
//! legacy policy) leaves this state inert, `top` NULL and `room` 0, so
//! both functions always fall through to the slow path.

use crate::block::{Block, Stack};
use core::cell::Cell;
use core::ffi::c_void;
use core::mem::{offset_of, size_of};
use core::ptr::NonNull;

/// The state the header's inline fast path reads and writes, at the start
/// of every `ZfCode`. Part of the ABI. Only the fast path and the library
/// write it, under the pool's one-thread-at-a-time rule.
#[repr(C)]
pub struct ZfCodeHot {
    /// The code's warmest zombie, or NULL: then the fast acquire calls
    /// `zf_frame_acquire`. Each zombie's block header holds the next one's
    /// frame in its first word, `ZF_HEADER_BYTES` before the frame.
    pub top: Cell<*mut c_void>,
    /// Releases the fast path may still cache: free slots of the code's
    /// allowance. 0: the fast release calls `zf_frame_release`.
    pub room: Cell<u32>,
    /// Reserved; always 0.
    pub reserved: u32,
    /// Zombie hits since the library last looked; it adds them to the
    /// pool's count and sets this back to 0.
    pub hits: Cell<u64>,
}

/// `sizeof(ZfCodeHot)`: the header checks its own layout against it.
pub const ZF_CODE_HOT_BYTES: usize = 24;
const _: () = assert!(
    size_of::<ZfCodeHot>() == ZF_CODE_HOT_BYTES
        && offset_of!(ZfCodeHot, top) == 0
        && offset_of!(ZfCodeHot, room) == 8
        && offset_of!(ZfCodeHot, hits) == 16
);

impl ZfCodeHot {
    pub fn inert() -> ZfCodeHot {
        ZfCodeHot { top: Cell::new(core::ptr::null_mut()), room: Cell::new(0), reserved: 0, hits: Cell::new(0) }
    }

    /// The stack of hot zombies, for the slow path.
    pub fn stack(&self) -> Stack<'_> {
        // SAFETY: Cell<*mut c_void> and Cell<*mut u8> have the same layout.
        Stack(unsafe { &*(&self.top as *const Cell<*mut c_void>).cast::<Cell<*mut u8>>() })
    }

    /// A zombie hit: the warmest zombie, or None. `zf_frame_acquire_fast`.
    #[inline(always)]
    pub fn take(&self) -> Option<NonNull<u8>> {
        let block = self.stack().pop()?;
        self.room.set(self.room.get() + 1);
        self.hits.set(self.hits.get() + 1);
        Some(block.frame())
    }

    /// A cached release: the frame becomes the warmest zombie, if the
    /// allowance has room. `zf_frame_release_fast`.
    ///
    /// # Safety
    /// `frame` is a live frame of this code.
    #[inline(always)]
    pub unsafe fn give(&self, frame: NonNull<u8>) -> bool {
        let room = self.room.get();
        if room == 0 {
            return false;
        }
        // SAFETY: by the contract, a live frame of ours.
        self.stack().push(unsafe { Block::from_frame(frame) });
        self.room.set(room - 1);
        true
    }
}
