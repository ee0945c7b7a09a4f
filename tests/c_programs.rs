//! Builds and runs the C programs of `c_tests/`: each `test_*.c` with the
//! miniature `frameobject.c` (`minipy.c`), linked first to the static
//! library and then to the shared one, as an interpreter would link them.
//! Also compiles the header alone as C99 and, in `header_cxx.cpp`, as C++.
//!
//! `cargo test` builds the crate's staticlib and cdylib (target/debug) before
//! the integration tests; the executables go to CARGO_TARGET_TMPDIR. A
//! program passes when it exits 0 and its last line is "N passed, 0 failed".
//! Linux only: the shared-library run relies on ELF sonames and rpath.
#![cfg(target_os = "linux")]

mod common;

use common::lib_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const C_FLAGS: &[&str] = &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"];
const CXX_FLAGS: &[&str] = &["-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"];
const SYSTEM_LIBS: &[&str] = &["-lpthread", "-ldl", "-lm"];

/// One `#[test]` per program, so a failure is named; `every_program_is_listed`
/// keeps this list in step with the files.
macro_rules! c_programs {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        const PROGRAMS: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                run_scenario(stringify!($name));
            }
        )*
    };
}

c_programs!(
    test_aging_defaults,
    test_api,
    test_auto_bound,
    test_call_loop,
    test_code_hot,
    test_code_freed_while_live,
    test_debug,
    test_fast_halves,
    test_frame_prefix,
    test_generators,
    test_legacy,
    test_many_codes,
    test_mutual_recursion,
    // Its panic comes from an overflow check, which a release build (panic
    // = "abort", no checks) does not make: `cargo test --release` skips it.
    #[cfg_attr(not(debug_assertions), ignore = "needs the overflow checks of a debug build")]
    test_panic,
    test_peak_live,
    test_recursion,
    test_reserve,
    test_trace_fork,
    test_two_recursions,
    test_working_set,
);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c_programs");
    std::fs::create_dir_all(&dir).expect("create the output directory");
    dir
}

/// The C (or C++) compiler cc-rs picks for this target, with no flags of ours yet.
fn compiler(cpp: bool) -> Command {
    let mut cmd = cc::Build::new()
        .cargo_metadata(false)
        .opt_level(0)
        .cpp(cpp)
        .target(env!("ZF_TARGET"))
        .host(env!("ZF_TARGET"))
        .get_compiler()
        .to_command();
    cmd.arg("-I").arg(root().join("include")).arg("-I").arg(root().join("c_tests"));
    cmd
}

fn describe(cmd: &Command, out: &Output) -> String {
    format!(
        "{cmd:?}\nexit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd`; panics with its whole output unless it succeeds.
fn run(mut cmd: Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "failed: {}", describe(&cmd, &out));
    out
}

/// The shared library as an installed copy looks: the file under its
/// soname, which is the name the dynamic loader will look for.
fn shared_lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = out_dir().join("lib");
        std::fs::create_dir_all(&dir).expect("create the library directory");
        let lib = dir.join("libzombie_frames.so");
        std::fs::copy(lib_dir().join("libzombie_frames.so"), &lib).expect("copy the shared library");
        let soname = dir.join(common::soname());
        let _ = std::fs::remove_file(&soname);
        std::os::unix::fs::symlink("libzombie_frames.so", &soname).expect("link the soname");
        dir
    })
}

#[derive(Clone, Copy)]
enum Link {
    Static,
    Shared,
    /// Static, with every acquire and release through the header's inline pair.
    StaticFast,
}

/// Compiles c_tests/<name>.c with minipy.c and links it to the library.
fn build(name: &str, link: Link) -> PathBuf {
    let suffix = match link {
        Link::Static => "static",
        Link::Shared => "shared",
        Link::StaticFast => "static-fast",
    };
    let exe = out_dir().join(format!("{name}-{suffix}"));
    let mut cmd = compiler(false);
    cmd.args(C_FLAGS).arg(root().join(format!("c_tests/{name}.c"))).arg(root().join("c_tests/minipy.c"));
    cmd.arg("-o").arg(&exe);
    match link {
        Link::StaticFast => {
            cmd.arg("-DZF_TEST_FAST").arg(lib_dir().join("libzombie_frames.a"));
        }
        Link::Static => {
            cmd.arg(lib_dir().join("libzombie_frames.a"));
        }
        Link::Shared => {
            let dir = shared_lib_dir();
            cmd.arg("-L").arg(dir).arg("-lzombie_frames").arg(format!("-Wl,-rpath,{}", dir.display()));
        }
    }
    cmd.args(SYSTEM_LIBS);
    run(cmd);
    exe
}

/// Runs a built program: it must exit 0 and end with "N passed, 0 failed".
fn check_program(exe: &Path) -> String {
    let mut cmd = Command::new(exe);
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let last = stdout.lines().last().unwrap_or("");
    let tally_ok = last.ends_with(" passed, 0 failed") && !last.starts_with("0 passed");
    assert!(out.status.success() && tally_ok, "{} failed: {}", exe.display(), describe(&cmd, &out));
    stdout
}

fn run_scenario(name: &str) {
    let stdout = check_program(&build(name, Link::Static));
    println!("{name} (static):\n{stdout}");
    let stdout = check_program(&build(name, Link::Shared));
    println!("{name} (shared):\n{stdout}");
    let stdout = check_program(&build(name, Link::StaticFast));
    println!("{name} (static, inline fast pair):\n{stdout}");
}

/// trace_roundtrip.c, built once: two tests use it, and building the same
/// executable from two threads at once can leave one of them unable to run it.
fn trace_roundtrip() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| build("trace_roundtrip", Link::Static))
}

/// `trace_roundtrip.c` records a trace through ZF_TRACE; replaying it under
/// the same ZF_* configuration gives the counts the program printed.
#[test]
fn a_trace_recorded_from_c_replays_to_identical_stats() {
    use zombie_frames::replay::{replay, Contender};
    let exe = trace_roundtrip();
    // Sweeps at generation-1 collections, so that the trace's collections
    // age the lists; and at the default's, generation 3, which the program
    // reports now and then.
    let sweep_at_1 = [("ZF_BUDGET", "16K"), ("ZF_SWEEP_GENERATION", "1")];
    let sweep_at_3 = [("ZF_BUDGET", "16K"), ("ZF_SWEEP_GENERATION", "3")];
    let legacy = [("ZF_BUDGET", "128K"), ("ZF_SWEEP_GENERATION", "1")];
    for (i, (policy, extra)) in
        [("per-code", sweep_at_1), ("per-code", sweep_at_3), ("legacy", legacy)].into_iter().enumerate()
    {
        let path = out_dir().join(format!("roundtrip-{i}-{policy}.zft"));
        let mut cmd = Command::new(exe);
        cmd.env("ZF_TRACE", &path).env("ZF_POLICY", policy).envs(extra);
        let out = cmd.output().expect("run trace_roundtrip");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{}", describe(&cmd, &out));
        let line = stdout.lines().find_map(|l| l.strip_prefix("stats ")).expect("a stats line");
        let printed: Vec<u64> = line.split(' ').map(|n| n.parse().unwrap()).collect();

        let mut cfg = zombie_frames::ZfConfig::default();
        cfg.apply_env(|k| match k {
            "ZF_POLICY" => Some(policy.into()),
            _ => extra.iter().find(|(name, _)| *name == k).map(|(_, v)| v.as_bytes().to_vec()),
        })
        .unwrap();
        let file = std::fs::File::open(&path).expect("the trace");
        let (events, parser) = zombie_frames::trace::read_all(std::io::BufReader::new(file)).expect("a valid trace");
        let s = replay(&events, parser.slots(), Contender::Pool(cfg), true).expect("replay").stats;
        let replayed = [
            s.acquires,
            s.zombie_hits,
            s.shared_hits,
            s.reallocs,
            s.fresh_allocs,
            s.frees,
            s.peak_cached_bytes,
            s.sweeps,
        ];
        assert_eq!(printed, replayed, "{policy} {extra:?}: printed by C vs replayed");
        assert!(s.zombie_hits > 0 && s.frees > 0 && s.sweeps > 0, "{policy} {extra:?}: {s:?}");
    }
}

/// A trace file that cannot be made, or that fails on write (/dev/full),
/// is reported once on stderr, saying whether any of it was written; the
/// program runs on and exits cleanly.
#[test]
fn a_trace_that_cannot_be_written_is_reported_once_and_harms_nothing() {
    let exe = trace_roundtrip();
    let outcomes = [("/nonexistent-dir/t.zft", "no trace is recorded"), ("/dev/full", "nothing more is recorded")];
    for (path, outcome) in outcomes {
        let mut cmd = Command::new(exe);
        cmd.env("ZF_TRACE", path);
        let out = cmd.output().expect("run trace_roundtrip");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{path}: {}", describe(&cmd, &out));
        assert_eq!(stderr.matches("ZF_TRACE").count(), 1, "{path}: one report: {stderr}");
        assert!(stderr.contains(path), "{path}: the report names the file: {stderr}");
        assert!(stderr.contains(outcome), "{path}: the report says what was kept: {stderr}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("stats "), "{path}: the workload ran");
    }
}

#[test]
fn every_program_is_listed() {
    let mut found: Vec<String> = std::fs::read_dir(root().join("c_tests"))
        .expect("read c_tests/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.starts_with("test_") && f.ends_with(".c"))
        .map(|f| f.trim_end_matches(".c").to_string())
        .collect();
    found.sort();
    let mut listed: Vec<&str> = PROGRAMS.to_vec();
    listed.sort_unstable();
    assert_eq!(found, listed, "c_programs! in tests/c_programs.rs must list every c_tests/test_*.c");
}

#[test]
fn header_compiles_alone_as_c99() {
    let mut cmd = compiler(false);
    cmd.args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-x", "c", "-c"]);
    cmd.arg(root().join("include/zombie_frames.h")).arg("-o").arg(out_dir().join("header_c99.o"));
    run(cmd);
}

#[test]
fn header_compiles_and_links_as_cxx() {
    let exe = out_dir().join("header_cxx");
    let mut cmd = compiler(true);
    cmd.args(CXX_FLAGS).arg(root().join("c_tests/header_cxx.cpp")).arg("-o").arg(&exe);
    cmd.arg(lib_dir().join("libzombie_frames.a")).args(SYSTEM_LIBS);
    run(cmd);
    check_program(&exe);
}
