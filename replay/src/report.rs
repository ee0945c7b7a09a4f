//! The per-trace table and its JSON twin.

use serde::Serialize;
use std::collections::BTreeMap;
use zombie_frames::replay::{Causes, Lockstep, Outcome};
use zombie_frames::stats::{count, counted};
use zombie_frames::{ZfConfig, ZF_BUDGET_AUTO, ZF_FLAG_FRAME_PREFIX};

/// What `--json` prints.
#[derive(Serialize)]
pub struct Json<'a> {
    pub traces: &'a [TraceReport],
}

/// One trace under every contender.
#[derive(Serialize)]
pub struct TraceReport {
    pub trace: String,
    pub events: u64,
    pub codes: u64,
    pub peak_live_frames: u64,
    /// The configuration of the per-code contender.
    pub per_code: Settings,
    pub contenders: Vec<Row>,
    /// Per-code against legacy, event by event (when both are contenders).
    pub lockstep: Option<LockstepReport>,
}

/// `replay::Lockstep`, as the report prints it.
#[derive(Serialize)]
pub struct LockstepReport {
    /// Acquires at which per-code asked the system for a block and legacy did not.
    pub per_code_only: u64,
    /// Acquires at which legacy did and per-code did not.
    pub legacy_only: u64,
    /// Per-code's system allocations by cause, and those it alone made.
    pub causes: CauseCounts,
    pub per_code_only_causes: CauseCounts,
    /// Legacy's peak cached bytes without the library's 16-byte headers:
    /// CPython's own frames.
    pub cpython_peak_bytes: u64,
    /// Per-code's peak cached bytes over `cpython_peak_bytes` (null when
    /// that is 0: a trace that caches nothing).
    pub per_code_peak_vs_cpython: Option<f64>,
    /// Per-code's peak of bytes its zombies and reserve held (its
    /// `peak_cached_bytes` adds the allowances' free room), and that over
    /// legacy's peak (under `--prefix`, over `cpython_peak_bytes`: like
    /// per-code's, without headers).
    pub per_code_peak_held_bytes: u64,
    pub per_code_peak_held_vs_legacy: Option<f64>,
}

/// Counts by cause, by the names of `replay::Causes`' fields.
pub type CauseCounts = BTreeMap<&'static str, u64>;

fn cause_counts(c: &Causes) -> CauseCounts {
    c.named().into_iter().collect()
}

impl LockstepReport {
    /// `per_code`: the settings the lockstep replayed per-code with; with
    /// a prefix its blocks had no header, so its held bytes compare with
    /// legacy's without headers too.
    pub fn new(l: &Lockstep, per_code: &Settings) -> LockstepReport {
        let legacy_like = match per_code.frame_prefix {
            true => l.legacy_peak_own_bytes,
            false => l.legacy.peak_cached_bytes,
        };
        LockstepReport {
            per_code_only: l.worse,
            legacy_only: l.better,
            causes: cause_counts(&l.causes),
            per_code_only_causes: cause_counts(&l.worse_causes),
            cpython_peak_bytes: l.legacy_peak_own_bytes,
            per_code_peak_vs_cpython: ratio(l.per_code.peak_cached_bytes, l.legacy_peak_own_bytes),
            per_code_peak_held_bytes: l.per_code_peak_held_bytes,
            per_code_peak_held_vs_legacy: ratio(l.per_code_peak_held_bytes, legacy_like),
        }
    }
}

/// `part / whole`, or None for a whole of 0.
fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A ratio as the table prints it: "0.994x", or "n/a".
fn times(r: Option<f64>) -> String {
    r.map_or("n/a".into(), |r| format!("{r:.3}x"))
}

/// "cold 1, no reserve frame 2, ...", in `replay::Causes`' order.
fn cause_line(c: &CauseCounts) -> String {
    let names = Causes::default().named().map(|(name, _)| name);
    names.map(|name| format!("{} {}", name.replace('_', " "), count(c[name]))).join(", ")
}

#[derive(Serialize)]
pub struct Settings {
    pub per_code_max: u32,
    pub budget_bytes: usize,
    pub sweep_every: u32,
    pub reserve_max: u32,
    pub sweep_generation: u32,
    /// `--prefix`: frames carry the interpreter's GC head, and per-code's
    /// blocks no header (ZF_FLAG_FRAME_PREFIX).
    pub frame_prefix: bool,
}

impl From<&ZfConfig> for Settings {
    fn from(c: &ZfConfig) -> Settings {
        Settings {
            per_code_max: c.per_code_max,
            budget_bytes: c.budget_bytes,
            sweep_every: c.sweep_every,
            reserve_max: c.reserve_max,
            sweep_generation: c.sweep_generation,
            frame_prefix: c.flags & ZF_FLAG_FRAME_PREFIX != 0,
        }
    }
}

/// One contender's replay: a row of the table.
#[derive(Serialize)]
pub struct Row {
    pub policy: &'static str,
    pub acquisitions: u64,
    /// Served by a zombie of the same code: warm, per-code fields intact.
    pub zombie_hits: u64,
    pub zombie_hit_percent: f64,
    /// Served by another code's frame (legacy's global list), without a resize.
    pub shared_hits: u64,
    pub fresh_allocs: u64,
    pub reallocs: u64,
    /// fresh_allocs + reallocs: what the system allocator was asked for.
    pub system_allocs: u64,
    pub frees: u64,
    pub releases: u64,
    pub peak_cached_bytes: u64,
    pub final_cached_bytes: u64,
    pub peak_live_frames: u64,
    /// The timed replay's wall time per event; null for a trace without
    /// events, whose time is only the timer's own.
    pub ns_per_event: Option<f64>,
}

impl Row {
    pub fn new(policy: &'static str, o: &Outcome) -> Row {
        let s = &o.stats;
        Row {
            policy,
            acquisitions: s.acquires,
            zombie_hits: s.zombie_hits,
            zombie_hit_percent: percent(s.zombie_hits, s.acquires),
            shared_hits: s.shared_hits,
            fresh_allocs: s.fresh_allocs,
            reallocs: s.reallocs,
            system_allocs: o.system_allocs(),
            frees: s.frees,
            releases: s.releases,
            peak_cached_bytes: s.peak_cached_bytes,
            final_cached_bytes: s.cached_bytes,
            peak_live_frames: s.peak_live_frames,
            ns_per_event: (o.events > 0).then(|| o.ns_per_event()),
        }
    }
}

pub fn percent(part: u64, whole: u64) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

const HEADER: [&str; 12] = [
    "policy",
    "acquisitions",
    "zombie hits",
    "shared hits",
    "fresh",
    "reallocs",
    "system allocs",
    "frees",
    "peak cached",
    "final cached",
    "peak live",
    "ns/event",
];

/// The table, with a heading naming the trace and, when per-code is
/// replayed, its settings.
pub fn table(r: &TraceReport) -> String {
    let p = &r.per_code;
    let mut out = format!(
        "{}: {}, {}, at most {} live\n",
        r.trace,
        counted(r.events, "event"),
        counted(r.codes, "code"),
        counted(r.peak_live_frames, "frame")
    );
    if r.contenders.iter().any(|c| c.policy == "per-code") {
        out += &settings_line(p);
    }
    out.push('\n');
    let mut rows = vec![HEADER.map(String::from).to_vec()];
    for c in &r.contenders {
        rows.push(vec![
            c.policy.to_string(),
            count(c.acquisitions),
            format!("{:.2}%", c.zombie_hit_percent),
            count(c.shared_hits),
            count(c.fresh_allocs),
            count(c.reallocs),
            count(c.system_allocs),
            count(c.frees),
            kib(c.peak_cached_bytes),
            kib(c.final_cached_bytes),
            count(c.peak_live_frames),
            c.ns_per_event.map_or("n/a".into(), |ns| format!("{ns:.1}")),
        ]);
    }
    let widths: Vec<usize> = (0..HEADER.len()).map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0)).collect();
    for row in rows {
        let mut line = format!("{:<w$}", row[0], w = widths[0]);
        for (cell, w) in row.iter().zip(&widths).skip(1) {
            line += &format!("  {cell:>w$}");
        }
        out += line.trim_end();
        out.push('\n');
    }
    if let Some(l) = &r.lockstep {
        out += &format!(
            "\nlockstep: per-code asked the system for a block where legacy did not at {} acquires; legacy where per-code did not at {}\n  per-code's system allocations by cause: {}\n  those legacy did not make:             {}\npeak cached against CPython's own bytes (legacy without block headers, {}): per-code {}\nper-code's peak of bytes held, without its allowances' free room: {}, {} legacy's peak{}\n",
            count(l.per_code_only),
            count(l.legacy_only),
            cause_line(&l.causes),
            cause_line(&l.per_code_only_causes),
            kib(l.cpython_peak_bytes),
            times(l.per_code_peak_vs_cpython),
            kib(l.per_code_peak_held_bytes),
            times(l.per_code_peak_held_vs_legacy),
            if r.per_code.frame_prefix { " without headers" } else { "" }
        );
        if !r.per_code.frame_prefix {
            out += "  (per-code's blocks counted with their headers, CPython's without: --prefix replays it as the kits run it)\n";
        }
    }
    out
}

/// "per-code: per_code_max 128, budget_bytes auto, ..." and a newline.
fn settings_line(p: &Settings) -> String {
    let budget = match p.budget_bytes {
        ZF_BUDGET_AUTO => "auto".to_string(),
        bytes => size(bytes as u64),
    };
    format!(
        "per-code: per_code_max {}, budget_bytes {budget}, sweep_every {}, reserve_max {}, sweep_generation {}{}\n",
        p.per_code_max,
        p.sweep_every,
        p.reserve_max,
        p.sweep_generation,
        if p.frame_prefix { ", frames with a prefix (no block headers)" } else { "" }
    )
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// A size as ZF_BUDGET takes it: 524288 -> "512K", 1000 -> "1000".
pub fn size(bytes: u64) -> String {
    for (shift, unit) in [(30, "G"), (20, "M"), (10, "K")] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(
            [size(524288), size(4 << 20), size(1 << 30), size(1000), size(0)],
            ["512K", "4M", "1G", "1000", "0"]
        );
    }
}
