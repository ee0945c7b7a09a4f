//! Group 2: recursion. One code recursing to depth 10, 100 and 1,000; two
//! recursive codes taking turns (depth 100 each); mutual recursion (two
//! codes alternating down one stack of depth 100). Two real frame sizes
//! (424 and 472 bytes) for the two-code cases, so frames that change hands
//! between codes under CPython's scheme need resizing. Results in ns per
//! acquire+release pair; also writes BENCHMARKS-recursion.svg (ns per pair
//! versus depth for the three contenders) next to criterion's output.
//!
//! `cargo bench --bench recursion` (add `-- --quick` for a short run).
mod support;

use criterion::{BenchmarkId, Criterion, Throughput};
use std::time::SystemTime;
use support::{BenchCfg, Contender, Setup, Table, Zoo, FRAME_BYTES, TWO_SIZES};

const DEPTHS: [usize; 3] = [10, 100, 1_000];
/// Pairs per criterion iteration, about.
const PAIRS: usize = 10_000;

fn contenders(zoo: &Zoo) -> Vec<(&'static str, Contender, BenchCfg)> {
    let deep = BenchCfg { per_code_max: 1_024, budget_bytes: 1 << 30, ..BenchCfg::per_code() };
    vec![
        ("inline_c", zoo.inline_c, BenchCfg::per_code()),
        ("zf_static", zoo.zf_static, BenchCfg::per_code()),
        ("zf_shared", zoo.zf_shared, BenchCfg::per_code()),
        ("zf_static_deep", zoo.zf_static, deep),
        ("zf_static_legacy", zoo.zf_static, BenchCfg::legacy()),
        ("malloc", zoo.malloc, BenchCfg::per_code()),
    ]
}

/// The cases: (id, label, sizes of the codes, depth, pairs per iteration).
fn cases() -> Vec<(String, String, Vec<usize>, usize, usize)> {
    let mut v: Vec<_> = DEPTHS
        .iter()
        .map(|&d| (format!("one_code_{d}"), format!("one code, depth {d}"), vec![FRAME_BYTES], d, PAIRS))
        .collect();
    v.push(("in_turn_100".into(), "two codes in turn, depth 100 each".into(), TWO_SIZES.to_vec(), 100, PAIRS));
    v.push(("mutual_100".into(), "mutual recursion, depth 100".into(), TWO_SIZES.to_vec(), 100, PAIRS));
    v
}

fn recursion(c: &mut Criterion, zoo: &Zoo) {
    let mut g = c.benchmark_group("recursion");
    for (id, _, sizes, depth, pairs) in cases() {
        g.throughput(Throughput::Elements(pairs as u64));
        for (name, contender, cfg) in contenders(zoo) {
            let s = Setup::new(contender, cfg, &sizes);
            let run: Box<dyn Fn() -> u64> = if id.starts_with("in_turn") {
                let reps = (pairs / (depth * sizes.len())) as u64;
                Box::new(move || s.recursions_in_turn(depth, reps))
            } else {
                let reps = (pairs / depth) as u64;
                Box::new(move || s.recursion(depth, reps))
            };
            run(); // the caches fill once, as in a program's first call
            g.bench_function(BenchmarkId::new(name, &id), |b| b.iter(&run));
        }
    }
    g.finish();
}

fn main() {
    let since = SystemTime::now();
    let zoo = Zoo::load();
    let mut c = support::criterion();
    recursion(&mut c, &zoo);
    c.final_summary();
    let cases = cases();
    Table {
        title: "Recursion",
        group: "recursion",
        unit: "pair",
        rows: cases.iter().map(|(id, label, _, _, pairs)| (label.clone(), id.clone(), *pairs as f64)).collect(),
        cols: vec![
            ("inline C (CPython 3.9)", "inline_c"),
            ("zf static", "zf_static"),
            ("zf shared (PLT)", "zf_shared"),
            ("zf static, per_code_max 1024, budget 1 GiB", "zf_static_deep"),
            ("zf legacy static", "zf_static_legacy"),
            ("glibc malloc+free", "malloc"),
        ],
        ratios: vec![
            ("malloc / static", "malloc", "zf_static"),
            ("malloc / static, 1024", "malloc", "zf_static_deep"),
            ("static / inline C", "zf_static", "inline_c"),
            ("legacy / static", "zf_static_legacy", "zf_static"),
        ],
    }
    .print(since);
    let svg = support::criterion_dir().join("BENCHMARKS-recursion.svg");
    let lines: Vec<support::Line> = [
        ("inline C (CPython 3.9 free list)", "inline_c", "#1b9e77"),
        ("zombie-frames, static (defaults)", "zf_static", "#d95f02"),
        ("zombie-frames, static, per_code_max 1024, budget 1 GiB", "zf_static_deep", "#e7298a"),
        ("glibc malloc + free", "malloc", "#7570b3"),
    ]
    .iter()
    .map(|&(label, col, colour)| {
        let points = DEPTHS
            .iter()
            .filter_map(|d| {
                let e = support::estimate("recursion", &format!("{col}/one_code_{d}"), since)?;
                Some((*d as f64, e.ns / PAIRS as f64))
            })
            .collect();
        (label, colour, points)
    })
    .collect();
    if lines.iter().all(|l| l.2.len() == DEPTHS.len()) {
        std::fs::write(
            &svg,
            support::svg_plot(
                "ns per acquire+release pair vs recursion depth (one code, 448-byte frames)",
                "recursion depth",
                "ns per pair",
                &lines,
            ),
        )
        .expect("write the plot");
        println!("\nplot: {}", svg.display());
    }
}
