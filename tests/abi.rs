//! The shipped artefacts: the committed header's version macros match
//! Cargo.toml (tests/header.rs checks it is the one the source generates),
//! and the shared library has its soname and exports only the zf_* API.

mod common;

use common::lib_dir;
use std::ffi::CStr;
use std::process::Command;

fn header() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/zombie_frames.h")).unwrap()
}

fn tool_output(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn version_macros_match_the_crate() {
    let h = header();
    let (major, minor, patch) =
        (env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MINOR"), env!("CARGO_PKG_VERSION_PATCH"));
    assert!(h.contains(&format!("#define ZF_VERSION_MAJOR {major}\n")), "{h}");
    assert!(h.contains(&format!("#define ZF_VERSION_MINOR {minor}\n")));
    assert!(h.contains(&format!("#define ZF_VERSION_PATCH {patch}\n")));
    assert!(h.contains(&format!("#define ZF_VERSION_STRING \"{}\"\n", env!("CARGO_PKG_VERSION"))));
    let number: u32 =
        major.parse::<u32>().unwrap() * 10000 + minor.parse::<u32>().unwrap() * 100 + patch.parse::<u32>().unwrap();
    assert!(h.contains(&format!("#define ZF_VERSION_NUMBER {number}\n")));
    let v = unsafe { CStr::from_ptr(zombie_frames::zf_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

/// The functions of the external contract (the API.md the project was
/// specified by, kept outside the repository). Copied, so that a clone
/// without it still checks its exports; `contract_is_api_md` compares
/// the copy with API.md wherever API.md is at hand.
const CONTRACT: &[&str] = &[
    "zf_code_free",
    "zf_code_new",
    "zf_config_default",
    "zf_config_from_env",
    "zf_frame_acquire",
    "zf_frame_release",
    "zf_last_error",
    "zf_pool_clear",
    "zf_pool_collect",
    "zf_pool_free",
    "zf_pool_new",
    "zf_pool_print_stats",
    "zf_pool_stats",
    "zf_set_error_handler",
    "zf_version",
];

/// Functions the project exports beyond the contract, each documented in the
/// header and in docs/API.md's table. A new C function is added here, or the
/// export test fails.
const ADDITIONS: &[&str] =
    &["zf_code_new_with_hot", "zf_frame_acquire_slow", "zf_frame_block_bytes", "zf_frame_release_slow"];

/// The header's static inline functions: declared, never exported.
const INLINE: &[&str] = &[
    "zf_frame_acquire_fast",
    "zf_frame_give_fast",
    "zf_frame_hit_fast",
    "zf_frame_release_fast",
    "zf_hot_give",
    "zf_hot_hit",
];

/// CONTRACT and ADDITIONS, sorted: what the shared library must export.
fn api() -> Vec<&'static str> {
    let mut all: Vec<&str> = CONTRACT.iter().chain(ADDITIONS).copied().collect();
    all.sort_unstable();
    all
}

/// C text without its comments, so that a function a comment mentions is
/// not taken for one the text declares.
fn strip_comments(c: &str) -> String {
    let mut out = String::with_capacity(c.len());
    let mut rest = c;
    while let Some(start) = rest.find("/*").into_iter().chain(rest.find("//")).min() {
        out.push_str(&rest[..start]);
        let end = if rest[start..].starts_with("/*") { "*/" } else { "\n" };
        rest = rest[start + 2..].find(end).map_or("", |e| &rest[start + 2 + e + end.len()..]);
        out.push(' ');
    }
    out.push_str(rest);
    out
}

/// The `zf_*` functions a piece of C declares (a name followed by `(`), sorted.
fn declared_functions(c: &str) -> Vec<String> {
    let code = strip_comments(c);
    let mut names: Vec<String> = code
        .match_indices("zf_")
        .filter(|&(i, _)| !code[..i].ends_with(|ch: char| ch.is_ascii_alphanumeric() || ch == '_'))
        .filter_map(|(i, _)| {
            let len = code[i..].find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))?;
            code[i + len..].trim_start().starts_with('(').then(|| code[i..i + len].to_string())
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[test]
fn header_declares_exactly_the_api() {
    let mut all = api();
    all.extend(INLINE);
    all.sort_unstable();
    assert_eq!(declared_functions(&header()), all, "functions of include/zombie_frames.h");
}

#[test]
fn declared_functions_ignores_comments_and_macros() {
    let c = "/* zf_a(x) */ int zf_b(void);\n// zf_c(\n#define ZF_D(x) x\nvoid *zf_e (int); my_zf_f(1); zf_g;";
    assert_eq!(declared_functions(c), ["zf_b", "zf_e"]);
}

/// API.md's C blocks declare exactly CONTRACT. That API.md lives beside the
/// repository (in a `shared` directory next to the clone, or wherever
/// `ZF_API_MD` points); a clone
/// without it skips this comparison and says so.
#[test]
fn contract_is_api_md() {
    let path = std::env::var_os("ZF_API_MD")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/API.md"));
    let Ok(md) = std::fs::read_to_string(&path) else {
        eprintln!("note: {} not found; CONTRACT not compared with API.md", path.display());
        return;
    };
    let c_blocks: String = md.split("```").skip(1).step_by(2).filter(|b| b.starts_with('c')).collect();
    assert_eq!(declared_functions(&c_blocks), CONTRACT, "functions declared in {}", path.display());
}

/// The shared library exports the API and nothing else: no Rust symbol
/// (std's, or the crate's own), no data, no helper.
#[cfg(target_os = "linux")]
#[test]
fn shared_library_exports_only_the_api() {
    let so = lib_dir().join("libzombie_frames.so");
    let nm = tool_output("nm", &["-D", "--defined-only", so.to_str().unwrap()]);
    let mut exported: Vec<&str> = nm.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    exported.sort_unstable();
    assert_eq!(exported, api(), "nm -D --defined-only {}", so.display());
}

/// At run time the shared library needs the C runtime alone (glibc's
/// libraries, the loader, and libgcc_s for unwinding), as any C library.
#[cfg(target_os = "linux")]
#[test]
fn shared_library_needs_only_the_c_runtime() {
    let so = lib_dir().join("libzombie_frames.so");
    let dynamic = tool_output("readelf", &["-d", so.to_str().unwrap()]);
    let needed: Vec<&str> = dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next())
        .collect();
    assert!(!needed.is_empty(), "no NEEDED entries in:\n{dynamic}");
    let c_runtime =
        ["libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so", "libutil.so", "libgcc_s.so", "ld-linux"];
    for lib in needed {
        assert!(c_runtime.iter().any(|c| lib.starts_with(c)), "{} needs {lib}", so.display());
    }
}

#[cfg(target_os = "linux")]
#[test]
fn shared_library_has_a_versioned_soname() {
    let so = lib_dir().join("libzombie_frames.so");
    let dynamic = tool_output("readelf", &["-d", so.to_str().unwrap()]);
    let want = format!("Library soname: [{}]", common::soname());
    assert!(dynamic.contains(&want), "{want} not in:\n{dynamic}");
}
