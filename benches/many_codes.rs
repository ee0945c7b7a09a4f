//! Group 3: many codes. One call each to 10, 1,000 and 100,000 code
//! objects in turn (round-robin), frame sizes drawn from the traces'
//! distribution: beyond the CPU caches, what counts is the memory each
//! contender touches per call. 1,000 pairs per criterion iteration.
//!
//! `cargo bench --bench many_codes` (add `-- --quick` for a short run).
mod support;

use criterion::{BenchmarkId, Criterion, Throughput};
use std::time::SystemTime;
use support::{trace_sizes, BenchCfg, Contender, Setup, Table, Zoo};

const CODES: [usize; 3] = [10, 1_000, 100_000];
const PAIRS: u64 = 1_000;

fn contenders(zoo: &Zoo) -> Vec<(&'static str, Contender, BenchCfg)> {
    let roomy = BenchCfg { budget_bytes: 1 << 30, ..BenchCfg::per_code() };
    vec![
        ("inline_c", zoo.inline_c, BenchCfg::per_code()),
        ("zf_static", zoo.zf_static, BenchCfg::per_code()),
        ("zf_shared", zoo.zf_shared, BenchCfg::per_code()),
        ("zf_static_1g", zoo.zf_static, roomy),
        ("zf_static_legacy", zoo.zf_static, BenchCfg::legacy()),
        ("malloc", zoo.malloc, BenchCfg::per_code()),
    ]
}

fn many_codes(c: &mut Criterion, zoo: &Zoo) {
    let mut g = c.benchmark_group("round_robin");
    g.throughput(Throughput::Elements(PAIRS));
    for n in CODES {
        let sizes = trace_sizes(n);
        for (name, contender, cfg) in contenders(zoo) {
            let mut s = Setup::new(contender, cfg, &sizes);
            s.touch(0..n); // every code has run once
            g.bench_function(BenchmarkId::new(name, n), |b| b.iter(|| s.round_robin(PAIRS)));
        }
    }
    g.finish();
}

fn main() {
    let since = SystemTime::now();
    let zoo = Zoo::load();
    let mut c = support::criterion();
    many_codes(&mut c, &zoo);
    c.final_summary();
    Table {
        title: "Round-robin over many codes",
        group: "round_robin",
        unit: "pair",
        rows: CODES.iter().map(|n| (format!("{n} codes"), n.to_string(), PAIRS as f64)).collect(),
        cols: vec![
            ("inline C (CPython 3.9)", "inline_c"),
            ("zf static", "zf_static"),
            ("zf shared (PLT)", "zf_shared"),
            ("zf static, budget 1 GiB", "zf_static_1g"),
            ("zf legacy static", "zf_static_legacy"),
            ("glibc malloc+free", "malloc"),
        ],
        ratios: vec![
            ("malloc / static", "malloc", "zf_static"),
            ("malloc / static 1 GiB", "malloc", "zf_static_1g"),
            ("static / inline C", "zf_static", "inline_c"),
            ("static 1 GiB / inline C", "zf_static_1g", "inline_c"),
        ],
    }
    .print(since);
}
