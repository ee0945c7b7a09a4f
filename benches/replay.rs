//! Group 5: replay of the real CPython 3.9 traces (the seed set, from a
//! `shared/traces` directory beside the clone, or the repository's
//! `traces/` when that is absent; `ZF_BENCH_TRACES=dir`
//! overrides). Each criterion iteration replays one whole trace from a
//! fresh cache through the C loop of `benches/c/patterns.h` (codes made
//! and destroyed, frames acquired and released, collections), and frees
//! what is left at the end. Results in ns per event.
//!
//! `cargo bench --bench replay` (add `-- --quick` for a short run).
mod support;

use criterion::{BenchmarkId, Criterion, Throughput};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use support::{BenchCfg, BenchEvent, Contender, Table, Zoo};
use zombie_frames::trace::{self, Event};

/// A trace ready for the C loop: its events, codes and frame slots.
struct Trace {
    name: String,
    events: Vec<BenchEvent>,
    codes: usize,
    slots: usize,
}

fn trace_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ZF_BENCH_TRACES") {
        return dir.into();
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/traces");
    if shared.is_dir() {
        shared
    } else {
        root.join("traces")
    }
}

fn load(path: &std::path::Path) -> Trace {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let input = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let (events, parser) = trace::read_all(input).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut live = vec![None; parser.slots() as usize];
    let mut out: Vec<BenchEvent> = events
        .iter()
        .map(|e| match *e {
            Event::Create { code, bytes } => BenchEvent { op: b'c' as u32, a: code, b: bytes as u32 },
            Event::Acquire { code, slot } => {
                live[slot as usize] = Some(code);
                BenchEvent { op: b'a' as u32, a: code, b: slot }
            }
            Event::Release { code, slot } => {
                live[slot as usize] = None;
                BenchEvent { op: b'r' as u32, a: code, b: slot }
            }
            Event::Destroy { code } => BenchEvent { op: b'd' as u32, a: code, b: 0 },
            Event::Collect { generation } => BenchEvent { op: b's' as u32, a: generation, b: 0 },
            // The benches replay CPython's traces, which never clear.
            Event::Clear => panic!("{}: zf_pool_clear (x) is not replayed by the benches", path.display()),
        })
        .collect();
    // Frames the program never released: released at the end, so every
    // contender gives everything back.
    for (slot, code) in live.iter().enumerate() {
        if let Some(code) = *code {
            out.push(BenchEvent { op: b'r' as u32, a: code, b: slot as u32 });
        }
    }
    let name = path.file_name().unwrap().to_string_lossy().trim_end_matches(".zft.gz").to_string();
    Trace { name, events: out, codes: parser.codes(), slots: parser.slots() as usize }
}

fn traces() -> Vec<Trace> {
    let dir = trace_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.to_string_lossy().ends_with(".zft.gz"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load(p)).collect()
}

fn contenders(zoo: &Zoo) -> Vec<(&'static str, Contender, BenchCfg)> {
    vec![
        ("inline_c", zoo.inline_c, BenchCfg::per_code()),
        ("zf_static", zoo.zf_static, BenchCfg::per_code()),
        ("zf_shared", zoo.zf_shared, BenchCfg::per_code()),
        ("zf_static_legacy", zoo.zf_static, BenchCfg::legacy()),
        ("malloc", zoo.malloc, BenchCfg::per_code()),
    ]
}

fn replay(c: &mut Criterion, zoo: &Zoo, traces: &[Trace]) {
    let mut g = c.benchmark_group("replay");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for t in traces {
        g.throughput(Throughput::Elements(t.events.len() as u64));
        for (name, contender, cfg) in contenders(zoo) {
            g.bench_function(BenchmarkId::new(name, &t.name), |b| {
                b.iter(|| contender.replay(cfg, &t.events, t.codes, t.slots))
            });
        }
    }
    g.finish();
}

fn main() {
    let since = SystemTime::now();
    let zoo = Zoo::load();
    let traces = traces();
    let mut c = support::criterion();
    replay(&mut c, &zoo, &traces);
    c.final_summary();
    Table {
        title: "Replay of the CPython 3.9 traces",
        group: "replay",
        unit: "event",
        rows: traces
            .iter()
            .map(|t| (format!("{} ({} events)", t.name, t.events.len()), t.name.clone(), t.events.len() as f64))
            .collect(),
        cols: vec![
            ("inline C (CPython 3.9)", "inline_c"),
            ("zf static", "zf_static"),
            ("zf shared (PLT)", "zf_shared"),
            ("zf legacy static", "zf_static_legacy"),
            ("glibc malloc+free", "malloc"),
        ],
        ratios: vec![
            ("malloc / static", "malloc", "zf_static"),
            ("static / inline C", "zf_static", "inline_c"),
            ("legacy / static", "zf_static_legacy", "zf_static"),
        ],
    }
    .print(since);
}
