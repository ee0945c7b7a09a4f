//! Randomized model test: long random sequences of operations run through
//! the C ABI and, side by side, through a plain reference model of the
//! policy (vectors and loops, no pointers). After every step the stats must
//! be equal, the frame handed out must be the one the model expects, a
//! zombie must hold exactly the bytes its last user wrote, and the budget
//! must hold. A counting allocator hook proves that nothing leaks.
//!
//! ZF_MODEL_SEED and ZF_MODEL_STEPS make longer or other runs:
//! `ZF_MODEL_STEPS=5000000 cargo test --release --test model`.

use std::collections::HashMap;
use std::ffi::{c_int, c_void, CStr};
use std::ptr;
use zombie_frames::*;

const HEADER: u64 = ZF_HEADER_BYTES as u64;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Bytes the hooks handed out and took back, to prove nothing leaks.
#[derive(Default)]
struct Ledger {
    allocs: u64,
    frees: u64,
    bytes_out: i64,
}

unsafe extern "C" fn ledger_alloc(ctx: *mut c_void, size: usize) -> *mut c_void {
    let ledger = unsafe { &mut *ctx.cast::<Ledger>() };
    ledger.allocs += 1;
    ledger.bytes_out += size as i64;
    let mut p = ptr::null_mut();
    assert_eq!(unsafe { libc::posix_memalign(&mut p, 16, size) }, 0);
    p
}

unsafe extern "C" fn ledger_dealloc(ctx: *mut c_void, p: *mut c_void, size: usize) {
    let ledger = unsafe { &mut *ctx.cast::<Ledger>() };
    ledger.frees += 1;
    ledger.bytes_out -= size as i64;
    unsafe { libc::free(p) };
}

/// One code object, as the model sees it.
struct MCode {
    handle: *mut ZfCode,
    frame_bytes: usize,
    block: u64,
    zombies: Vec<usize>, // frame addresses, top of the stack last
    low_water: u32,
    used: bool,
    in_ring: bool,
    freed: bool,
    live: usize,
}

struct Model {
    per_code_max: u32,
    budget: u64,
    sweep_every: u64,
    until_sweep: u64,
    codes: Vec<MCode>,
    ring: Vec<usize>,
    hand: usize,
    s: ZfStats,
}

impl Model {
    fn new(cfg: &ZfConfig) -> Model {
        let every = cfg.sweep_every as u64;
        Model {
            per_code_max: cfg.per_code_max,
            budget: cfg.budget_bytes as u64,
            sweep_every: every,
            until_sweep: if every == 0 { u64::MAX } else { every },
            codes: vec![],
            ring: vec![],
            hand: 0,
            s: ZfStats::default(),
        }
    }

    fn new_code(&mut self, handle: *mut ZfCode, frame_bytes: usize) {
        let block = HEADER + frame_bytes.next_multiple_of(16) as u64;
        self.codes.push(MCode {
            handle,
            frame_bytes,
            block,
            zombies: vec![],
            low_water: 0,
            used: false,
            in_ring: false,
            freed: false,
            live: 0,
        });
        self.s.codes += 1;
        self.s.codes_created += 1;
    }

    /// The frame address the library must hand out, if a zombie.
    fn acquire(&mut self, ci: usize) -> Option<usize> {
        let c = &mut self.codes[ci];
        c.used = true;
        c.live += 1;
        self.s.acquires += 1;
        self.s.live_frames += 1;
        self.s.peak_live_frames = self.s.peak_live_frames.max(self.s.live_frames);
        match self.pop(ci) {
            Some(addr) => {
                self.s.zombie_hits += 1;
                Some(addr)
            }
            None => {
                self.s.fresh_allocs += 1;
                None
            }
        }
    }

    fn pop(&mut self, ci: usize) -> Option<usize> {
        let c = &mut self.codes[ci];
        let addr = c.zombies.pop()?;
        c.low_water = c.low_water.min(c.zombies.len() as u32);
        self.s.cached_frames -= 1;
        self.s.cached_bytes -= c.block;
        Some(addr)
    }

    fn drain(&mut self, ci: usize, n: u32) -> u32 {
        let mut done = 0;
        while done < n && self.pop(ci).is_some() {
            self.s.frees += 1;
            done += 1;
        }
        done
    }

    fn release(&mut self, ci: usize, addr: usize) {
        self.s.releases += 1;
        self.s.live_frames -= 1;
        self.codes[ci].live -= 1;
        let limit = if self.codes[ci].freed { 0 } else { self.per_code_max };
        if (self.codes[ci].zombies.len() as u32) < limit && self.fits(ci) {
            let c = &mut self.codes[ci];
            c.zombies.push(addr);
            if !c.in_ring {
                c.in_ring = true;
                self.ring.push(ci);
            }
            self.s.cached_frames += 1;
            self.s.cached_bytes += c.block;
            self.s.peak_cached_bytes = self.s.peak_cached_bytes.max(self.s.cached_bytes);
        } else {
            self.s.frees += 1;
        }
        self.until_sweep -= 1;
        if self.until_sweep == 0 {
            self.sweep();
        }
    }

    fn fits(&mut self, ci: usize) -> bool {
        let need = self.codes[ci].block;
        if self.s.cached_bytes + need <= self.budget {
            return true;
        }
        self.codes[ci].used = true;
        if need > self.budget {
            return false;
        }
        while self.s.cached_bytes + need > self.budget {
            match self.clock_victim() {
                Some(v) if v != ci => {
                    self.drain(v, 1);
                    self.s.evicted_frees += 1;
                }
                _ => return false,
            }
        }
        true
    }

    fn clock_victim(&mut self) -> Option<usize> {
        for _ in 0..=2 * self.ring.len() {
            if self.ring.is_empty() {
                return None;
            }
            let ci = self.ring[self.hand];
            self.hand = (self.hand + 1) % self.ring.len();
            let c = &mut self.codes[ci];
            if c.zombies.is_empty() {
                continue;
            }
            if !std::mem::replace(&mut c.used, false) {
                return Some(ci);
            }
        }
        None
    }

    fn unlink(&mut self, ci: usize) {
        if !self.codes[ci].in_ring {
            return;
        }
        self.codes[ci].in_ring = false;
        let i = self.ring.iter().position(|&x| x == ci).unwrap();
        self.ring.remove(i);
        if i < self.hand {
            self.hand -= 1;
        }
        if self.hand >= self.ring.len() {
            self.hand = 0;
        }
    }

    fn sweep(&mut self) {
        let mut i = 0;
        while i < self.ring.len() {
            let ci = self.ring[i];
            let low = self.codes[ci].low_water;
            let drop = if low > 1 { low / 2 } else { low };
            self.drain(ci, drop);
            self.s.aged_frees += drop as u64;
            let c = &mut self.codes[ci];
            c.low_water = c.zombies.len() as u32;
            if c.zombies.is_empty() {
                self.unlink(ci);
            } else {
                i += 1;
            }
        }
        self.s.sweeps += 1;
        self.until_sweep = if self.sweep_every == 0 { u64::MAX } else { self.sweep_every };
    }

    fn clear(&mut self) {
        for ci in std::mem::take(&mut self.ring) {
            self.drain(ci, u32::MAX);
            self.codes[ci].in_ring = false;
        }
        self.hand = 0;
    }

    fn free_code(&mut self, ci: usize) {
        self.drain(ci, u32::MAX);
        self.unlink(ci);
        self.codes[ci].freed = true;
        self.s.codes -= 1;
    }
}

fn fill(frame: *mut u8, len: usize, seed: u64) {
    // SAFETY: `frame` is a live frame of at least `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts_mut(frame, len) };
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (seed as usize).wrapping_add(i.wrapping_mul(31)) as u8;
    }
}

fn holds(frame: *const u8, len: usize, seed: u64) -> bool {
    // SAFETY: `frame` is a live frame of at least `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(frame, len) };
    bytes.iter().enumerate().all(|(i, &b)| b == (seed as usize).wrapping_add(i.wrapping_mul(31)) as u8)
}

fn stats(pool: *mut ZfPool) -> ZfStats {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let mut s = ZfStats::default();
        zf_pool_stats(pool, &mut s);
        s
    }
}

fn run(seed: u64, steps: usize) {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        let mut rng = Rng(seed);
        let mut ledger = Box::new(Ledger::default());
        let mut cfg = ZfConfig::default();
        zf_config_default(&mut cfg);
        cfg.per_code_max = rng.pick(&[0, 1, 2, 4, 8, 32, 1000]);
        cfg.budget_bytes = rng.pick(&[0, 300, 2048, 16 << 10, 256 << 10, usize::MAX]);
        cfg.sweep_every = rng.pick(&[0, 1, 7, 64, 4096]);
        cfg.alloc = Some(ledger_alloc);
        cfg.dealloc = Some(ledger_dealloc);
        cfg.alloc_ctx = (&mut *ledger as *mut Ledger).cast();
        let what = format!(
            "seed {seed}: per_code_max {}, budget {}, sweep_every {}",
            cfg.per_code_max, cfg.budget_bytes, cfg.sweep_every
        );
        let pool = zf_pool_new(&cfg);
        assert!(!pool.is_null(), "{what}");
        let mut m = Model::new(&cfg);
        let mut live: Vec<(usize, *mut c_void)> = vec![];
        let mut contents: HashMap<usize, u64> = HashMap::new();

        for step in 0..steps {
            let alive: Vec<usize> = (0..m.codes.len()).filter(|&i| !m.codes[i].freed).collect();
            let roll = rng.below(100);
            let op;
            if alive.len() < 2 || roll < 4 {
                op = "new code";
                let size = rng.pick(&[8, 24, 100, 384, 448, 1000, 4000]);
                let code = zf_code_new(pool, size);
                assert!(!code.is_null());
                m.new_code(code, size);
            } else if roll < 50 {
                op = "acquire";
                // Favour a few hot codes, as real programs do.
                let ci = if rng.below(4) > 0 { alive[rng.below(alive.len().min(4))] } else { rng.pick(&alive) };
                let mut is_zombie: c_int = -1;
                let frame = zf_frame_acquire(m.codes[ci].handle, &mut is_zombie);
                assert!(!frame.is_null(), "{what}, step {step}");
                assert_eq!(frame as usize % 16, 0);
                let want = m.acquire(ci);
                assert_eq!(is_zombie, want.is_some() as c_int, "{what}, step {step}: is_zombie");
                let len = m.codes[ci].frame_bytes;
                if let Some(addr) = want {
                    assert_eq!(frame as usize, addr, "{what}, step {step}: not the zombie on top");
                    let seed = contents[&addr];
                    assert!(holds(frame.cast(), len, seed), "{what}, step {step}: zombie bytes changed");
                }
                let seed = rng.next();
                fill(frame.cast(), len, seed);
                contents.insert(frame as usize, seed);
                live.push((ci, frame));
            } else if roll < 92 {
                op = "release";
                if live.is_empty() {
                    continue;
                }
                // Mostly LIFO (calls return in order), sometimes any (generators).
                let i = if rng.below(5) > 0 { live.len() - 1 } else { rng.below(live.len()) };
                let (ci, frame) = live.swap_remove(i);
                zf_frame_release(m.codes[ci].handle, frame);
                m.release(ci, frame as usize);
            } else if roll < 95 {
                op = "free code";
                let ci = rng.pick(&alive);
                zf_code_free(m.codes[ci].handle);
                m.free_code(ci);
            } else if roll < 99 {
                op = "collect";
                zf_pool_collect(pool, rng.below(3) as c_int);
                m.sweep();
            } else {
                op = "clear";
                zf_pool_clear(pool);
                m.clear();
            }
            let got = stats(pool);
            assert_eq!(got, m.s, "{what}, step {step} ({op}): stats differ from the model");
            assert!(got.cached_bytes <= cfg.budget_bytes as u64, "{what}, step {step}: over budget");
        }

        // Free in the worst order: the pool first, with codes and frames alive.
        zf_pool_free(pool);
        for (ci, frame) in live.drain(..) {
            zf_frame_release(m.codes[ci].handle, frame);
        }
        for c in m.codes.iter().filter(|c| !c.freed) {
            zf_code_free(c.handle);
        }
        assert_eq!(ledger.allocs, ledger.frees, "{what}: blocks leaked");
        assert_eq!(ledger.bytes_out, 0, "{what}: bytes leaked");
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn random_sequences_match_the_reference_model() {
    let steps = env_u64("ZF_MODEL_STEPS", 20_000) as usize;
    let first = env_u64("ZF_MODEL_SEED", 1);
    let runs = env_u64("ZF_MODEL_RUNS", 60);
    for seed in first..first + runs {
        run(seed, steps);
    }
}

#[test]
fn last_error_is_per_thread_and_names_the_problem() {
    // SAFETY: every handle and frame below is used as the header says.
    unsafe {
        assert!(zf_code_new(ptr::null_mut(), 8).is_null());
        let msg = CStr::from_ptr(zf_last_error()).to_string_lossy().into_owned();
        assert!(msg.contains("zf_code_new") && msg.contains("pool"), "{msg}");
        std::thread::spawn(|| assert!(zf_last_error().is_null())).join().unwrap();
    }
}
