//! `include/zombie_frames.h` is generated from the Rust source by cbindgen
//! (a dev-dependency: the library's own build never runs it) and committed.
//! This test generates it and fails if the committed copy differs;
//!
//!     ZF_BLESS_HEADER=1 cargo test --test header
//!
//! rewrites the committed copy instead.

use std::path::Path;

/// The command that rewrites the committed header, as the failure prints it.
const BLESS: &str = "ZF_BLESS_HEADER=1 cargo test --test header";

/// The header's text: cbindgen's output for `cbindgen.toml`, with the
/// version macros after the includes and the inline fast path of
/// `src/fast_path.h` at the end, inside the include guard.
fn generate(root: &Path) -> String {
    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let (major, minor, patch) =
        (env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MINOR"), env!("CARGO_PKG_VERSION_PATCH"));
    let number =
        major.parse::<u32>().unwrap() * 10000 + minor.parse::<u32>().unwrap() * 100 + patch.parse::<u32>().unwrap();
    config.after_includes = Some(format!(
        "\n#define ZF_VERSION_MAJOR {major}\n#define ZF_VERSION_MINOR {minor}\n\
         #define ZF_VERSION_PATCH {patch}\n#define ZF_VERSION_STRING \"{major}.{minor}.{patch}\"\n\
         /* major * 10000 + minor * 100 + patch, for #if comparisons */\n\
         #define ZF_VERSION_NUMBER {number}\n"
    ));
    let generated = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen could not generate the header: {e}"));
    let mut text = Vec::new();
    generated.write(&mut text);
    let text = String::from_utf8(text).expect("cbindgen writes UTF-8");
    // The inline fast path is C that cbindgen cannot write: it goes after
    // the declarations it uses, inside the include guard.
    let fast = std::fs::read_to_string(root.join("src/fast_path.h")).expect("src/fast_path.h");
    let guard_end = "\n#endif  /* ZOMBIE_FRAMES_H */";
    assert!(text.contains(guard_end), "cbindgen's output has no `{guard_end}`: see include_guard in cbindgen.toml");
    text.replacen(guard_end, &format!("\n{fast}{guard_end}"), 1)
}

/// Where two texts first part, for the failure message.
fn first_difference(committed: &str, generated: &str) -> String {
    let mut committed_lines = committed.lines();
    let mut generated_lines = generated.lines();
    for n in 1.. {
        match (committed_lines.next(), generated_lines.next()) {
            (Some(c), Some(g)) if c == g => continue,
            (None, None) => break,
            (c, g) => {
                return format!(
                    "first difference at line {n}:\n  committed: {}\n  generated: {}",
                    c.unwrap_or("(end of file)"),
                    g.unwrap_or("(end of file)")
                )
            }
        }
    }
    "the texts differ only in line endings".to_string()
}

#[test]
fn committed_header_is_the_generated_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("include/zombie_frames.h");
    let generated = generate(root);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == generated {
        return;
    }
    if std::env::var_os("ZF_BLESS_HEADER").is_some_and(|v| v != "0") {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        eprintln!("rewrote {}: commit it", path.display());
        return;
    }
    panic!(
        "include/zombie_frames.h is not the header the source generates; {}\n\n\
         Rewrite it with\n\n    {BLESS}\n\nand commit it.",
        first_difference(&committed, &generated)
    );
}
