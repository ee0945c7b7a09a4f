//! The checked paths of a debug pool (`ZF_FLAG_DEBUG`): every acquire and
//! release goes through the record of frames (`src/debug.rs`), which names
//! misuse before it can corrupt anything; every other call claims the pool
//! for its thread (`claim`).

use super::{Failed, Pool};
use crate::block::{Block, Link, HEADER_BYTES};
use crate::code::Code;
use crate::debug::*;
use crate::error::Error;
use crate::stats::Tally;
use alloc::string::String;
use core::fmt::{Arguments, Display, Write};
use core::ptr::NonNull;

/// What a call claims (`Pool::claim_checked`).
#[derive(Clone, Copy, PartialEq)]
enum Call {
    /// Any call that frees neither the pool nor a code: the handler may
    /// make it from inside another call.
    Inner,
    /// `zf_pool_free`: from no other call.
    Free,
    /// `zf_code_free`: as `Free`, and let in after `zf_pool_free` too.
    FreeCode,
}

/// Why a call from inside another is refused (`Pool::nested`).
const NESTED: &str =
    "called from inside another call on this pool (by an allocator hook, or by its error handler to free the pool or a code)";

impl Pool {
    /// A block leaving the pool for the allocator leaves a debug pool's
    /// record too.
    #[inline]
    pub(crate) fn forget_if_debug(&self, block: Block) {
        if self.cfg.debug() {
            self.forget(block);
        }
    }

    /// A zombie freed (evicted, aged, cleared, its code or pool freed) is
    /// handed out no more, so a write after its release is looked for now.
    #[cold]
    #[inline(never)]
    fn forget(&self, block: Block) {
        let frame = block.frame();
        let Some(e) = self.record.frames.remove(frame.as_ptr() as usize) else { return };
        if !e.live && checksum(&self.heap, block, e.capacity()) != e.sum {
            let what = format_args!("its bytes changed after its release; freed");
            self.report_frame(ZF_ERR_WRITE_AFTER_RELEASE, None, frame, &e.who(), what);
        }
    }

    /// Reports a code used after `zf_code_free` (a debug pool keeps its
    /// struct readable: `Pool::keep_dead_code`).
    #[cold]
    pub(crate) fn report_freed_code(&self, function: &str, code: &Code) {
        self.report_code(ZF_ERR_FREED_CODE, function, code, "the code was freed already; ignored");
    }

    /// Reports misuse of a code: `<function>(<code>): <what>`.
    #[cold]
    #[inline(never)]
    fn report_code(&self, kind: i32, function: &str, code: &Code, what: &str) {
        self.report(kind, &format!("{function}({}): {what}", describe(code)));
    }

    /// Reports a second thread inside the pool; the error for its caller.
    fn concurrent(&self, function: &'static str, code: Option<&Code>) -> Error {
        let why = "another thread is inside this pool (the caller must hold the pool's lock, e.g. the GIL)";
        let msg = match code {
            Some(c) => format!("{function} on {}: {why}", describe(c)),
            None => format!("{function}: {why}"),
        };
        // Not `report`, which marks the owner thread's report: this thread
        // writes nothing of the pool's.
        self.handler.get().report(ZF_ERR_CONCURRENT_USE, &msg);
        Error::invalid(function, why)
    }

    /// Claims the pool for a call other than an acquire or release. A
    /// debug pool that finds another thread inside reports it and leaves
    /// the error for the caller: false, and the call must do nothing.
    /// Every true is followed by `unclaim`. Not for a call that may free
    /// the pool.
    #[inline]
    pub(crate) fn claim(&self, function: &'static str) -> bool {
        !self.cfg.debug() || self.claim_checked(function, Call::Inner)
    }

    /// `claim` for `zf_pool_free`, which may free what a call already
    /// inside the pool goes on using: a debug pool also refuses it from
    /// its error handler, which may otherwise call back (`nested`).
    #[inline]
    pub(crate) fn claim_to_free(&self, function: &'static str) -> bool {
        !self.cfg.debug() || self.claim_checked(function, Call::Free)
    }

    #[cold]
    fn claim_checked(&self, function: &'static str, call: Call) -> bool {
        if !self.record.enter(function) {
            crate::error::set_error(&self.concurrent(function, None));
            return false;
        }
        if self.closed.get() && call != Call::FreeCode {
            // Its codes keep its memory, so this much can still be said.
            self.refuse(ZF_ERR_FREED_POOL, function, "the pool was freed (zf_pool_free)");
            return false;
        }
        !self.nested(function, call != Call::Inner)
    }

    /// `zf_code_free` in a debug pool: claimed as `zf_pool_free` is, also
    /// once the pool is freed (an allocator hook still runs inside calls
    /// on its codes); the pool stays while the claim holds, so it goes, if
    /// this was its last code, only once the claim ends.
    ///
    /// # Safety
    /// As `free_code`.
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn free_code_checked(code: NonNull<Code>) {
        // SAFETY: not freed yet (the contract), so it and its pool are alive.
        let p = Pool::of(unsafe { code.as_ref() });
        let pool = NonNull::from(p);
        if !p.claim_checked("zf_code_free", Call::FreeCode) {
            return;
        }
        // SAFETY: forwarded contract.
        unsafe { Pool::free_code(code) };
        p.record.leave();
        // SAFETY: no reference to the pool is used past this call.
        unsafe { Pool::free_if_unused(pool) };
    }

    /// Whether a call made inside another call on the pool is refused:
    /// * any call from an allocator hook, which must not call the library
    ///   on its pool (the handler's calls are told apart: `in_handler_call`);
    /// * from the handler, an `outer` one (it frees the pool or a code),
    ///   which would free what the interrupted call goes on using; except
    ///   from the handler `zf_pool_free` tells of leaks, after which
    ///   nothing is used.
    ///
    /// A refusal is reported as concurrent use (`refuse`).
    #[inline(always)]
    fn nested(&self, function: &'static str, outer: bool) -> bool {
        let depth = self.record.depth();
        let leaks_told = self.record.closing.get() && depth == 2;
        let refused = depth > 1 && (outer && !leaks_told || !self.record.in_handler_call());
        if refused {
            self.refuse(ZF_ERR_CONCURRENT_USE, function, NESTED);
        }
        refused
    }

    /// Refuses a call let in (`enter`) with `why`: reported, unless the
    /// running handler made it (told, it would only call again, as a
    /// handler that answers a freed pool's report by freeing it did, until
    /// its stack ran out); the caller's error; left.
    #[cold]
    #[inline(never)]
    fn refuse(&self, kind: i32, function: &'static str, why: &'static str) {
        if !self.record.in_handler_call() {
            self.report(kind, &format!("{function}: {why}; ignored"));
        }
        crate::error::set_error(&Error::invalid(function, why));
        self.record.leave();
    }

    /// The end of a call that `claim` let in.
    #[inline]
    pub(crate) fn unclaim(&self) {
        if self.cfg.debug() {
            self.record.leave();
        }
    }

    /// A debug pool's check that the inline state of `code` the caller's
    /// inline functions use (`Code::inline_state`) is as inert as the pool
    /// made it: else `zf_hot_give` and `zf_hot_hit` could take frames past
    /// every check, and hand one out twice. Made inert again, then
    /// reported: the frames it held are lost to the cache.
    #[cold]
    #[inline(never)]
    pub(crate) fn vet_hot(&self, code: &Code, function: &str) {
        let hot = code.inline_state();
        if !hot.is_inert() {
            hot.make_inert();
            let why = "its ZfCodeHot (inert in debug mode) was written; made inert, the frames it held lost";
            self.report_code(ZF_ERR_CODE_HOT, function, code, why);
        }
    }

    /// `acquire` in debug mode: zombies that fail their checksum are freed,
    /// the frame handed out is recorded and its guard filled.
    #[cold]
    #[inline(never)]
    pub(crate) fn checked_acquire(&self, code: &Code, function: &'static str) -> Result<(NonNull<u8>, bool), Failed> {
        if !self.record.enter(function) {
            return Err(self.fail(self.concurrent(function, Some(code))));
        }
        if self.nested(function, false) {
            return Err(Failed(()));
        }
        if code.is_freed() {
            self.report_freed_code(function, code);
            self.record.leave();
            return Err(self.fail(Error::invalid(function, "its code was freed (zf_code_free)")));
        }
        self.vet_hot(code, function);
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
            // Its link word, unused until the release: NULL, checked then.
            self.heap.clear_link(block);
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
        // (`peek` takes the slot's zombie first.)
        let in_slot = || code.state().slot_zombie().is_some();
        while code.peek().is_some_and(|b| self.corrupt_zombie(b, in_slot())) {
            self.sync_outlined(code);
            if let Some(bad) = self.drop_zombie_outlined(code, false) {
                _ = self.free_zombie(code, bad);
            }
        }
    }

    /// Whether a zombie's bytes, or its header's size words, or `in_slot`
    /// its link (NULL in a code's slot: `vet_slot`) changed since its
    /// release; reports it once (the record takes the bytes as they are
    /// now), and puts the header back so that it can be freed. (Every
    /// zombie a list leads to is in the record: `vet_list`.)
    pub(crate) fn corrupt_zombie(&self, block: Block, in_slot: bool) -> bool {
        let frame = block.frame();
        let addr = frame.as_ptr() as usize;
        let Some(e) = self.record.frames.get(addr).filter(|e| !e.live) else { return false };
        let sum = checksum(&self.heap, block, e.capacity());
        let link = !in_slot || self.heap.link_is_clear(block);
        if self.heap.size_words(block) == e.size && sum == e.sum && link {
            return false;
        }
        self.record.frames.set(addr, Entry { sum, ..e });
        self.heap.restore_size_words(block, e.size);
        if in_slot {
            self.heap.clear_link(block);
        }
        let what = format_args!("its bytes changed after its release; freed, not handed out");
        self.report_frame(ZF_ERR_WRITE_AFTER_RELEASE, None, frame, &e.who(), what);
        true
    }

    /// Reports misuse of one frame: `[function: ]frame <frame> of <who>: <what>`.
    #[cold]
    #[inline(never)]
    fn report_frame(
        &self,
        kind: i32,
        function: Option<&str>,
        frame: NonNull<u8>,
        who: &dyn Display,
        what: Arguments<'_>,
    ) {
        // `{:#x}` of the address prints what `{:p}` would, without core's
        // pointer formatting (260 bytes of the library).
        let at = frame.as_ptr().addr();
        let msg = match function.or(self.record.current_call()) {
            Some(f) => format!("{f}: frame {at:#x} of {who}: {what}"),
            None => format!("frame {at:#x} of {who}: {what}"),
        };
        self.report(kind, &msg);
    }

    /// A debug pool's check of the links the next pop of one of `code`'s
    /// zombies follows (`Code::remove`'s order): none, when it takes the
    /// slot's. See `vet_list`. Plain pools: nothing.
    #[inline(always)]
    pub(crate) fn vet_pop(&self, code: &Code, coldest_first: bool) {
        if self.cfg.debug() {
            match coldest_first || code.state().slot_zombie().is_none() {
                true => self.vet_code_lists(code, 1),
                false => self.vet_slot(code),
            }
        }
    }

    /// A debug pool's check of the link word of `code`'s slot zombie,
    /// which links to nothing: NULL since its release (`vet_release`),
    /// where no list's check (`vet_list`) reads it. Else it is put back,
    /// and reported.
    #[cold]
    #[inline(never)]
    fn vet_slot(&self, code: &Code) {
        let Some(block) = code.state().slot_block().filter(|&b| !self.heap.link_is_clear(b)) else { return };
        self.heap.clear_link(block);
        let what = format_args!("its header changed after its release; repaired");
        self.report_frame(ZF_ERR_WRITE_AFTER_RELEASE, None, block.frame(), &describe(code), what);
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
    fn vet_code_lists(&self, code: &Code, links: u32) {
        self.vet_slot(code);
        let mut cut = false;
        // (No sync: a debug pool counts at the moments a plain pool does.)
        for (cold, (top, len)) in code.stacks().into_iter().enumerate() {
            if let Some(kept) = self.vet_list(top, len, code.link(), NonNull::from(code), links) {
                let before = code.slots();
                let lost = code.cut(cold == 1, kept);
                self.note_slots(code, before);
                if code.slots() == 0 {
                    self.ring.unlink(code);
                }
                self.report_cut(top, kept, lost, &describe(code));
                cut = true;
            }
        }
        if cut {
            // Checked whole, the lists show what the code still holds.
            if links != u32::MAX {
                self.vet_code_lists(code, u32::MAX);
            }
            let slot = code.state().slot_zombie().map_or(0, |frame| frame.as_ptr() as usize);
            self.forget_lost(NonNull::from(code), code.stacks(), slot);
        }
    }

    /// `vet_pop` for the reserve's list `i`, which a pop takes from
    /// next (a debug pool's: the caller tests the flag).
    #[cold]
    #[inline(never)]
    pub(crate) fn vet_reserve(&self, i: usize) {
        let (top, len) = self.reserve.top(i);
        let place = self.reserve.list_at(i).cast();
        if let Some(kept) = self.vet_list(top, len, self.heap.layout.link(), place, 1) {
            self.reserve.keep(i, kept);
            self.report_cut(top, kept, len - kept, &"the reserve");
            self.forget_lost(place, [self.reserve.top(i), (None, 0)], 0);
        }
    }

    /// After a cut: the zombies the record places at `place` (`vet_list`)
    /// that its lists (sound: `vet_list`) and slot no longer hold leave
    /// the counts, at the record's sizes (blocks of every size under
    /// legacy), and the record places them nowhere, so no list takes them
    /// back. Nothing leads to them: they stay allocated.
    #[inline(never)]
    fn forget_lost(&self, place: NonNull<Code>, lists: [(Option<Block>, u32); 2], slot: usize) {
        let held = |frame| frame == slot || lists.iter().any(|&list| self.holds(list, frame));
        let lost = |(frame, e): &(usize, Entry)| !e.live && e.code == place && !held(*frame);
        while let Some((frame, e)) = self.record.frames.iter().find(lost) {
            self.record.frames.set(frame, Entry { code: NonNull::dangling(), ..e });
            self.counters.cached_frames.sub(1);
            self.counters.cached_bytes.sub(e.size.1 as u64);
        }
    }

    /// Whether a sound list (`vet_list`), `(top, len)`, holds `frame`.
    #[inline(never)]
    fn holds(&self, (top, len): (Option<Block>, u32), frame: usize) -> bool {
        let mut at = top.map_or(core::ptr::null_mut(), |b| b.frame().as_ptr());
        for _ in 0..len {
            let Some(zombie) = NonNull::new(at) else { break };
            if at as usize == frame {
                return true;
            }
            // SAFETY: a zombie of the list, whose links were checked.
            at = unsafe { Block::from_frame(zombie) }.next(self.heap.layout.link());
        }
        false
    }

    /// A debug pool's lists link their zombies through the words just
    /// before the frames, where a stray write after a release reaches
    /// them; a pop through an overwritten link would hand out, or free,
    /// what is not the pool's. So the links are checked before they are
    /// followed: down to `links` links from `top`, each block must be a
    /// zombie the record places in this list (`place`: the code, or the
    /// reserve's list, `mark_retired`), and the `len`-th, as its owner
    /// counts them, must end the list. None when they are sound; else how
    /// many blocks from the top are, after which the list must end.
    #[inline(never)]
    fn vet_list(&self, top: Option<Block>, len: u32, link: Link, place: NonNull<Code>, links: u32) -> Option<u32> {
        let member =
            |frame: *mut u8| self.record.frames.get(frame as usize).is_some_and(|e| !e.live && e.code == place);
        let mut at = top.map_or(core::ptr::null_mut(), |b| b.frame().as_ptr());
        for sound in 0..len {
            let Some(frame) = NonNull::new(at).filter(|f| member(f.as_ptr())) else { return Some(sound) };
            // SAFETY: a zombie of ours (the record holds it).
            let next = unsafe { Block::from_frame(frame) }.next(link);
            match sound + 1 {
                n if n == len => return (!next.is_null()).then_some(len),
                n if n > links => return None,
                _ => at = next,
            }
        }
        (!at.is_null()).then_some(0)
    }

    /// A debug pool's zombie retired to the reserve's list `i`: the record
    /// places it there (`vet_list`), until an acquire takes it.
    #[cold]
    #[inline(never)]
    pub(crate) fn mark_retired(&self, block: Block, i: usize) {
        let addr = block.frame().as_ptr() as usize;
        if let Some(e) = self.record.frames.get(addr) {
            self.record.frames.set(addr, Entry { code: self.reserve.list_at(i).cast(), ..e });
        }
    }

    /// A zombie about to be freed or counted out: in a debug pool, its
    /// header's size words must be the record's (a write after release
    /// may have reached them); if not, they are put back, and reported.
    #[inline(always)]
    pub(crate) fn vet_size(&self, block: Block) {
        if self.cfg.debug() {
            self.vet_zombie_size(block);
        }
    }

    #[cold]
    #[inline(never)]
    fn vet_zombie_size(&self, block: Block) {
        let frame = block.frame();
        let Some(e) = self.record.frames.get(frame.as_ptr() as usize).filter(|e| !e.live) else { return };
        if self.heap.size_words(block) != e.size {
            self.heap.restore_size_words(block, e.size);
            let what = format_args!("its header changed after its release; repaired");
            self.report_frame(ZF_ERR_WRITE_AFTER_RELEASE, None, frame, &e.who(), what);
        }
    }

    /// Reports a list cut after its first `kept` blocks.
    #[cold]
    fn report_cut(&self, top: Option<Block>, kept: u32, lost: u32, whose: &dyn Display) {
        let top = top.map_or(NonNull::dangling(), |b| b.frame());
        let lost = crate::stats::counted(lost as u64, "frame");
        let what = format_args!(
            "heads a zombie list cut after {kept} of its frames, where a link (the word before a frame) was \
             written after a release: {lost} under the cut left the cache, not freed"
        );
        self.report_frame(ZF_ERR_WRITE_AFTER_RELEASE, None, top, whose, what);
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
        if !p.record.enter(function) {
            p.concurrent(function, Some(c));
            return;
        }
        if p.nested(function, p.frees_code(frame)) {
            return;
        }
        p.vet_hot(c, function);
        let Some(owner) = p.vet_release(c, frame, function) else {
            p.record.leave();
            return;
        };
        let pool = NonNull::from(p);
        // SAFETY: `frame` is a live frame of `owner` (the record says so).
        unsafe { Pool::release_unchecked(owner, frame) };
        // The last frame of a freed pool's last code takes the pool, once
        // no call is inside it (`free_if_unused`).
        p.record.leave();
        // SAFETY: no reference to the pool is used past this call.
        unsafe { Pool::free_if_unused(pool) };
    }

    /// Whether releasing `frame` may leave the pool unused, as
    /// `zf_code_free` may: the last live frame of a freed code, once the
    /// pool is freed. Only a call outside the handler's can free the pool
    /// then (`free_if_unused` waits for depth 0, and the call a handler
    /// interrupts does not look again).
    fn frees_code(&self, frame: NonNull<u8>) -> bool {
        let last = |e: Entry| e.live_code().is_some_and(|c| c.is_freed() && c.live() == 1);
        self.closed.get() && self.record.frames.get(frame.as_ptr() as usize).is_some_and(last)
    }

    /// Checks a release against the record and the guard; records the
    /// zombie's checksum. The code to release to, or None to ignore it.
    fn vet_release(&self, code: &Code, frame: NonNull<u8>, function: &str) -> Option<NonNull<Code>> {
        // Printed `{addr:#x}`, as `report_frame` prints a frame.
        let addr = frame.as_ptr() as usize;
        let Some(entry) = self.record.frames.get(addr) else {
            let msg = format!(
                "{function}({}, {addr:#x}): not a frame of this pool (never handed out, or already freed); ignored",
                describe(code)
            );
            self.report(ZF_ERR_FOREIGN_POINTER, &msg);
            return None;
        };
        let Some(owner) = entry.live_code() else {
            let msg = format!(
                "{function}: frame {addr:#x} of {} was released again (the pool holds it already: a zombie, or in the reserve); ignored",
                entry.who()
            );
            self.report(ZF_ERR_DOUBLE_RELEASE, &msg);
            return None;
        };
        // SAFETY: a live frame of ours.
        let block = unsafe { Block::from_frame(frame) };
        let underrun = self.heap.size_words(block) != entry.size || !self.heap.link_is_clear(block);
        if underrun {
            self.heap.restore_size_words(block, entry.size);
            self.heap.clear_link(block);
        }
        let capacity = entry.capacity();
        // SAFETY: the caller gave the frame back; the pool has it now.
        let guard = unsafe { guard(&self.heap, block, owner, capacity) };
        let over = guard.iter().position(|&b| b != GUARD_BYTE);
        // Its last byte written, the write may have gone past the block.
        let beyond = guard.last().is_some_and(|&b| b != GUARD_BYTE);
        // Released in the record before any report: a handler that calls
        // back in (releasing the frame itself, say) finds it a zombie, not
        // a live frame to release a second time.
        self.record.frames.set(addr, Entry { live: false, sum: checksum(&self.heap, block, capacity), ..entry });
        if !core::ptr::eq(owner, code) {
            let msg = format!(
                "{function}: frame {addr:#x} of {} was released to {}; released to its own code instead",
                describe(owner),
                describe(code)
            );
            self.report(ZF_ERR_WRONG_CODE, &msg);
        }
        if underrun {
            self.underrun(function, frame, &entry);
        }
        if let Some(at) = over {
            let beyond = if beyond { ", up to its block's end: the heap past it may be damaged" } else { "" };
            // Counted from the pointer the report names (past a prefix).
            let byte = user_bytes(owner) + at - self.heap.layout.prefix();
            let what = format_args!("byte {byte} (past its end) was written{beyond}");
            self.report_frame(ZF_ERR_OVERRUN, Some(function), frame, &describe(owner), what);
        }
        Some(entry.code)
    }

    /// Reports a write over a live frame's header (repaired already).
    #[cold]
    fn underrun(&self, function: &str, frame: NonNull<u8>, entry: &Entry) {
        let who = &entry.who();
        match self.heap.layout.prefix() {
            0 => {
                let what =
                    format_args!("the {HEADER_BYTES} bytes before it (the pool's header) were written; repaired");
                self.report_frame(ZF_ERR_UNDERRUN, Some(function), frame, who, what)
            }
            prefix => {
                let what = format_args!(
                    "the pool's header, the {HEADER_BYTES} bytes before its {prefix}-byte prefix, was written; repaired"
                );
                self.report_frame(ZF_ERR_UNDERRUN, Some(function), frame, who, what)
            }
        }
    }

    /// `zf_pool_free` in debug mode: every frame still live, like a leak checker.
    pub(crate) fn report_leaks(&self) {
        let live = self.counters.live_frames.get();
        if live == 0 {
            return;
        }
        // The first eight, each after a ", " (the first cut below): one
        // String, where a Vec of them and `join` cost the library 1.7 KB.
        let mut list = String::new();
        let mut shown = 0;
        for (frame, e) in self.record.live() {
            let Some(c) = e.live_code() else { continue };
            if shown == 8 {
                break;
            }
            let freed = if c.is_freed() { ", code freed" } else { "" };
            let _ = write!(list, ", {frame:#x} of {}{freed}", describe(c));
            shown += 1;
        }
        if live > shown {
            list.push_str(", ...");
        }
        let are = if live == 1 { "frame is" } else { "frames are" };
        let list = list.get(2..).unwrap_or_default();
        let msg = format!("zf_pool_free: {live} {are} still live (never released): {list}");
        self.report(ZF_ERR_LEAK, &msg);
    }
}
