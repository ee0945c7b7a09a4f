//! Real traces through the real library.
//!
//! * `ZF_POLICY_LEGACY` reproduces, to the unit, what CPython 3.9's own
//!   frame scheme did on each trace, as counted inside the real interpreter
//!   (`traces/json.json` beside the trace). The sample in `traces/` always
//!   runs; the five seed traces too when `ZF_SHARED_TRACES` names their
//!   directory (by default a `shared/traces` directory beside the clone).
//! * A trace the pool records (`trace_path`) replays to identical stats.

mod common;

use flate2::read::GzDecoder;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use zombie_frames::replay::{lockstep, replay, Contender};
use zombie_frames::trace::{read_all, Event};
use zombie_frames::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn open(path: &Path) -> Box<dyn BufRead> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match path.extension().and_then(|e| e.to_str()) {
        Some("gz") => Box::new(BufReader::new(GzDecoder::new(f))),
        _ => Box::new(BufReader::new(f)),
    }
}

fn load(path: &Path) -> (Vec<Event>, u32) {
    let (events, parser) = read_all(open(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (events, parser.slots())
}

/// The integer after `"key":` in the counts file (flat, as the shared set writes it).
fn count(json: &str, key: &str) -> u64 {
    let at = json.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("no {key} in the counts"));
    let rest = json[at + key.len() + 3..].trim_start();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().unwrap_or_else(|_| panic!("{key} is not a number"))
}

fn check_legacy_reproduces_cpython(trace: &Path) {
    let json = std::fs::read_to_string(trace.with_extension("").with_extension("json")).expect("the counts file");
    let (events, slots) = load(trace);
    let cfg = ZfConfig { policy: ZF_POLICY_LEGACY, ..ZfConfig::default() };
    let s = replay(&events, slots, Contender::Pool(cfg), false).expect("replay").stats;
    let name = trace.display();
    let want = [
        ("acquisitions", s.acquires),
        ("zombie_hits", s.zombie_hits),
        ("freelist_hits_no_resize", s.shared_hits),
        ("freelist_hits_realloc", s.reallocs),
        ("fresh_allocations", s.fresh_allocs),
        ("frees_to_system_total", s.frees),
        ("releases", s.releases),
        ("peak_live_frames", s.peak_live_frames),
    ];
    for (key, got) in want {
        assert_eq!(got, count(&json, key), "{name}: {key}");
    }
    println!("{name}: legacy matches CPython ({} acquisitions)", s.acquires);
}

#[test]
fn legacy_policy_reproduces_cpython_on_the_sample_trace() {
    check_legacy_reproduces_cpython(&root().join("traces/json.zft.gz"));
}

#[test]
fn legacy_policy_reproduces_cpython_on_every_shared_trace() {
    let dir = std::env::var_os("ZF_SHARED_TRACES").map(PathBuf::from).unwrap_or(root().join("../shared/traces"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("{}: not here; only the sample trace was checked", dir.display());
        return;
    };
    let mut traces: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    traces.retain(|p| p.to_string_lossy().ends_with(".zft.gz"));
    traces.sort();
    assert!(!traces.is_empty(), "{} holds no *.zft.gz", dir.display());
    for trace in traces {
        check_legacy_reproduces_cpython(&trace);
    }
}

/// The traces of `traces/` recorded by `integration/cpython39/record_traces.sh`
/// on the patched interpreter under `ZF_POLICY=legacy`: each `NAME.live.json`
/// holds what the live pool counted as it closed, which the legacy replay of
/// `NAME.zft.gz` must give to the unit; every trace must also replay cleanly
/// under the per-code defaults with the budget checked after every release.
#[test]
fn every_shipped_trace_replays_to_the_live_pools_counts() {
    let dir = root().join("traces");
    let mut traces: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().filter_map(|e| Some(e.ok()?.path())).collect();
    traces.retain(|p| p.to_string_lossy().ends_with(".zft.gz"));
    traces.sort();
    let mut checked = 0;
    for trace in &traces {
        let stem = trace.with_extension("").with_extension("");
        let live = stem.with_extension("live.json");
        if !live.exists() {
            // The sample: CPython's own counts, checked above.
            assert!(stem.with_extension("json").exists(), "{}: no .live.json nor .json beside it", trace.display());
            continue;
        }
        let json = std::fs::read_to_string(&live).unwrap();
        let (events, parser) = read_all(open(trace)).unwrap_or_else(|e| panic!("{}: {e}", trace.display()));
        let name = trace.display();
        assert_eq!(events.len() as u64, count(&json, "events"), "{name}: events");
        assert_eq!(parser.codes() as u64, count(&json, "codes"), "{name}: codes");
        let slots = parser.slots();
        let cfg = ZfConfig { policy: ZF_POLICY_LEGACY, ..ZfConfig::default() };
        let s = replay(&events, slots, Contender::Pool(cfg), false).expect("legacy replay").stats;
        for (key, got) in [
            ("acquisitions", s.acquires),
            ("zombie_hits", s.zombie_hits),
            ("shared_hits", s.shared_hits),
            ("reallocs", s.reallocs),
            ("fresh_allocs", s.fresh_allocs),
            ("releases", s.releases),
            ("frees", s.frees),
            ("peak_live_frames", s.peak_live_frames),
        ] {
            assert_eq!(got, count(&json, key), "{name}: {key}, legacy replay against the live pool");
        }
        let per_code = replay(&events, slots, Contender::Pool(ZfConfig::default()), true);
        let p = per_code.unwrap_or_else(|e| panic!("{name}: per-code: {e}")).stats;
        assert_eq!((p.acquires, p.releases), (s.acquires, s.releases), "{name}: per-code replays every event");
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} recorded traces in {}", dir.display());
    println!("{checked} recorded traces: legacy replay = live pool");
}

/// Per-code, legacy and the oracle in lockstep: each runs exactly as it
/// does alone, the per-event counts add up to the totals, and every system
/// allocation of per-code has a cause the library can name.
#[test]
fn the_lockstep_replay_accounts_for_every_system_allocation() {
    for name in ["json", "deep_recursion", "regrtest"] {
        let trace = root().join(format!("traces/{name}.zft.gz"));
        let (events, slots) = load(&trace);
        let cfg = ZfConfig::default();
        let l = lockstep(&events, slots, &cfg).expect("lockstep");
        let alone = |c| replay(&events, slots, c, false).unwrap().stats;
        let legacy = ZfConfig { policy: ZF_POLICY_LEGACY, ..cfg };
        assert_eq!(l.per_code, alone(Contender::Pool(cfg)), "{name}: per-code");
        assert_eq!(l.legacy, alone(Contender::Pool(legacy)), "{name}: legacy");
        assert_eq!(l.oracle, alone(Contender::Oracle), "{name}: oracle");
        let allocs = |s: &ZfStats| s.fresh_allocs + s.reallocs;
        assert_eq!(l.causes.total(), allocs(&l.per_code), "{name}: one cause per system allocation");
        assert_eq!(l.worse_causes.total(), l.worse, "{name}");
        assert_eq!(allocs(&l.per_code) + l.better, allocs(&l.legacy) + l.worse, "{name}: the events add up");
        assert_eq!(l.causes.unexplained, 0, "{name}: a loss the library did not record: {:?}", l.causes);
        assert!(l.causes.cold <= allocs(&l.oracle), "{name}: cold misses are the oracle's");
        assert!(l.legacy_peak_own_bytes < l.legacy.peak_cached_bytes, "{name}: headers counted out");
        println!("{name}: {:?}", l.causes);
    }
}

/// A pool that records, driven through a pattern with every event kind,
/// then the replay of what it wrote under the same configuration.
#[test]
fn a_recorded_trace_replays_to_identical_stats() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("recorded.zft");
    let file = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    for policy in [ZF_POLICY_PER_CODE, ZF_POLICY_LEGACY] {
        let cfg = ZfConfig { policy, per_code_max: 4, budget_bytes: 8 << 10, sweep_every: 50, ..ZfConfig::default() };
        let recorded = ZfConfig { trace_path: file.as_ptr(), ..cfg };
        let live = record(&recorded);
        let (events, slots) = load(&path);
        let replayed = replay(&events, slots, Contender::Pool(cfg), true).unwrap().stats;
        assert_eq!(replayed, live, "policy {policy}");
        assert!(live.zombie_hits > 0 && live.frees > 0 && live.sweeps > 0, "{live:?}");
    }
}

/// Runs a workload on a fresh pool; returns its stats just before the
/// pool is freed (frames left live at the end, as interpreters do).
fn record(cfg: &ZfConfig) -> ZfStats {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    // SAFETY: handles are used by the API's rules; frames are released
    // once, to their own code.
    unsafe {
        let pool = zf_pool_new(cfg);
        assert!(!pool.is_null());
        let mut codes: Vec<*mut ZfCode> = Vec::new();
        let mut live: Vec<(usize, *mut std::ffi::c_void)> = Vec::new();
        for step in 0..20_000 {
            match next(100) {
                0..=2 => codes.push(zf_code_new(pool, 100 + 8 * next(200) as usize)),
                3..=54 if !codes.is_empty() => {
                    let c = next(codes.len() as u64) as usize;
                    if !codes[c].is_null() {
                        live.push((c, zf_frame_acquire(codes[c], std::ptr::null_mut())));
                    }
                }
                55..=96 if !live.is_empty() => {
                    let i = if next(4) > 0 { live.len() - 1 } else { next(live.len() as u64) as usize };
                    let (c, f) = live.swap_remove(i);
                    zf_frame_release(codes[c], f);
                }
                97 if !codes.is_empty() => {
                    let c = next(codes.len() as u64) as usize;
                    if !codes[c].is_null() && live.iter().all(|(lc, _)| *lc != c) {
                        zf_code_free(codes[c]);
                        codes[c] = std::ptr::null_mut();
                    }
                }
                98 => _ = zf_pool_collect(pool, step % 3),
                _ => {}
            }
        }
        let s = common::stats(pool);
        zf_pool_free(pool);
        for (c, f) in live {
            zf_frame_release(codes[c], f);
        }
        for c in codes.into_iter().filter(|c| !c.is_null()) {
            zf_code_free(c);
        }
        s
    }
}
