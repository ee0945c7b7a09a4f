//! A frame-heavy workload run through the C ABI, the way an interpreter
//! would drive the library, ending with the pool's report.
//!
//!     cargo run --release --example workload
//!     ZF_BUDGET=64K ZF_PER_CODE_MAX=8 cargo run --release --example workload
//!
//! It plays an interpreter running a program in phases: a call-heavy loop
//! over helper functions, a recursive fib, two recursive tree walks
//! interleaved, generators that outlive their calls, lambdas made and
//! dropped by the thousand, and a second program phase with other functions
//! (the working set moves). A garbage collection runs every 700 calls, as
//! CPython's generation 0 does by default.

use std::ffi::{c_int, c_void, CStr};
use zombie_frames::*;

/// CPython 3.9 on x86-64: GC header + PyFrameObject + 8 bytes a slot.
fn frame_bytes(slots: usize) -> usize {
    16 + 368 + 8 * slots
}

struct Interp {
    pool: *mut ZfPool,
    calls: u64,
}

impl Interp {
    fn code(&self, slots: usize) -> *mut ZfCode {
        // SAFETY: the pool is alive for the whole run.
        let code = unsafe { zf_code_new(self.pool, frame_bytes(slots)) };
        assert!(!code.is_null(), "{}", last_error());
        code
    }

    /// PyFrame_New: a zombie needs only its per-call fields set.
    fn enter(&mut self, code: *mut ZfCode) -> *mut c_void {
        let mut zombie: c_int = 0;
        // SAFETY: `code` is alive; `zombie` is writable.
        let frame = unsafe { zf_frame_acquire(code, &mut zombie) };
        assert!(!frame.is_null(), "{}", last_error());
        if zombie == 0 {
            // SAFETY: a fresh frame has at least 16 bytes; write its "f_code".
            unsafe { frame.cast::<usize>().write(code as usize) };
        }
        self.calls += 1;
        if self.calls % 700 == 0 {
            let generation = if self.calls % 70_000 == 0 {
                2
            } else if self.calls % 7_000 == 0 {
                1
            } else {
                0
            };
            // SAFETY: the pool is alive.
            unsafe { zf_pool_collect(self.pool, generation) };
        }
        frame
    }

    fn leave(&mut self, code: *mut ZfCode, frame: *mut c_void) {
        // SAFETY: `frame` is a live frame of `code`.
        unsafe { zf_frame_release(code, frame) };
    }

    fn call(&mut self, code: *mut ZfCode) {
        let f = self.enter(code);
        self.leave(code, f);
    }

    fn fib(&mut self, code: *mut ZfCode, n: u32) -> u64 {
        let f = self.enter(code);
        let r = if n < 2 { n as u64 } else { self.fib(code, n - 1) + self.fib(code, n - 2) };
        self.leave(code, f);
        r
    }

    /// Two recursive functions interleaved: a tree walk that visits nodes.
    fn walk(&mut self, walk: *mut ZfCode, visit: *mut ZfCode, depth: u32) {
        let f = self.enter(walk);
        if depth > 0 {
            for _ in 0..2 {
                self.walk(walk, visit, depth - 1);
            }
        } else {
            let g = self.enter(visit);
            self.call(visit);
            self.leave(visit, g);
        }
        self.leave(walk, f);
    }
}

fn last_error() -> String {
    let e = zf_last_error();
    if e.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

fn main() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let mut cfg = ZfConfig::default();
        zf_config_default(&mut cfg);
        if zf_config_from_env(&mut cfg) != 0 {
            eprintln!("workload: {}", last_error());
            std::process::exit(2);
        }
        let pool = zf_pool_new(&cfg);
        if pool.is_null() {
            eprintln!("workload: {}", last_error());
            std::process::exit(2);
        }
        let mut it = Interp { pool, calls: 0 };
        let mut codes = vec![];

        for phase in 0..2 {
            let helpers: Vec<_> = (0..200).map(|i| it.code(4 + i % 24)).collect();
            let (fib, walk, visit) = (it.code(6), it.code(10), it.code(5));
            let gen = it.code(8);
            for round in 0..30 {
                for (i, &h) in helpers.iter().enumerate() {
                    for _ in 0..(1 + i % 5) {
                        it.call(h);
                    }
                }
                it.fib(fib, 18 + phase);
                it.walk(walk, visit, 9);
                // Generators: frames that stay live across many other calls.
                let gens: Vec<_> = (0..50).map(|_| it.enter(gen)).collect();
                for &h in &helpers[..20] {
                    it.call(h);
                }
                for g in gens {
                    it.leave(gen, g);
                }
                // Lambdas made and dropped: short-lived code objects.
                for _ in 0..100 {
                    let lambda = it.code(3 + round % 7);
                    it.call(lambda);
                    zf_code_free(lambda);
                }
            }
            codes.extend(helpers);
            codes.extend([fib, walk, visit, gen]);
        }

        println!("{} calls through the C ABI; the pool's report:\n", it.calls);
        let _ = std::io::Write::flush(&mut std::io::stdout());
        zf_pool_print_stats(pool, 1);
        for code in codes {
            zf_code_free(code);
        }
        zf_pool_free(pool);
    }
}
