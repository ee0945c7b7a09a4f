//! Raw memory: the allocator (malloc or the caller's hooks) and the block
//! that carries each frame.
//!
//! A block is `[Header | frame bytes, rounded up to 16]`. The header holds
//! the library's bookkeeping, so the caller's frame bytes are never touched:
//! a zombie keeps everything the interpreter left in it.

use crate::config::{ZfAllocFn, ZfConfig, ZfDeallocFn, ZF_MAX_FRAME_BYTES};
use crate::error::Error;
use crate::os;
use core::cell::Cell;
use core::ffi::c_void;
use core::mem::{align_of, size_of};
use core::ptr::NonNull;

/// Frames, and everything the library allocates, are aligned to this.
pub(crate) const ALIGN: usize = 16;

#[repr(C, align(16))]
struct Header {
    /// The next zombie's frame in its stack (NULL at the bottom);
    /// meaningless while the frame is live. A frame pointer, not a block
    /// pointer, so the header's inline fast path pops without arithmetic:
    /// it reads this word `ZF_HEADER_BYTES` before the frame.
    next: *mut u8,
    /// The frame bytes this block was sized for. Under the legacy policy a
    /// block handed to another code keeps its size, as CPython's do.
    capacity: u32,
    /// `block_bytes(capacity)`: what the block really holds.
    bytes: u32,
}

pub(crate) const HEADER_BYTES: usize = size_of::<Header>();
/// Where `next` sits, from the frame: the C fast path relies on it.
const _: () = assert!(HEADER_BYTES == 16 && core::mem::offset_of!(Header, next) == 0);

/// Bytes of one block for a frame of `frame_bytes`, or None on overflow.
pub fn block_bytes(frame_bytes: usize) -> Option<usize> {
    frame_bytes.checked_add(ALIGN - 1).map(|n| n & !(ALIGN - 1))?.checked_add(HEADER_BYTES)
}

/// The most a block's frame holds: the size class of the largest frame a
/// code may ask for, with a debug guard after it. Its block's bytes fit
/// the header's u32.
pub(crate) const BLOCK_FRAME_MAX: usize = ZF_MAX_FRAME_BYTES + (ZF_MAX_FRAME_BYTES >> 3) - HEADER_BYTES;
const _: () = assert!(BLOCK_FRAME_MAX + HEADER_BYTES <= u32::MAX as usize);

/// The size class of a frame of `frame_bytes`: what a block of its class
/// holds. The block (`block_bytes`) is rounded up to an eighth of its
/// power of two (at least 16 bytes), so at most 12.5% is wasted, frames of
/// a class are interchangeable, and blocks fall on an allocator's size
/// steps: a frame whose block fits 512 bytes gets a block of at most 512,
/// which CPython's small-object allocator serves. Overflow is left to
/// `block_bytes`.
pub fn size_class(frame_bytes: usize) -> usize {
    let Some(block) = block_bytes(frame_bytes.max(1)) else { return frame_bytes };
    block_class(block).map_or(frame_bytes, |class| class - HEADER_BYTES)
}

/// `block` (a block's bytes, so at least 32) rounded up to an eighth of
/// its power of two, at least 16 bytes.
fn block_class(block: usize) -> Option<usize> {
    let power = 1usize << (usize::BITS - 1 - block.leading_zeros());
    block.checked_next_multiple_of((power / 8).max(ALIGN))
}

/// A block the library allocated and has not freed yet. Only `Heap` makes
/// one (or `from_frame`, from a pointer it handed out), so its header is
/// always readable.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct Block(NonNull<Header>);

impl Block {
    /// The caller's part of the block.
    pub fn frame(self) -> NonNull<u8> {
        // SAFETY: the block is at least HEADER_BYTES long, so the result stays
        // inside the same allocation.
        let frame = unsafe { self.0.as_ptr().cast::<u8>().add(HEADER_BYTES) };
        // SAFETY: inside an allocation, hence not null.
        unsafe { NonNull::new_unchecked(frame) }
    }

    /// The block whose frame is `frame`.
    ///
    /// # Safety
    /// `frame` must have come from `Block::frame` of a block not freed since.
    pub unsafe fn from_frame(frame: NonNull<u8>) -> Block {
        // SAFETY: by the contract, the header sits HEADER_BYTES before the
        // frame, in the same allocation.
        let header = unsafe { frame.as_ptr().sub(HEADER_BYTES) };
        // SAFETY: inside an allocation, hence not null.
        Block(unsafe { NonNull::new_unchecked(header.cast()) })
    }

    /// The frame stacked under this one (see `Stack`).
    fn next(self) -> *mut u8 {
        // SAFETY: a Block always points to a live, aligned header (see type docs).
        unsafe { (*self.0.as_ptr()).next }
    }

    fn set_next(self, next: *mut u8) {
        // SAFETY: as in `next`; only stacks write this word.
        unsafe { (*self.0.as_ptr()).next = next }
    }

    /// The largest frame this block can hold.
    pub fn capacity(self) -> usize {
        // SAFETY: as in `next`.
        unsafe { (*self.0.as_ptr()).capacity as usize }
    }

    /// Bytes the block holds, header included.
    pub fn bytes(self) -> usize {
        // SAFETY: as in `next`.
        unsafe { (*self.0.as_ptr()).bytes as usize }
    }
}

/// The block of a frame pointer read from a stack, if any.
fn block_of(frame: *mut u8) -> Option<Block> {
    // SAFETY: stacks hold only frames of live blocks (push takes a Block).
    NonNull::new(frame).map(|f| unsafe { Block::from_frame(f) })
}

/// A LIFO stack of blocks threaded through their headers' `next`, whose
/// top is a frame pointer in a cell its owner chooses: a code's hot top
/// (which the C fast path also pops and pushes), its cold stack, the
/// reserve. The stack keeps no count: its owner does, if it needs one.
#[derive(Clone, Copy)]
pub struct Stack<'a>(pub &'a Cell<*mut u8>);

impl Stack<'_> {
    pub fn is_empty(self) -> bool {
        self.0.get().is_null()
    }

    pub fn push(self, block: Block) {
        block.set_next(self.0.get());
        self.0.set(block.frame().as_ptr());
    }

    /// The most recently pushed block (the warmest in the CPU caches).
    pub fn pop(self) -> Option<Block> {
        let block = block_of(self.0.get())?;
        self.0.set(block.next());
        Some(block)
    }

    /// The blocks, top first.
    pub fn iter(self) -> impl Iterator<Item = Block> {
        let mut at = block_of(self.0.get());
        core::iter::from_fn(move || {
            let block = at?;
            at = block_of(block.next());
            Some(block)
        })
    }

    /// Covers this stack with every block of `other`, in their order, and
    /// empties `other`. Walks `other`, not this one.
    pub fn cover_with(self, other: Stack<'_>) {
        let Some(bottom) = other.iter().last() else { return };
        bottom.set_next(self.0.get());
        self.0.set(other.0.replace(core::ptr::null_mut()));
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

    pub fn push(&self, block: Block) {
        Stack(&self.head).push(block);
        self.len.set(self.len.get() + 1);
    }

    pub fn pop(&self) -> Option<Block> {
        let block = Stack(&self.head).pop()?;
        self.len.set(self.len.get() - 1);
        Some(block)
    }
}

/// Where every byte of a pool comes from: the C library, or the caller's hooks.
#[derive(Clone, Copy)]
pub struct Heap {
    alloc: ZfAllocFn,
    dealloc: ZfDeallocFn,
    ctx: *mut c_void,
}

impl Heap {
    pub fn new(cfg: &ZfConfig) -> Heap {
        Heap { alloc: cfg.alloc, dealloc: cfg.dealloc, ctx: cfg.alloc_ctx }
    }

    /// `size` bytes aligned to 16.
    pub fn alloc(&self, size: usize, what: &'static str) -> Result<NonNull<u8>, Error> {
        let out_of_memory = Error::OutOfMemory { what, bytes: size };
        let Some(hook) = self.alloc else {
            // ALIGN is a power of two and a multiple of sizeof(void *), and
            // os::alloc aligns to it: only a hook's block needs checking.
            return NonNull::new(os::alloc(ALIGN, size).cast::<u8>()).ok_or(out_of_memory);
        };
        // SAFETY: the hook's contract is malloc's; size is nonzero.
        let p = NonNull::new(unsafe { hook(self.ctx, size) }.cast::<u8>()).ok_or(out_of_memory)?;
        if p.as_ptr() as usize % ALIGN != 0 {
            // SAFETY: `p` came from the hook just now, for `size` bytes.
            unsafe { self.free(p, size) };
            return Err(Error::Misaligned { bytes: size });
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
    /// the tests' shorthand for `new_sized_block`.
    #[cfg(test)]
    pub fn new_block(&self, frame_bytes: usize) -> Result<Block, Error> {
        let too_big = Error::FrameBytes { asked: frame_bytes, max: ZF_MAX_FRAME_BYTES };
        self.new_sized_block(frame_bytes, block_bytes(frame_bytes).ok_or(too_big)?)
    }

    /// A block for frames of up to `frame_bytes`, of `bytes`,
    /// `block_bytes(frame_bytes)`: a code keeps its own, so a miss need not
    /// work it out again. `frame_bytes` is a size class of at most
    /// ZF_MAX_FRAME_BYTES and a debug guard (`BLOCK_FRAME_MAX`).
    #[inline]
    pub fn new_sized_block(&self, frame_bytes: usize, bytes: usize) -> Result<Block, Error> {
        debug_assert_eq!(block_bytes(frame_bytes), Some(bytes));
        debug_assert!(frame_bytes <= BLOCK_FRAME_MAX, "zf_code_new let {frame_bytes} bytes through");
        let block = Block(self.alloc(bytes, "a frame")?.cast());
        // Both fit in u32 (BLOCK_FRAME_MAX).
        let header = Header { next: core::ptr::null_mut(), capacity: frame_bytes as u32, bytes: bytes as u32 };
        // SAFETY: fresh, aligned memory of at least HEADER_BYTES.
        unsafe { block.0.as_ptr().write(header) };
        Ok(block)
    }

    /// # Safety
    /// `block` came from `self.new_sized_block` and is not used afterwards.
    pub unsafe fn free_block(&self, block: Block) {
        // SAFETY: forwarded contract; the header says how big the block is.
        unsafe { self.free(block.0.cast(), block.bytes()) }
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

    #[test]
    fn blocks_round_frames_to_16_and_add_a_header() {
        assert_eq!(HEADER_BYTES, 16);
        assert_eq!(block_bytes(1), Some(32));
        assert_eq!(block_bytes(16), Some(32));
        assert_eq!(block_bytes(440), Some(464));
        assert_eq!(block_bytes(usize::MAX), None);
        assert_eq!(block_bytes(usize::MAX - 20), None);
    }

    #[test]
    fn classes_round_blocks_to_an_eighth_of_their_power_of_two() {
        let class_block = |f| block_bytes(size_class(f)).unwrap();
        assert_eq!([1, 16, 17, 112, 113].map(class_block), [32, 32, 48, 128, 144]);
        // 256 to 511 in steps of 32: a frame whose block fits 512 keeps it.
        assert_eq!([448, 464, 465, 496, 497].map(class_block), [480, 480, 512, 512, 576]);
        assert_eq!(size_class(ZF_MAX_FRAME_BYTES), ZF_MAX_FRAME_BYTES + (1 << 27) - HEADER_BYTES);
        let guarded = crate::debug::block_frame_bytes(ZF_MAX_FRAME_BYTES, true);
        assert_eq!(size_class(guarded), BLOCK_FRAME_MAX);
        assert_eq!(size_class(usize::MAX - 8), usize::MAX - 8, "overflow is left to block_bytes");
    }

    #[test]
    fn frames_are_aligned_and_map_back_to_their_block() {
        let heap = Heap::new(&ZfConfig::default());
        let b = heap.new_block(40).unwrap();
        assert_eq!((b.capacity(), b.bytes()), (40, 64));
        assert_eq!(b.frame().as_ptr() as usize % ALIGN, 0);
        // SAFETY: the frame came from this live block.
        assert_eq!(unsafe { Block::from_frame(b.frame()) }, b);
        let top = Cell::new(core::ptr::null_mut());
        let stack = Stack(&top);
        assert!(stack.is_empty() && stack.pop().is_none());
        stack.push(b);
        assert_eq!((b.next(), top.get()), (core::ptr::null_mut(), b.frame().as_ptr()));
        assert_eq!((stack.pop(), stack.is_empty()), (Some(b), true));
        // SAFETY: allocated above, not used again.
        unsafe { heap.free_block(b) };
    }

    /// Blocks of capacities 16, 32, ... (so each is told by its capacity).
    fn blocks(heap: &Heap, n: usize) -> Vec<Block> {
        (1..=n).map(|i| heap.new_block(16 * i).unwrap()).collect()
    }

    fn capacities(stack: Stack<'_>) -> Vec<usize> {
        stack.iter().map(Block::capacity).collect()
    }

    #[test]
    fn stacks_are_lifo_and_cover_keeps_order() {
        let heap = Heap::new(&ZfConfig::default());
        let all = blocks(&heap, 5);
        let (a, b) = (Cell::new(core::ptr::null_mut()), Cell::new(core::ptr::null_mut()));
        let (sa, sb) = (Stack(&a), Stack(&b));
        all[..2].iter().for_each(|&x| sa.push(x));
        all[2..].iter().for_each(|&x| sb.push(x));
        assert_eq!((capacities(sa), capacities(sb)), (vec![32, 16], vec![80, 64, 48]));
        sa.cover_with(sb);
        assert!(sb.is_empty());
        assert_eq!(capacities(sa), [80, 64, 48, 32, 16]);
        sa.cover_with(sb); // covering with an empty stack changes nothing
        assert_eq!(capacities(sa), [80, 64, 48, 32, 16]);
        let popped: Vec<usize> = core::iter::from_fn(|| sa.pop()).map(Block::capacity).collect();
        assert_eq!((popped, sa.is_empty()), (vec![80, 64, 48, 32, 16], true));
        // SAFETY: allocated above, in no stack now, not used again.
        all.into_iter().for_each(|x| unsafe { heap.free_block(x) });
    }

    #[test]
    fn lists_count_what_they_hold() {
        let heap = Heap::new(&ZfConfig::default());
        let all = blocks(&heap, 3);
        let list = List::default();
        all.iter().for_each(|&x| list.push(x));
        assert_eq!(list.len(), 3);
        assert_eq!(list.pop().map(Block::capacity), Some(48));
        assert_eq!((list.len(), list.pop().map(Block::capacity), list.len()), (2, Some(32), 1));
        assert_eq!((list.pop().map(Block::capacity), list.pop(), list.len()), (Some(16), None, 0));
        // SAFETY: allocated above, in no list now, not used again.
        all.into_iter().for_each(|x| unsafe { heap.free_block(x) });
    }
}
