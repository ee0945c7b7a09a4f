//! `--advise`: the smallest per-code settings that dominate legacy on
//! every trace given.
//!
//! Dominating legacy on a trace means, for the per-code pool against
//! CPython's own scheme replayed on the same trace: no realloc, more warm
//! (zombie) hits (or, where legacy already has every hit the oracle has,
//! as many: no policy can have more), no more system allocations (fresh +
//! reallocs), and a peak of cached bytes no higher.
//!
//! The search: for each candidate (sweep_generation, per_code_max,
//! reserve_max) of a small grid, first the automatic bound (`auto`, the
//! default), then a binary search on whole KiB for the smallest budget at which the
//! allocation targets (zero reallocs, warm hits, system allocations) hold
//! on every trace. More budget rarely hurts those and a smaller one keeps
//! the peak low, so the smallest such budget is the one whose peak is then
//! checked. Candidates are ranked by that budget (`auto` first: it follows
//! each program, where one fixed budget must fit them all), then by the
//! sum of their peaks; the winner is replayed once more with the budget checked after
//! every release. Replays are deterministic, so each (settings, trace) is
//! replayed at most once. When nothing dominates everywhere, each grid point
//! is also tried at the smallest legacy peak (where no peak target can
//! fail), and the closest of all tried is reported, unless the defaults
//! dominate on as many traces: the count of targets missed, which ranks
//! the closest, says nothing of by how much, and a change of settings must
//! earn its place by dominating on more traces than the defaults do.

use crate::input::{Progress, Trace};
use crate::report::{percent, size};
use std::collections::HashMap;
use zombie_frames::replay::{Contender, Outcome};
use zombie_frames::stats::count;
use zombie_frames::{Takes, ZfConfig, OPTIONS, ZF_BUDGET_AUTO};

/// The fields the search sets itself, which `--set` must leave alone.
pub const SEARCHED: [&str; 3] = ["per_code_max", "reserve_max", "budget_bytes"];
/// The per_code_max values tried.
pub const PER_CODE_MAX: [u32; 7] = [4, 8, 16, 32, 64, 128, 256];
/// The reserve_max values tried.
pub const RESERVE_MAX: [u32; 6] = [0, 100, 200, 300, 400, 600];
/// 3: no aging sweep at any collection (only every sweep_every releases),
/// the default. A program that calls gc.collect() often (a test suite)
/// otherwise ages every list at each call.
pub const NO_SWEEP_AT_COLLECTIONS: u32 = 3;
/// 1: an aging sweep at each collection of generation 1 or 2 (the default
/// of 0.3), which keeps lists shorter on programs that collect seldom.
pub const SWEEP_AT_COLLECTIONS: u32 = 1;

/// The sweep_generation searched besides the given one.
pub fn other_sweep_generation(given: u32) -> u32 {
    match given {
        NO_SWEEP_AT_COLLECTIONS => SWEEP_AT_COLLECTIONS,
        _ => NO_SWEEP_AT_COLLECTIONS,
    }
}
const KIB: usize = 1024;

/// One trace, loaded, with legacy's outcome on it.
pub struct Target<'a> {
    pub name: String,
    pub trace: &'a Trace,
    pub legacy: Outcome,
    /// The most zombie hits any policy gets on the trace: the oracle's.
    pub most_hits: u64,
}

impl Target<'_> {
    /// Which of the four targets `o` misses on this trace.
    pub fn misses(&self, o: &Outcome) -> Vec<&'static str> {
        misses(o, &self.legacy, self.most_hits)
    }
}

/// Which of the four targets an outcome misses against legacy, on a trace
/// where no policy gets more than `most_hits` zombie hits.
pub fn misses(o: &Outcome, legacy: &Outcome, most_hits: u64) -> Vec<&'static str> {
    let (s, l) = (&o.stats, &legacy.stats);
    let mut out = Vec::new();
    if s.reallocs > 0 {
        out.push("reallocs");
    }
    // More than legacy, unless legacy already has them all.
    if s.zombie_hits <= l.zombie_hits && s.zombie_hits < most_hits {
        out.push("warm hits");
    }
    if o.system_allocs() > legacy.system_allocs() {
        out.push("system allocs");
    }
    if s.peak_cached_bytes > l.peak_cached_bytes {
        out.push("peak cached");
    }
    out
}

/// The allocation targets only (everything but the peak).
fn allocs_hold(missed: &[&str]) -> bool {
    missed.iter().all(|m| *m == "peak cached")
}

/// Settings tried, with the outcome on each trace.
#[derive(Clone)]
pub struct Candidate {
    pub cfg: ZfConfig,
    pub outcomes: Vec<Outcome>,
}

impl Candidate {
    /// Traces dominated.
    pub fn wins(&self, targets: &[Target]) -> usize {
        self.outcomes.iter().zip(targets).filter(|(o, t)| t.misses(o).is_empty()).count()
    }

    fn peak_sum(&self) -> u64 {
        self.outcomes.iter().map(|o| o.stats.peak_cached_bytes).sum()
    }

    /// Whether `other` is these settings (the search's candidates differ
    /// only in the fields it varies).
    pub fn is(&self, other: &Candidate) -> bool {
        varied(&self.cfg) == varied(&other.cfg)
    }
}

/// The fields the search varies (sweep_generation, per_code_max,
/// reserve_max, budget_bytes); all others are its `base`'s.
type Varied = (u32, u32, u32, usize);

fn varied(cfg: &ZfConfig) -> Varied {
    (cfg.sweep_generation, cfg.per_code_max, cfg.reserve_max, cfg.budget_bytes)
}

/// What the search found.
pub struct Advice {
    /// Dominates on every trace, if any setting does.
    pub found: Option<Candidate>,
    /// The best that was tried, when none dominates everywhere: most
    /// traces dominated, then the fewest targets missed; the defaults
    /// when none dominates on more traces than they do.
    pub best: Candidate,
    /// The search's `base`: the defaults (with `--set` and `--prefix`).
    pub defaults: Candidate,
    pub replays: u64,
}

struct Search<'a, 'b> {
    targets: &'a [Target<'b>],
    cache: HashMap<(Varied, usize), Outcome>,
    replays: u64,
    /// The index of the trace that failed last: tried first next time.
    hard: usize,
}

impl Search<'_, '_> {
    fn outcome(&mut self, cfg: &ZfConfig, i: usize) -> Result<Outcome, String> {
        let key = (varied(cfg), i);
        if let Some(o) = self.cache.get(&key) {
            return Ok(*o);
        }
        let t = &self.targets[i];
        let o = t.trace.replay(Contender::Pool(*cfg), false).map_err(|e| format!("{}: {e}", t.name))?;
        self.replays += 1;
        self.cache.insert(key, o);
        Ok(o)
    }

    /// Whether the allocation targets hold on every trace; stops at the
    /// first trace that fails, trying the last one that failed first.
    fn allocs_hold_everywhere(&mut self, cfg: &ZfConfig) -> Result<bool, String> {
        let n = self.targets.len();
        for k in 0..n {
            let i = (self.hard + k) % n;
            let o = self.outcome(cfg, i)?;
            if !allocs_hold(&self.targets[i].misses(&o)) {
                self.hard = i;
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn candidate(&mut self, cfg: ZfConfig) -> Result<Candidate, String> {
        let outcomes = (0..self.targets.len()).map(|i| self.outcome(&cfg, i)).collect::<Result<_, _>>()?;
        Ok(Candidate { cfg, outcomes })
    }
}

/// Searches the grid around `base`, the defaults with `--set` and
/// `--prefix` (its sweep settings and flags are kept).
pub fn advise(targets: &[Target], base: &ZfConfig, progress: &Progress) -> Result<Advice, String> {
    // No budget above the largest legacy peak can pass the peak target on
    // the trace of that peak, and below it every budget is a candidate.
    let top_kib = targets.iter().map(|t| t.legacy.stats.peak_cached_bytes as usize).max().unwrap_or(0).div_ceil(KIB);
    let mut s = Search { targets, cache: HashMap::new(), replays: 0, hard: 0 };
    let defaults = s.candidate(*base)?;
    let mut found: Option<Candidate> = None;
    let mut best: Option<Candidate> = None;
    let generations = [base.sweep_generation, other_sweep_generation(base.sweep_generation)];
    let grid: Vec<(u32, u32, u32)> = generations
        .iter()
        .flat_map(|&g| PER_CODE_MAX.iter().flat_map(move |&p| RESERVE_MAX.map(|r| (g, p, r))))
        .collect();
    progress.phase(&format!("searching {} settings", grid.len()), grid.len() as u64);
    for &(sweep_generation, per_code_max, reserve_max) in &grid {
        progress.inc(1);
        let at =
            |kib: usize| ZfConfig { per_code_max, reserve_max, sweep_generation, budget_bytes: kib * KIB, ..*base };
        let auto = s.candidate(ZfConfig { budget_bytes: ZF_BUDGET_AUTO, ..at(1) })?;
        consider(auto, &mut found, &mut best, targets);
        if found.as_ref().is_some_and(|f| f.cfg.budget_bytes == ZF_BUDGET_AUTO) {
            continue; // no fixed budget ranks before the automatic bound
        }
        // A budget no smaller than one already found cannot win.
        let limit = found.as_ref().map_or(top_kib, |f| (f.cfg.budget_bytes / KIB).min(top_kib));
        let tried = match s.allocs_hold_everywhere(&at(limit))? {
            false => s.candidate(at(limit))?,
            true => {
                let (mut lo, mut hi) = (0, limit); // fails at lo (or lo is 0), holds at hi
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    match s.allocs_hold_everywhere(&at(mid))? {
                        true => hi = mid,
                        false => lo = mid,
                    }
                }
                s.candidate(at(hi))?
            }
        };
        consider(tried, &mut found, &mut best, targets);
    }
    if found.is_none() {
        // The closest may lie below the budgets the search stopped at: at
        // the smallest legacy peak, every peak target holds, so only the
        // allocation targets can fail there.
        let floor_kib = targets.iter().map(|t| t.legacy.stats.peak_cached_bytes as usize).min().unwrap_or(0) / KIB;
        progress.phase(&format!("none dominates: {} settings at {floor_kib} KiB", grid.len()), grid.len() as u64);
        for &(sweep_generation, per_code_max, reserve_max) in &grid {
            progress.inc(1);
            let cfg = ZfConfig { per_code_max, reserve_max, sweep_generation, budget_bytes: floor_kib * KIB, ..*base };
            let tried = s.candidate(cfg)?;
            if best.as_ref().is_none_or(|b| closer(&tried, b, targets)) {
                best = Some(tried);
            }
        }
    }
    let best = best.filter(|b| b.wins(targets) > defaults.wins(targets)).unwrap_or_else(|| defaults.clone());
    Ok(Advice { found, best, defaults, replays: s.replays })
}

/// Keeps `tried` as `found` if it dominates everywhere and ranks before
/// it (`better`), and as `best` if it comes closer (`closer`).
fn consider(tried: Candidate, found: &mut Option<Candidate>, best: &mut Option<Candidate>, targets: &[Target]) {
    let everywhere = tried.wins(targets) == targets.len();
    if everywhere && found.as_ref().is_none_or(|f| better(&tried, f)) {
        *found = Some(tried.clone());
    }
    if best.as_ref().is_none_or(|b| closer(&tried, b, targets)) {
        *best = Some(tried);
    }
}

/// Smaller budget first (`auto`, 0, before any), then the smaller sum of
/// peaks, then the smaller settings.
fn better(a: &Candidate, b: &Candidate) -> bool {
    let key = |c: &Candidate| {
        (c.cfg.budget_bytes, c.peak_sum(), c.cfg.reserve_max, c.cfg.per_code_max, c.cfg.sweep_generation)
    };
    key(a) < key(b)
}

/// More traces dominated, then fewer targets missed, then `better`.
fn closer(a: &Candidate, b: &Candidate, targets: &[Target]) -> bool {
    let missed = |c: &Candidate| -> usize { c.outcomes.iter().zip(targets).map(|(o, t)| t.misses(o).len()).sum() };
    let (wa, wb) = (a.wins(targets), b.wins(targets));
    wa > wb || (wa == wb && (missed(a) < missed(b) || (missed(a) == missed(b) && better(a, b))))
}

/// The options of the library's table whose `ZF_*` lines the advice
/// always prints, first and in this order: the budget the search finds,
/// then the grid's settings that a reader compares with CPython's.
const ALWAYS: [&str; 3] = ["budget_bytes", "per_code_max", "reserve_max"];

/// The `ZF_*` lines of `cfg`: the policy, the options of `ALWAYS`, then
/// every other option of the library's table (`OPTIONS`) whose value is
/// not the library's default.
pub fn env_lines(cfg: &ZfConfig) -> String {
    let d = ZfConfig::default();
    let always = ALWAYS.iter().map(|f| OPTIONS.iter().find(|o| o.field == *f).expect("an option of the table"));
    let changed = OPTIONS.iter().filter(|o| !ALWAYS.contains(&o.field) && (o.get)(cfg) != (o.get)(&d));
    let mut out = "ZF_POLICY=per-code\n".to_string();
    for opt in always.chain(changed) {
        let n = (opt.get)(cfg);
        let value = match opt.takes {
            Takes::SizeOrAuto if n == ZF_BUDGET_AUTO => "auto".to_string(),
            Takes::SizeOrAuto => size(n as u64),
            Takes::Whole => n.to_string(),
        };
        out += &format!("{}={value}\n", opt.var);
    }
    out
}

/// The per-trace table of `c` against legacy, with the figures of
/// `defaults` (unless they are `c`) on a row below each trace's.
pub fn table(c: &Candidate, defaults: &Candidate, targets: &[Target]) -> String {
    let header = ["trace", "warm hits", "legacy", "system allocs", "legacy", "peak cached", "legacy", "reallocs", ""];
    let mut rows = vec![header.map(String::from).to_vec()];
    for (i, t) in targets.iter().enumerate() {
        rows.push(row(&t.name, &c.outcomes[i], t, true));
        if !defaults.is(c) {
            rows.push(row("  defaults", &defaults.outcomes[i], t, false));
        }
    }
    let widths: Vec<usize> = (0..header.len()).map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let mut line = format!("{:<w$}", row[0], w = widths[0]);
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate().skip(1) {
            match i == header.len() - 1 {
                true => line += &format!("  {cell}"),
                false => line += &format!("  {cell:>w$}"),
            }
        }
        out += line.trim_end();
        out.push('\n');
    }
    out
}

/// A row of `table`: `o` on trace `t`, and legacy's figures if `legacy`.
fn row(name: &str, o: &Outcome, t: &Target, legacy: bool) -> Vec<String> {
    let missed = t.misses(o);
    let verdict = match missed.is_empty() {
        true => "dominates".to_string(),
        false => format!("misses: {}", missed.join(", ")),
    };
    let warm = |x: &Outcome| format!("{:.2}%", percent(x.stats.zombie_hits, x.stats.acquires));
    let l = |cell: String| if legacy { cell } else { String::new() };
    let ls = &t.legacy;
    vec![
        name.to_string(),
        warm(o),
        l(warm(ls)),
        count(o.system_allocs()),
        l(count(ls.system_allocs())),
        count(o.stats.peak_cached_bytes),
        l(count(ls.stats.peak_cached_bytes)),
        count(o.stats.reallocs),
        verdict,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use zombie_frames::ZfStats;

    fn outcome(zombie_hits: u64, fresh_allocs: u64, reallocs: u64, peak_cached_bytes: u64) -> Outcome {
        let stats = ZfStats { zombie_hits, fresh_allocs, reallocs, peak_cached_bytes, ..ZfStats::default() };
        Outcome { stats, ..Outcome::default() }
    }

    #[test]
    fn dominating_needs_strictly_more_warm_hits_and_ties_elsewhere_are_fine() {
        let legacy = outcome(100, 10, 2, 5000);
        let most = 150; // the oracle's hits
        assert!(misses(&outcome(101, 12, 0, 5000), &legacy, most).is_empty(), "12 = 10 + 2 system allocs, equal peak");
        assert_eq!(misses(&outcome(100, 5, 0, 10), &legacy, most), ["warm hits"]);
        assert_eq!(misses(&outcome(101, 13, 0, 10), &legacy, most), ["system allocs"]);
        assert_eq!(misses(&outcome(101, 5, 1, 5001), &legacy, most), ["reallocs", "peak cached"]);
        assert!(allocs_hold(&misses(&outcome(101, 5, 0, 9999), &legacy, most)));
        assert!(!allocs_hold(&misses(&outcome(99, 5, 0, 9999), &legacy, most)));
    }

    /// Where legacy already has every hit the oracle has, matching it is
    /// the most any policy can do: the target holds. One short still misses.
    #[test]
    fn a_tie_at_the_oracles_hits_meets_the_warm_hits_target() {
        let legacy = outcome(100, 10, 0, 5000);
        assert!(misses(&outcome(100, 10, 0, 5000), &legacy, 100).is_empty());
        assert_eq!(misses(&outcome(99, 10, 0, 5000), &legacy, 100), ["warm hits"]);
    }

    /// The advice, read back as the library reads the environment, is the
    /// configuration advised, whichever option of the table differs.
    #[test]
    fn env_lines_read_back_as_the_configuration() {
        let base = ZfConfig { budget_bytes: 141 << 10, ..ZfConfig::default() };
        for opt in &OPTIONS {
            let mut cfg = base;
            (opt.set)(&mut cfg, (opt.get)(&base) + 5 * 1024);
            let lines = env_lines(&cfg);
            let vars: HashMap<&str, &str> = lines.lines().filter_map(|l| l.split_once('=')).collect();
            let mut read = ZfConfig { policy: zombie_frames::ZF_POLICY_LEGACY, ..ZfConfig::default() };
            read.apply_env(|k| vars.get(k).map(|v| v.as_bytes().to_vec())).unwrap();
            assert_eq!(format!("{read:?}"), format!("{cfg:?}"), "{}:\n{lines}", opt.field);
        }
    }

    #[test]
    fn env_lines_name_sweep_settings_only_when_changed() {
        let cfg = ZfConfig { budget_bytes: 141 << 10, per_code_max: 64, ..ZfConfig::default() };
        let lines = env_lines(&cfg);
        assert!(lines.contains("ZF_BUDGET=141K\nZF_PER_CODE_MAX=64\n"), "{lines}");
        assert!(!lines.contains("SWEEP"), "{lines}");
        let lines = env_lines(&ZfConfig { sweep_generation: SWEEP_AT_COLLECTIONS, ..cfg });
        assert!(lines.ends_with("ZF_SWEEP_GENERATION=1\n"), "{lines}");
    }
}
