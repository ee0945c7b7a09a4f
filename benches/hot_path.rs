//! Group 1: the hit path. One code, one frame of the median trace size:
//! acquire + release of its zombie, 1,000 pairs per criterion iteration,
//! each pair made by a C loop (benches/c/patterns.h) calling the contender.
//!
//! `cargo bench --bench hot_path` (add `-- --quick` for a short run).
mod support;

use criterion::{BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::ptr;
use std::time::SystemTime;
use support::{BenchCfg, Contender, Setup, Table, Zoo, FRAME_BYTES};

const PAIRS: u64 = 1_000;

fn contenders(zoo: &Zoo) -> Vec<(&'static str, Contender, BenchCfg)> {
    vec![
        ("inline_c", zoo.inline_c, BenchCfg::per_code()),
        ("zf_static", zoo.zf_static, BenchCfg::per_code()),
        ("zf_shared", zoo.zf_shared, BenchCfg::per_code()),
        ("zf_static_legacy", zoo.zf_static, BenchCfg::legacy()),
        ("zf_shared_legacy", zoo.zf_shared, BenchCfg::legacy()),
        ("malloc", zoo.malloc, BenchCfg::per_code()),
    ]
}

fn hit_pair(c: &mut Criterion, zoo: &Zoo) {
    let mut g = c.benchmark_group("hit_pair");
    g.throughput(Throughput::Elements(PAIRS));
    for (id, contender, cfg) in contenders(zoo) {
        let s = Setup::new(contender, cfg, &[FRAME_BYTES]);
        s.hit(1); // the first pair makes the zombie
        g.bench_function(BenchmarkId::new(id, FRAME_BYTES), |b| b.iter(|| s.hit(black_box(PAIRS))));
    }
    // The same pair from Rust through the crate's extern "C" functions
    // (inlined into this loop by LTO): for reference only.
    // SAFETY: the pool, code and frames are used as the header says.
    unsafe {
        use zombie_frames::*;
        let pool = zf_pool_new(ptr::null());
        let code = zf_code_new(pool, FRAME_BYTES);
        g.bench_function(BenchmarkId::new("rust_lto", FRAME_BYTES), |b| {
            b.iter(|| {
                for _ in 0..PAIRS {
                    let mut warm = 0;
                    let f = zf_frame_acquire(code, &mut warm);
                    zf_frame_release(code, black_box(f));
                }
            })
        });
        zf_code_free(code);
        zf_pool_free(pool);
    }
    g.finish();
}

fn main() {
    let since = SystemTime::now();
    let zoo = Zoo::load();
    let mut c = support::criterion();
    hit_pair(&mut c, &zoo);
    c.final_summary();
    Table {
        title: "Hit path: acquire + release of one code's zombie",
        group: "hit_pair",
        unit: "pair",
        rows: vec![(format!("{FRAME_BYTES}-byte frame"), FRAME_BYTES.to_string(), PAIRS as f64)],
        cols: vec![
            ("inline C (CPython 3.9)", "inline_c"),
            ("zf static", "zf_static"),
            ("zf shared (PLT)", "zf_shared"),
            ("zf legacy static", "zf_static_legacy"),
            ("zf legacy shared", "zf_shared_legacy"),
            ("glibc malloc+free", "malloc"),
            ("zf from Rust, LTO", "rust_lto"),
        ],
        ratios: vec![
            ("static / inline C", "zf_static", "inline_c"),
            ("shared / inline C", "zf_shared", "inline_c"),
            ("malloc / static", "malloc", "zf_static"),
            ("malloc / shared", "malloc", "zf_shared"),
        ],
    }
    .print(since);
}
