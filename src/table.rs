//! A map from frame addresses to small records, for the pools that watch
//! every frame: the debug record and the `ZF_TRACE` recorder. Open
//! addressing with linear probing, at most half full, and backward-shift
//! removal (no tombstones). Its memory comes from the pool's heap, so
//! allocator hooks see it and running out is an error like any other.

use crate::block::Heap;
use crate::error::Error;
use core::cell::Cell;
use core::mem::size_of;
use core::ptr::NonNull;

/// One slot: a frame address (0: empty) and its value.
type Slot<V> = (usize, V);

pub(crate) struct FrameTable<V: Copy + Default> {
    heap: Heap,
    /// What the memory is for, in out-of-memory messages.
    what: &'static str,
    table: Cell<Option<NonNull<Slot<V>>>>,
    /// Slots; a power of two, or 0 before the first insertion.
    cap: Cell<usize>,
    len: Cell<usize>,
}

impl<V: Copy + Default> FrameTable<V> {
    pub fn new(heap: Heap, what: &'static str) -> Self {
        FrameTable { heap, what, table: Cell::new(None), cap: Cell::new(0), len: Cell::new(0) }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len.get()
    }

    fn slots(&self) -> &[Cell<Slot<V>>] {
        match self.table.get() {
            // SAFETY: `cap` initialised slots owned by this table; Cell has
            // the layout of what it holds and makes shared access sound.
            Some(t) => unsafe { core::slice::from_raw_parts(t.as_ptr().cast::<Cell<Slot<V>>>(), self.cap.get()) },
            None => &[],
        }
    }

    /// Makes room for one more frame, so that `set` cannot fail.
    pub fn reserve(&self) -> Result<(), Error> {
        if (self.len.get() + 1) * 2 <= self.cap.get() {
            return Ok(());
        }
        let cap = (self.cap.get() * 2).max(64);
        let bytes =
            cap.checked_mul(size_of::<Slot<V>>()).ok_or(Error::OutOfMemory { what: self.what, bytes: usize::MAX })?;
        let fresh = self.heap.alloc(bytes, self.what)?.cast::<Slot<V>>();
        for i in 0..cap {
            // SAFETY: `fresh` has room for `cap` slots.
            let slot = unsafe { fresh.as_ptr().add(i) };
            // SAFETY: a slot of `fresh`, aligned (16, from the heap).
            unsafe { slot.write((0, V::default())) };
        }
        let old = self.slots().as_ptr();
        let old_cap = self.cap.replace(cap);
        let old_table = self.table.replace(Some(fresh));
        self.len.set(0);
        for i in 0..old_cap {
            // SAFETY: the old table has `old_cap` slots; it is freed only below.
            let slot = unsafe { old.add(i) };
            // SAFETY: an initialised slot of it.
            let slot = unsafe { &*slot };
            let (frame, value) = slot.get();
            if frame != 0 {
                self.set(frame, value);
            }
        }
        self.free(old_table, old_cap);
        Ok(())
    }

    fn free(&self, table: Option<NonNull<Slot<V>>>, cap: usize) {
        if let Some(t) = table {
            // SAFETY: allocated by `reserve` for `cap` slots; no longer referenced.
            unsafe { self.heap.free(t.cast(), cap * size_of::<Slot<V>>()) };
        }
    }

    /// Where `frame` is, or the empty slot where it would go. Out of line:
    /// every check of a debug pool looks up its record.
    #[inline(never)]
    fn find(&self, frame: usize) -> Option<usize> {
        let mask = self.cap.get().checked_sub(1)?;
        let slots = self.slots();
        let mut i = home(frame, mask);
        while slots[i].get().0 != 0 && slots[i].get().0 != frame {
            i = (i + 1) & mask;
        }
        Some(i)
    }

    #[inline(never)]
    pub fn get(&self, frame: usize) -> Option<V> {
        let (at, value) = self.slots()[self.find(frame)?].get();
        (at != 0).then_some(value)
    }

    /// Inserts or updates `frame` (not 0), in the room `reserve` made.
    #[inline(never)]
    pub fn set(&self, frame: usize, value: V) {
        debug_assert!(frame != 0);
        let Some(i) = self.find(frame) else { return };
        let slot = &self.slots()[i];
        if slot.get().0 == 0 {
            debug_assert!(self.len.get() * 2 < self.cap.get(), "reserve first");
            self.len.set(self.len.get() + 1);
        }
        slot.set((frame, value));
    }

    /// Removes `frame`, shifting later slots of its run back; its value, if it was there.
    pub fn remove(&self, frame: usize) -> Option<V> {
        let mut hole = self.find(frame)?;
        let slots = self.slots();
        let (at, value) = slots[hole].get();
        if at == 0 {
            return None;
        }
        let mask = self.cap.get() - 1;
        let mut i = hole;
        loop {
            i = (i + 1) & mask;
            let s = slots[i].get();
            if s.0 == 0 {
                break;
            }
            // Move it into the hole unless its home lies after the hole, up to i.
            if (i.wrapping_sub(home(s.0, mask)) & mask) >= (i.wrapping_sub(hole) & mask) {
                slots[hole].set(s);
                hole = i;
            }
        }
        slots[hole].set((0, V::default()));
        self.len.set(self.len.get() - 1);
        Some(value)
    }

    /// Every frame and its value, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, V)> + '_ {
        self.slots().iter().map(Cell::get).filter(|s| s.0 != 0)
    }
}

impl<V: Copy + Default> Drop for FrameTable<V> {
    fn drop(&mut self) {
        self.free(self.table.take(), self.cap.get());
    }
}

/// The slot where a frame's run starts (frames are 16-aligned: drop those bits).
fn home(frame: usize, mask: usize) -> usize {
    ((frame >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17) & mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ZfConfig;
    use std::collections::HashMap;

    fn table() -> FrameTable<u64> {
        FrameTable::new(Heap::new(&ZfConfig::default(), crate::block::Layout::DEFAULT), "a test table")
    }

    #[test]
    fn it_agrees_with_a_hash_map_through_growth_and_removal() {
        let t = table();
        let mut model = HashMap::new();
        // Addresses that collide in their home slots: steps of 16 times a power of two.
        let mut x = 12345u64;
        for step in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let frame = (((x % 3000) + 1) << 4) as usize * if step % 3 == 0 { 4096 } else { 1 };
            if x % 5 < 3 {
                t.reserve().unwrap();
                t.set(frame, step);
                model.insert(frame, step);
            } else {
                assert_eq!(t.remove(frame), model.remove(&frame));
            }
            assert_eq!(t.len(), model.len());
        }
        for (&frame, &v) in &model {
            assert_eq!(t.get(frame), Some(v));
        }
        let mut all: Vec<_> = t.iter().collect();
        all.sort();
        let mut want: Vec<_> = model.into_iter().collect();
        want.sort();
        assert_eq!(all, want);
    }

    #[test]
    fn an_empty_table_finds_nothing() {
        let t = table();
        assert_eq!((t.get(16), t.remove(16), t.iter().count()), (None, None, 0));
    }

    #[test]
    fn running_out_of_memory_is_an_error() {
        unsafe extern "C" fn no_memory(_: *mut core::ffi::c_void, _: usize) -> *mut core::ffi::c_void {
            core::ptr::null_mut()
        }
        unsafe extern "C" fn never(_: *mut core::ffi::c_void, _: *mut core::ffi::c_void, _: usize) {
            unreachable!()
        }
        let cfg = ZfConfig { alloc: Some(no_memory), dealloc: Some(never), ..ZfConfig::default() };
        let t: FrameTable<u64> = FrameTable::new(Heap::new(&cfg, crate::block::Layout::DEFAULT), "a test table");
        assert!(matches!(t.reserve(), Err(Error::OutOfMemory { what: "a test table", .. })));
    }
}
