//! Randomized model test: long random sequences of operations run through
//! the C ABI and, side by side, through a plain reference model of the
//! policy (`tests/common/model.rs`, shared with the `ops` fuzzer). After
//! every step the stats must be equal, the frame handed out must be the one
//! the model expects, a zombie must hold exactly the bytes its last user
//! wrote, and the budget must hold. A counting allocator hook proves that
//! nothing leaks. A quarter of the runs record a trace (`ZF_TRACE`'s
//! recorder), which must replay to the counts the pool ended with.
//!
//! ZF_MODEL_SEED and ZF_MODEL_STEPS make longer or other runs:
//! `ZF_MODEL_STEPS=5000000 cargo test --release --test model`.

mod common;
#[path = "common/model.rs"]
mod model;

use common::{last_error, stats};
use model::*;
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::ptr;
use zombie_frames::*;

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
        cfg.sweep_generation = rng.pick(&[0, 1, 2, 3]);
        cfg.alloc = Some(ledger_alloc);
        cfg.dealloc = Some(ledger_dealloc);
        cfg.alloc_ctx = (&mut *ledger as *mut Ledger).cast();
        // A third of the runs churn codes of big frames under the automatic
        // bound, as exec and lambda factories do: a dying code's frame then
        // finds the bound short.
        let churn = rng.below(3) == 0;
        if churn {
            cfg.budget_bytes = ZF_BUDGET_AUTO;
        }
        // A quarter of the runs record a trace (the pool is then watched:
        // every call takes the slow path, and must count the same), which
        // must replay to the same counts.
        let trace = (rng.below(4) == 0)
            .then(|| std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("model-{seed}.zft")));
        let trace_c = trace.as_ref().map(|t| std::ffi::CString::new(t.to_str().unwrap()).unwrap());
        if let Some(t) = &trace_c {
            cfg.trace_path = t.as_ptr();
        }
        // A third of the runs give frames a prefix (CPython's GC head: 16
        // bytes, 3.9's, or 32, 2.7's): a per-code pool's blocks then have
        // no header of their own.
        if rng.below(3) == 0 {
            cfg.flags |= ZF_FLAG_FRAME_PREFIX;
            cfg.prefix_bytes = rng.pick(&[0, 32]);
        }
        // A fifth of the runs follow CPython's own scheme (the model's
        // legacy policy), which watches every call.
        if rng.below(5) == 0 {
            cfg.policy = ZF_POLICY_LEGACY;
        }
        let legacy = cfg.policy == ZF_POLICY_LEGACY;
        let watched = trace.is_some() || legacy;
        let prefix = cfg.prefix();
        let what = format!(
            "seed {seed}: per_code_max {}, budget {}, sweep_every {}, reserve_max {}, sweep_generation {}, churn {churn}, traced {}, prefix {prefix}, legacy {legacy}",
            cfg.per_code_max, cfg.budget_bytes, cfg.sweep_every, cfg.reserve_max, cfg.sweep_generation, trace.is_some()
        );
        let pool = zf_pool_new(&cfg);
        assert!(!pool.is_null(), "{what}");
        let mut m = Model::new(&cfg);
        let mut live: Vec<(usize, *mut c_void)> = vec![];
        let mut contents: HashMap<usize, u64> = HashMap::new();
        // The inline states kept outside their codes, freed at the end.
        let mut hots: Vec<*mut ZfCodeHot> = vec![];

        for step in 0..steps {
            let alive: Vec<usize> = (0..m.codes.len()).filter(|&i| !m.codes[i].freed).collect();
            let roll = rng.below(100);
            let op;
            let (new_below, free_from) = if churn { (10, 85) } else { (4, 92) };
            if alive.len() < 2 || roll < new_below {
                op = "new code";
                let size = match churn {
                    true => rng.pick(&[1000, 4000, 4096, 16000]),
                    false => rng.pick(&[8, 24, 100, 384, 448, 1000, 4000]),
                }
                .max(prefix); // a prefixed frame holds its prefix
                let (code, inline) = match rng.below(3) {
                    // One code in three keeps its inline state outside its
                    // ZfCode, as glue that holds it in its code object does.
                    0 => {
                        let hot = new_hot();
                        hots.push(hot);
                        (zf_code_new_with_hot(pool, size, hot), hot)
                    }
                    _ => {
                        let code = zf_code_new(pool, size);
                        (code, code.cast())
                    }
                };
                assert!(!code.is_null());
                m.new_code(code, inline, size);
            } else if roll < 50 {
                op = "acquire";
                // Favour a few hot codes, as real programs do.
                let ci = if rng.below(4) > 0 { alive[rng.below(alive.len().min(4))] } else { rng.pick(&alive) };
                let mut is_zombie: c_int = -1;
                let frame = match rng.below(2) {
                    0 => zf_frame_acquire(m.codes[ci].handle, &mut is_zombie),
                    _ => acquire_fast(m.codes[ci].inline, m.codes[ci].handle, &mut is_zombie),
                };
                assert!(!frame.is_null(), "{what}, step {step}");
                assert_eq!(frame as usize % 16, 0);
                let len = m.codes[ci].frame_bytes;
                match m.acquire(ci) {
                    Want::Zombie(addr) => {
                        assert_eq!(is_zombie, 1, "{what}, step {step}: is_zombie");
                        assert_eq!(frame as usize, addr, "{what}, step {step}: not the zombie the hit takes next");
                        let seed = contents[&addr];
                        assert!(
                            holds(frame.cast(), prefix, len, seed, watched),
                            "{what}, step {step}: zombie bytes changed"
                        );
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
                fill(frame.cast(), prefix, len, seed);
                contents.insert(frame as usize, seed);
                live.push((ci, frame));
            } else if roll < free_from {
                op = "release";
                if live.is_empty() {
                    continue;
                }
                // Mostly LIFO (calls return in order), sometimes any (generators).
                let i = if rng.below(5) > 0 { live.len() - 1 } else { rng.below(live.len()) };
                let (ci, frame) = live.swap_remove(i);
                match rng.below(2) {
                    0 => zf_frame_release(m.codes[ci].handle, frame),
                    _ => release_fast(m.codes[ci].inline, m.codes[ci].handle, frame),
                }
                m.release(ci, frame as usize);
            } else if roll < 95 {
                op = "free code";
                let ci = rng.pick(&alive);
                zf_code_free(m.codes[ci].handle);
                m.free_code(ci);
                assert!(m.codes[ci].forget_hot(), "{what}, step {step}: a freed code's state is inert");
            } else if roll < 99 {
                op = "collect";
                // Past CPython's generation 2 too, as a C caller may ask.
                let generation = rng.below(4);
                let given_back = zf_pool_collect(pool, generation as c_int) as u64;
                let cached = m.s.cached_bytes;
                m.collect(generation as u32);
                assert_eq!(
                    given_back,
                    cached - m.s.cached_bytes,
                    "{what}, step {step}: the bytes a collection gave back"
                );
            } else {
                op = "clear";
                zf_pool_clear(pool);
                m.clear();
            }
            let got = stats(pool);
            m.s.shared_frames = m.reserve.len() as u64;
            m.s.allowance_bytes = m.allowance();
            m.s.bound_bytes = m.bound();
            assert_eq!(got, m.s, "{what}, step {step} ({op}): stats differ from the model");
            let held = got.cached_bytes + got.allowance_bytes;
            assert!(held <= got.bound_bytes, "{what}, step {step}: over the bound in force");
            if cfg.budget_bytes != ZF_BUDGET_AUTO && !legacy {
                assert_eq!(got.bound_bytes, cfg.budget_bytes as u64, "{what}: a user's budget is the bound");
            }
        }

        // Free in the worst order: the pool first, with codes and frames
        // alive. Freeing it ends the trace.
        let counted = stats(pool);
        zf_pool_free(pool);
        if let Some(path) = &trace {
            replays_to(path, &cfg, counted, &what);
        }
        for (ci, frame) in live.drain(..) {
            zf_frame_release(m.codes[ci].handle, frame);
        }
        for c in m.codes.iter().filter(|c| !c.freed) {
            zf_code_free(c.handle);
        }
        // The library never touched a freed code's state again.
        for hot in hots {
            assert!(drop_hot(hot), "{what}: a freed code's state was written");
        }
        assert_eq!(ledger.allocs, ledger.frees, "{what}: blocks leaked");
        assert_eq!(ledger.bytes_out, 0, "{what}: bytes leaked");
    }
}

/// The trace recorded at `path` replays, under `cfg` without its hooks,
/// trace and prefix, to the counts the pool had (`got`) before it was freed.
fn replays_to(path: &std::path::Path, cfg: &ZfConfig, got: ZfStats, what: &str) {
    use zombie_frames::replay::{replay, Contender};
    let mut cfg = *cfg;
    (cfg.alloc, cfg.dealloc, cfg.alloc_ctx, cfg.trace_path) = (None, None, ptr::null_mut(), ptr::null());
    // A traced pool keeps its header in front of a prefix: untraced, the
    // same blocks are the default layout's.
    (cfg.flags, cfg.prefix_bytes) = (cfg.flags & !ZF_FLAG_FRAME_PREFIX, 0);
    let file = std::fs::File::open(path).expect("the trace");
    let (events, parser) = zombie_frames::trace::read_all(std::io::BufReader::new(file)).expect("a valid trace");
    let replayed = replay(&events, parser.slots(), Contender::Pool(cfg), true).expect("replay").stats;
    assert_eq!(replayed, got, "{what}: the recorded trace replays to other counts");
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
        let msg = last_error();
        assert!(msg.contains("zf_code_new") && msg.contains("pool"), "{msg}");
        std::thread::spawn(|| assert!(zf_last_error().is_null())).join().unwrap();
    }
}
