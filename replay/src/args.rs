//! Command-line arguments.

use clap::builder::{EnumValueParser, PossibleValue, TypedValueParser};
use clap::{Arg, Command, Parser, ValueEnum};
use std::ffi::OsStr;
use std::path::PathBuf;
use zombie_frames::{parse_size, Opt, Takes, ZfConfig, OPTIONS, ZF_FLAG_FRAME_PREFIX};

/// Replays zftrace files through zombie-frames under several policies, side by side.
#[derive(Parser, Debug)]
#[command(name = "zf-replay", version)]
pub struct Args {
    /// zftrace files, gzip'd or plain; `-` reads standard input
    #[arg(required = true, value_name = "TRACE")]
    pub traces: Vec<PathBuf>,

    /// Contenders, in this order (repeatable or comma-separated) [default: per-code,legacy,malloc,oracle]
    #[arg(long, ignore_case = true, value_name = "POLICY", value_parser = PolicyListParser)]
    pub policy: Vec<PolicyList>,

    /// Change the per-code configuration: per_code_max=N, budget_bytes=SIZE or auto, sweep_every=N,
    /// reserve_max=N, sweep_generation=N (repeatable or comma-separated; numbers take K, M, G as ZF_BUDGET does)
    #[arg(long = "set", value_delimiter = ',', value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub set: Vec<Setting>,

    /// Replay per-code as the CPython kits run it (ZF_FLAG_FRAME_PREFIX): a frame's first 16 bytes
    /// are the interpreter's GC head, so a per-code block carries no header of its own. Legacy keeps
    /// its header either way; compare per-code's peak with CPython's own bytes then (as --advise
    /// does with it)
    #[arg(long, conflicts_with_all = ["plot"])]
    pub prefix: bool,

    /// Print the tables' data as JSON on stdout
    #[arg(long)]
    pub json: bool,

    /// Write, per trace, DIR/<trace>.svg: warm hits and system allocations against budget_bytes
    /// (`-` as stdin.svg)
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,

    /// Print the smallest per-code settings (ZF_* lines) that dominate legacy on every trace:
    /// no reallocs, more warm hits (or all the oracle's), no more system allocations, no higher peak; the automatic bound first, then the smallest fixed budget. It searches per_code_max, reserve_max, budget_bytes and two sweep_generation values: --set may fix sweep_every and the first sweep_generation, and refuses the others
    #[arg(long, conflicts_with_all = ["policy", "plot", "json"])]
    pub advise: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Policy {
    /// per-code zombie lists with the defaults (and --set)
    #[value(alias = "per_code")]
    PerCode,
    /// CPython's own scheme, 3.9's and 2.7's (ZF_POLICY_LEGACY)
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

/// One `--policy`'s value: its comma-separated policies, in order.
#[derive(Clone, Debug)]
pub struct PolicyList(pub Vec<Policy>);

/// Reads a `--policy` list whole, so that an empty item (`legacy,` or
/// `legacy,,oracle`) is refused by its place in the list: item by item
/// (`value_delimiter`), clap would only say that a value is required.
/// Each other item is read as clap reads a `Policy`, any case, and an
/// unknown one gets clap's own error with the possible values.
#[derive(Clone)]
struct PolicyListParser;

impl TypedValueParser for PolicyListParser {
    type Value = PolicyList;

    fn parse_ref(&self, cmd: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<PolicyList, clap::Error> {
        let one = EnumValueParser::<Policy>::new();
        let Some(text) = value.to_str() else {
            return one.parse_ref(cmd, arg, value).map(|p| PolicyList(vec![p]));
        };
        if let Some(why) = empty_item(text) {
            // A parser of &str's errors is how clap words them for --set too:
            // "invalid value '...' for '--policy <POLICY>': ...".
            let refuse = move |_: &str| Err::<PolicyList, String>(why.clone());
            return refuse.parse_ref(cmd, arg, value);
        }
        let policies: Result<Vec<Policy>, clap::Error> =
            text.split(',').map(|item| one.parse_ref(cmd, arg, OsStr::new(item))).collect();
        policies.map(PolicyList)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Policy::value_variants().iter().filter_map(ValueEnum::to_possible_value)))
    }
}

/// What is wrong with `list` if an item of it is empty.
fn empty_item(list: &str) -> Option<String> {
    let names: Vec<&str> = Policy::value_variants().iter().map(|p| p.name()).collect();
    let (last, rest) = names.split_last().expect("there are policies");
    let expected = format!("expected {} or {last}, comma-separated", rest.join(", "));
    if list.is_empty() {
        return Some(format!("no policy given: {expected}"));
    }
    let items: Vec<&str> = list.split(',').collect();
    let places: Vec<String> =
        items.iter().enumerate().filter(|(_, item)| item.is_empty()).map(|(i, _)| (i + 1).to_string()).collect();
    let of = items.len();
    match places.split_last()? {
        (only, []) => Some(format!("item {only} of {of} is empty: {expected}")),
        (last, rest) => Some(format!("items {} and {last} of {of} are empty: {expected}", rest.join(", "))),
    }
}

/// One `--set`: an option of the library's table (`OPTIONS`) and its value.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub opt: &'static Opt,
    pub value: usize,
}

/// The `--set` keys, for the errors: the `ZfConfig` fields of `OPTIONS`.
fn keys() -> String {
    let fields: Vec<&str> = OPTIONS.iter().map(|o| o.field).collect();
    let (last, rest) = fields.split_last().expect("the table has options");
    format!("{} or {last}", rest.join(", "))
}

fn parse_setting(text: &str) -> Result<Setting, String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("expected KEY=VALUE with KEY one of {}", keys()))?;
    let opt =
        OPTIONS.iter().find(|o| o.field == key).ok_or_else(|| format!("unknown key {key:?}: expected {}", keys()))?;
    let bad = |expected: &str| format!("{key}: {value:?} is not {expected}");
    // Unlike the ZF_* variables, --set's whole numbers take K, M, G too
    // (and, as they do, a leading +); budget_bytes=auto (or 0) is the
    // automatic bound, as ZF_BUDGET=auto.
    let size = parse_size(value);
    let n = match opt.takes {
        Takes::Whole => size
            .filter(|&n| u32::try_from(n).is_ok())
            .or_else(|| opt.takes.parse(value))
            .ok_or_else(|| bad("a whole number up to 4294967295")),
        Takes::SizeOrAuto => opt.takes.parse(value).ok_or_else(|| bad(opt.takes.expected_for(value))),
    }?;
    Ok(Setting { opt, value: n })
}

impl Args {
    /// The contenders asked for, each once, in order.
    pub fn policies(&self) -> Vec<Policy> {
        let asked = match self.policy.is_empty() {
            true => vec![Policy::PerCode, Policy::Legacy, Policy::Malloc, Policy::Oracle],
            false => self.policy.iter().flat_map(|list| list.0.iter().copied()).collect(),
        };
        let mut once = Vec::new();
        for p in asked {
            if !once.contains(&p) {
                once.push(p);
            }
        }
        once
    }

    /// What makes the command line unusable as a whole, if anything:
    /// standard input named twice, or --advise with a --set of a field it
    /// searches (the search would overwrite it).
    pub fn conflict(&self) -> Option<String> {
        if self.traces.iter().filter(|t| t.as_os_str() == "-").count() > 1 {
            return Some("standard input (-) is given twice: it can be read once".into());
        }
        let searched =
            self.set.iter().find(|s| crate::advise::SEARCHED.contains(&s.opt.field)).filter(|_| self.advise)?;
        Some(format!(
            "--advise searches {} itself: --set {} would be overwritten (with --advise, --set takes sweep_every and sweep_generation)",
            searched.opt.field, searched.opt.field
        ))
    }

    /// The library's defaults with every --set applied, the last one
    /// winning, and the prefix flag of --prefix.
    pub fn per_code_config(&self) -> ZfConfig {
        let mut cfg = ZfConfig::default();
        for s in &self.set {
            (s.opt.set)(&mut cfg, s.value);
        }
        if self.prefix {
            cfg.flags |= ZF_FLAG_FRAME_PREFIX;
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
    fn prefix_sets_the_flag_on_per_code_alone() {
        let args = Args::parse_from(["zf-replay", "--prefix", "--set", "per_code_max=8", "t"]);
        let cfg = args.per_code_config();
        assert_eq!((cfg.flags, cfg.per_code_max), (ZF_FLAG_FRAME_PREFIX, 8));
        assert_eq!(Args::parse_from(["zf-replay", "t"]).per_code_config().flags, 0);
    }

    #[test]
    fn bad_settings_name_the_key() {
        assert!(parse_setting("budget=1").unwrap_err().contains("unknown key \"budget\""));
        assert!(parse_setting("per_code_max=-1").unwrap_err().starts_with("per_code_max:"));
        assert!(parse_setting("sweep_every=8G").unwrap_err().starts_with("sweep_every:"));
        assert!(parse_setting("budget_bytes=lots").unwrap_err().starts_with("budget_bytes:"));
        let auto = parse_setting("budget_bytes=auto").unwrap();
        assert_eq!((auto.opt.field, auto.value), ("budget_bytes", zombie_frames::ZF_BUDGET_AUTO));
        assert_eq!(parse_setting("budget_bytes=AUTO").unwrap().value, parse_setting("budget_bytes=0").unwrap().value);
        assert!(parse_setting("budget_bytes").unwrap_err().contains("KEY=VALUE"));
        // What ZF_PER_CODE_MAX takes, --set takes.
        assert_eq!(parse_setting("per_code_max=+5").unwrap().value, 5);
        assert!(parse_setting("per_code_max=+-5").unwrap_err().starts_with("per_code_max:"));
    }

    #[test]
    fn bad_settings_list_the_keys_of_the_table() {
        let keys = "per_code_max, budget_bytes, sweep_every, reserve_max or sweep_generation";
        assert_eq!(parse_setting("budget=1").unwrap_err(), format!("unknown key \"budget\": expected {keys}"));
        assert_eq!(parse_setting("x").unwrap_err(), format!("expected KEY=VALUE with KEY one of {keys}"));
    }

    /// Each option of the library's table, set to a value of its own,
    /// gives the same configuration through its ZF_* variable and through
    /// --set, and the report of zf_pool_print_stats shows that value.
    #[test]
    fn every_option_sets_alike_from_the_environment_and_set_and_is_reported() {
        use zombie_frames::stats::{bytes, count, report};
        let default = ZfConfig::default();
        let stats = zombie_frames::ZfStats::default();
        for opt in &OPTIONS {
            let n = (opt.get)(&default) + 3 * 1024 + 7;
            let text = n.to_string();
            let mut from_env = ZfConfig::default();
            from_env.apply_env(|k| (k == opt.var).then(|| text.clone().into_bytes())).unwrap();
            let set = format!("{}={text}", opt.field);
            let from_set = Args::parse_from(["zf-replay", "--set", &set, "t"]).per_code_config();
            assert_eq!(format!("{from_env:?}"), format!("{from_set:?}"), "{}", opt.var);
            assert_eq!((opt.get)(&from_set), n, "{}", opt.field);
            let shown = match opt.takes {
                Takes::Whole => count(n as u64),
                Takes::SizeOrAuto => bytes(n as u64),
            };
            let words = opt.shown.replace("{}", &shown);
            let r = report(&stats, &from_set, false, &[]);
            assert!(r.contains(&words) && !report(&stats, &default, false, &[]).contains(&words), "{words:?}: {r}");
        }
    }

    #[test]
    fn conflicting_arguments_are_named() {
        let conflict = |argv: &[&str]| Args::parse_from([&["zf-replay"], argv].concat()).conflict();
        assert_eq!(
            conflict(&["-", "t", "-"]).as_deref(),
            Some("standard input (-) is given twice: it can be read once")
        );
        for key in ["per_code_max=8", "reserve_max=50", "budget_bytes=64K"] {
            let field = key.split('=').next().unwrap();
            let why = conflict(&["--advise", "--set", key, "t"]).expect(key);
            assert!(why.starts_with(&format!("--advise searches {field} itself: --set {field} would")), "{why}");
            assert_eq!(conflict(&["--set", key, "t"]), None);
        }
        assert_eq!(conflict(&["--advise", "--set", "sweep_every=100,sweep_generation=2", "t", "u"]), None);
    }

    #[test]
    fn policies_keep_their_order_once() {
        let args = Args::parse_from(["zf-replay", "--policy", "oracle,legacy", "--policy", "oracle", "t"]);
        assert_eq!(args.policies(), [Policy::Oracle, Policy::Legacy]);
    }

    #[test]
    fn an_empty_policy_item_is_named_by_its_place() {
        let expected = "expected per-code, legacy, malloc or oracle, comma-separated";
        assert_eq!(empty_item("legacy,").as_deref(), Some(&*format!("item 2 of 2 is empty: {expected}")));
        assert_eq!(empty_item(",legacy").as_deref(), Some(&*format!("item 1 of 2 is empty: {expected}")));
        assert_eq!(
            empty_item("legacy,,per-code,").as_deref(),
            Some(&*format!("items 2 and 4 of 4 are empty: {expected}"))
        );
        assert_eq!(
            empty_item(",oracle,,,legacy").as_deref(),
            Some(&*format!("items 1, 3 and 4 of 5 are empty: {expected}"))
        );
        assert_eq!(empty_item("").as_deref(), Some(&*format!("no policy given: {expected}")));
        assert_eq!(empty_item("legacy,per-code"), None);
        let bad = Args::try_parse_from(["zf-replay", "--policy", "oracle,,legacy", "t"]).unwrap_err();
        assert_eq!(bad.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(bad.to_string().contains("'oracle,,legacy' for '--policy <POLICY>': item 2 of 3 is empty"), "{bad}");
    }
}
