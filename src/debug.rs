//! Debug mode (`ZF_FLAG_DEBUG`): the checks, the kinds of misuse, and the
//! handler that receives reports. The default handler does what
//! `Py_FatalError` does: one line on stderr, then abort().
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
//! acquire or release. The non-debug paths only test the flag.

use crate::block::{Block, Heap, ALIGN};
use crate::code::Code;
use crate::error::Error;
use crate::pool::Pool;
use crate::table::FrameTable;
use crate::os;
use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

/// A frame was released twice.
pub const ZF_ERR_DOUBLE_RELEASE: c_int = 1;
/// A frame was released to a code other than the one it was acquired for.
pub const ZF_ERR_WRONG_CODE: c_int = 2;
/// A pointer that never came from this pool was released.
pub const ZF_ERR_FOREIGN_POINTER: c_int = 3;
/// A zombie was written to after its release.
pub const ZF_ERR_WRITE_AFTER_RELEASE: c_int = 4;
/// Bytes past the end of a frame were written.
pub const ZF_ERR_OVERRUN: c_int = 5;
/// Two threads were inside the pool at the same moment.
pub const ZF_ERR_CONCURRENT_USE: c_int = 6;
/// Frames were still live when the pool was freed.
pub const ZF_ERR_LEAK: c_int = 7;

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
                let text = CString::new(line.replace('\0', " ")).unwrap_or_default();
                // SAFETY: the caller registered `f` for this pool with `ctx`;
                // `text` outlives the call.
                unsafe { f(self.ctx, kind, text.as_ptr()) }
            }
            None => {
                os::eprint(format_args!("{line}\n"));
                os::abort();
            }
        }
    }
}

/// Bytes after each frame that a debug pool fills and checks, at least.
const GUARD_BYTES: usize = 16;
const GUARD_BYTE: u8 = 0xFD;
/// What a debug pool fills a frame with when it is not a zombie.
const CLEAN_BYTE: u8 = 0xCD;

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
fn user_bytes(code: &Code) -> usize {
    code.frame_bytes - GUARD_BYTES
}

/// What the record knows of one frame.
#[derive(Clone, Copy)]
struct Entry {
    /// The code it was handed to. Read only while the frame is live (a
    /// live frame keeps its code); a zombie may outlive its code.
    code: NonNull<Code>,
    /// That code's number and frame size, for messages.
    id: u64,
    bytes: u32,
    live: bool,
    /// A zombie's checksum, taken at its release.
    sum: u64,
}

impl Default for Entry {
    fn default() -> Entry {
        Entry { code: NonNull::dangling(), id: 0, bytes: 0, live: false, sum: 0 }
    }
}

impl Entry {
    fn live(code: &Code) -> Entry {
        let bytes = user_bytes(code) as u32; // at most ZF_MAX_FRAME_BYTES
        Entry { code: NonNull::from(code), id: code.id, bytes, live: true, sum: 0 }
    }

    fn who(&self) -> String {
        format!("code #{} ({} bytes)", self.id, self.bytes)
    }
}

/// Every frame of a debug pool, live or zombie, by address, and the
/// thread inside the pool now.
pub(crate) struct Record {
    frames: FrameTable<Entry>,
    /// The thread inside acquire or release (its pthread_self), or 0.
    owner: AtomicUsize,
}

impl Record {
    pub fn new(heap: Heap) -> Record {
        Record { frames: FrameTable::new(heap, "the debug record of frames"), owner: AtomicUsize::new(0) }
    }

    fn live(&self) -> impl Iterator<Item = (usize, Entry)> + '_ {
        self.frames.iter().filter(|(_, e)| e.live)
    }

    /// Claims the pool for this thread; false if another thread is inside.
    fn enter(&self) -> bool {
        // SAFETY: pthread_self has no preconditions; its value names this thread.
        let me = unsafe { libc::pthread_self() } as usize;
        match self.owner.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => true,
            // Re-entry from the same thread (a handler or hook calling back) is not concurrency.
            Err(owner) => owner == me,
        }
    }

    fn leave(&self) {
        self.owner.store(0, Ordering::Release);
    }
}

/// A checksum of every frame byte of a block, guard included (64-bit
/// words, multiply and rotate): it needs nothing but the block.
fn checksum(block: Block) -> u64 {
    let len = block.capacity().next_multiple_of(ALIGN);
    // SAFETY: the block holds `len` frame bytes, all initialised (fresh
    // frames are filled, guards too) and ours while it is a zombie.
    let bytes = unsafe { core::slice::from_raw_parts(block.frame().as_ptr(), len) };
    let mut h = len as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().unwrap())).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    }
    for &b in words.remainder() {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01B3);
    }
    h
}

/// The guard of a block handed out for `code`: its user bytes' end to the block's end.
///
/// # Safety
/// The block's bytes are the pool's for `'a` (a frame being handed out or
/// taken back), and nothing else refers to them meanwhile.
unsafe fn guard<'a>(block: Block, code: &Code) -> &'a mut [u8] {
    let start = user_bytes(code);
    let end = block.capacity().next_multiple_of(ALIGN);
    // SAFETY: `start` < `end`, and the block holds `end` frame bytes (it
    // was made for at least this code's padded size).
    let first = unsafe { block.frame().as_ptr().add(start) };
    // SAFETY: those bytes, which the caller owns for 'a.
    unsafe { core::slice::from_raw_parts_mut(first, end - start) }
}

fn describe(code: &Code) -> String {
    format!("code #{} ({} bytes)", code.id, user_bytes(code))
}

/// The code of a live frame.
fn code_ref(entry: &Entry) -> &Code {
    debug_assert!(entry.live);
    // SAFETY: a live frame keeps its code alive.
    unsafe { entry.code.as_ref() }
}

impl Pool {
    #[inline]
    pub(crate) fn forget_if_debug(&self, block: Block) {
        if self.cfg.debug() {
            self.record.frames.remove(block.frame().as_ptr() as usize);
        }
    }

    fn concurrent(&self, function: &'static str, code: &Code) -> Error {
        let why = "another thread is inside this pool (the caller must hold the pool's lock, e.g. the GIL)";
        self.report(ZF_ERR_CONCURRENT_USE, &format!("{function} on {}: {why}", describe(code)));
        Error::Invalid { function, why: why.into() }
    }

    /// `acquire` in debug mode: zombies that fail their checksum are freed,
    /// the frame handed out is recorded and its guard filled.
    #[cold]
    #[inline(never)]
    pub(crate) fn checked_acquire(&self, code: &Code) -> Result<(NonNull<u8>, bool), Error> {
        if !self.record.enter() {
            return Err(self.concurrent("zf_frame_acquire", code));
        }
        let got = self.record.frames.reserve().and_then(|()| {
            self.drop_corrupt_zombies(code);
            self.acquire_unchecked(code)
        });
        if let Ok((frame, hit)) = got {
            self.record.frames.set(frame.as_ptr() as usize, Entry::live(code));
            if !hit {
                // Like PYTHONMALLOC=debug: no byte a checksum reads is ever uninitialised.
                // SAFETY: a frame just handed out, of at least this many bytes.
                unsafe { frame.as_ptr().write_bytes(CLEAN_BYTE, user_bytes(code)) };
            }
            // SAFETY: a frame just handed out, so a block of ours.
            let block = unsafe { Block::from_frame(frame) };
            // SAFETY: the caller gets the frame only when this returns.
            unsafe { guard(block, code) }.fill(GUARD_BYTE);
        }
        self.record.leave();
        got
    }

    /// Frees the zombies an acquire would take next whose bytes changed
    /// since their release (a miss checks what it takes from the shared list).
    fn drop_corrupt_zombies(&self, code: &Code) {
        while code.peek().is_some_and(|b| self.corrupt_zombie(b)) {
            self.sync(code);
            if let Some(bad) = self.drop_zombie(code, false) {
                self.free_block(bad);
            }
        }
    }

    /// Whether a zombie's bytes changed since its release; reports it.
    pub(crate) fn corrupt_zombie(&self, block: Block) -> bool {
        let frame = block.frame();
        let Some(e) = self.record.frames.get(frame.as_ptr() as usize).filter(|e| !e.live) else { return false };
        if checksum(block) == e.sum {
            return false;
        }
        let msg = format!("frame {frame:p} of {}: its bytes changed after its release; freed, not handed out", e.who());
        self.report(ZF_ERR_WRITE_AFTER_RELEASE, &msg);
        true
    }

    /// `release` in debug mode. A pointer that is not a live frame of this
    /// pool is reported and left alone; a frame released to the wrong code
    /// goes to its own.
    ///
    /// # Safety
    /// `code` is a live code (the rest of `release`'s contract is checked).
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn checked_release(code: NonNull<Code>, frame: NonNull<u8>) {
        // SAFETY: `code` is alive by the contract.
        let c = unsafe { code.as_ref() };
        let p = c.pool();
        if !p.record.enter() {
            p.concurrent("zf_frame_release", c);
            return;
        }
        let Some(owner) = p.vet_release(c, frame) else {
            p.record.leave();
            return;
        };
        // Releasing the last frame of a freed pool's last code frees the pool.
        let pool_goes = p.closed.get() && p.n.codes.get() == 0 && p.n.live_frames.get() == 1;
        // SAFETY: `frame` is a live frame of `owner` (the record says so).
        unsafe { Pool::release_unchecked(owner, frame) };
        if !pool_goes {
            p.record.leave();
        }
    }

    /// Checks a release against the record and the guard; records the
    /// zombie's checksum. The code to release to, or None to ignore it.
    fn vet_release(&self, code: &Code, frame: NonNull<u8>) -> Option<NonNull<Code>> {
        let addr = frame.as_ptr() as usize;
        let Some(entry) = self.record.frames.get(addr) else {
            let msg = format!("zf_frame_release({}, {frame:p}): not a frame of this pool (never handed out, or already freed); ignored", describe(code));
            self.report(ZF_ERR_FOREIGN_POINTER, &msg);
            return None;
        };
        if !entry.live {
            let msg =
                format!("frame {frame:p} of {} was released again (it is a zombie already); ignored", entry.who());
            self.report(ZF_ERR_DOUBLE_RELEASE, &msg);
            return None;
        }
        let owner = code_ref(&entry);
        if !core::ptr::eq(owner, code) {
            let msg = format!(
                "frame {frame:p} of {} was released to {}; released to its own code instead",
                describe(owner),
                describe(code)
            );
            self.report(ZF_ERR_WRONG_CODE, &msg);
        }
        // SAFETY: a live frame of ours.
        let block = unsafe { Block::from_frame(frame) };
        // SAFETY: the caller gave the frame back; the pool has it now.
        if let Some(at) = unsafe { guard(block, owner) }.iter().position(|&b| b != GUARD_BYTE) {
            let msg = format!(
                "frame {frame:p} of {}: byte {} (past its end) was written",
                describe(owner),
                user_bytes(owner) + at
            );
            self.report(ZF_ERR_OVERRUN, &msg);
        }
        self.record.frames.set(addr, Entry { live: false, sum: checksum(block), ..entry });
        Some(entry.code)
    }

    /// `zf_pool_free` in debug mode: every frame still live, like a leak checker.
    pub(crate) fn report_leaks(&self) {
        let live = self.n.live_frames.get();
        if live == 0 {
            return;
        }
        let mut list: Vec<String> = self
            .record
            .live()
            .take(8)
            .map(|(frame, e)| {
                let c = code_ref(&e);
                let freed = if c.freed.get() { ", code freed" } else { "" };
                format!("{frame:#x} of {}{freed}", describe(c))
            })
            .collect();
        if live > list.len() as u64 {
            list.push("...".into());
        }
        let msg = format!("zf_pool_free: {live} frames are still live (never released): {}", list.join(", "));
        self.report(ZF_ERR_LEAK, &msg);
    }
}
