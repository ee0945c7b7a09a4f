//! The reserve: retired frames any code may take on a miss, indexed by
//! size class so that a miss finds a frame of its class, or knows there is
//! none, in O(1) whatever the reserve holds.
//!
//! One LIFO list per class (`block::size_class`: a block rounded up to a
//! sixteenth of its power of two), and a bitmap of the classes that hold
//! frames, so the smallest frame held is found in O(1) too (aging and
//! trimming give those back first). Under the legacy policy every block goes to
//! one list, CPython's global free list, whatever its size.

use crate::block::{Block, Link, List, ALIGN, BLOCK_FRAME_MAX, CLASS_STEPS, FINE_FROM, HEADER_BYTES};
use core::cell::Cell;
use core::ptr::NonNull;

/// Classes below `FINE_FROM`: every multiple of `ALIGN` from 32 bytes.
const SMALL: usize = FINE_FROM / ALIGN - 2;
/// Classes of blocks from 32 bytes to the largest a code may ask for
/// (`BLOCK_FRAME_MAX`'s block: 2^30 + 2^26 bytes, class 367).
pub(crate) const CLASSES: usize = index_of(BLOCK_FRAME_MAX + HEADER_BYTES) + 1;
const WORDS: usize = CLASSES.div_ceil(64);

/// The index of the size class of blocks of `block` bytes (a class's:
/// see `Layout::size_class`): blocks of 32 to 240 bytes are 0 to 13,
/// then `CLASS_STEPS` per power of two from `FINE_FROM`.
pub(crate) fn class_index(block: usize) -> usize {
    let index = index_of(block);
    debug_assert!(index < CLASSES && class_bytes(index) == block, "not a size class: {block}");
    index.min(CLASSES - 1)
}

/// `class_index`'s arithmetic, unchecked (it also sizes `CLASSES`).
const fn index_of(block: usize) -> usize {
    if block < FINE_FROM {
        return if block < 2 * ALIGN { 0 } else { block / ALIGN - 2 };
    }
    let log = (usize::BITS - 1 - block.leading_zeros()) as usize;
    let power = 1usize << log;
    SMALL + (log - FINE_FROM.trailing_zeros() as usize) * CLASS_STEPS + (block - power) / (power / CLASS_STEPS)
}

/// The bytes of every block of class `i` (`class_index`'s inverse).
pub(crate) fn class_bytes(i: usize) -> usize {
    if i < SMALL {
        return (i + 2) * ALIGN;
    }
    let power = FINE_FROM << ((i - SMALL) / CLASS_STEPS);
    power + (i - SMALL) % CLASS_STEPS * (power / CLASS_STEPS)
}

pub struct Reserve {
    classes: [List; CLASSES],
    /// Bit `i` set: `classes[i]` holds a frame.
    occupied: [Cell<u64>; WORDS],
    len: Cell<u32>,
    /// Legacy: one list for every size (CPython's free list).
    one_list: bool,
    /// Where its blocks' links sit (the pool's `Layout::link`).
    at: Link,
}

impl Reserve {
    pub fn new(one_list: bool, at: Link) -> Reserve {
        Reserve {
            classes: core::array::from_fn(|_| List::default()),
            occupied: core::array::from_fn(|_| Cell::new(0)),
            len: Cell::new(0),
            one_list,
            at,
        }
    }

    pub fn len(&self) -> u32 {
        self.len.get()
    }

    /// The list of blocks of `bytes` (a size class's; under legacy, any).
    pub fn class_of(&self, bytes: usize) -> usize {
        if self.one_list {
            0
        } else {
            class_index(bytes)
        }
    }

    fn mark(&self, i: usize, held: bool) {
        let word = &self.occupied[i / 64];
        let bit = 1u64 << (i % 64);
        word.set(if held { word.get() | bit } else { word.get() & !bit });
    }

    /// List `i`'s address: where a debug pool's record places the
    /// zombies it holds (`Pool::mark_retired`).
    pub fn list_at(&self, i: usize) -> NonNull<List> {
        self.classes.get(i).map_or(NonNull::dangling(), NonNull::from)
    }

    /// List `i`'s top, with its length (what a debug pool checks its link
    /// by).
    pub fn top(&self, i: usize) -> (Option<Block>, u32) {
        let list = &self.classes[i];
        (list.top(self.at), list.len())
    }

    /// Keeps list `i`'s first `kept` frames and lets the rest go,
    /// unfreed: a debug pool found a link under them overwritten
    /// (`Pool::vet_list`).
    pub fn keep(&self, i: usize, kept: u32) {
        let lost = self.classes[i].keep(self.at, kept);
        self.len.set(self.len.get() - lost);
        if kept == 0 {
            self.mark(i, false);
        }
    }

    /// The smallest class that holds a frame, if any.
    pub fn lowest(&self) -> Option<usize> {
        let (w, word) = self.occupied.iter().enumerate().find(|(_, w)| w.get() != 0)?;
        Some(w * 64 + word.get().trailing_zeros() as usize)
    }

    /// Retires `block` to list `i` (`class_of` its bytes).
    pub fn push(&self, i: usize, block: Block) {
        self.classes[i].push(self.at, block);
        self.mark(i, true);
        self.len.set(self.len.get() + 1);
    }

    /// Whether list `i` holds a frame. (No bounds check to fail: its
    /// panic path made the slow entries that ask it keep a stack frame.)
    pub fn holds(&self, i: usize) -> bool {
        self.classes.get(i).is_some_and(|list| list.len() != 0)
    }

    /// The most recently retired frame of list `i` (`class_of`; under
    /// legacy: the head of the one list, whatever its size).
    pub fn take(&self, i: usize) -> Option<Block> {
        let block = self.classes[i].pop(self.at)?;
        if self.classes[i].len() == 0 {
            self.mark(i, false);
        }
        self.len.set(self.len.get() - 1);
        Some(block)
    }

    /// A frame of the smallest class held (legacy: the head of the list),
    /// with its list: what aging and trimming give back first.
    pub fn pop(&self) -> Option<(usize, Block)> {
        let i = self.lowest()?;
        Some((i, self.take(i)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{block_bytes, size_class, Heap, Layout};
    use crate::config::{ZfConfig, ZF_MAX_FRAME_BYTES};

    /// The class of a frame of `bytes` in the default layout.
    fn class_of(bytes: usize) -> usize {
        class_index(block_bytes(size_class(bytes)).unwrap())
    }

    #[test]
    fn class_indices_are_dense_and_ordered() {
        let mut last = None;
        let mut seen = 0;
        let mut bytes = 1;
        while bytes <= ZF_MAX_FRAME_BYTES + 32 {
            let class = size_class(bytes);
            let i = class_of(bytes);
            assert!(i < CLASSES, "{bytes}: index {i}");
            assert_eq!(class_bytes(i), block_bytes(class).unwrap(), "{bytes}: class_bytes inverts class_index");
            match last {
                Some((c, j)) if c == class => assert_eq!(i, j, "one class, one index"),
                Some((_, j)) => {
                    assert_eq!(i, j + 1, "{bytes}: classes in order get consecutive indices");
                    seen += 1;
                }
                None => assert_eq!(i, 0),
            }
            last = Some((class, i));
            bytes = class + 1;
        }
        assert_eq!(seen + 1, class_of(ZF_MAX_FRAME_BYTES + 32) + 1);
        assert_eq!(class_of(ZF_MAX_FRAME_BYTES + 32), 367, "the largest block's class");
        assert_eq!(CLASSES, 368, "a list for each class, none more");
        assert_eq!([16, 96, 112, 224, 240, 432, 496].map(class_of), [0, 5, 6, 13, 14, 26, 30]);
    }

    /// Blocks of the given frame sizes, and the heap to free them.
    fn blocks(sizes: &[usize]) -> (Heap, Vec<Block>) {
        let heap = Heap::new(&ZfConfig::default(), Layout::DEFAULT);
        (heap, sizes.iter().map(|&s| heap.new_block(size_class(s)).unwrap()).collect())
    }

    fn free_all(heap: &Heap, blocks: Vec<Block>) {
        for block in blocks {
            let bytes = heap.bytes(block, 0);
            // SAFETY: out of every list.
            unsafe { heap.free_block(block, bytes) };
        }
    }

    #[test]
    fn a_miss_finds_its_class_or_nothing() {
        let (heap, b) = blocks(&[448, 100, 440, 4000, 100]);
        let r = Reserve::new(false, Link::FAST);
        for &block in &b {
            r.push(r.class_of(heap.bytes(block, 0)), block);
        }
        assert_eq!(r.len(), 5);
        // 440 and 448 share a class: the later one comes first (LIFO).
        assert_eq!(r.take(class_of(445)), Some(b[2]));
        assert_eq!(r.take(class_of(448)), Some(b[0]));
        assert_eq!(r.take(class_of(448)), None, "the class is empty; nothing else is handed out");
        assert_eq!(r.take(class_of(2000)), None);
        assert_eq!(r.len(), 3);
        // Aging gives back the smallest class first, LIFO within it.
        assert_eq!(r.pop(), Some((class_of(100), b[4])));
        assert_eq!(r.pop(), Some((class_of(100), b[1])));
        assert_eq!(r.pop(), Some((class_of(4000), b[3])));
        assert_eq!((r.pop(), r.len()), (None, 0));
        free_all(&heap, b);
    }

    #[test]
    fn legacy_keeps_one_list_of_every_size() {
        let (heap, b) = blocks(&[448, 100, 4000]);
        let r = Reserve::new(true, Link::FAST);
        for &block in &b {
            r.push(r.class_of(heap.bytes(block, 0)), block);
        }
        // The head, whatever the size asked.
        assert_eq!(r.take(r.class_of(16)), Some(b[2]));
        assert_eq!(r.pop(), Some((0, b[1])));
        assert_eq!(r.pop(), Some((0, b[0])));
        free_all(&heap, b);
    }
}
