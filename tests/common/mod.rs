//! What the integration tests share. Each test crate uses some of it.
#![allow(dead_code)]

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use zombie_frames::{zf_last_error, zf_pool_stats, ZfPool, ZfStats};

/// The pool's counters now, as `zf_pool_stats` fills them.
pub fn stats(pool: *const ZfPool) -> ZfStats {
    let mut s = ZfStats::default();
    // SAFETY: `pool` is a live pool or NULL (refused with a message, `s`
    // left as it is); `s` is a whole ZfStats.
    unsafe { zf_pool_stats(pool, &mut s) };
    s
}

/// The message of the last failed call on this thread; there must be one.
pub fn last_error() -> String {
    let e = zf_last_error();
    assert!(!e.is_null(), "a failed call leaves a message");
    // SAFETY: a NUL-terminated string from the library, valid until the
    // next call on this thread.
    unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
}

/// Where the libraries built for this test run are. This binary is
/// target/<profile>/deps/<name>. `cargo test` builds the staticlib and the
/// cdylib into deps/ but copies them up to target/<profile> only on `cargo
/// build`, so the copies there can be missing, or stale after a source
/// change: deps/ is preferred, target/<profile> is the fallback.
pub fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        let deps = exe.parent().expect("target/<profile>/deps");
        let profile = deps.parent().expect("target/<profile>");
        let has_both = |d: &Path| d.join("libzombie_frames.a").is_file() && d.join("libzombie_frames.so").is_file();
        let dir = [deps, profile].into_iter().find(|d| has_both(d));
        dir.unwrap_or_else(|| panic!("no libzombie_frames.a and .so in {} or {}", deps.display(), profile.display()))
            .to_path_buf()
    })
}

/// The soname the shared library must carry, as the loader will look for
/// it: `libzombie_frames.so.0.<minor>` while the major version is 0 (each
/// minor release may break the ABI), `.so.<major>` after, and
/// `.so.0.0.<patch>` for 0.0 versions: cargo-c's rule, which build.rs follows.
pub fn soname() -> String {
    let (major, minor, patch) =
        (env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MINOR"), env!("CARGO_PKG_VERSION_PATCH"));
    let abi = match (major, minor) {
        ("0", "0") => format!("0.0.{patch}"),
        ("0", _) => format!("0.{minor}"),
        _ => major.to_string(),
    };
    format!("libzombie_frames.so.{abi}")
}
