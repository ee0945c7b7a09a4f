//! Debug mode (`ZF_FLAG_DEBUG`): what the checks work from (the record of
//! frames, the guard, the checksum), the kinds of misuse, and the handler
//! that receives reports; the checks themselves are the pool's
//! (`pool/checked.rs`). The default handler does what `Py_FatalError`
//! does: one line on stderr, then abort().
//!
//! A debug pool keeps a record of every frame it handed out (an open
//! addressing table keyed by address, in memory from the pool's heap), so a
//! release is checked without reading memory that may not be ours:
//! unknown pointer, already a zombie, other code. Each frame gets a guard
//! of at least `GUARD_BYTES` after it (the blocks are that much larger),
//! checked at release; each zombie gets a checksum of its bytes at release,
//! checked before it is handed out again (a zombie that fails is freed, not
//! handed out). Frames that are not zombies come filled with 0xCD, as
//! `PYTHONMALLOC=debug` does. An atomic owner word catches a second thread inside
//! the pool (`Pool::claim`, and the checked acquire and release). The
//! non-debug paths only test the flag.

use crate::block::{Block, Heap, ALIGN};
use crate::code::Code;
use crate::os;
use crate::table::FrameTable;
use core::cell::Cell;
use core::ffi::{c_char, c_int, c_void};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

/// A frame was released twice.
pub const ZF_ERR_DOUBLE_RELEASE: c_int = 1;
/// A frame was released to a code other than the one it was acquired for.
pub const ZF_ERR_WRONG_CODE: c_int = 2;
/// A pointer that is no frame of this pool was released: never handed
/// out by it, or its block already freed.
pub const ZF_ERR_FOREIGN_POINTER: c_int = 3;
/// A zombie was written to after its release.
pub const ZF_ERR_WRITE_AFTER_RELEASE: c_int = 4;
/// Bytes past the end of a frame were written.
pub const ZF_ERR_OVERRUN: c_int = 5;
/// Two threads were inside the pool at the same moment.
pub const ZF_ERR_CONCURRENT_USE: c_int = 6;
/// Frames were still live when the pool was freed.
pub const ZF_ERR_LEAK: c_int = 7;
/// A code was used after `zf_code_free`: freed again, or a frame acquired on it.
pub const ZF_ERR_FREED_CODE: c_int = 8;
/// The bytes just before a live frame (the pool's header) were written.
pub const ZF_ERR_UNDERRUN: c_int = 9;
/// A pool was used after `zf_pool_free`, while its codes kept its memory:
/// freed again, or any call that takes the pool.
pub const ZF_ERR_FREED_POOL: c_int = 10;

/// A code's inline state (`ZfCodeHot`), which a debug pool keeps inert,
/// was written by something other than the inline functions and the
/// library (the caller's, from `zf_code_new_with_hot`, zeroed, say).
pub const ZF_ERR_CODE_HOT: c_int = 11;

/// Receives a misuse report. When it returns, the library goes on safely.
pub type ZfErrorHandler = Option<unsafe extern "C" fn(ctx: *mut c_void, kind: c_int, message: *const c_char)>;

pub fn kind_name(kind: c_int) -> &'static str {
    match kind {
        ZF_ERR_DOUBLE_RELEASE => "double release",
        ZF_ERR_WRONG_CODE => "release to the wrong code",
        ZF_ERR_FOREIGN_POINTER => "foreign pointer",
        ZF_ERR_WRITE_AFTER_RELEASE => "write after release",
        ZF_ERR_OVERRUN => "write past the end of a frame",
        ZF_ERR_CONCURRENT_USE => "concurrent use",
        ZF_ERR_LEAK => "leak",
        ZF_ERR_FREED_CODE => "use of a freed code",
        ZF_ERR_UNDERRUN => "write before the start of a frame",
        ZF_ERR_FREED_POOL => "use of a freed pool",
        ZF_ERR_CODE_HOT => "inline state written",
        _ => "misuse",
    }
}

#[derive(Clone, Copy)]
pub struct Handler {
    pub func: ZfErrorHandler,
    pub ctx: *mut c_void,
}

impl Default for Handler {
    fn default() -> Self {
        Handler { func: None, ctx: core::ptr::null_mut() }
    }
}

impl Handler {
    pub fn report(self, kind: c_int, message: &str) {
        let line = format!("zombie-frames: {}: {message}", kind_name(kind));
        match self.func {
            Some(f) => {
                // A C string: each NUL inside becomes a space, one search
                // at a time (`str::replace`, or a loop over every byte, is
                // vectorized: 400 bytes more of the library for a message).
                let mut text = line.into_bytes();
                while let Some(nul) = text.iter_mut().find(|b| **b == 0) {
                    *nul = b' ';
                }
                text.push(0);
                // SAFETY: the caller registered `f` for this pool with `ctx`;
                // `text` outlives the call.
                unsafe { f(self.ctx, kind, text.as_ptr().cast()) }
            }
            None => {
                // What the message says follows only if a handler returns.
                os::eprint(format_args!("{line} (no handler set: abort)\n"));
                os::abort();
            }
        }
    }
}

/// Bytes after each frame that a debug pool fills and checks, at least.
const GUARD_BYTES: usize = 16;
pub(crate) const GUARD_BYTE: u8 = 0xFD;
/// What a debug pool fills a frame with when it is not a zombie.
pub(crate) const CLEAN_BYTE: u8 = 0xCD;

/// The frame size a pool's blocks are made for: debug pools add the
/// guard. Public for tests that model the pool's accounting.
#[doc(hidden)]
pub fn block_frame_bytes(frame_bytes: usize, debug: bool) -> usize {
    if debug {
        frame_bytes + GUARD_BYTES
    } else {
        frame_bytes
    }
}

/// The bytes the caller may use in a frame of `code`.
pub(crate) fn user_bytes(code: &Code) -> usize {
    code.frame_bytes() - GUARD_BYTES
}

/// What the record knows of one frame.
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    /// The code it was handed to; for a zombie, the list it is in: its
    /// code's, the reserve's (`Pool::mark_retired`), or none (dangling:
    /// cut off, `Pool::forget_lost`). Read only while the frame is live
    /// (a live frame keeps its code); a zombie may outlive its code.
    pub(crate) code: NonNull<Code>,
    /// That code's number and frame size, for messages.
    pub(crate) id: u64,
    pub(crate) bytes: u32,
    pub(crate) live: bool,
    /// A zombie's checksum, taken at its release.
    pub(crate) sum: u64,
    /// Its block's size words (`Heap::size_words`) as the pool made them:
    /// the checks size the frame by these, never by the header's words,
    /// which sit just before the frame, in reach of a stray write.
    pub(crate) size: (u32, u32),
}

impl Default for Entry {
    fn default() -> Entry {
        Entry { code: NonNull::dangling(), id: 0, bytes: 0, live: false, sum: 0, size: (0, 0) }
    }
}

impl Entry {
    /// The code of a live frame; None for a zombie, whose code may be gone.
    pub(crate) fn live_code(&self) -> Option<&Code> {
        if !self.live {
            return None;
        }
        // SAFETY: a live frame keeps its code alive.
        Some(unsafe { self.code.as_ref() })
    }

    /// A frame handed out to `code` in a block of these size words.
    pub(crate) fn live(code: &Code, size: (u32, u32)) -> Entry {
        let bytes = user_bytes(code) as u32; // at most ZF_MAX_FRAME_BYTES
        Entry { code: NonNull::from(code), id: code.id, bytes, live: true, sum: 0, size }
    }

    /// The frame bytes its block holds, the prefix included.
    pub(crate) fn capacity(&self) -> usize {
        self.size.0 as usize
    }

    pub(crate) fn who(&self) -> Who {
        Who(self.id, self.bytes as usize)
    }
}

/// The calls inside a debug pool whose names a report can give.
const CALLS_NAMED: usize = 4;

/// Every frame of a debug pool, live or zombie, by address, and the
/// thread inside the pool now.
pub(crate) struct Record {
    pub(crate) frames: FrameTable<Entry>,
    /// Structs of freed codes with no live frame left, kept while the
    /// pool's memory lives: their handles stay readable, so a second
    /// `zf_code_free` or an acquire on one is reported, not a use after
    /// free. A list through their `next` (`keep_dead`, `take_dead`).
    dead_codes: Cell<Option<NonNull<Code>>>,
    /// The thread inside the pool (its pthread_self), or 0.
    owner: AtomicUsize,
    /// How deep the owner is inside (a handler or hook may call back in);
    /// only the owner writes it. While it is not 0 the pool stays
    /// (`Pool::free_if_unused`).
    depth: Cell<u32>,
    /// The owner's calls inside, outermost first, by depth (`enter`): a
    /// report made deep in the innermost's work (an eviction, a sweep)
    /// names it. Two handler calls, one inside the other's, and a hook's
    /// inside that make four; deeper ones are refused, and go unnamed.
    calls: [Cell<&'static str>; CALLS_NAMED],
    /// The depth of the call whose report the handler is running, or 0
    /// (`Pool::report`).
    pub(crate) reporting: Cell<u32>,
    /// `zf_pool_free` is reporting leaks: its handler may free codes
    /// (`Pool::close`, `Pool::nested`).
    pub(crate) closing: Cell<bool>,
    /// Handler calls running now, one inside another's call at most
    /// (`Pool::report`).
    pub(crate) told: Cell<u32>,
}

impl Record {
    pub fn new(heap: Heap) -> Record {
        Record {
            frames: FrameTable::new(heap, "the debug record of frames"),
            dead_codes: Cell::new(None),
            owner: AtomicUsize::new(0),
            depth: Cell::new(0),
            calls: [const { Cell::new("") }; CALLS_NAMED],
            reporting: Cell::new(0),
            closing: Cell::new(false),
            told: Cell::new(0),
        }
    }

    /// Keeps a dead code's struct (out of the ring: its `next` is free for
    /// this list). Nothing to allocate, so nothing can fail and let a
    /// second `zf_code_free` go unseen.
    ///
    /// # Safety
    /// `code` is a dead code's struct (freed, no live frame), not freed
    /// until `take_dead` hands it back.
    pub(crate) unsafe fn keep_dead(&self, code: NonNull<Code>) {
        // SAFETY: alive by the contract.
        unsafe { code.as_ref() }.next.set(self.dead_codes.replace(Some(code)));
    }

    /// The next dead code's struct kept, taken off the list.
    pub(crate) fn take_dead(&self) -> Option<NonNull<Code>> {
        let code = self.dead_codes.get()?;
        // SAFETY: kept by `keep_dead`, not freed since.
        self.dead_codes.set(unsafe { code.as_ref() }.next.get());
        Some(code)
    }

    pub(crate) fn live(&self) -> impl Iterator<Item = (usize, Entry)> + '_ {
        self.frames.iter().filter(|(_, e)| e.live)
    }

    /// Claims the pool for this thread; false if another thread is inside.
    /// Re-entry from the same thread (a handler or hook calling back) is
    /// not concurrency: the pool stays this thread's until the outer
    /// call leaves.
    pub(crate) fn enter(&self, function: &'static str) -> bool {
        let me = os::thread_id();
        match self.owner.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
            Err(owner) if owner != me => return false,
            _ => self.depth.set(self.depth.get() + 1),
        }
        if let Some(name) = self.calls.get(self.depth.get() as usize - 1) {
            name.set(function);
        }
        true
    }

    /// The call whose work is running now: the innermost inside.
    pub(crate) fn current_call(&self) -> Option<&'static str> {
        let depth = self.depth.get().checked_sub(1)?;
        self.calls.get(depth as usize).map(Cell::get)
    }

    /// How many calls of the owner are inside (`enter`, less `leave`).
    pub(crate) fn depth(&self) -> u32 {
        self.depth.get()
    }

    /// Whether the owner's innermost call is one its handler made (not
    /// one made inside that, by an allocator hook).
    pub(crate) fn in_handler_call(&self) -> bool {
        let at = self.reporting.get();
        at != 0 && self.depth.get() == at + 1
    }

    /// The end of what `enter` began.
    pub(crate) fn leave(&self) {
        self.depth.set(self.depth.get() - 1);
        if self.depth.get() == 0 {
            self.owner.store(0, Ordering::Release);
        }
    }
}

/// Where a block's frame starts (its prefix's first byte), and the bytes
/// it holds from there, for a block of `capacity` (`Entry::capacity`).
pub(crate) fn frame_span(heap: &Heap, block: Block, capacity: usize) -> (*mut u8, usize) {
    // A debug pool is watched: its blocks always carry their size, and
    // their link (`Layout::link`), outside the span.
    debug_assert!(heap.layout.headered());
    let prefix = heap.layout.prefix();
    // SAFETY: the prefix is part of the block, before the frame pointer.
    let start = unsafe { block.frame().as_ptr().sub(prefix) };
    (start, capacity.next_multiple_of(ALIGN))
}

/// A checksum of every frame byte of a block, its prefix and guard
/// included (a debug pool's blocks keep their link in the header, out of
/// the frame: `Layout::link`): 64-bit words, multiply and rotate. It
/// needs nothing but the block.
#[inline(never)]
pub(crate) fn checksum(heap: &Heap, block: Block, capacity: usize) -> u64 {
    let (start, span) = frame_span(heap, block, capacity);
    // SAFETY: the block holds `span` frame bytes from `start`, all
    // initialised (fresh frames are filled, guards too) and ours while it
    // is a zombie.
    let bytes = unsafe { core::slice::from_raw_parts(start, span) };
    let mut h = span as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().unwrap())).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    }
    for &b in words.remainder() {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01B3);
    }
    h
}

/// The guard of a block of `capacity` handed out for `code`: its user
/// bytes' end to the block's end.
///
/// # Safety
/// The block's bytes are the pool's for `'a` (a frame being handed out or
/// taken back), and nothing else refers to them meanwhile.
pub(crate) unsafe fn guard<'a>(heap: &Heap, block: Block, code: &Code, capacity: usize) -> &'a mut [u8] {
    let (frame, end) = frame_span(heap, block, capacity);
    let start = user_bytes(code);
    // SAFETY: `start` < `end`, and the block holds `end` frame bytes (it
    // was made for at least this code's padded size).
    let first = unsafe { frame.add(start) };
    // SAFETY: those bytes, which the caller owns for 'a.
    unsafe { core::slice::from_raw_parts_mut(first, end - start) }
}

pub(crate) fn describe(code: &Code) -> Who {
    Who(code.id, user_bytes(code))
}

/// A code as reports name it, `code #<id> (<bytes> bytes)`: written into
/// each message, never a String of its own.
#[derive(Clone, Copy)]
pub(crate) struct Who(u64, usize);

impl core::fmt::Display for Who {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "code #{} ({} bytes)", self.0, self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_name_of_its_own() {
        let names: Vec<&str> = (1..=ZF_ERR_CODE_HOT).map(kind_name).collect();
        assert!(!names.contains(&"misuse"), "{names:?}");
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
    }
}
