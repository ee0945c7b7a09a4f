//! Raw memory: the allocator (malloc or the caller's hooks) and the block
//! that carries each frame.
//!
//! A block is `[Header | frame bytes, rounded up to 16]` (the `Layout`):
//! the header holds the library's bookkeeping, so the caller's frame bytes
//! are never touched, and a zombie keeps everything the interpreter left
//! in it. Under `ZF_FLAG_FRAME_PREFIX` the frame's own first bytes (a GC
//! head: `prefix_bytes`) come before the pointer the library hands out,
//! and a plain per-code pool keeps no header at all: a block is then
//! exactly the frame's bytes, as CPython's are, and what a header would
//! say comes from the code or the reserve list the block belongs to.
//!
//! A stacked zombie's link is the header's last word, or, in the layout
//! without one, the prefix's (`Layout::link`). In every layout the fast
//! path serves that is the word just before the frame pointer, which the
//! header's inline pair reads.

use crate::config::{ZfAllocFn, ZfConfig, ZfDeallocFn, ZF_MAX_FRAME_BYTES};
use crate::error::Error;
use crate::os;
use core::cell::Cell;
use core::ffi::c_void;
use core::mem::{align_of, offset_of, size_of};
use core::ptr::NonNull;

/// Frames, and everything the library allocates, are aligned to this.
pub(crate) const ALIGN: usize = 16;

#[repr(C, align(16))]
struct Header {
    /// The frame bytes this block was sized for. Under the legacy policy a
    /// block handed to another code keeps its size, as CPython's do.
    capacity: u32,
    /// `block_bytes(capacity)`: what the block really holds.
    bytes: u32,
    /// The link of a stacked zombie (`Block::next`): a header keeps it out
    /// of the caller's bytes, the prefix's too. Unused while the frame is
    /// live: a debug pool keeps it NULL then (`Heap::clear_link`).
    next: *mut u8,
}

pub(crate) const HEADER_BYTES: usize = size_of::<Header>();
/// Where the link sits, from the frame: the C fast path relies on it.
const _: () = assert!(HEADER_BYTES == 16 && offset_of!(Header, next) == HEADER_BYTES - size_of::<usize>());

/// Bytes of one block for a frame of `frame_bytes` in the default layout,
/// or None on overflow.
pub fn block_bytes(frame_bytes: usize) -> Option<usize> {
    Layout::DEFAULT.block_bytes(frame_bytes)
}

/// Size classes per power of two: a block rounds up to a sixteenth of its
/// power (`block_class`), so at most 6.25% of it is rounding. The bound
/// counts a zombie at its class's block, so the rounding is bytes CPython
/// does not hold: finer steps cost more reserve lists instead.
pub(crate) const CLASS_STEPS: usize = 16;
/// The smallest power of two whose step passes `ALIGN`: below it, classes
/// are every multiple of `ALIGN`.
pub(crate) const FINE_FROM: usize = ALIGN * CLASS_STEPS;

/// The most a block's frame holds: the size class of the largest frame a
/// code may ask for, with a debug guard after it. Its block's bytes fit
/// the header's u32.
pub(crate) const BLOCK_FRAME_MAX: usize = ZF_MAX_FRAME_BYTES + ZF_MAX_FRAME_BYTES / CLASS_STEPS - HEADER_BYTES;
const _: () = assert!(BLOCK_FRAME_MAX + HEADER_BYTES <= u32::MAX as usize);

/// The size class of a frame of `frame_bytes` in the default layout: what
/// a block of its class holds (see `Layout::size_class`).
pub fn size_class(frame_bytes: usize) -> usize {
    Layout::DEFAULT.size_class(frame_bytes)
}

/// `block` (a block's bytes) rounded up to a step of its power of two
/// (`CLASS_STEPS`), at least `ALIGN`, and to at least 32 bytes.
fn block_class(block: usize) -> Option<usize> {
    let block = block.max(2 * ALIGN);
    let power = 1usize << (usize::BITS - 1 - block.leading_zeros());
    block.checked_next_multiple_of((power / CLASS_STEPS).max(ALIGN))
}

/// Where a pool's frames sit in their blocks, fixed when it is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Bytes from the block's start to the frame pointer: the header's,
    /// and the prefix's under `ZF_FLAG_FRAME_PREFIX`.
    lead: usize,
    /// A header starts the block (else its facts come from the owner).
    headered: bool,
}

impl Layout {
    /// A header, then the frame.
    ///
    /// cbindgen:ignore
    pub const DEFAULT: Layout = Layout { lead: HEADER_BYTES, headered: true };

    /// `prefix`: the bytes of the caller's frames before the pointer, 0
    /// or a multiple of 16 (`ZfConfig::prefix`). `watched`: the pool sees
    /// every call (debug, trace, legacy), and keeps a header in front of
    /// the prefix: legacy hands blocks of any size to any code, and debug
    /// checks a block before trusting its owner.
    pub fn new(prefix: usize, watched: bool) -> Layout {
        debug_assert!(prefix % ALIGN == 0, "ZfConfig::validate");
        match (prefix, watched) {
            (0, _) => Layout::DEFAULT,
            (_, false) => Layout { lead: prefix, headered: false },
            (_, true) => Layout { lead: HEADER_BYTES + prefix, headered: true },
        }
    }

    /// Whether a header starts each block (its sizes are then the block's own).
    pub fn headered(self) -> bool {
        self.headered
    }

    /// The caller's bytes before the frame pointer (0 without a prefix).
    pub fn prefix(self) -> usize {
        self.lead - self.header()
    }

    /// Where a stacked zombie's link sits: the header's last word, so
    /// that a watched pool writes none of a prefix's bytes (debug mode
    /// then sees a write to any of them); else the prefix's last word.
    pub fn link(self) -> Link {
        match self.headered {
            true => Link(offset_of!(Header, next) as isize - self.lead as isize),
            false => Link::FAST,
        }
    }

    fn header(self) -> usize {
        if self.headered {
            HEADER_BYTES
        } else {
            0
        }
    }

    /// Bytes of one block for a frame of `frame_bytes` (the prefix
    /// included), or None on overflow.
    pub fn block_bytes(self, frame_bytes: usize) -> Option<usize> {
        frame_bytes.checked_add(ALIGN - 1).map(|n| n & !(ALIGN - 1))?.checked_add(self.header())
    }

    /// The size class of a frame of `frame_bytes`: what a block of its
    /// class holds. The block (`block_bytes`) is rounded up to a sixteenth
    /// of its power of two (at least 16 bytes), so at most 6.25% is
    /// wasted, frames of a class are interchangeable, and blocks fall on
    /// an allocator's size steps: a frame whose block fits 512 bytes gets
    /// a block of at most 512, which CPython's small-object allocator
    /// serves. Overflow is left to `block_bytes`.
    pub fn size_class(self, frame_bytes: usize) -> usize {
        let Some(block) = self.block_bytes(frame_bytes.max(1)) else { return frame_bytes };
        self.class_of_block(block).map_or(frame_bytes, |(capacity, _)| capacity)
    }

    /// `size_class` from the block a frame would need unrounded
    /// (`block_bytes`): its class's frame capacity and block bytes.
    pub fn class_of_block(self, block: usize) -> Option<(usize, usize)> {
        block_class(block).map(|class| (class - self.header(), class))
    }
}

/// A block the library allocated and has not freed yet, by its frame
/// pointer. Only `Heap` makes one (or `from_frame`, from a pointer it
/// handed out), so its link word (`Layout::link`) is the library's to
/// use while the block is cached, and a header, if the layout has one,
/// is readable.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct Block(NonNull<u8>);

impl Block {
    /// The caller's pointer.
    pub fn frame(self) -> NonNull<u8> {
        self.0
    }

    /// The block whose frame is `frame`.
    ///
    /// # Safety
    /// `frame` must have come from `Block::frame` of a block not freed since.
    pub unsafe fn from_frame(frame: NonNull<u8>) -> Block {
        Block(frame)
    }

    /// A stacked zombie's link word, `at` its pool's `Layout::link`.
    fn link(self, at: Link) -> *mut *mut u8 {
        // SAFETY: every stack carries its owner's pool's link (Code::link,
        // Reserve::at; the fast path's Link::FAST only on plain pools,
        // whose link it is: a watched pool's hot state is inert), and a
        // layout's link lies within its lead, before the frame.
        unsafe { self.0.as_ptr().offset(at.0).cast() }
    }

    /// The frame stacked under this one (see `Stack`).
    pub(crate) fn next(self, at: Link) -> *mut u8 {
        // SAFETY: a Block's link word is readable and aligned (see `link`).
        unsafe { *self.link(at) }
    }

    fn set_next(self, at: Link, next: *mut u8) {
        // SAFETY: as in `next`; only stacks write this word, and only
        // while the block is cached.
        unsafe { *self.link(at) = next }
    }
}

/// Where a block's link word is, from its frame pointer (a negative
/// offset): its layout's (`Layout::link`), fixed for the pool.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Link(isize);

impl Link {
    /// The word just before the frame: the link of every pool the fast
    /// path serves (a plain pool's, whatever its layout), which the
    /// header's inline pair reads.
    ///
    /// cbindgen:ignore
    pub const FAST: Link = Link(-(size_of::<usize>() as isize));
}

/// The block of a frame pointer read from a stack, if any.
fn block_of(frame: *mut u8) -> Option<Block> {
    NonNull::new(frame).map(Block)
}

/// A LIFO stack of blocks threaded through their links (`Block::next`), whose
/// top is a frame pointer in a cell its owner chooses: a code's hot top
/// (which the C fast path also pops and pushes), its cold stack, the
/// reserve. The stack keeps no count: its owner does, if it needs one.
#[derive(Clone, Copy)]
pub struct Stack<'a> {
    top: &'a Cell<*mut u8>,
    /// Where its blocks' links sit: their pool's layout's.
    at: Link,
}

impl<'a> Stack<'a> {
    pub fn new(top: &'a Cell<*mut u8>, at: Link) -> Stack<'a> {
        Stack { top, at }
    }

    pub fn is_empty(self) -> bool {
        self.top.get().is_null()
    }

    pub fn push(self, block: Block) {
        block.set_next(self.at, self.top.get());
        self.top.set(block.frame().as_ptr());
    }

    /// The most recently pushed block (the warmest in the CPU caches).
    pub fn pop(self) -> Option<Block> {
        let block = block_of(self.top.get())?;
        self.top.set(block.next(self.at));
        Some(block)
    }

    /// The blocks, top first.
    pub fn iter(self) -> impl Iterator<Item = Block> {
        let (mut next, at) = (block_of(self.top.get()), self.at);
        core::iter::from_fn(move || {
            let block = next?;
            next = block_of(block.next(at));
            Some(block)
        })
    }

    /// Ends the stack after its first `kept` blocks, whose links the
    /// caller has checked (the rest leave it: see `Pool::vet_list`).
    pub fn keep(self, kept: u32) {
        match kept.checked_sub(1).and_then(|n| self.iter().nth(n as usize)) {
            Some(last) => last.set_next(self.at, core::ptr::null_mut()),
            None => self.top.set(core::ptr::null_mut()),
        }
    }

    /// Covers this stack with every block of `other`, in their order, and
    /// empties `other`. Walks `other`, not this one.
    pub fn cover_with(self, other: Stack<'_>) {
        debug_assert_eq!(self.at, other.at);
        let Some(bottom) = other.iter().last() else { return };
        bottom.set_next(self.at, self.top.get());
        self.top.set(other.top.replace(core::ptr::null_mut()));
    }
}

/// A stack with its length: one size class of the pool's reserve (CPython's
/// global free list under the legacy policy).
pub struct List {
    head: Cell<*mut u8>,
    len: Cell<u32>,
}

impl Default for List {
    fn default() -> Self {
        List { head: Cell::new(core::ptr::null_mut()), len: Cell::new(0) }
    }
}

impl List {
    pub fn len(&self) -> u32 {
        self.len.get()
    }

    pub fn push(&self, at: Link, block: Block) {
        Stack::new(&self.head, at).push(block);
        self.len.set(self.len.get() + 1);
    }

    pub fn pop(&self, at: Link) -> Option<Block> {
        let block = Stack::new(&self.head, at).pop()?;
        self.len.set(self.len.get() - 1);
        Some(block)
    }

    /// The block `pop` would take, left in place.
    pub fn top(&self, at: Link) -> Option<Block> {
        Stack::new(&self.head, at).iter().next()
    }

    /// Keeps the first `kept` blocks (see `Stack::keep`); returns how
    /// many went.
    pub fn keep(&self, at: Link, kept: u32) -> u32 {
        Stack::new(&self.head, at).keep(kept);
        let lost = self.len.get() - kept;
        self.len.set(kept);
        lost
    }
}

/// Where every byte of a pool comes from: the C library, or the caller's
/// hooks; and how its frames sit in their blocks.
#[derive(Clone, Copy)]
pub struct Heap {
    alloc: ZfAllocFn,
    dealloc: ZfDeallocFn,
    ctx: *mut c_void,
    pub layout: Layout,
}

/// Why `Heap::try_alloc` gave no block.
#[derive(Clone, Copy, Debug)]
pub enum NoBlock {
    OutOfMemory,
    /// The hook's block was not aligned to 16; it was given back.
    Misaligned,
}

impl NoBlock {
    /// The error of a failed `alloc(bytes, what)`.
    #[cold]
    pub fn error(self, what: &'static str, bytes: usize) -> Error {
        match self {
            NoBlock::OutOfMemory => Error::OutOfMemory { what, bytes },
            NoBlock::Misaligned => Error::Misaligned { bytes },
        }
    }
}

impl Heap {
    pub fn new(cfg: &ZfConfig, layout: Layout) -> Heap {
        Heap { alloc: cfg.alloc, dealloc: cfg.dealloc, ctx: cfg.alloc_ctx, layout }
    }

    /// `size` bytes aligned to 16 (`what`: what they are for, which a
    /// failure's error names).
    pub fn alloc(&self, size: usize, what: &'static str) -> Result<NonNull<u8>, Error> {
        self.try_alloc(size).map_err(|why| why.error(what, size))
    }

    /// `alloc` with a one-byte answer on failure: a miss keeps fewer
    /// registers across the system's call than for a whole `Error`.
    #[inline]
    pub fn try_alloc(&self, size: usize) -> Result<NonNull<u8>, NoBlock> {
        let Some(hook) = self.alloc else {
            // ALIGN is a power of two and a multiple of sizeof(void *), and
            // os::alloc aligns to it: only a hook's block needs checking.
            return NonNull::new(os::alloc(ALIGN, size).cast::<u8>()).ok_or(NoBlock::OutOfMemory);
        };
        // SAFETY: the hook's contract is malloc's; size is nonzero.
        let p = NonNull::new(unsafe { hook(self.ctx, size) }.cast::<u8>()).ok_or(NoBlock::OutOfMemory)?;
        if p.as_ptr() as usize % ALIGN != 0 {
            // SAFETY: `p` came from the hook just now, for `size` bytes.
            unsafe { self.free(p, size) };
            return Err(NoBlock::Misaligned);
        }
        Ok(p)
    }

    /// # Safety
    /// `p` came from `self.alloc(size, _)` and is not used afterwards.
    pub unsafe fn free(&self, p: NonNull<u8>, size: usize) {
        match self.dealloc {
            // SAFETY: by the contract, `p` is the hook's own block of `size` bytes.
            Some(hook) => unsafe { hook(self.ctx, p.as_ptr().cast(), size) },
            // SAFETY: by the contract, `p` came from os::alloc.
            None => unsafe { os::free(p.as_ptr().cast()) },
        }
    }

    /// A block for frames of up to `frame_bytes` (at most ZF_MAX_FRAME_BYTES):
    /// the tests' shorthand for `alloc` and `block_at`.
    #[cfg(test)]
    pub fn new_block(&self, frame_bytes: usize) -> Result<Block, Error> {
        let too_big =
            Error::FrameBytes { function: "zf_code_new", asked: frame_bytes, min: 1, max: ZF_MAX_FRAME_BYTES };
        let bytes = self.layout.block_bytes(frame_bytes).ok_or(too_big)?;
        Ok(self.block_at(self.alloc(bytes, "a frame")?, frame_bytes, bytes))
    }

    /// The block at `start`, fresh from `alloc(bytes)`, for frames of up
    /// to `frame_bytes`, with `bytes` its `layout.block_bytes(frame_bytes)`
    /// (a code keeps both, so a miss need not work them out again).
    /// `frame_bytes` is a size class of at most ZF_MAX_FRAME_BYTES and a
    /// debug guard (`BLOCK_FRAME_MAX`).
    #[inline]
    pub fn block_at(&self, start: NonNull<u8>, frame_bytes: usize, bytes: usize) -> Block {
        debug_assert_eq!(self.layout.block_bytes(frame_bytes), Some(bytes));
        debug_assert!(frame_bytes <= BLOCK_FRAME_MAX, "zf_code_new let {frame_bytes} bytes through");
        if self.layout.headered {
            // Both fit in u32 (BLOCK_FRAME_MAX).
            let header = Header { capacity: frame_bytes as u32, bytes: bytes as u32, next: core::ptr::null_mut() };
            // SAFETY: fresh, aligned memory of at least HEADER_BYTES.
            unsafe { start.cast::<Header>().as_ptr().write(header) };
        }
        // SAFETY: the block holds its lead (the pointer may be its end,
        // when the frame is no more than its prefix).
        Block(unsafe { start.add(self.layout.lead) })
    }

    /// Where a block's header is, in a layout that has one.
    fn header_ptr(&self, block: Block) -> *mut Header {
        debug_assert!(self.layout.headered);
        // SAFETY: in a headered layout the header starts the block, `lead`
        // bytes before the frame, in the same allocation.
        unsafe { block.0.as_ptr().sub(self.layout.lead) }.cast::<Header>()
    }

    /// A block's header, in a layout that has one.
    fn header(&self, block: Block) -> &Header {
        // SAFETY: written by `block_at`; it lives as long as the block.
        unsafe { &*self.header_ptr(block) }
    }

    /// A headered block's size words, capacity then bytes, as its header
    /// holds them now: a debug pool checks them against its record (the
    /// caller may have written over them, just before its frame).
    pub(crate) fn size_words(&self, block: Block) -> (u32, u32) {
        let h = self.header(block);
        (h.capacity, h.bytes)
    }

    /// Whether a live headered block's link word is NULL, as a debug pool
    /// keeps it (`clear_link`): the caller may have written over it too.
    pub(crate) fn link_is_clear(&self, block: Block) -> bool {
        self.header(block).next.is_null()
    }

    /// Sets a live headered block's link word to NULL.
    pub(crate) fn clear_link(&self, block: Block) {
        // SAFETY: the header's link field, in the block; the block is live,
        // so no list reads it, and no reference to its header is alive.
        unsafe { (*self.header_ptr(block)).next = core::ptr::null_mut() };
    }

    /// Writes back the size words `block_at` gave the block.
    pub(crate) fn restore_size_words(&self, block: Block, (capacity, bytes): (u32, u32)) {
        // The pool holds the block, and no reference to its header is alive.
        let header = self.header_ptr(block);
        // SAFETY: the header's first two fields, in the block.
        unsafe { (*header).capacity = capacity };
        // SAFETY: as above.
        unsafe { (*header).bytes = bytes };
    }

    /// The largest frame `block` can hold, the prefix included: its
    /// header's word, or else `owners`, that of every block of the code or
    /// reserve list it belongs to.
    pub fn capacity(&self, block: Block, owners: usize) -> usize {
        match self.layout.headered {
            true => self.header(block).capacity as usize,
            false => owners,
        }
    }

    /// Bytes `block` holds: its header's word, or else `owners`, those of
    /// every block of the code or reserve list it belongs to.
    pub fn bytes(&self, block: Block, owners: usize) -> usize {
        match self.layout.headered {
            true => self.header(block).bytes as usize,
            false => owners,
        }
    }

    /// # Safety
    /// `block` came from `self.block_at`, holds `bytes`
    /// (`self.bytes`), and is not used afterwards.
    pub unsafe fn free_block(&self, block: Block, bytes: usize) {
        debug_assert!(!self.layout.headered || self.header(block).bytes as usize == bytes);
        // SAFETY: the block starts `lead` bytes before its frame.
        let start = unsafe { block.0.sub(self.layout.lead) };
        // SAFETY: forwarded contract.
        unsafe { self.free(start, bytes) }
    }

    /// Moves `value` into memory from this heap.
    pub fn boxed<T>(&self, value: T, what: &'static str) -> Result<NonNull<T>, Error> {
        const { assert!(align_of::<T>() <= ALIGN && size_of::<T>() > 0) };
        let p = self.alloc(size_of::<T>(), what)?.cast::<T>();
        // SAFETY: fresh memory, large and aligned enough for T.
        unsafe { p.as_ptr().write(value) };
        Ok(p)
    }

    /// Drops and frees what `boxed` made.
    ///
    /// # Safety
    /// `p` came from `self.boxed` and no reference to it outlives this call.
    pub unsafe fn unbox<T>(&self, p: NonNull<T>) {
        // SAFETY: by the contract, `p` holds a live T that nothing else uses.
        unsafe { p.as_ptr().drop_in_place() };
        // SAFETY: from `self.boxed`, for a T; dropped above, used no more.
        unsafe { self.free(p.cast(), size_of::<T>()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIXED: Layout = Layout { lead: HEADER_BYTES, headered: false };
    const PREFIXED_HEADERED: Layout = Layout { lead: 2 * HEADER_BYTES, headered: true };
    /// CPython 2.7's GC head on LP64: 32 bytes.
    const PREFIXED_32: Layout = Layout { lead: 32, headered: false };
    const PREFIXED_32_HEADERED: Layout = Layout { lead: 48, headered: true };

    fn heap(layout: Layout) -> Heap {
        Heap::new(&ZfConfig::default(), layout)
    }

    #[test]
    fn blocks_round_frames_to_16_and_add_a_header() {
        assert_eq!(HEADER_BYTES, 16);
        assert_eq!(block_bytes(1), Some(32));
        assert_eq!(block_bytes(16), Some(32));
        assert_eq!(block_bytes(440), Some(464));
        assert_eq!(block_bytes(usize::MAX), None);
        assert_eq!(block_bytes(usize::MAX - 20), None);
        // A prefix stands in for the header; a watched pool keeps one in front.
        assert_eq!((Layout::new(16, false), Layout::new(16, true)), (PREFIXED, PREFIXED_HEADERED));
        assert_eq!((Layout::new(32, false), Layout::new(32, true)), (PREFIXED_32, PREFIXED_32_HEADERED));
        assert_eq!(Layout::new(0, true), Layout::DEFAULT);
        // The prefix is part of the frame's bytes: its length moves the
        // pointer, never the block's size.
        let sizes = [PREFIXED, PREFIXED_HEADERED, PREFIXED_32, PREFIXED_32_HEADERED].map(|l| l.block_bytes(440));
        assert_eq!(sizes, [Some(448), Some(464), Some(448), Some(464)]);
        let layouts = [Layout::DEFAULT, PREFIXED, PREFIXED_HEADERED, PREFIXED_32, PREFIXED_32_HEADERED];
        assert_eq!(layouts.map(Layout::prefix), [0, 16, 16, 32, 32]);
    }

    #[test]
    fn classes_round_blocks_to_a_sixteenth_of_their_power_of_two() {
        let class_block = |f| block_bytes(size_class(f)).unwrap();
        assert_eq!([1, 16, 17, 224, 225].map(class_block), [32, 32, 48, 240, 256]);
        // 256 to 511 in steps of 16: a frame whose block fits 512 keeps it.
        assert_eq!([448, 464, 465, 496, 497].map(class_block), [464, 480, 496, 512, 544]);
        assert_eq!([1009, 1024].map(class_block), [1088, 1088]);
        assert_eq!(size_class(ZF_MAX_FRAME_BYTES), ZF_MAX_FRAME_BYTES + (1 << 26) - HEADER_BYTES);
        let guarded = crate::debug::block_frame_bytes(ZF_MAX_FRAME_BYTES, true);
        assert_eq!(size_class(guarded), BLOCK_FRAME_MAX);
        assert_eq!(size_class(usize::MAX - 8), usize::MAX - 8, "overflow is left to block_bytes");
        // Without a header a frame's block is its own bytes, rounded the
        // same way: CPython 2.7's 504-byte frames stay within 512.
        let prefixed = |f| PREFIXED.block_bytes(PREFIXED.size_class(f)).unwrap();
        assert_eq!([1, 16, 17, 33, 504, 512, 513].map(prefixed), [32, 32, 32, 48, 512, 512, 544]);
        assert_eq!(PREFIXED.size_class(504), 512);
    }

    #[test]
    fn frames_are_aligned_and_map_back_to_their_block() {
        for layout in [Layout::DEFAULT, PREFIXED, PREFIXED_HEADERED, PREFIXED_32, PREFIXED_32_HEADERED] {
            let heap = heap(layout);
            let b = heap.new_block(40).unwrap();
            assert_eq!((heap.capacity(b, 7), heap.bytes(b, 9)), if layout.headered { (40, 64) } else { (7, 9) });
            assert_eq!(b.frame().as_ptr() as usize % ALIGN, 0);
            // SAFETY: the frame came from this live block.
            assert_eq!(unsafe { Block::from_frame(b.frame()) }, b);
            let top = Cell::new(core::ptr::null_mut());
            let stack = Stack::new(&top, layout.link());
            assert!(stack.is_empty() && stack.pop().is_none());
            stack.push(b);
            assert_eq!((b.next(layout.link()), top.get()), (core::ptr::null_mut(), b.frame().as_ptr()));
            assert_eq!((stack.pop(), stack.is_empty()), (Some(b), true));
            // SAFETY: allocated above, not used again.
            unsafe { heap.free_block(b, layout.block_bytes(40).unwrap()) };
        }
    }

    #[test]
    fn the_link_is_the_headers_last_word_or_the_prefixs_and_nothing_else_is_written() {
        // Where the link goes, from the frame pointer, and whether the
        // caller's bytes (from the prefix on) hold it.
        for (layout, link, in_frame) in [
            (Layout::DEFAULT, 8, false),
            (PREFIXED, 8, true),
            (PREFIXED_HEADERED, 24, false),
            (PREFIXED_32, 8, true),
            (PREFIXED_32_HEADERED, 40, false),
        ] {
            assert_eq!(layout.link(), Link(-(link as isize)));
            let heap = heap(layout);
            let (a, b) = (heap.new_block(64).unwrap(), heap.new_block(64).unwrap());
            // SAFETY: a block holds its prefix, before the frame.
            let start = |x: Block| unsafe { x.frame().as_ptr().sub(layout.prefix()) };
            for x in [a, b] {
                // SAFETY: each block holds 64 frame bytes from `start`.
                unsafe { start(x).write_bytes(0xAB, 64) };
            }
            let top = Cell::new(core::ptr::null_mut());
            Stack::new(&top, layout.link()).push(a);
            Stack::new(&top, layout.link()).push(b);
            // SAFETY: as above.
            let bytes = unsafe { core::slice::from_raw_parts(start(b), 64) };
            // Every byte but the link's word as it was (the word itself may
            // hold 0xAB bytes: an address is what it is).
            let link_word = match in_frame {
                true => layout.prefix() - 8..layout.prefix(),
                false => 0..0,
            };
            let changed: Vec<usize> = (0..64).filter(|&i| bytes[i] != 0xAB && !link_word.contains(&i)).collect();
            assert_eq!(changed, Vec::<usize>::new(), "{layout:?}");
            // SAFETY: the link's word, inside the block's lead.
            let word = unsafe { b.frame().as_ptr().sub(link).cast::<*mut u8>() };
            // SAFETY: that word, aligned and written by the push.
            assert_eq!(unsafe { *word }, a.frame().as_ptr());
            let stack = Stack::new(&top, layout.link());
            assert_eq!((stack.pop(), stack.pop()), (Some(b), Some(a)));
            for x in [a, b] {
                // SAFETY: allocated above, in no stack now.
                unsafe { heap.free_block(x, layout.block_bytes(64).unwrap()) };
            }
        }
        // The fast path's word, wherever it reads one.
        assert_eq!([Layout::DEFAULT, PREFIXED, PREFIXED_32].map(Layout::link), [Link::FAST; 3]);
    }

    /// Blocks of capacities 16, 32, ... (so each is told by its capacity).
    fn blocks(heap: &Heap, n: usize) -> Vec<Block> {
        (1..=n).map(|i| heap.new_block(16 * i).unwrap()).collect()
    }

    fn capacities(heap: &Heap, stack: Stack<'_>) -> Vec<usize> {
        stack.iter().map(|b| heap.capacity(b, 0)).collect()
    }

    fn free_all(heap: &Heap, blocks: Vec<Block>) {
        for b in blocks {
            let bytes = heap.bytes(b, 0);
            // SAFETY: allocated by the caller, in no stack now, not used again.
            unsafe { heap.free_block(b, bytes) };
        }
    }

    #[test]
    fn stacks_are_lifo_and_cover_keeps_order() {
        let heap = heap(Layout::DEFAULT);
        let all = blocks(&heap, 5);
        let (a, b) = (Cell::new(core::ptr::null_mut()), Cell::new(core::ptr::null_mut()));
        let (sa, sb) = (Stack::new(&a, Link::FAST), Stack::new(&b, Link::FAST));
        all[..2].iter().for_each(|&x| sa.push(x));
        all[2..].iter().for_each(|&x| sb.push(x));
        assert_eq!((capacities(&heap, sa), capacities(&heap, sb)), (vec![32, 16], vec![80, 64, 48]));
        sa.cover_with(sb);
        assert!(sb.is_empty());
        assert_eq!(capacities(&heap, sa), [80, 64, 48, 32, 16]);
        sa.cover_with(sb); // covering with an empty stack changes nothing
        assert_eq!(capacities(&heap, sa), [80, 64, 48, 32, 16]);
        let popped: Vec<usize> = core::iter::from_fn(|| sa.pop()).map(|b| heap.capacity(b, 0)).collect();
        assert_eq!((popped, sa.is_empty()), (vec![80, 64, 48, 32, 16], true));
        free_all(&heap, all);
    }

    #[test]
    fn lists_count_what_they_hold() {
        let heap = heap(Layout::DEFAULT);
        let all = blocks(&heap, 3);
        let list = List::default();
        all.iter().for_each(|&x| list.push(Link::FAST, x));
        assert_eq!(list.len(), 3);
        let cap = |b: Option<Block>| b.map(|b| heap.capacity(b, 0));
        assert_eq!(cap(list.pop(Link::FAST)), Some(48));
        assert_eq!((list.len(), cap(list.pop(Link::FAST)), list.len()), (2, Some(32), 1));
        assert_eq!((cap(list.pop(Link::FAST)), list.pop(Link::FAST), list.len()), (Some(16), None, 0));
        free_all(&heap, all);
    }
}
