//! Command-line arguments.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use zombie_frames::{parse_size, ZfConfig};

/// Replays zftrace files through zombie-frames under several policies, side by side.
#[derive(Parser, Debug)]
#[command(name = "zf-replay", version)]
pub struct Args {
    /// zftrace files, gzip'd or plain; `-` reads standard input
    #[arg(required = true, value_name = "TRACE")]
    pub traces: Vec<PathBuf>,

    /// Contenders, in this order (repeatable or comma-separated) [default: per-code,legacy,malloc,oracle]
    #[arg(long, value_enum, value_delimiter = ',', value_name = "POLICY")]
    pub policy: Vec<Policy>,

    /// Change the per-code configuration: per_code_max=N, budget_bytes=SIZE, sweep_every=N,
    /// reserve_max=N, sweep_generation=N (repeatable or comma-separated; numbers take K, M, G as ZF_BUDGET does)
    #[arg(long = "set", value_delimiter = ',', value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub set: Vec<Setting>,

    /// Print the tables' data as JSON on stdout
    #[arg(long)]
    pub json: bool,

    /// Write, per trace, DIR/<trace>.svg: warm hits and system allocations against budget_bytes
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,

    /// Print the smallest per-code settings (ZF_* lines) that dominate legacy on every trace:
    /// no reallocs, more warm hits, no more system allocations, no higher peak (--set fixes the rest)
    #[arg(long, conflicts_with_all = ["policy", "plot", "json"])]
    pub advise: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Policy {
    /// per-code zombie lists with the defaults (and --set)
    PerCode,
    /// CPython 3.9's scheme (ZF_POLICY_LEGACY)
    Legacy,
    /// no cache: malloc and free on every call
    Malloc,
    /// a cache without limits: its misses are the unavoidable cold misses
    Oracle,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::PerCode => "per-code",
            Policy::Legacy => "legacy",
            Policy::Malloc => "malloc",
            Policy::Oracle => "oracle",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Setting {
    PerCodeMax(u32),
    BudgetBytes(usize),
    SweepEvery(u32),
    ReserveMax(u32),
    SweepGeneration(u32),
}

const KEYS: &str = "per_code_max, budget_bytes, sweep_every, reserve_max or sweep_generation";

fn parse_setting(text: &str) -> Result<Setting, String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("expected KEY=VALUE with KEY one of {KEYS}"))?;
    let size = parse_size(value);
    let count = || size.and_then(|n| u32::try_from(n).ok());
    let bad = |expected: &str| format!("{key}: {value:?} is not {expected}");
    let whole = |make: fn(u32) -> Setting| count().map(make).ok_or_else(|| bad("a whole number up to 4294967295"));
    match key {
        "per_code_max" => whole(Setting::PerCodeMax),
        "sweep_every" => whole(Setting::SweepEvery),
        "reserve_max" => whole(Setting::ReserveMax),
        "sweep_generation" => whole(Setting::SweepGeneration),
        "budget_bytes" => size.map(Setting::BudgetBytes).ok_or_else(|| bad("a size such as 65536, 512K, 4M or 1G")),
        _ => Err(format!("unknown key {key:?}: expected {KEYS}")),
    }
}

impl Args {
    /// The contenders asked for, each once, in order.
    pub fn policies(&self) -> Vec<Policy> {
        let asked = match self.policy.is_empty() {
            true => vec![Policy::PerCode, Policy::Legacy, Policy::Malloc, Policy::Oracle],
            false => self.policy.clone(),
        };
        let mut once = Vec::new();
        for p in asked {
            if !once.contains(&p) {
                once.push(p);
            }
        }
        once
    }

    /// The library's defaults with every --set applied, the last one winning.
    pub fn per_code_config(&self) -> ZfConfig {
        let mut cfg = ZfConfig::default();
        for s in &self.set {
            match *s {
                Setting::PerCodeMax(n) => cfg.per_code_max = n,
                Setting::BudgetBytes(n) => cfg.budget_bytes = n,
                Setting::SweepEvery(n) => cfg.sweep_every = n,
                Setting::ReserveMax(n) => cfg.reserve_max = n,
                Setting::SweepGeneration(n) => cfg.sweep_generation = n,
            }
        }
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_apply_in_order() {
        let args =
            Args::parse_from(["zf-replay", "--set", "budget_bytes=64K,per_code_max=8", "--set=budget_bytes=1M", "t"]);
        let cfg = args.per_code_config();
        assert_eq!((cfg.budget_bytes, cfg.per_code_max), (1 << 20, 8));
        assert_eq!(cfg.sweep_every, ZfConfig::default().sweep_every);
    }

    #[test]
    fn bad_settings_name_the_key() {
        assert!(parse_setting("budget=1").unwrap_err().contains("unknown key \"budget\""));
        assert!(parse_setting("per_code_max=-1").unwrap_err().starts_with("per_code_max:"));
        assert!(parse_setting("sweep_every=8G").unwrap_err().starts_with("sweep_every:"));
        assert!(parse_setting("budget_bytes=lots").unwrap_err().starts_with("budget_bytes:"));
        assert!(parse_setting("budget_bytes").unwrap_err().contains("KEY=VALUE"));
    }

    #[test]
    fn policies_keep_their_order_once() {
        let args = Args::parse_from(["zf-replay", "--policy", "oracle,legacy", "--policy", "oracle", "t"]);
        assert_eq!(args.policies(), [Policy::Oracle, Policy::Legacy]);
    }
}
