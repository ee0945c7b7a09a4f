//! Operation sequences (new code, acquire, write, release, free code,
//! collect, clear, a new pool with another configuration) decoded from the
//! fuzzer's bytes, run through the C ABI beside the reference model of
//! tests/common/model.rs (the model test's, the very same module). After every step the stats must equal the model's, a
//! zombie must come back with the bytes its last user wrote, and the bound
//! in force must hold (budget 0: the automatic bound); at the end a
//! counting allocator hook must have got every byte back. AddressSanitizer
//! watches every access. Half the pools run in debug mode, whose checks
//! must stay silent on correct use (the default handler aborts, which the
//! fuzzer reports).
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/common/model.rs"]
mod model;

use common::stats;
use libfuzzer_sys::fuzz_target;
use model::*;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use zombie_frames::*;

/// The fuzzer's bytes, read as small choices; zeros once they run out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.byte() as usize % items.len()]
    }
    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }
}

struct Run {
    cfg: ZfConfig,
    pool: *mut ZfPool,
    m: Model,
    ledger: Box<Ledger>,
    live: Vec<(usize, *mut c_void)>,
    /// Each code's frame size as the caller sees it (the model is told the
    /// size of its blocks' frames: debug pools add a guard).
    user_bytes: Vec<usize>,
    contents: HashMap<usize, u64>,
    seed: u64,
    /// The inline states kept outside their codes (zf_code_new_with_hot).
    hots: Vec<*mut ZfCodeHot>,
}

impl Run {
    fn new(input: &mut Input) -> Run {
        let mut ledger = Box::new(Ledger::default());
        let mut cfg = ZfConfig::default();
        cfg.per_code_max = input.pick(&[0, 1, 2, 3, 8, 1000]);
        cfg.budget_bytes = input.pick(&[0, 100, 300, 2048, 16 << 10, usize::MAX]);
        cfg.sweep_every = input.pick(&[0, 1, 2, 7, 64]);
        cfg.reserve_max = input.pick(&[0, 1, 4, 200]);
        cfg.sweep_generation = input.pick(&[0, 1, 2]);
        cfg.flags = input.pick(&[0, ZF_FLAG_DEBUG, ZF_FLAG_FRAME_PREFIX, ZF_FLAG_DEBUG | ZF_FLAG_FRAME_PREFIX]);
        if cfg.flags & ZF_FLAG_FRAME_PREFIX != 0 {
            cfg.prefix_bytes = input.pick(&[0, 32]); // 3.9's GC head (16), 2.7's (32)
        }
        cfg.alloc = Some(ledger_alloc);
        cfg.dealloc = Some(ledger_dealloc);
        cfg.alloc_ctx = (&mut *ledger as *mut Ledger).cast();
        // SAFETY: a whole, valid config.
        let pool = unsafe { zf_pool_new(&cfg) };
        assert!(!pool.is_null());
        let m = Model::new(&cfg);
        Run { cfg, pool, m, ledger, live: vec![], user_bytes: vec![], contents: HashMap::new(), seed: 1, hots: vec![] }
    }

    fn debug(&self) -> bool {
        self.cfg.flags & ZF_FLAG_DEBUG != 0
    }

    /// The frame's bytes before its pointer (`ZF_FLAG_FRAME_PREFIX`).
    fn prefix(&self) -> usize {
        self.cfg.prefix()
    }

    fn alive(&self) -> Vec<usize> {
        (0..self.m.codes.len()).filter(|&i| !self.m.codes[i].freed).collect()
    }

    fn write(&mut self, frame: *mut c_void, len: usize) {
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        fill(frame.cast(), self.prefix(), len, self.seed);
        self.contents.insert(frame as usize, self.seed);
    }

    /// One operation; every handle and frame is used as the header says.
    unsafe fn step(&mut self, input: &mut Input) {
        let alive = self.alive();
        match input.byte() % 9 {
            0 => {
                let size = match input.byte() {
                    b @ 0..=199 => b as usize + 1,
                    b => (b as usize - 199) * 97,
                }
                .max(self.prefix()); // a prefixed frame holds its prefix
                let (code, inline) = match input.byte() % 2 {
                    // Its inline state in the ZfCode, or kept by the caller.
                    0 => {
                        let code = zf_code_new(self.pool, size);
                        (code, code.cast())
                    }
                    _ => {
                        let hot = new_hot();
                        self.hots.push(hot);
                        (zf_code_new_with_hot(self.pool, size, hot), hot)
                    }
                };
                assert!(!code.is_null());
                self.m.new_code(code, inline, block_frame_bytes(size, self.debug()));
                self.user_bytes.push(size);
            }
            1 | 2 if !alive.is_empty() => {
                let ci = alive[input.below(alive.len())];
                let mut is_zombie: c_int = -1;
                let handle = self.m.codes[ci].handle;
                // The exported function, or the header's inline pair (its copy in tests/common/model.rs).
                let frame = match input.byte() % 2 {
                    0 => zf_frame_acquire(handle, &mut is_zombie),
                    _ => acquire_fast(self.m.codes[ci].inline, handle, &mut is_zombie),
                };
                assert!(!frame.is_null() && frame as usize % 16 == 0);
                let len = self.user_bytes[ci];
                match self.m.acquire(ci) {
                    Want::Zombie(addr) => {
                        assert_eq!((is_zombie, frame as usize), (1, addr), "not the zombie the hit takes next");
                        assert!(holds(frame.cast(), self.prefix(), len, self.contents[&addr], self.debug()), "zombie bytes changed");
                    }
                    Want::Reserve(addr) => assert_eq!((is_zombie, frame as usize), (0, addr), "not the reserve frame"),
                    Want::Fresh => {
                        assert_eq!(is_zombie, 0, "is_zombie");
                        self.m.fresh(ci, frame as usize);
                    }
                }
                self.write(frame, len);
                self.live.push((ci, frame));
            }
            3 if !self.live.is_empty() => {
                let (ci, frame) = self.live[input.below(self.live.len())];
                let len = self.user_bytes[ci];
                self.write(frame, len);
            }
            4 | 5 if !self.live.is_empty() => {
                let (ci, frame) = self.live.swap_remove(input.below(self.live.len()));
                match input.byte() % 2 {
                    0 => zf_frame_release(self.m.codes[ci].handle, frame),
                    _ => release_fast(self.m.codes[ci].inline, self.m.codes[ci].handle, frame),
                }
                self.m.release(ci, frame as usize);
            }
            6 if !alive.is_empty() => {
                let ci = alive[input.below(alive.len())];
                zf_code_free(self.m.codes[ci].handle);
                self.m.free_code(ci);
                assert!(self.m.codes[ci].forget_hot(), "a freed code's state is inert");
            }
            7 => {
                let generation = input.below(3);
                zf_pool_collect(self.pool, generation as c_int);
                self.m.collect(generation as u32);
            }
            8 => {
                zf_pool_clear(self.pool);
                self.m.clear();
            }
            _ => {}
        }
        let got = stats(self.pool);
        self.m.s.shared_frames = self.m.reserve.len() as u64;
        self.m.s.allowance_bytes = self.m.allowance();
        self.m.s.bound_bytes = self.m.bound();
        assert_eq!(got, self.m.s, "stats differ from the model");
        assert!(got.cached_bytes + got.allowance_bytes <= got.bound_bytes, "over the bound in force");
        if self.cfg.budget_bytes != ZF_BUDGET_AUTO {
            assert_eq!(got.bound_bytes, self.cfg.budget_bytes as u64, "a user's budget is the bound");
        }
    }

    /// Frees in the worst order (the pool first, frames and codes still
    /// alive), then checks that the hook got every byte back.
    unsafe fn finish(mut self) {
        if self.debug() {
            zf_set_error_handler(self.pool, Some(count_leak_report), std::ptr::null_mut());
        }
        zf_pool_free(self.pool);
        for (ci, frame) in self.live.drain(..) {
            zf_frame_release(self.m.codes[ci].handle, frame);
        }
        for c in self.m.codes.iter().filter(|c| !c.freed) {
            zf_code_free(c.handle);
        }
        for hot in self.hots.drain(..) {
            assert!(drop_hot(hot), "a freed code's state was written");
        }
        assert_eq!(self.ledger.allocs, self.ledger.frees, "blocks leaked");
        assert_eq!(self.ledger.bytes_out, 0, "bytes leaked");
    }
}

/// The one report correct use may get: frames still live at zf_pool_free.
unsafe extern "C" fn count_leak_report(_: *mut c_void, kind: c_int, _: *const std::ffi::c_char) {
    assert_eq!(kind, ZF_ERR_LEAK, "debug mode reported correct use");
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut run = Run::new(&mut input);
    // SAFETY: the driver uses every handle and frame as the header says.
    unsafe {
        while !input.0.is_empty() {
            if input.0[0] == 0xff {
                // Another pool, with another configuration.
                input.byte();
                std::mem::replace(&mut run, Run::new(&mut input)).finish();
            }
            run.step(&mut input);
        }
        run.finish();
    }
});
