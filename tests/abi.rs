//! The shipped artefacts: the committed header is the one the source
//! generates, its version macros match Cargo.toml, and the shared library
//! has its soname and exports only the zf_* API.

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
fn committed_header_was_fresh() {
    assert!(
        option_env!("ZF_HEADER_WAS_STALE").is_none(),
        "include/zombie_frames.h did not match the source: the build rewrote it; commit the new header"
    );
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

/// Every function of ../shared/API.md, and nothing else.
const API: &[&str] = &[
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

#[cfg(target_os = "linux")]
#[test]
fn shared_library_exports_only_the_api() {
    let so = lib_dir().join("libzombie_frames.so");
    let nm = tool_output("nm", &["-D", "--defined-only", so.to_str().unwrap()]);
    let mut exported: Vec<&str> = nm.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    exported.sort();
    assert_eq!(exported, API, "nm -D --defined-only {}", so.display());
    for f in API {
        assert!(
            header().contains(&format!(" {f}(")) || header().contains(&format!("*{f}(")),
            "{f} missing from the header"
        );
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
