//! Group 4: what an aging sweep (`zf_pool_collect(pool, 2)`, a full
//! collection: every generation from `sweep_generation` up sweeps) costs.
//!
//! - versus the lists holding zombies (1, 1,000, 100,000): before each
//!   timed sweep every list's code makes one call, so each list holds a
//!   zombie it dipped into and the sweep visits it and keeps it;
//! - versus the codes ever made: 1,000 such lists, plus 0, 100,000 or
//!   1,000,000 other codes that ran once and aged out (alive, no zombies).
//!   The cost must not grow with them.
//!
//! The budget is 1 GiB so that 100,000 zombies fit, and automatic sweeps
//! are off so the only sweeps are the timed ones. Baselines: the legacy
//! policy and the inline CPython list at a generation-2 collection, which
//! empties a full global free list (200 frames); malloc keeps nothing to
//! sweep. Each timed call is one sweep, so the clock's own cost (~20-40 ns)
//! is inside every figure.
//!
//! `cargo bench --bench sweep` (add `-- --quick` for a short run).
mod support;

use criterion::{BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};
use support::{BenchCfg, Setup, Table, Zoo, FRAME_BYTES};

const LISTS: [usize; 3] = [1, 1_000, 100_000];
const EVER_MADE: [usize; 3] = [0, 100_000, 1_000_000];

fn cfg() -> BenchCfg {
    BenchCfg { budget_bytes: 1 << 30, sweep_every: 0, ..BenchCfg::per_code() }
}

/// Times `sweep` alone, after `prepare` each time.
fn timed(iters: u64, mut prepare: impl FnMut(), mut sweep: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        prepare();
        let t = Instant::now();
        sweep();
        total += t.elapsed();
    }
    total
}

fn sweeps(c: &mut Criterion, zoo: &Zoo) {
    let mut g = c.benchmark_group("sweep");
    for lists in LISTS {
        let s = Setup::new(zoo.zf_static, cfg(), &vec![FRAME_BYTES; lists]);
        g.bench_function(BenchmarkId::new("zf_static", format!("lists_{lists}")), |b| {
            b.iter_custom(|n| {
                timed(
                    n,
                    || s.touch(0..lists),
                    || {
                        black_box(s.collect(2));
                    },
                )
            })
        });
    }
    for made in EVER_MADE {
        let mut s = Setup::new(zoo.zf_static, cfg(), &vec![FRAME_BYTES; made]);
        s.touch(0..made);
        s.collect(2); // the low-water mark is now 1 zombie...
        s.collect(2); // ...which this sweep frees: they are aged out
        s.add_codes(&[FRAME_BYTES; 1_000]);
        let active = made..made + 1_000;
        g.bench_function(BenchmarkId::new("zf_static", format!("made_{made}")), |b| {
            b.iter_custom(|n| {
                timed(
                    n,
                    || s.touch(active.clone()),
                    || {
                        black_box(s.collect(2));
                    },
                )
            })
        });
    }
    for (name, contender, cfg) in
        [("zf_static_legacy", zoo.zf_static, BenchCfg::legacy()), ("inline_c", zoo.inline_c, BenchCfg::per_code())]
    {
        // 201 frames released: one zombie, 200 on the global list.
        let s = Setup::new(contender, cfg, &[FRAME_BYTES]);
        g.bench_function(BenchmarkId::new(name, "clear_200"), |b| {
            b.iter_custom(|n| {
                timed(
                    n,
                    || {
                        black_box(s.recursion(201, 1));
                    },
                    || {
                        black_box(s.collect(2));
                    },
                )
            })
        });
    }
    g.finish();
}

fn main() {
    let since = SystemTime::now();
    let zoo = Zoo::load();
    let mut c = support::criterion();
    sweeps(&mut c, &zoo);
    c.final_summary();
    let mut rows: Vec<_> =
        LISTS.iter().map(|n| (format!("{n} lists holding zombies"), format!("lists_{n}"), 1.0)).collect();
    rows.extend(EVER_MADE.iter().map(|n| (format!("1,000 lists + {n} codes aged out"), format!("made_{n}"), 1.0)));
    rows.push(("gen-2 clear of a full free list (200)".into(), "clear_200".into(), 1.0));
    Table {
        title: "Sweep",
        group: "sweep",
        unit: "sweep",
        rows,
        cols: vec![
            ("zf static (per-code)", "zf_static"),
            ("zf legacy static", "zf_static_legacy"),
            ("inline C (CPython 3.9)", "inline_c"),
        ],
        ratios: vec![],
    }
    .print(since);
}
