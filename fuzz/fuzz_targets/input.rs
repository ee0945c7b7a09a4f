//! The fuzzer's bytes, read as small choices (zeros once they run out):
//! shared by the `ops` and `config` targets (each uses some of it).
#![allow(dead_code)]

pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    pub fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.byte() as usize % items.len()]
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }

    /// Up to `n` bytes (fewer once the input runs out).
    pub fn bytes(&mut self, n: usize) -> &[u8] {
        let (taken, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        taken
    }

    /// Eight bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        let mut word = [0; 8];
        let taken = self.bytes(8);
        word[..taken.len()].copy_from_slice(taken);
        u64::from_le_bytes(word)
    }

    /// One of `items` (a byte below 0xc0), else any value of the type
    /// (eight more bytes, cut to it): the edges a list names, and what
    /// no list thought of.
    pub fn value<T: Copy + TryFrom<u64>>(&mut self, items: &[T]) -> T {
        let b = self.byte();
        if b < 0xc0 {
            return items[b as usize % items.len()];
        }
        let bits = 8 * std::mem::size_of::<T>() as u32;
        let raw = self.u64() & u64::MAX.checked_shr(64 - bits).unwrap_or(u64::MAX);
        T::try_from(raw).unwrap_or(items[0])
    }
}
