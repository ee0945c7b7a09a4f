//! zf-replay: replays zftrace files through zombie-frames (the real
//! library, through its C ABI) under several policies side by side, and
//! prints what each did: one table per trace, or JSON.

mod advise;
mod args;
mod input;
mod plot;
mod report;

use args::{Args, Policy};
use clap::Parser;
use input::{Progress, Trace};
use report::{LockstepReport, Row, Settings, TraceReport};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zombie_frames::replay::{Contender, Outcome};
use zombie_frames::stats::{count, counted};
use zombie_frames::{ZfConfig, ZF_FLAG_FRAME_PREFIX, ZF_POLICY_LEGACY};

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(e) = args.conflict() {
        eprintln!("zf-replay: {e}");
        return ExitCode::FAILURE;
    }
    if let Some(dir) = &args.plot {
        if let Some(e) = plot_clash(&args.traces, dir) {
            eprintln!("zf-replay: {e}");
            return ExitCode::FAILURE;
        }
        if let Err(e) = std::fs::create_dir_all(dir) {
            let why = match dir.exists() && !dir.is_dir() {
                true => "not a directory".to_string(),
                false => e.to_string(),
            };
            eprintln!("zf-replay: --plot: {}: {why}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    if args.advise {
        return run_advise(&args);
    }
    let mut reports = Vec::new();
    let mut failed = false;
    for path in &args.traces {
        match run(path, &args) {
            Ok(r) if args.json => reports.push(r),
            Ok(r) => {
                if print(&report::table(&r)).is_err() {
                    return ExitCode::FAILURE;
                }
            }
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                failed = true;
            }
        }
    }
    if args.json {
        let json = serde_json::to_string_pretty(&report::Json { traces: &reports }).expect("plain data serialises");
        failed |= print(&json).is_err();
    }
    match failed {
        true => ExitCode::FAILURE,
        false => ExitCode::SUCCESS,
    }
}

/// Writes `text` and a newline on stdout. A closed pipe (`| head`) ends
/// the output quietly; other write errors are reported.
fn print(text: &str) -> std::io::Result<()> {
    let r = writeln!(std::io::stdout().lock(), "{text}");
    if let Err(e) = &r {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("stdout: {e}");
        }
    }
    r
}

/// Reads, checks and replays one trace; writes its plot if asked.
fn run(path: &Path, args: &Args) -> Result<TraceReport, String> {
    let progress = Progress::new(path);
    let trace = input::load(path, &progress)?;
    let cfg = args.per_code_config();
    let policies = args.policies();
    let plotting = args.plot.is_some();
    let both = policies.contains(&Policy::PerCode) && policies.contains(&Policy::Legacy);
    let passes = policies.len() + policies.contains(&Policy::PerCode) as usize + both as usize;
    let passes = passes + if plotting { plot::budgets().len() + 1 } else { 0 };
    progress.replaying(passes as u64);
    let mut replayer = Replayer { trace: &trace, progress: &progress };
    let mut contenders = Vec::new();
    let mut legacy = None;
    for &p in &policies {
        let outcome = replayer.run(p, &cfg)?;
        if p == Policy::Legacy {
            legacy = Some(outcome);
        }
        contenders.push(Row::new(p.name(), &outcome));
    }
    if let Some(dir) = &args.plot {
        let legacy = match legacy {
            Some(o) => o,
            None => replayer.run(Policy::Legacy, &cfg)?,
        };
        let file = dir.join(format!("{}.svg", stem(path)));
        let title = format!(
            "{}: per_code_max {}, reserve_max {}, sweep_every {}, sweep_generation {}",
            path.display(),
            cfg.per_code_max,
            cfg.reserve_max,
            cfg.sweep_every,
            cfg.sweep_generation
        );
        plot_sweep(&mut replayer, &cfg, &legacy, &file, &title)?;
    }
    let p = &trace.parser;
    let per_code: Settings = (&cfg).into();
    let lockstep = match policies.contains(&Policy::PerCode) && policies.contains(&Policy::Legacy) {
        true => {
            progress.pass("lockstep: per-code, legacy and the oracle together");
            let l = trace.lockstep(&cfg)?;
            progress.inc(1);
            Some(LockstepReport::new(&l, &per_code))
        }
        false => None,
    };
    Ok(TraceReport {
        trace: path.display().to_string(),
        events: trace.events.len() as u64,
        codes: p.codes() as u64,
        peak_live_frames: p.peak_live as u64,
        per_code,
        contenders,
        lockstep,
    })
}

struct Replayer<'a> {
    trace: &'a Trace,
    progress: &'a Progress,
}

impl Replayer<'_> {
    /// One contender's outcome. Per-code pools run twice: timed, then
    /// checking the budget after every release; both must count alike.
    fn run(&mut self, policy: Policy, per_code: &ZfConfig) -> Result<Outcome, String> {
        let contender = match policy {
            Policy::PerCode => Contender::Pool(*per_code),
            Policy::Legacy => Contender::Pool(ZfConfig { policy: ZF_POLICY_LEGACY, ..ZfConfig::default() }),
            Policy::Malloc => Contender::Malloc,
            Policy::Oracle => Contender::Oracle,
        };
        let timed = self.pass(policy.name(), contender, false)?;
        if policy == Policy::PerCode {
            let checked = self.pass(&format!("{} (checking the budget)", policy.name()), contender, true)?;
            if checked.stats != timed.stats {
                return Err(format!("{}: the checked replay counted differently from the timed one", policy.name()));
            }
        }
        Ok(timed)
    }

    fn pass(&mut self, name: &str, contender: Contender, check: bool) -> Result<Outcome, String> {
        self.progress.pass(name);
        let t = self.trace;
        let outcome = t.replay(contender, check).map_err(|e| format!("{name}: {e}"))?;
        self.progress.inc(1);
        Ok(outcome)
    }
}

/// Replays per-code at each budget of the sweep (budget checked) and draws it.
fn plot_sweep(r: &mut Replayer, cfg: &ZfConfig, legacy: &Outcome, file: &Path, title: &str) -> Result<(), String> {
    let point = |bytes: u64, o: &Outcome| plot::Point {
        bytes: bytes as f64,
        warm_percent: report::percent(o.stats.zombie_hits, o.stats.acquires),
        system_allocs: o.system_allocs() as f64,
    };
    let mut sweep = Vec::new();
    for budget in plot::budgets() {
        let name = format!("per-code, budget_bytes {}", report::size(budget as u64));
        let o = r.pass(&name, Contender::Pool(ZfConfig { budget_bytes: budget, ..*cfg }), true)?;
        sweep.push(point(budget as u64, &o));
    }
    plot::write_svg(file, title, &sweep, point(legacy.stats.peak_cached_bytes, legacy))
}

/// `--advise`: loads every trace (any bad one is an error), replays legacy
/// on each, searches, and prints the `ZF_*` lines and the per-trace table,
/// the defaults' figures below the advice's. Every line but the settings
/// starts with `#`, so the output can be sourced by a shell. Exit status 1
/// when no setting dominates everywhere. Progress goes to stderr.
fn run_advise(args: &Args) -> ExitCode {
    // The progress, a temporary, is cleared before the advice is printed.
    let advice = advise_text(args, &Progress::phases("zf-replay --advise"));
    match advice {
        Ok((text, found)) => match print(text.trim_end()).is_ok() && found {
            true => ExitCode::SUCCESS,
            false => ExitCode::FAILURE,
        },
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The advice's text, and whether a setting dominates everywhere.
fn advise_text(args: &Args, progress: &Progress) -> Result<(String, bool), String> {
    // Each trace has a bar of its own while it is read.
    progress.note(&format!("reading {}", counted(args.traces.len() as u64, "trace")));
    let traces = args
        .traces
        .iter()
        .map(|p| input::load(p, &Progress::new(p)).map(|t| (p, t)).map_err(|e| format!("{}: {e}", p.display())))
        .collect::<Result<Vec<_>, _>>()?;
    let base = args.per_code_config();
    let targets = targets(&traces, &base, progress)?;
    let advice = advise::advise(&targets, &base, progress)?;
    match &advice.found {
        Some(c) => check_budget(c, &targets, progress)?,
        None => {
            let why = format!(
                "no setting tried dominates legacy on every trace; fails on {}",
                failing(&advice.best, &targets)
            );
            progress.suspend(|| eprintln!("zf-replay: {why}"));
        }
    }
    progress.note("done");
    Ok((advice_lines(&advice, &targets, &base), advice.found.is_some()))
}

/// "trace (target, ...); ..." for each trace on which `c` misses a target.
fn failing(c: &advise::Candidate, targets: &[advise::Target]) -> String {
    let missed = c.outcomes.iter().zip(targets).map(|(o, t)| (t, t.misses(o)));
    let named: Vec<String> =
        missed.filter(|(_, m)| !m.is_empty()).map(|(t, m)| format!("{} ({})", t.name, m.join(", "))).collect();
    named.join("; ")
}

/// Each trace with legacy's outcome and the oracle's warm hits: the bars.
fn targets<'a>(
    traces: &'a [(&PathBuf, Trace)],
    base: &ZfConfig,
    progress: &Progress,
) -> Result<Vec<advise::Target<'a>>, String> {
    progress.phase("replaying legacy and the oracle", traces.len() as u64);
    let legacy = ZfConfig { policy: ZF_POLICY_LEGACY, ..ZfConfig::default() };
    let target = |(path, trace): &'a (&PathBuf, Trace)| {
        progress.inc(1);
        let l = trace.replay(Contender::Pool(legacy), false).and_then(|l| cpython_peak(l, trace, base));
        let oracle = |l| Ok((l, trace.replay(Contender::Oracle, false)?.stats.zombie_hits));
        let bars = l.and_then(oracle).map_err(|e| format!("{}: {e}", path.display()));
        bars.map(|(legacy, most_hits)| advise::Target { name: stem(path), trace, legacy, most_hits })
    };
    traces.iter().map(target).collect()
}

/// The advice once more, with the budget checked after every release: it
/// must count as the search's replays did.
fn check_budget(c: &advise::Candidate, targets: &[advise::Target], progress: &Progress) -> Result<(), String> {
    progress.phase("checking the advice's budget", targets.len() as u64);
    for (t, searched) in targets.iter().zip(&c.outcomes) {
        progress.inc(1);
        let checked = t.trace.replay(Contender::Pool(c.cfg), true).map_err(|e| format!("{}: {e}", t.name))?;
        if checked.stats != searched.stats {
            return Err(format!("{}: the checked replay counted differently", t.name));
        }
    }
    Ok(())
}

/// The output of `--advise`: a heading, the `ZF_*` lines, what the
/// defaults do, and the per-trace table.
fn advice_lines(advice: &advise::Advice, targets: &[advise::Target], base: &ZfConfig) -> String {
    let (chosen, heading) = heading(advice, targets);
    let searched = format!(
        "sweep_generation {} and {}, per_code_max {:?}, reserve_max {:?}, the smallest budget_bytes (whole KiB) for each; {} replays",
        base.sweep_generation,
        advise::other_sweep_generation(base.sweep_generation),
        advise::PER_CODE_MAX,
        advise::RESERVE_MAX,
        count(advice.replays)
    );
    let layout = match base.flags & ZF_FLAG_FRAME_PREFIX {
        0 => "",
        _ => ", frames with a prefix (per-code's blocks and legacy's peak without headers: CPython's own bytes)",
    };
    let d = &advice.defaults;
    let against = match chosen.is(d) {
        true => "# Against legacy (CPython's own scheme) on each trace:\n".to_string(),
        false => format!(
            "{}# Against legacy (CPython's own scheme) on each trace, the defaults' figures below the advice's:\n",
            defaults_line(d, targets)
        ),
    };
    let table: String = advise::table(chosen, d, targets).lines().map(|l| format!("# {l}\n")).collect();
    format!("{heading}\n# (searched {searched}{layout}):\n{}#\n{against}{table}", advise::env_lines(&chosen.cfg))
}

/// "# The defaults (ZF_BUDGET=auto ...) dominate legacy on 3 of 4 traces."
fn defaults_line(d: &advise::Candidate, targets: &[advise::Target]) -> String {
    let lines = advise::env_lines(&d.cfg);
    let vars: Vec<&str> = lines.lines().filter(|l| !l.starts_with("ZF_POLICY=")).collect();
    let of = counted(targets.len() as u64, "trace");
    format!("# The defaults ({}) dominate legacy on {} of {of}.\n", vars.join(" "), d.wins(targets))
}

/// The settings the advice prints, and its first line.
fn heading<'a>(advice: &'a advise::Advice, targets: &[advise::Target]) -> (&'a advise::Candidate, String) {
    let (d, n) = (&advice.defaults, targets.len());
    match &advice.found {
        Some(c) => {
            let on = if n == 1 { "the trace".to_string() } else { format!("all {n} traces") };
            let which = if c.is(d) { ": the defaults" } else { "" };
            (c, format!("# The smallest settings found that dominate legacy on {on}{which}"))
        }
        None if advice.best.is(d) => {
            let nor = format!("nor on more than the defaults ({} of {n}): keep them", d.wins(targets));
            (d, format!("# NO setting tried dominates legacy on every trace, {nor}"))
        }
        None => {
            let b = &advice.best;
            let closest = format!("The closest, dominating on {} of {n}:", b.wins(targets));
            (b, format!("# NO setting tried dominates legacy on every trace. {closest}"))
        }
    }
}

/// Legacy's outcome as the peak target reads it: under `--prefix`, its
/// peak without the library's block headers, CPython's own bytes (the
/// lockstep's), as per-code's blocks have none either.
fn cpython_peak(mut legacy: Outcome, trace: &Trace, base: &ZfConfig) -> Result<Outcome, String> {
    if base.flags & ZF_FLAG_FRAME_PREFIX != 0 {
        legacy.stats.peak_cached_bytes = trace.lockstep(base)?.legacy_peak_own_bytes;
    }
    Ok(legacy)
}

/// Two traces whose plots would have one name, the second overwriting
/// the first (`a/json.zft.gz` and `b/json.zft`). One given twice plots alike.
fn plot_clash(traces: &[std::path::PathBuf], dir: &Path) -> Option<String> {
    let stems: Vec<String> = traces.iter().map(|t| stem(t)).collect();
    let (i, j) = (0..stems.len())
        .flat_map(|j| (0..j).map(move |i| (i, j)))
        .find(|&(i, j)| stems[i] == stems[j] && traces[i] != traces[j])?;
    let file = dir.join(format!("{}.svg", stems[i]));
    Some(format!("--plot: {} and {} would both write {}", traces[i].display(), traces[j].display(), file.display()))
}

/// `traces/json.zft.gz` -> `json`; stdin -> `stdin`.
fn stem(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = [".gz", ".zft"].iter().fold(name, |n, ext| n.strip_suffix(ext).map(str::to_string).unwrap_or(n));
    match name.as_str() {
        "" | "-" => "stdin".to_string(),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn plots_of_one_name_are_refused() {
        let paths = |names: &[&str]| names.iter().map(PathBuf::from).collect::<Vec<_>>();
        let dir = Path::new("plots");
        let clash = plot_clash(&paths(&["a/json.zft.gz", "x.zft", "b/json.zft"]), dir);
        assert_eq!(clash.as_deref(), Some("--plot: a/json.zft.gz and b/json.zft would both write plots/json.svg"));
        assert!(plot_clash(&paths(&["-", "stdin.zft"]), dir).is_some());
        assert!(plot_clash(&paths(&["a/json.zft.gz", "a/pickle.zft.gz", "a/json.zft.gz"]), dir).is_none());
    }

    #[test]
    fn plot_files_are_named_after_the_trace() {
        let names = ["traces/json.zft.gz", "a/b.zft", "plain.txt", "-"].map(|p| stem(&PathBuf::from(p)));
        assert_eq!(names, ["json", "b", "plain.txt", "stdin"]);
    }
}
