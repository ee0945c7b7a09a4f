//! The ops target compares the library with the reference model of
//! tests/model.rs: the very same code, so the two never drift apart. It is
//! copied here with its inner doc comments made plain (include! takes items
//! only).
use std::{env, fs, path::PathBuf};

fn main() {
    let model = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../tests/model.rs");
    println!("cargo:rerun-if-changed={}", model.display());
    let text = fs::read_to_string(&model).expect("read tests/model.rs");
    let items: String = text.lines().map(|l| l.strip_prefix("//!").map_or(l.to_string(), |r| format!("//{r}")) + "\n").collect();
    fs::write(PathBuf::from(env::var("OUT_DIR").unwrap()).join("model.rs"), items).expect("write model.rs");
}
