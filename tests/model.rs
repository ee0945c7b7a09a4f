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
    zombies: Vec<usize>, // frame addresses, top of the stack last
    low_water: u32,
    used: bool,
    in_ring: bool,
    freed: bool,
    live: usize,
}

/// Where an acquire's frame must come from.
enum Want {
    Zombie(usize),
    Reserve(usize),
    Fresh,
}

struct Model {
    per_code_max: u32,
    budget: u64,
    sweep_every: u64,
    until_sweep: u64,
    reserve_max: usize,
    sweep_generation: u32,
    codes: Vec<MCode>,
    /// Every block the pool holds, live or cached: address -> (capacity, bytes).
    blocks: HashMap<usize, (usize, u64)>,
    /// Retired frames, top last, and the fewest held since the last sweep.
    reserve: Vec<usize>,
    reserve_low: usize,
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
            reserve_max: cfg.reserve_max as usize,
            sweep_generation: cfg.sweep_generation,
            codes: vec![],
            blocks: HashMap::new(),
            reserve: vec![],
            reserve_low: 0,
            ring: vec![],
            hand: 0,
            s: ZfStats::default(),
        }
    }

    fn new_code(&mut self, handle: *mut ZfCode, frame_bytes: usize) {
        self.codes.push(MCode {
            handle,
            frame_bytes,
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

    fn bytes(&self, addr: usize) -> u64 {
        self.blocks[&addr].1
    }

    fn cache(&mut self, addr: usize) {
        self.s.cached_frames += 1;
        self.s.cached_bytes += self.bytes(addr);
        self.s.peak_cached_bytes = self.s.peak_cached_bytes.max(self.s.cached_bytes);
    }

    fn uncache(&mut self, addr: usize) {
        self.s.cached_frames -= 1;
        self.s.cached_bytes -= self.bytes(addr);
    }

    fn free(&mut self, addr: usize) {
        self.blocks.remove(&addr);
        self.s.frees += 1;
    }

    fn acquire(&mut self, ci: usize) -> Want {
        let c = &mut self.codes[ci];
        c.used = true;
        c.live += 1;
        self.s.acquires += 1;
        self.s.live_frames += 1;
        self.s.peak_live_frames = self.s.peak_live_frames.max(self.s.live_frames);
        if let Some(addr) = self.pop(ci) {
            self.s.zombie_hits += 1;
            return Want::Zombie(addr);
        }
        let need = self.codes[ci].frame_bytes;
        let fits = |addr: &usize| (need..=need + need / 4).contains(&self.blocks[addr].0);
        if let Some(i) = self.reserve.iter().rposition(fits) {
            let addr = self.reserve.remove(i);
            self.reserve_low = self.reserve_low.min(self.reserve.len());
            self.uncache(addr);
            self.s.shared_hits += 1;
            return Want::Reserve(addr);
        }
        self.s.fresh_allocs += 1;
        Want::Fresh
    }

    /// A fresh block was handed out at `addr` for `ci`.
    fn fresh(&mut self, ci: usize, addr: usize) {
        let cap = self.codes[ci].frame_bytes;
        self.blocks.insert(addr, (cap, HEADER + cap.next_multiple_of(16) as u64));
    }

    fn pop(&mut self, ci: usize) -> Option<usize> {
        let c = &mut self.codes[ci];
        let addr = c.zombies.pop()?;
        c.low_water = c.low_water.min(c.zombies.len() as u32);
        self.uncache(addr);
        Some(addr)
    }

    fn drain(&mut self, ci: usize, n: u32) {
        for _ in 0..n {
            let Some(addr) = self.pop(ci) else { break };
            self.free(addr);
        }
    }

    /// To the reserve if it has room within the budget, else freed; true when kept.
    fn retire(&mut self, addr: usize) -> bool {
        if self.reserve.len() < self.reserve_max && self.s.cached_bytes + self.bytes(addr) <= self.budget {
            self.reserve.push(addr);
            self.cache(addr);
            return true;
        }
        self.free(addr);
        false
    }

    /// Retires up to `n` zombies of `ci`; returns how many were freed.
    fn retire_code(&mut self, ci: usize, n: u32) -> u64 {
        let mut freed = 0;
        for _ in 0..n {
            let Some(addr) = self.pop(ci) else { break };
            freed += !self.retire(addr) as u64;
        }
        freed
    }

    fn release(&mut self, ci: usize, addr: usize) {
        self.s.releases += 1;
        self.s.live_frames -= 1;
        self.codes[ci].live -= 1;
        let limit = if self.codes[ci].freed { 0 } else { self.per_code_max };
        if (self.codes[ci].zombies.len() as u32) < limit && self.fits(ci, self.bytes(addr)) {
            let c = &mut self.codes[ci];
            c.zombies.push(addr);
            if !c.in_ring {
                c.in_ring = true;
                self.ring.push(ci);
            }
            self.cache(addr);
        } else {
            self.retire(addr);
        }
        self.until_sweep -= 1;
        if self.until_sweep == 0 {
            self.sweep();
        }
    }

    fn fits(&mut self, ci: usize, need: u64) -> bool {
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

    fn collect(&mut self, generation: u32) {
        if generation >= self.sweep_generation {
            self.sweep();
        }
    }

    fn sweep(&mut self) {
        let drop = self.reserve_low.div_ceil(4);
        for _ in 0..drop {
            let addr = self.reserve.pop().unwrap();
            self.uncache(addr);
            self.free(addr);
        }
        self.s.aged_frees += drop as u64;
        let mut i = 0;
        while i < self.ring.len() {
            let ci = self.ring[i];
            let low = self.codes[ci].low_water;
            let drop = if low > 1 { low / 2 } else { low };
            self.s.aged_frees += self.retire_code(ci, drop);
            let c = &mut self.codes[ci];
            c.low_water = c.zombies.len() as u32;
            if c.zombies.is_empty() {
                self.unlink(ci);
            } else {
                i += 1;
            }
        }
        self.reserve_low = self.reserve.len();
        self.s.sweeps += 1;
        self.until_sweep = if self.sweep_every == 0 { u64::MAX } else { self.sweep_every };
    }

    fn clear(&mut self) {
        while let Some(addr) = self.reserve.pop() {
            self.uncache(addr);
            self.free(addr);
        }
        self.reserve_low = 0;
        for ci in std::mem::take(&mut self.ring) {
            self.drain(ci, u32::MAX);
            self.codes[ci].in_ring = false;
        }
        self.hand = 0;
    }

    fn free_code(&mut self, ci: usize) {
        self.retire_code(ci, u32::MAX);
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
        cfg.reserve_max = rng.pick(&[0, 1, 4, 200]);
        cfg.sweep_generation = rng.pick(&[0, 1, 2]);
        cfg.alloc = Some(ledger_alloc);
        cfg.dealloc = Some(ledger_dealloc);
        cfg.alloc_ctx = (&mut *ledger as *mut Ledger).cast();
        let what = format!(
            "seed {seed}: per_code_max {}, budget {}, sweep_every {}, reserve_max {}, sweep_generation {}",
            cfg.per_code_max, cfg.budget_bytes, cfg.sweep_every, cfg.reserve_max, cfg.sweep_generation
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
                let len = m.codes[ci].frame_bytes;
                match m.acquire(ci) {
                    Want::Zombie(addr) => {
                        assert_eq!(is_zombie, 1, "{what}, step {step}: is_zombie");
                        assert_eq!(frame as usize, addr, "{what}, step {step}: not the zombie on top");
                        let seed = contents[&addr];
                        assert!(holds(frame.cast(), len, seed), "{what}, step {step}: zombie bytes changed");
                    }
                    Want::Reserve(addr) => {
                        assert_eq!(is_zombie, 0, "{what}, step {step}: is_zombie");
                        assert_eq!(frame as usize, addr, "{what}, step {step}: not the reserve frame that fits");
                    }
                    Want::Fresh => {
                        assert_eq!(is_zombie, 0, "{what}, step {step}: is_zombie");
                        m.fresh(ci, frame as usize);
                    }
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
                let generation = rng.below(3);
                zf_pool_collect(pool, generation as c_int);
                m.collect(generation as u32);
            } else {
                op = "clear";
                zf_pool_clear(pool);
                m.clear();
            }
            let got = stats(pool);
            m.s.shared_frames = m.reserve.len() as u64;
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
