//! Generates `include/zombie_frames.h` from the Rust source with cbindgen,
//! and gives the shared library its soname.

use std::{env, fs, path::PathBuf};

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let (major, minor, patch) = (
        env::var("CARGO_PKG_VERSION_MAJOR").unwrap(),
        env::var("CARGO_PKG_VERSION_MINOR").unwrap(),
        env::var("CARGO_PKG_VERSION_PATCH").unwrap(),
    );
    soname(&major, &minor, &patch);
    header(&root, &major, &minor, &patch);
    println!("cargo:rustc-env=ZF_TARGET={}", env::var("TARGET").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=src/fast_path.h");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=include/zombie_frames.h");
}

/// Versions 0.0.z break their ABI at each patch release, 0.y at each minor
/// one, later ones at each major: cargo-c's default rule, so that
/// `cargo build` and `cargo cinstall` make the same library.
fn soname(major: &str, minor: &str, patch: &str) {
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let abi = match (major, minor) {
        ("0", "0") => format!("0.0.{patch}"),
        ("0", _) => format!("0.{minor}"),
        _ => major.to_string(),
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libzombie_frames.so.{abi}");
}

/// Writes the header into OUT_DIR and, when it differs, over the committed
/// copy in include/. A build that had to rewrite the committed copy sets
/// ZF_HEADER_WAS_STALE, which a test turns into a failure: a clean clone
/// must carry the header its source generates.
fn header(root: &PathBuf, major: &str, minor: &str, patch: &str) {
    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let number =
        major.parse::<u32>().unwrap() * 10000 + minor.parse::<u32>().unwrap() * 100 + patch.parse::<u32>().unwrap();
    config.after_includes = Some(format!(
        "\n#define ZF_VERSION_MAJOR {major}\n#define ZF_VERSION_MINOR {minor}\n\
         #define ZF_VERSION_PATCH {patch}\n#define ZF_VERSION_STRING \"{major}.{minor}.{patch}\"\n\
         /* major * 10000 + minor * 100 + patch, for #if comparisons */\n\
         #define ZF_VERSION_NUMBER {number}\n"
    ));
    let generated = match cbindgen::Builder::new().with_crate(root).with_config(config).generate() {
        Ok(g) => g,
        Err(e) => {
            // Most often a syntax error: let rustc report it where it is.
            println!("cargo:warning=cbindgen could not generate the header: {e}");
            return;
        }
    };
    let mut text = Vec::new();
    generated.write(&mut text);
    // The inline fast path is C that cbindgen cannot write: it goes after
    // the declarations it uses, inside the include guard.
    let fast = fs::read_to_string(root.join("src/fast_path.h")).expect("src/fast_path.h");
    let guard_end = "\n#endif  /* ZOMBIE_FRAMES_H */";
    let text = String::from_utf8(text).unwrap().replacen(guard_end, &format!("\n{fast}{guard_end}"), 1);
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("zombie_frames.h");
    fs::write(&out, &text).unwrap();
    let fresh = text.into_bytes();
    let committed = root.join("include/zombie_frames.h");
    if fs::read(&committed).ok().as_deref() != Some(&fresh[..]) {
        println!("cargo:rustc-env=ZF_HEADER_WAS_STALE=1");
        if let Err(e) = fs::write(&committed, &fresh) {
            println!("cargo:warning=could not update {}: {e}", committed.display());
        }
    }
}
