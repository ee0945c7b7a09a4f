//! The checked paths of a debug pool (`ZF_FLAG_DEBUG`): every acquire and
//! release goes through the record of frames (`src/debug.rs`), which names
//! misuse before it can corrupt anything; every other call claims the pool
//! for its thread (`claim`).

use super::{Failed, Pool};
use crate::block::{Block, Link, HEADER_BYTES};
use crate::code::Code;
use crate::debug::*;
use crate::error::Error;
use alloc::string::String;
use alloc::vec::Vec;
use core::ptr::NonNull;

impl Pool {
    #[inline]
    pub(crate) fn forget_if_debug(&self, block: Block) {
        if self.cfg.debug() {
            self.record.frames.remove(block.frame().as_ptr() as usize);
        }
    }

    /// Reports a code used after `zf_code_free` (a debug pool keeps its
    /// struct readable: `Pool::keep_dead_code`).
    #[cold]
    pub(crate) fn report_freed_code(&self, function: &str, code: &Code) {
        let msg = format!("{function}({}): the code was freed already; ignored", describe(code));
        self.report(ZF_ERR_FREED_CODE, &msg);
    }

    /// Reports a second thread inside the pool; the error for its caller.
    fn concurrent(&self, function: &'static str, code: Option<&Code>) -> Error {
        let why = "another thread is inside this pool (the caller must hold the pool's lock, e.g. the GIL)";
        let on = code.map(|c| format!(" on {}", describe(c))).unwrap_or_default();
        self.report(ZF_ERR_CONCURRENT_USE, &format!("{function}{on}: {why}"));
        Error::Invalid { function, why: why.into() }
    }

    /// Claims the pool for a call other than an acquire or release. A
    /// debug pool that finds another thread inside reports it and leaves
    /// the error for the caller: false, and the call must do nothing.
    /// Every true is followed by `unclaim`. Not for a call that may free
    /// the pool.
    #[inline]
    pub(crate) fn claim(&self, function: &'static str) -> bool {
        !self.cfg.debug() || self.claim_checked(function)
    }

    #[cold]
    fn claim_checked(&self, function: &'static str) -> bool {
        let entered = self.record.enter();
        if !entered {
            crate::error::set_error(&self.concurrent(function, None));
        }
        entered
    }

    /// The end of a call that `claim` let in.
    #[inline]
    pub(crate) fn unclaim(&self) {
        if self.cfg.debug() {
            self.record.leave();
        }
    }

    /// `acquire` in debug mode: zombies that fail their checksum are freed,
    /// the frame handed out is recorded and its guard filled.
    #[cold]
    #[inline(never)]
    pub(crate) fn checked_acquire(&self, code: &Code, function: &'static str) -> Result<(NonNull<u8>, bool), Failed> {
        if !self.record.enter() {
            return Err(self.fail(self.concurrent(function, Some(code))));
        }
        if code.is_freed() {
            self.report_freed_code(function, code);
            self.record.leave();
            let why = "its code was freed (zf_code_free)".into();
            return Err(self.fail(Error::Invalid { function, why }));
        }
        let got = self.record.frames.reserve().map_err(|e| self.fail(e)).and_then(|()| {
            self.drop_corrupt_zombies(code);
            self.vet_pop(code, false);
            self.acquire_unchecked(code)
        });
        if let Ok((frame, hit)) = got {
            // SAFETY: a frame just handed out, so a block of ours.
            let block = unsafe { Block::from_frame(frame) };
            // Just made, or checked as a zombie: its size words are the pool's.
            let entry = Entry::live(code, self.heap.size_words(block));
            self.record.frames.set(frame.as_ptr() as usize, entry);
            if !hit {
                // Like PYTHONMALLOC=debug: no byte a checksum reads is ever uninitialised.
                let start = frame_span(&self.heap, block, entry.capacity()).0;
                // SAFETY: a frame just handed out, of at least this many bytes.
                unsafe { start.write_bytes(CLEAN_BYTE, user_bytes(code)) };
            }
            // SAFETY: the caller gets the frame only when this returns.
            unsafe { guard(&self.heap, block, code, entry.capacity()) }.fill(GUARD_BYTE);
        }
        self.record.leave();
        got
    }

    /// Frees the zombies an acquire would take next whose bytes changed
    /// since their release (a miss checks what it takes from the reserve).
    fn drop_corrupt_zombies(&self, code: &Code) {
        while code.peek().is_some_and(|b| self.corrupt_zombie(b)) {
            self.sync(code);
            if let Some(bad) = self.drop_zombie(code, false) {
                _ = self.free_zombie(code, bad);
            }
        }
    }

    /// Whether a zombie's bytes, or its header's size words, changed
    /// since its release; reports it, and puts the size words back so
    /// that it can be freed. (Every zombie a list leads to is in the
    /// record: `vet_list`.)
    pub(crate) fn corrupt_zombie(&self, block: Block) -> bool {
        let frame = block.frame();
        let Some(e) = self.record.frames.get(frame.as_ptr() as usize).filter(|e| !e.live) else { return false };
        let sized = self.heap.size_words(block) == e.size;
        if sized && checksum(&self.heap, block, e.capacity()) == e.sum {
            return false;
        }
        self.heap.restore_size_words(block, e.size);
        let msg = format!("frame {frame:p} of {}: its bytes changed after its release; freed, not handed out", e.who());
        self.report(ZF_ERR_WRITE_AFTER_RELEASE, &msg);
        true
    }

    /// A debug pool's check of the links the next pop of one of `code`'s
    /// zombies follows (`Code::remove`'s order): none, when it takes the
    /// slot's. See `vet_list`. Plain pools: nothing.
    #[inline(always)]
    pub(crate) fn vet_pop(&self, code: &Code, coldest_first: bool) {
        if self.cfg.debug() && (coldest_first || code.state().slot_zombie().is_none()) {
            self.vet_code_lists(code, 1);
        }
    }

    /// A debug pool's check of every link of `code`'s stacks, before a
    /// sweep walks them (`Code::cool_down`).
    #[inline(always)]
    pub(crate) fn vet_walk(&self, code: &Code) {
        if self.cfg.debug() {
            self.vet_code_lists(code, u32::MAX);
        }
    }

    #[cold]
    #[inline(never)]
    fn vet_code_lists(&self, code: &Code, depth: u32) {
        // (No sync: a debug pool counts at the moments a plain pool does.)
        for (cold, (top, len)) in code.stacks().into_iter().enumerate() {
            let kept = self.vet_list(top, len, code.link(), Some(code), depth);
            if kept < len {
                let before = code.slots();
                let lost = code.cut(cold == 1, kept);
                self.note_slots(code, before);
                if code.slots() == 0 {
                    self.ring.unlink(code);
                }
                self.report_cut(top, kept, lost, &describe(code));
            }
        }
    }

    /// `vet_pop` for the reserve's list `i`, which a pop takes from
    /// next (a debug pool's: the caller tests the flag).
    #[cold]
    #[inline(never)]
    pub(crate) fn vet_reserve(&self, i: usize) {
        let (top, len) = self.reserve.top(i);
        let kept = self.vet_list(top, len, self.heap.layout.link(), None, 1);
        if kept < len {
            self.reserve.keep(i, kept);
            self.report_cut(top, kept, len - kept, "the reserve");
        }
    }

    /// A debug pool's lists link their zombies through the words just
    /// before the frames, where a stray write after a release reaches
    /// them; a pop through an overwritten link would hand out, or free,
    /// what is not the pool's. So the links are checked before they are
    /// followed: down to `depth` links from `top`, each block must be a
    /// zombie the record holds (of `owner`, for a code's stacks), and the
    /// `len`-th, as its owner counts them, the last. Returns how many
    /// blocks from the top are sound (`len`: all).
    #[inline(never)]
    fn vet_list(&self, top: Option<Block>, len: u32, link: Link, owner: Option<&Code>, depth: u32) -> u32 {
        let zombie = |frame: *mut u8| {
            let entry = self.record.frames.get(frame as usize).filter(|e| !e.live);
            entry.is_some_and(|e| owner.is_none_or(|c| e.code == NonNull::from(c)))
        };
        let mut at = top.map_or(core::ptr::null_mut(), |b| b.frame().as_ptr());
        for sound in 0..len {
            let Some(frame) = NonNull::new(at).filter(|f| zombie(f.as_ptr())) else { return sound };
            // SAFETY: a zombie of ours (the record holds it).
            let next = unsafe { Block::from_frame(frame) }.next(link);
            match sound + 1 {
                n if n == len => return if next.is_null() { len } else { n },
                n if n > depth => return len,
                _ => at = next,
            }
        }
        0
    }

    /// Reports a list cut after its first `kept` blocks.
    #[cold]
    fn report_cut(&self, top: Option<Block>, kept: u32, lost: u32, whose: &str) {
        let top = top.map_or(core::ptr::null_mut(), |b| b.frame().as_ptr());
        let msg = format!(
            "a zombie list of {whose} (top {top:p}) leads out of the pool after {kept} of its frames: a link \
             (the word before a frame) was overwritten after a release; {} under it left the cache, not freed",
            crate::stats::counted(lost as u64, "frame")
        );
        self.report(ZF_ERR_WRITE_AFTER_RELEASE, &msg);
    }

    /// `release` in debug mode. A pointer that is not a live frame of this
    /// pool is reported and left alone; a frame released to the wrong code
    /// goes to its own.
    ///
    /// # Safety
    /// `code` is a live code (the rest of `release`'s contract is checked).
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn checked_release(code: NonNull<Code>, frame: NonNull<u8>, function: &'static str) {
        // SAFETY: `code` is alive by the contract.
        let c = unsafe { code.as_ref() };
        let p = Pool::of(c);
        if !p.record.enter() {
            p.concurrent(function, Some(c));
            return;
        }
        let Some(owner) = p.vet_release(c, frame, function) else {
            p.record.leave();
            return;
        };
        // Releasing the last frame of a freed pool's last code frees the pool.
        let pool_goes = p.closed.get() && p.counters.codes.get() == 0 && p.counters.live_frames.get() == 1;
        // SAFETY: `frame` is a live frame of `owner` (the record says so).
        unsafe { Pool::release_unchecked(owner, frame) };
        if !pool_goes {
            p.record.leave();
        }
    }

    /// Checks a release against the record and the guard; records the
    /// zombie's checksum. The code to release to, or None to ignore it.
    fn vet_release(&self, code: &Code, frame: NonNull<u8>, function: &str) -> Option<NonNull<Code>> {
        let addr = frame.as_ptr() as usize;
        let Some(entry) = self.record.frames.get(addr) else {
            let msg = format!(
                "{function}({}, {frame:p}): not a frame of this pool (never handed out, or already freed); ignored",
                describe(code)
            );
            self.report(ZF_ERR_FOREIGN_POINTER, &msg);
            return None;
        };
        if !entry.live {
            let msg = format!(
                "{function}: frame {frame:p} of {} was released again (it is a zombie already); ignored",
                entry.who()
            );
            self.report(ZF_ERR_DOUBLE_RELEASE, &msg);
            return None;
        }
        let owner = code_ref(&entry);
        if !core::ptr::eq(owner, code) {
            let msg = format!(
                "{function}: frame {frame:p} of {} was released to {}; released to its own code instead",
                describe(owner),
                describe(code)
            );
            self.report(ZF_ERR_WRONG_CODE, &msg);
        }
        // SAFETY: a live frame of ours.
        let block = unsafe { Block::from_frame(frame) };
        if self.heap.size_words(block) != entry.size {
            self.underrun(function, block, &entry);
        }
        let capacity = entry.capacity();
        // SAFETY: the caller gave the frame back; the pool has it now.
        if let Some(at) = unsafe { guard(&self.heap, block, owner, capacity) }.iter().position(|&b| b != GUARD_BYTE) {
            let msg = format!(
                "{function}: frame {frame:p} of {}: byte {} (past its end) was written",
                describe(owner),
                user_bytes(owner) + at
            );
            self.report(ZF_ERR_OVERRUN, &msg);
        }
        self.record.frames.set(addr, Entry { live: false, sum: checksum(&self.heap, block, capacity), ..entry });
        Some(entry.code)
    }

    /// Reports a write over a live frame's header, and repairs it.
    #[cold]
    #[inline(never)]
    fn underrun(&self, function: &str, block: Block, entry: &Entry) {
        self.heap.restore_size_words(block, entry.size);
        let msg = format!(
            "{function}: frame {:p} of {}: the {HEADER_BYTES} bytes before it (the pool's header) were written; repaired",
            block.frame(),
            entry.who()
        );
        self.report(ZF_ERR_UNDERRUN, &msg);
    }

    /// `zf_pool_free` in debug mode: every frame still live, like a leak checker.
    pub(crate) fn report_leaks(&self) {
        let live = self.counters.live_frames.get();
        if live == 0 {
            return;
        }
        let mut list: Vec<String> = self
            .record
            .live()
            .take(8)
            .map(|(frame, e)| {
                let c = code_ref(&e);
                let freed = if c.is_freed() { ", code freed" } else { "" };
                format!("{frame:#x} of {}{freed}", describe(c))
            })
            .collect();
        if live > list.len() as u64 {
            list.push("...".into());
        }
        let are = if live == 1 { "frame is" } else { "frames are" };
        let msg = format!("zf_pool_free: {live} {are} still live (never released): {}", list.join(", "));
        self.report(ZF_ERR_LEAK, &msg);
    }
}
