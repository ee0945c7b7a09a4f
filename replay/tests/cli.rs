//! The zf-replay binary as a user runs it: on the sample trace (whose
//! legacy counts must be CPython's own, from traces/json.json), on plain,
//! gzip'd and piped input, with --json, --set and --plot, and on broken
//! files, one per rule of docs/TRACE_FORMAT.md.

use flate2::{write::GzEncoder, Compression};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_zf-replay");

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces/json.zft.gz")
}

/// CPython's own counts on the sample.
fn cpython() -> Value {
    let text = std::fs::read_to_string(sample().with_extension("").with_extension("json")).expect("traces/json.json");
    serde_json::from_str(&text).expect("json.json is JSON")
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zf-replay-cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn zf_replay(args: &[&str]) -> Output {
    let out = Command::new(BIN).args(args).output().expect("runs zf-replay");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "zf-replay panicked: {stderr}");
    out
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "zf-replay failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&stdout(&zf_replay(args))).expect("--json prints JSON")
}

/// The row of `policy` in `table`, numbers without their commas.
fn row(table: &str, policy: &str) -> Vec<String> {
    let line = table.lines().find(|l| l.split_whitespace().next() == Some(policy));
    let line = line.unwrap_or_else(|| panic!("no {policy} row in\n{table}"));
    line.split_whitespace().map(|w| w.replace(',', "")).collect()
}

#[test]
fn the_sample_table_has_every_contender_and_legacy_counts_as_cpython() {
    let sample = sample();
    let table = stdout(&zf_replay(&[sample.to_str().unwrap()]));
    let header = table.lines().find(|l| l.starts_with("policy")).expect("a header row");
    for column in ["acquisitions", "zombie hits", "shared hits", "fresh", "reallocs", "system allocs", "frees"] {
        assert!(header.contains(column), "no {column} column: {header}");
    }
    for column in ["peak cached", "final cached", "peak live", "ns/event"] {
        assert!(header.contains(column), "no {column} column: {header}");
    }
    for policy in ["per-code", "legacy", "malloc", "oracle"] {
        row(&table, policy);
    }
    let c = cpython();
    let n = |key: &str| c[key].as_u64().unwrap_or_else(|| panic!("{key} in json.json"));
    let legacy = row(&table, "legacy");
    let percent = format!("{:.2}%", 100.0 * n("zombie_hits") as f64 / n("acquisitions") as f64);
    let fresh_and_realloc = n("fresh_allocations") + n("freelist_hits_realloc");
    let want = [
        (1, n("acquisitions").to_string()),
        (2, percent),
        (3, n("freelist_hits_no_resize").to_string()),
        (4, n("fresh_allocations").to_string()),
        (5, n("freelist_hits_realloc").to_string()),
        (6, fresh_and_realloc.to_string()),
        (7, n("frees_to_system_total").to_string()),
    ];
    for (column, value) in want {
        assert_eq!(legacy[column], value, "legacy column {column}:\n{table}");
    }
    // Peak live frames, after two "x KiB" cells.
    assert_eq!(legacy[12], n("peak_live_frames").to_string(), "{table}");
    // No cache: every acquisition is a system allocation.
    let malloc = row(&table, "malloc");
    assert_eq!((&malloc[1], &malloc[4], &malloc[2]), (&legacy[1], &legacy[1], &"0.00%".to_string()));
}

#[test]
fn json_gives_the_same_counts_exactly() {
    let sample = sample();
    let out = json(&["--json", "--policy", "legacy", sample.to_str().unwrap()]);
    let traces = out["traces"].as_array().expect("a traces array");
    assert_eq!(traces.len(), 1);
    let t = &traces[0];
    let c = cpython();
    assert_eq!(t["events"], c["events"]);
    assert_eq!(t["peak_live_frames"], c["peak_live_frames"]);
    let rows = t["contenders"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "--policy legacy alone");
    let legacy = &rows[0];
    assert_eq!(legacy["policy"], "legacy");
    for (ours, theirs) in [
        ("acquisitions", "acquisitions"),
        ("zombie_hits", "zombie_hits"),
        ("shared_hits", "freelist_hits_no_resize"),
        ("reallocs", "freelist_hits_realloc"),
        ("fresh_allocs", "fresh_allocations"),
        ("frees", "frees_to_system_total"),
        ("peak_live_frames", "peak_live_frames"),
    ] {
        assert_eq!(legacy[ours], c[theirs], "{ours} vs CPython's {theirs}");
    }
    let (z, a) = (legacy["zombie_hits"].as_f64().unwrap(), legacy["acquisitions"].as_f64().unwrap());
    assert!((legacy["zombie_hit_percent"].as_f64().unwrap() - 100.0 * z / a).abs() < 1e-9);
    assert!(legacy["ns_per_event"].as_f64().unwrap() > 0.0);
}

#[test]
fn prefix_replays_per_code_without_block_headers() {
    let sample = sample();
    let run = |prefix: bool| {
        let mut args = vec!["--json", "--policy", "per-code,legacy"];
        args.extend(prefix.then_some("--prefix"));
        args.push(sample.to_str().unwrap());
        json(&args)["traces"][0].clone()
    };
    let (plain, prefixed) = (run(false), run(true));
    let row = |t: &Value, policy: &str| {
        let rows = t["contenders"].as_array().unwrap();
        rows.iter().find(|r| r["policy"] == policy).unwrap().clone()
    };
    assert_eq!(
        (&plain["per_code"]["frame_prefix"], &prefixed["per_code"]["frame_prefix"]),
        (&false.into(), &true.into())
    );
    // Legacy keeps its header: the same replay, byte for byte.
    for field in ["fresh_allocs", "reallocs", "zombie_hits", "peak_cached_bytes"] {
        assert_eq!(row(&plain, "legacy")[field], row(&prefixed, "legacy")[field], "{field}");
    }
    assert_eq!(plain["lockstep"]["cpython_peak_bytes"], prefixed["lockstep"]["cpython_peak_bytes"]);
    // Per-code's blocks drop their 16-byte header: a lower peak, and the
    // ratio to CPython's own bytes falls with it.
    let peak = |t: &Value| row(t, "per-code")["peak_cached_bytes"].as_u64().unwrap();
    assert!(peak(&prefixed) < peak(&plain), "{} vs {}", peak(&prefixed), peak(&plain));
    let vs = |t: &Value| t["lockstep"]["per_code_peak_vs_cpython"].as_f64().unwrap();
    assert!(vs(&prefixed) < vs(&plain));
    let text = stdout(&zf_replay(&["--prefix", sample.to_str().unwrap()]));
    assert!(text.contains("frames with a prefix (no block headers)"), "{text}");
    assert!(text.contains("x legacy's peak without headers"), "{text}");
    let headed = "per-code's blocks counted with their headers, CPython's without";
    assert!(!text.contains(headed), "{text}");
    assert!(stdout(&zf_replay(&[sample.to_str().unwrap()])).contains(headed));
    // Held bytes, headerless, against legacy's without headers too.
    let held = |t: &Value| t["lockstep"]["per_code_peak_held_bytes"].as_f64().unwrap();
    let ratio = prefixed["lockstep"]["per_code_peak_held_vs_legacy"].as_f64().unwrap();
    let own = prefixed["lockstep"]["cpython_peak_bytes"].as_f64().unwrap();
    assert!((ratio - held(&prefixed) / own).abs() < 1e-9);
    // The plot, of a layout it does not replay, is refused.
    let out = zf_replay(&["--prefix", "--plot=/tmp", sample.to_str().unwrap()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--prefix"));
}

/// `--advise --prefix` searches the kits' layout and holds the peak to
/// CPython's own bytes (legacy's without headers), not legacy's.
#[test]
fn advise_with_a_prefix_holds_the_peak_to_cpythons_own_bytes() {
    let t = recursion_trace("advise-prefix.zft", 40, 30);
    let t = t.to_str().unwrap();
    let lockstep = &json(&["--json", "--prefix", "--policy", "per-code,legacy", t])["traces"][0]["lockstep"];
    let own = lockstep["cpython_peak_bytes"].as_u64().unwrap();
    // The trace's row: its name, warm hits and legacy's, system allocs and
    // legacy's, peak and legacy's peak, ...
    let legacy_peak = |text: &str| -> u64 {
        let row = text.lines().find(|l| l.starts_with("# advise-prefix ")).expect("the trace's row");
        row.split_whitespace().nth(7).unwrap().replace(',', "").parse().unwrap()
    };
    let text = stdout(&zf_replay(&["--advise", "--prefix", t]));
    assert!(text.contains("frames with a prefix"), "{text}");
    assert_eq!(legacy_peak(&text), own, "{text}");
    let plain = stdout(&zf_replay(&["--advise", t]));
    assert!(legacy_peak(&plain) > own, "{plain}");
}

/// The first `lines` lines of the sample, plain and gzip'd: a valid trace
/// (frames may be live at its end), small enough for debug builds.
fn small_sample(lines: usize) -> (PathBuf, PathBuf) {
    let (plain, gzip) = (tmp(&format!("head{lines}.zft")), tmp(&format!("head{lines}.zft.gz")));
    let file = std::fs::File::open(sample()).unwrap();
    let text: Vec<String> =
        BufReader::new(flate2::read::GzDecoder::new(file)).lines().take(lines).map(Result::unwrap).collect();
    let text = text.join("\n") + "\n";
    std::fs::write(&plain, &text).unwrap();
    let mut gz = GzEncoder::new(std::fs::File::create(&gzip).unwrap(), Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
    (plain, gzip)
}

/// The JSON without the file name and the timings, which differ run to run.
fn counts(mut v: Value) -> Value {
    for t in v["traces"].as_array_mut().unwrap() {
        t["trace"] = Value::Null;
        for c in t["contenders"].as_array_mut().unwrap() {
            c["ns_per_event"] = Value::Null;
        }
    }
    v
}

#[test]
fn plain_gzip_and_stdin_input_replay_alike() {
    let (plain, gzip) = small_sample(40_000);
    let args = |p: &Path| ["--json", p.to_str().unwrap()].map(String::from);
    let from_plain = json(&args(&plain).each_ref().map(|s| s.as_str()));
    let from_gzip = json(&args(&gzip).each_ref().map(|s| s.as_str()));
    assert_eq!(counts(from_plain.clone()), counts(from_gzip));
    // A gzip'd file whatever its name: the magic bytes decide.
    let renamed = tmp("gzip-without-gz-name.txt");
    std::fs::copy(&gzip, &renamed).unwrap();
    assert_eq!(counts(json(&["--json", renamed.to_str().unwrap()])), counts(from_plain.clone()));
    // `-` reads standard input.
    let mut child = Command::new(BIN)
        .args(["--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&std::fs::read(&gzip).unwrap()).unwrap();
    let piped: Value = serde_json::from_str(&stdout(&child.wait_with_output().unwrap())).unwrap();
    assert_eq!(piped["traces"][0]["trace"], "-");
    assert_eq!(counts(piped), counts(from_plain.clone()));
    let t = &from_plain["traces"][0];
    let names: Vec<&str> = t["contenders"].as_array().unwrap().iter().map(|c| c["policy"].as_str().unwrap()).collect();
    assert_eq!(names, ["per-code", "legacy", "malloc", "oracle"]);
    assert!(t["events"].as_u64().unwrap() > 30_000);
}

#[test]
fn several_traces_give_several_tables() {
    let (plain, gzip) = small_sample(5_000);
    let table = stdout(&zf_replay(&["--policy", "oracle", plain.to_str().unwrap(), gzip.to_str().unwrap()]));
    assert_eq!(table.matches("\npolicy ").count(), 2, "{table}");
    assert!(table.contains(&format!("{}: ", plain.display())) && table.contains(&format!("{}: ", gzip.display())));
}

#[test]
fn set_changes_the_per_code_configuration_and_the_budget_holds() {
    let (plain, _) = small_sample(40_000);
    let v =
        json(&["--json", "--policy", "per-code", "--set", "budget_bytes=8K,per_code_max=4", plain.to_str().unwrap()]);
    let t = &v["traces"][0];
    assert_eq!(t["per_code"]["budget_bytes"], 8192);
    assert_eq!(t["per_code"]["per_code_max"], 4);
    assert_eq!(t["per_code"]["sweep_every"], zombie_frames::ZfConfig::default().sweep_every, "the default");
    let peak = t["contenders"][0]["peak_cached_bytes"].as_u64().unwrap();
    assert!(peak > 0 && peak <= 8192, "peak cached {peak} bytes under a budget of 8K");
    let d = zombie_frames::ZfConfig::default();
    assert_eq!(t["per_code"]["reserve_max"], d.reserve_max);
    let args =
        ["--set", "sweep_every=4K,reserve_max=0,budget_bytes=256K", "--policy=per-code", plain.to_str().unwrap()];
    let table = stdout(&zf_replay(&args));
    let want = format!("per_code_max {}, budget_bytes 256K, sweep_every 4096, reserve_max 0,", d.per_code_max);
    assert!(table.contains(&want), "{table}");
}

fn set_error(setting: &str, names: &str) {
    let out = zf_replay(&["--set", setting, sample().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "--set {setting}: {stderr}");
    assert!(stderr.contains(names), "--set {setting}: expected {names:?} in: {stderr}");
    assert!(out.stdout.is_empty(), "nothing replayed");
}

#[test]
fn set_errors_name_the_key() {
    set_error("budget=1M", "unknown key \"budget\"");
    set_error("budget_bytes=1M,policy=legacy", "unknown key \"policy\"");
    set_error("budget_bytes=lots", "budget_bytes: \"lots\" is not auto, or a size such as");
    set_error("budget_bytes=99999999999G", "budget_bytes: \"99999999999G\" is not a size under 16 EiB");
    set_error("budget_bytes=-1", "budget_bytes: \"-1\"");
    set_error("per_code_max=1.5", "per_code_max: \"1.5\" is not a whole number");
    set_error("sweep_every=5G", "sweep_every: \"5G\" is not a whole number");
    set_error("per_code_max", "KEY=VALUE");
}

#[test]
fn unknown_policy_is_refused() {
    let out = zf_replay(&["--policy", "lru", sample().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lru"));
    // Any case, and `_` for `-`, as ZF_POLICY takes them.
    let text = stdout(&zf_replay(&["--policy", "Legacy,PER_CODE", small_sample(2_000).0.to_str().unwrap()]));
    assert!(text.contains("legacy ") && text.contains("per-code "), "{text}");
}

#[test]
fn an_empty_policy_item_is_named_by_its_place() {
    let trace = small_sample(2_000).0;
    for (list, says) in [
        ("legacy,", "item 2 of 2 is empty"),
        ("legacy,,per-code", "item 2 of 3 is empty"),
        (",oracle,,", "items 1, 3 and 4 of 4 are empty"),
    ] {
        let out = zf_replay(&["--policy", list, trace.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--policy {list}: {stderr}");
        let want = format!(
            "invalid value '{list}' for '--policy <POLICY>': {says}: expected per-code, legacy, malloc or oracle"
        );
        assert!(stderr.contains(&want), "--policy {list}: expected {want:?} in: {stderr}");
        assert!(!stderr.contains("a value is required"), "{stderr}");
        assert!(out.stdout.is_empty(), "--policy {list}: nothing replayed");
    }
    // An unknown item still gets clap's list of the possible values.
    let out = zf_replay(&["--policy", "legacy,lru", trace.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid value 'lru'") && stderr.contains("[possible values: per-code, legacy"),
        "{stderr}"
    );
}

#[test]
fn a_trace_without_events_has_no_time_per_event() {
    let empty = tmp("no-events.zft");
    std::fs::write(&empty, "zftrace 1\n# nothing ran\n").unwrap();
    let table = stdout(&zf_replay(&[empty.to_str().unwrap()]));
    assert!(table.contains(": 0 events,"), "{table}");
    for policy in ["per-code", "legacy", "malloc", "oracle"] {
        assert_eq!(row(&table, policy).last().map(String::as_str), Some("n/a"), "{policy}: {table}");
    }
    let v = json(&["--json", empty.to_str().unwrap()]);
    let rows = v["traces"][0]["contenders"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r["ns_per_event"].is_null()), "{v}");
    // A trace with events keeps its figure.
    let (plain, _) = small_sample(2_000);
    let table = stdout(&zf_replay(&["--policy", "legacy", plain.to_str().unwrap()]));
    let ns: f64 = row(&table, "legacy").last().unwrap().parse().expect("a number of ns");
    assert!(ns > 0.0, "{table}");
    let v = json(&["--json", "--policy", "legacy", plain.to_str().unwrap()]);
    assert!(v["traces"][0]["contenders"][0]["ns_per_event"].as_f64().unwrap() > 0.0, "{v}");
}

#[test]
fn plot_writes_an_svg_per_trace() {
    let (plain, _) = small_sample(20_000);
    let dir = tmp("plots");
    let _ = std::fs::remove_dir_all(&dir);
    let out = zf_replay(&["--plot", dir.to_str().unwrap(), "--policy", "oracle", plain.to_str().unwrap()]);
    stdout(&out);
    let svg = std::fs::read_to_string(dir.join("head20000.svg")).expect("the plot, named after the trace");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for text in ["warm hits (%)", "system allocations", "legacy (CPython", "per-code", "16K", "4M"] {
        assert!(svg.contains(text), "no {text:?} in the SVG");
    }
}

/// Arguments that cannot work together are refused before any trace is
/// read, each with what is wrong.
#[test]
fn conflicting_arguments_are_refused_up_front() {
    let file = tmp("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["-", "-"], "zf-replay: standard input (-) is given twice"),
        (&["--advise", "--set", "reserve_max=50", "-"], "zf-replay: --advise searches reserve_max itself"),
        (&["--plot", file.to_str().unwrap(), "-"], "not-a-dir: not a directory"),
    ];
    for (argv, want) in cases {
        let out = zf_replay(argv);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(want), "{argv:?}: {stderr}");
    }
}

#[test]
fn plot_refuses_two_traces_of_one_name() {
    let (plain, _) = small_sample(2_000);
    let other = tmp("other");
    std::fs::create_dir_all(&other).unwrap();
    let twin = other.join(plain.file_name().unwrap());
    std::fs::copy(&plain, &twin).unwrap();
    let dir = tmp("plots-twins");
    let out = zf_replay(&[
        "--plot",
        dir.to_str().unwrap(),
        "--policy",
        "oracle",
        plain.to_str().unwrap(),
        twin.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the second plot overwrote the first");
    assert!(stderr.contains(&format!("{} and {} would both write", plain.display(), twin.display())), "{stderr}");
}

/// Writes `text` as a trace named `name`, plain (and gzip'd too), and
/// checks that zf-replay rejects it with `FILE: line N: ...rule...`.
fn rejects(name: &str, text: &str, line: u64, rule: &str) {
    let plain = tmp(&format!("{name}.zft"));
    std::fs::write(&plain, text).unwrap();
    let gzip = tmp(&format!("{name}.zft.gz"));
    let mut gz = GzEncoder::new(std::fs::File::create(&gzip).unwrap(), Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
    for file in [plain, gzip] {
        let out = zf_replay(&[file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: accepted");
        let want = format!("{}: line {line}: ", file.display());
        assert!(stderr.contains(&want), "{name}: expected {want:?} in: {stderr}");
        assert!(stderr.contains(rule), "{name}: expected the rule {rule:?} in: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: a table for a broken file");
    }
}

#[test]
fn rule_first_line() {
    rejects("first-line", "zftrace 2\nc 1 400\n", 1, "the first line must be exactly \"zftrace 1\"");
    rejects("first-line-comment", "# zftrace 1\n", 1, "the first line must be exactly");
    rejects("empty-file", "", 1, "the file is empty");
}

#[test]
fn rule_unknown_event() {
    rejects("unknown-event", "zftrace 1\nc 1 400\nq 1\n", 3, "unknown event \"q\"");
    rejects("empty-line", "zftrace 1\nc 1 400\n\na 1 0\n", 3, "empty line");
    // Cut short: "d 12" would destroy another code than the "d 123" written.
    rejects("cut-short", "zftrace 1\nc 12 400\nc 123 64\nd 12", 4, "the file ends inside this line");
}

#[test]
fn rule_arity() {
    rejects("arity-c", "zftrace 1\nc 1\n", 2, "event c takes 2 numbers, found 1");
    rejects("arity-r", "zftrace 1\nc 1 400\na 1 0\nr 0 1\n", 4, "event r takes 1 number, found 2");
    rejects("arity-spaces", "zftrace 1\nc 1  400\n", 2, "a space between two fields");
    rejects("trailing-space", "zftrace 1\nc 1 400 \n", 2, "a space at the end of the line");
    rejects("leading-space", "zftrace 1\n a 1 0\n", 2, "a space at the start of the line");
}

#[test]
fn rule_decimal_numbers() {
    rejects("negative", "zftrace 1\nc 1 -400\n", 2, "\"-400\" is not a decimal integer");
    rejects("hex", "zftrace 1\nc 0x1 400\n", 2, "\"0x1\" is not a decimal integer");
    rejects("plus", "zftrace 1\nc 1 400\na 1 +2\n", 3, "\"+2\" is not a decimal integer");
    rejects("too-big", "zftrace 1\ns 99999999999999999999999\n", 2, "is over 18446744073709551615, the largest");
    rejects("zero-bytes", "zftrace 1\nc 1 0\n", 2, "asks for 0 bytes");
}

#[test]
fn rule_code_created_once_in_order() {
    rejects("code-twice", "zftrace 1\nc 1 400\nc 1 400\n", 3, "code 1 is created twice");
    rejects("code-order", "zftrace 1\nc 5 400\nc 3 400\n", 3, "code 3 is created after code 5: numbers must increase");
}

#[test]
fn rule_c_comes_first() {
    rejects("a-before-c", "zftrace 1\nc 1 400\na 2 0\n", 3, "a names code 2 before its c line");
    rejects("d-before-c", "zftrace 1\nd 7\n", 2, "d names code 7 before its c line");
}

#[test]
fn rule_frame_is_new() {
    rejects("frame-twice", "zftrace 1\nc 1 400\na 1 5\na 1 5\n", 4, "frame 5 is not new");
    rejects("frame-reused", "zftrace 1\nc 1 400\na 1 5\nr 5\na 1 5\n", 5, "frame 5 is not new");
    rejects("frame-order", "zftrace 1\nc 1 400\na 1 5\na 1 2\n", 4, "frame 2 is not new");
}

#[test]
fn rule_release_of_a_live_frame() {
    rejects("release-twice", "zftrace 1\nc 1 400\na 1 0\nr 0\nr 0\n", 5, "r names frame 0, which is not live");
    rejects("release-unknown", "zftrace 1\nc 1 400\na 1 0\nr 9\n", 4, "r names frame 9, which was never acquired");
}

/// The C API lets a code go while frames of it are live (CPython never
/// does): such a trace, as the recorder writes it, replays under every
/// contender, the frame released after its code.
#[test]
fn a_code_may_go_before_its_last_frame() {
    let file = tmp("destroy-live.zft");
    std::fs::write(&file, "zftrace 1\nc 1 400\na 1 0\na 1 1\nr 0\nd 1\nr 1\ns 3\n").unwrap();
    let out = zf_replay(&[file.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("\"releases\": 2"), "{}", stdout(&out));
}

#[test]
fn rule_no_use_after_destroy() {
    rejects("acquire-destroyed", "zftrace 1\nc 1 400\nd 1\na 1 0\n", 4, "a names code 1, which was destroyed");
    rejects("destroy-twice", "zftrace 1\nc 1 400\nd 1\nd 1\n", 4, "d names code 1, which was destroyed");
}

#[test]
fn rule_generation() {
    rejects("generation", "zftrace 1\nc 1 400\ns 2147483648\n", 3, "generation 2147483648 is over 2147483647");
}

#[test]
fn a_broken_line_deep_in_the_sample_is_found() {
    // The sample with one line broken deep inside: the number must be exact.
    let file = std::fs::File::open(sample()).unwrap();
    let mut text: Vec<String> =
        BufReader::new(flate2::read::GzDecoder::new(file)).lines().take(30_000).map(Result::unwrap).collect();
    text[24_999] = "r 99999999999".into();
    rejects("deep", &(text.join("\n") + "\n"), 25_000, "r names frame 99999999999, which was never acquired");
}

#[test]
fn unreadable_input_is_an_error_not_a_panic() {
    // A truncated gzip stream, bytes that are not UTF-8, a missing file.
    let (_, gzip) = small_sample(5_000);
    let bytes = std::fs::read(&gzip).unwrap();
    let cut = tmp("truncated.zft.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let binary = tmp("binary.zft");
    std::fs::write(&binary, b"zftrace 1\nc 1 4\xff\xfe\n").unwrap();
    let missing = tmp("missing.zft");
    let dir = tmp("a-directory.zft");
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [(&cut, "cannot read the gzip data"), (&binary, "line 2: not UTF-8 text"), (&missing, "cannot open")];
    for (file, want) in cases.into_iter().chain([(&dir, "a directory, not a trace")]) {
        let out = zf_replay(&[file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}: accepted", file.display());
        assert!(stderr.contains(&format!("{}: ", file.display())) && stderr.contains(want), "{stderr}");
    }
}

/// A damaged gzip file inflates to garbage before its checksum, at its
/// end, says so: the error says both, not only the garbage's broken rule.
#[test]
fn a_bad_line_of_a_damaged_gzip_file_says_the_file_is_damaged() {
    let text = "zftrace 1\nc 1 400\na 1 0\nr 0\n";
    // Stored, not compressed: one byte of the text changes, the checksum fails.
    let mut gz = GzEncoder::new(Vec::new(), Compression::none());
    gz.write_all(text.as_bytes()).unwrap();
    let mut bytes = gz.finish().unwrap();
    let at = bytes.windows(4).position(|w| w == b"r 0\n").expect("the text, stored");
    bytes[at + 2] = b'7';
    let file = tmp("damaged.zft.gz");
    std::fs::write(&file, &bytes).unwrap();
    let out = zf_replay(&[file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 4: r names frame 7, which was never acquired"), "{stderr}");
    assert!(stderr.contains("but the gzip data is damaged further on"), "{stderr}");
}

#[test]
fn a_broken_trace_fails_the_run_but_not_the_others() {
    let (plain, _) = small_sample(5_000);
    let broken = tmp("broken-among-good.zft");
    std::fs::write(&broken, "zftrace 1\nq\n").unwrap();
    let out = zf_replay(&["--policy", "legacy", broken.to_str().unwrap(), plain.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{}: ", plain.display())));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{}: line 2: ", broken.display())));
}

/// A synthetic trace: code 0 (400 bytes) recursing `deep` frames, then code
/// 1 (800 bytes) recursing 3, `rounds` times, with a collection each round.
/// Legacy keeps one zombie per code, so most of the recursion comes from its
/// global list, and code 1 grows code 0's frames there (reallocs).
fn recursion_trace(name: &str, deep: u32, rounds: u32) -> PathBuf {
    let mut t = String::from("zftrace 1\n# synthetic: two recursive codes\nc 0 400\nc 1 800\n");
    let mut frame = 0;
    for _ in 0..rounds {
        for (code, depth) in [(0, deep), (1, 3)] {
            let first = frame;
            for _ in 0..depth {
                t += &format!("a {code} {frame}\n");
                frame += 1;
            }
            for f in (first..frame).rev() {
                t += &format!("r {f}\n");
            }
        }
        t += "s 0\n";
    }
    let path = tmp(name);
    std::fs::write(&path, t).unwrap();
    path
}

/// The `ZF_*` lines of --advise's output as `--set` keys; every other line
/// must be a `#` comment (the output can be sourced by a shell).
fn advised_settings(text: &str) -> Vec<(String, String)> {
    let mut set = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let (var, value) = line.split_once('=').unwrap_or_else(|| panic!("not VAR=VALUE nor a comment: {line:?}"));
        let key = match var {
            "ZF_POLICY" => {
                assert_eq!(value, "per-code");
                continue;
            }
            "ZF_BUDGET" => "budget_bytes",
            "ZF_PER_CODE_MAX" => "per_code_max",
            "ZF_RESERVE_MAX" => "reserve_max",
            "ZF_SWEEP_EVERY" => "sweep_every",
            "ZF_SWEEP_GENERATION" => "sweep_generation",
            _ => panic!("{var}: not a variable of src/config.rs"),
        };
        set.push((key.to_string(), value.to_string()));
    }
    set
}

/// The rows of per-code (the defaults with `set`), legacy and the oracle
/// replayed on `trace`.
fn replayed(trace: &Path, set: &[(String, String)]) -> [Value; 3] {
    let set = set.iter().map(|(k, v)| format!("--set={k}={v}"));
    let mut args = vec!["--json".to_string(), "--policy=per-code,legacy,oracle".into()];
    args.extend(set.chain([trace.to_str().unwrap().to_string()]));
    let v = json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let rows = [0, 1, 2].map(|i| v["traces"][0]["contenders"][i].clone());
    assert_eq!(rows.each_ref().map(|r| r["policy"].as_str()), [Some("per-code"), Some("legacy"), Some("oracle")]);
    rows
}

/// Replays `trace` under per-code with `set` and under legacy; whether
/// per-code dominates: no realloc, more warm hits (or all the oracle's),
/// no more system allocations, no higher peak.
fn dominates(trace: &Path, set: &[(String, String)]) -> bool {
    let [p, l, o] = &replayed(trace, set);
    let n = |r: &Value, k: &str| r[k].as_u64().unwrap();
    // More warm hits than legacy, or all the oracle's when legacy has them all.
    let hits = n(p, "zombie_hits");
    n(p, "reallocs") == 0
        && (hits > n(l, "zombie_hits") || hits == n(o, "zombie_hits"))
        && n(p, "system_allocs") <= n(l, "system_allocs")
        && n(p, "peak_cached_bytes") <= n(l, "peak_cached_bytes")
}

#[test]
fn advise_names_the_automatic_bound_when_it_dominates() {
    let (a, b) = (recursion_trace("advise-auto-a.zft", 40, 30), recursion_trace("advise-auto-b.zft", 12, 50));
    let text = stdout(&zf_replay(&["--advise", a.to_str().unwrap(), b.to_str().unwrap()]));
    assert!(text.contains("dominate legacy on all 2 traces"), "{text}");
    let set = advised_settings(&text);
    assert_eq!((set[0].0.as_str(), set[0].1.as_str()), ("budget_bytes", "auto"), "{text}");
    for t in [&a, &b] {
        assert!(dominates(t, &set), "{}: the advice does not dominate legacy:\n{text}", t.display());
    }
}

#[test]
fn one_of_a_kind_reads_as_one() {
    // The heading and the advice count what they name: "1 code", "the trace".
    let t = tmp("one-code.zft");
    std::fs::write(&t, "zftrace 1\nc 1 400\na 1 0\nr 0\n").unwrap();
    let text = stdout(&zf_replay(&["--policy", "per-code", t.to_str().unwrap()]));
    assert!(text.contains(": 3 events, 1 code, at most 1 frame live\n"), "{text}");
    let text = stdout(&zf_replay(&["--advise", t.to_str().unwrap()]));
    assert!(text.contains("dominate legacy on the trace"), "{text}");
}

#[test]
fn advise_prints_settings_that_really_dominate_legacy() {
    // 500 deep: past the automatic bound's room for recursion (200 frames),
    // so only a fixed budget dominates.
    let (a, b) = (recursion_trace("advise-a.zft", 500, 20), recursion_trace("advise-b.zft", 12, 50));
    let auto = [("budget_bytes".to_string(), "auto".to_string())];
    assert!(!dominates(&a, &auto), "the defaults dominate: the search below would not run");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let text = stdout(&zf_replay(&["--advise", a, b]));
    assert!(text.contains("dominate legacy on all 2 traces"), "{text}");
    let set = advised_settings(&text);
    let keys: Vec<&str> = set.iter().map(|(k, _)| k.as_str()).collect();
    // sweep_generation is named only when the advice differs from the default (3).
    let named_sweep = keys.len() == 4 && keys[3] == "sweep_generation" && set[3].1 != "3";
    assert!(keys[..3] == ["budget_bytes", "per_code_max", "reserve_max"] && (keys.len() == 3 || named_sweep), "{text}");
    for t in [a, b] {
        assert!(dominates(Path::new(t), &set), "{t}: the advice does not dominate legacy:\n{text}");
        let name = Path::new(t).file_stem().unwrap().to_str().unwrap();
        let line = text.lines().find(|l| l.starts_with(&format!("# {name} "))).expect("a table row per trace");
        assert!(line.ends_with("dominates"), "{line}");
    }
    // The smallest: a KiB less, with the same lists, dominates no longer.
    let budget = zombie_frames::parse_size(&set[0].1).unwrap();
    assert!(budget >= 2048, "{text}");
    let mut less = set.clone();
    less[0].1 = (budget - 1024).to_string();
    assert!(!dominates(Path::new(a), &less) || !dominates(Path::new(b), &less), "{budget} is not the smallest");
}

/// Two codes of two sizes take turns recursing three deep. CPython's
/// shared free list serves both from 3.2 KiB, resizing now and then;
/// per-code lists need 3.7 KiB to serve as many, and with less they ask
/// the system more often: no setting dominates.
fn turns_trace(name: &str) -> PathBuf {
    let mut t = String::from("zftrace 1\nc 0 400\nc 1 800\n");
    let mut frame = 0;
    for _ in 0..50 {
        for code in [0, 1] {
            let first = frame;
            for _ in 0..3 {
                t += &format!("a {code} {frame}\n");
                frame += 1;
            }
            for f in (first..frame).rev() {
                t += &format!("r {f}\n");
            }
        }
    }
    let path = tmp(name);
    std::fs::write(&path, t).unwrap();
    path
}

/// The `#   defaults` row below `trace`'s in --advise's table, if any: its
/// warm hits, system allocations, peak and reallocs without commas, then
/// its verdict.
fn defaults_row(text: &str, trace: &str) -> Option<Vec<String>> {
    let mut rows = text.lines().skip_while(|l| !l.starts_with(&format!("# {trace} ")));
    rows.next().unwrap_or_else(|| panic!("no row of {trace}:\n{text}"));
    let words: Vec<String> = rows.next()?.strip_prefix("#   defaults ")?.split_whitespace().map(String::from).collect();
    let mut cells: Vec<String> = words[..4].iter().map(|w| w.replace(',', "")).collect();
    cells.push(words[4..].join(" "));
    Some(cells)
}

/// Asserts that each trace's defaults row holds what a plain replay of the
/// defaults counts (its verdict, whether they dominate), and returns on how
/// many traces they dominate.
fn check_defaults_rows(text: &str, traces: &[&Path]) -> usize {
    let mut wins = 0;
    for t in traces {
        let name = t.file_name().unwrap().to_str().unwrap().split('.').next().unwrap();
        let row = defaults_row(text, name).unwrap_or_else(|| panic!("no defaults row below {name}:\n{text}"));
        let p = &replayed(t, &[])[0];
        let percent = format!("{:.2}%", p["zombie_hit_percent"].as_f64().unwrap());
        let n = |k: &str| p[k].to_string();
        assert_eq!(row[..4], [percent, n("system_allocs"), n("peak_cached_bytes"), n("reallocs")], "{name}:\n{text}");
        let dominated = dominates(t, &[]);
        assert_eq!(row[4] == "dominates", dominated, "{name}: {}\n{text}", row[4]);
        assert!(dominated || row[4].starts_with("misses: "), "{}", row[4]);
        wins += dominated as usize;
    }
    wins
}

const DEFAULTS: &str = "ZF_BUDGET=auto ZF_PER_CODE_MAX=128 ZF_RESERVE_MAX=200";

/// Two small real traces: the advice, then on a row below each trace's,
/// what the defaults do there, as a plain replay of them counts it. On a
/// pipe, the progress is a few plain lines on stderr.
#[test]
fn advise_shows_the_defaults_beside_the_advice() {
    let traces = ["py39-textwrap", "py27-test-idna"].map(|n| sample().with_file_name(format!("{n}.zft.gz")));
    let out = zf_replay(&["--advise", traces[0].to_str().unwrap(), traces[1].to_str().unwrap()]);
    let text = stdout(&out);
    assert!(text.contains("dominate legacy on all 2 traces\n"), "{text}");
    let wins = check_defaults_rows(&text, &traces.each_ref().map(|t| t.as_path()));
    let line = format!("# The defaults ({DEFAULTS}) dominate legacy on {wins} of 2 traces.\n");
    assert!(text.contains(&line), "{line:?} in:\n{text}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let phases: Vec<&str> = stderr.lines().map(|l| l.split_once(" s: ").expect("a phase").1).collect();
    let want = ["reading 2 traces", "replaying legacy and the oracle", "searching 84 settings"];
    assert_eq!(phases[..3], want, "{stderr}");
    assert_eq!(phases[3..], ["checking the advice's budget", "done"], "{stderr}");
    assert!(stderr.lines().all(|l| l.starts_with("zf-replay --advise, ")) && !stderr.contains('\r'), "{stderr}");
}

#[test]
fn advise_says_so_when_nothing_dominates() {
    // The closest dominates on a trace where the defaults do not.
    let (turns, deep) = (turns_trace("advise-turns.zft"), recursion_trace("advise-500.zft", 500, 20));
    let out = zf_replay(&["--advise", turns.to_str().unwrap(), deep.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "no setting dominates: exit status 1");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("# NO setting tried dominates legacy on every trace. The closest, dominating on 1 of 2:\n"));
    assert_ne!(advised_settings(&text)[..3], defaults_settings(), "{text}");
    assert_eq!(check_defaults_rows(&text, &[&turns, &deep]), 0, "{text}");
    assert!(text.contains(&format!("# The defaults ({DEFAULTS}) dominate legacy on 0 of 2 traces.\n")), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fails on advise-turns ("), "the failing trace and target: {stderr}");
    assert!(!stderr.contains("advise-500"), "{stderr}");
}

/// The settings of `DEFAULTS`, as `advised_settings` reads them.
fn defaults_settings() -> Vec<(String, String)> {
    [("budget_bytes", "auto"), ("per_code_max", "128"), ("reserve_max", "200")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
}

/// When no setting dominates on more traces than the defaults, the closest
/// is the defaults: a setting that misses fewer targets may miss them by
/// far more.
#[test]
fn advise_keeps_the_defaults_when_nothing_dominates_on_more_traces() {
    let (turns, deep) = (turns_trace("advise-turns-2.zft"), recursion_trace("advise-deep.zft", 20, 10));
    assert!(dominates(&deep, &[]) && !dominates(&turns, &[]), "the defaults dominate on 1 of 2");
    let out = zf_replay(&["--advise", turns.to_str().unwrap(), deep.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "no setting dominates: exit status 1");
    let text = String::from_utf8_lossy(&out.stdout);
    let heading =
        "# NO setting tried dominates legacy on every trace, nor on more than the defaults (1 of 2): keep them\n";
    assert!(text.starts_with(heading), "{text}");
    assert_eq!(advised_settings(&text), defaults_settings(), "{text}");
    assert!(!text.contains("#   defaults"), "no second row of the same figures: {text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fails on advise-turns-2 ("), "the failing trace and target: {stderr}");
    assert!(!stderr.contains("advise-deep"), "{stderr}");
}

#[test]
fn advise_counts_a_tie_at_the_oracles_warm_hits_as_met() {
    // One code called again and again, one frame at a time: legacy's one
    // zombie serves every call but the first, as the oracle does. No
    // setting can have more warm hits; as many meets the target.
    let mut t = String::from("zftrace 1\nc 0 400\n");
    for f in 0..100 {
        t += &format!("a 0 {f}\nr {f}\n");
    }
    let flat = tmp("advise-flat.zft");
    std::fs::write(&flat, t).unwrap();
    let out = zf_replay(&["--advise", flat.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let set = advised_settings(&text);
    assert!(dominates(&flat, &set), "{text}");
}

#[test]
fn advise_refuses_bad_input_and_other_modes() {
    let broken = tmp("advise-broken.zft");
    std::fs::write(&broken, "zftrace 1\nc 0 400\nr 5\n").unwrap();
    let good = recursion_trace("advise-good.zft", 8, 4);
    let out = zf_replay(&["--advise", good.to_str().unwrap(), broken.to_str().unwrap()]);
    assert!(!out.status.success() && out.stdout.is_empty(), "advice despite a broken trace");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{}: line 3: ", broken.display())), "{stderr}");
    for other in ["--json", "--policy=legacy", "--plot=/tmp"] {
        let out = zf_replay(&["--advise", other, good.to_str().unwrap()]);
        assert!(!out.status.success(), "--advise with {other} accepted");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"), "{other}");
    }
}

#[test]
fn a_replay_that_fails_names_the_line_of_its_event() {
    // Comments between the events: the line is not the event's number + 1.
    // The 1 GiB frame cannot be had under the address-space limit.
    let path = tmp("oom.zft");
    let text = "zftrace 1\n# a comment\nc 1 64\n# two\n# more\nc 2 1073741824\na 1 1\na 2 2\nr 2\nr 1\n";
    std::fs::write(&path, text).unwrap();
    let script = format!("ulimit -v 600000 && exec \"{BIN}\" --policy per-code \"{}\"", path.display());
    let out = Command::new("sh").args(["-c", &script]).output().expect("runs sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("oom.zft: per-code: line 8 (event 4): zf_frame_acquire: out of memory"), "{stderr}");
}
