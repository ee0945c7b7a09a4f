//! zombie-frames: a frame allocator for CPython-style interpreters.
//!
//! Each code object keeps a bounded free list of its own released frames
//! ("zombies"), so a call gets back a frame that still holds its per-code
//! fields; a reserve of retired frames, by size class, serves codes with no
//! zombie of their own, and nothing is ever realloc'd. A memory bound that
//! follows the program's live codes (or the caller's fixed budget) holds
//! the memory, and an aging sweep trims lists nobody uses.
//!
//! The library C links is `#![no_std]`: `core` and `alloc`, with libc for
//! what the OS provides (`os`), in release builds (panic = "abort"). The
//! `std` feature adds what only Rust tools need (the trace reader and the
//! replay engine).
//!
//! The modules form one stack; each uses only those above it
//! (docs/ARCHITECTURE.md draws it):
//!
//! - `error`, `os`: the error type; libc (environment, files, stderr,
//!   per-thread storage, the heap and panics without std).
//! - `config`: `ZfConfig`, its defaults and the `ZF_*` variables.
//! - `stats`, `block`: the counters and the report; raw memory: blocks,
//!   size classes, stacks threaded through them.
//! - `hot`, `table`: the hit path (shared with the header's inline pair);
//!   the address table of the pools that watch every frame.
//! - `code`: one code's zombies and allowance.
//! - `ring`, `reserve`, `debug`, `trace_writer`: the codes with an
//!   allowance and the clock hand; retired frames by size class; the record
//!   of frames and misuse reports of a debug pool; the `ZF_TRACE` recorder.
//! - `pool`: the pool struct and its accounting, with one module a job:
//!   `pool::lifetime` (pools and codes made and freed), `pool::acquire`
//!   and `pool::release` (the slow paths), `pool::drain` (frames leaving
//!   the cache), `pool::bound` (the bound in force), `pool::policy` (aging
//!   and eviction) and `pool::checked` (a debug pool's checked paths).
//! - `ffi`: the C ABI, which is also the Rust API: tests and tools call the
//!   same functions C does.
//! - `trace`, `replay` (std): the `zftrace 1` reader; a trace driven
//!   through the C ABI.

// Without an unwinder (panic = "abort", as release builds are) and unless
// a Rust tool asks for std, the library is core + alloc + libc. A build that
// unwinds needs std's unwinder, so it links std.
#![cfg_attr(all(panic = "abort", not(any(test, feature = "std"))), no_std)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks, clippy::multiple_unsafe_ops_per_block)]

extern crate alloc;

/// `format!` compiled here rather than alloc's precompiled one: alloc is
/// built to unwind, and its `format` carries unwinding code that would make
/// the shared library need libgcc_s's `_Unwind_Resume`. Ours is built with
/// panic = "abort" (`.ci/run` checks the .so needs nothing beyond libc).
macro_rules! format {
    ($($arg:tt)*) => {
        $crate::text(core::format_args!($($arg)*))
    };
}

/// What `format!` makes. Out of line: only messages use it, and each of
/// its dozen callers would otherwise carry its own copy.
#[inline(never)]
fn text(args: core::fmt::Arguments<'_>) -> alloc::string::String {
    let mut text = alloc::string::String::new();
    // Writing into a String fails only when the heap does (and then aborts).
    let _ = core::fmt::Write::write_fmt(&mut text, args);
    text
}

mod block;
mod code;
pub mod config;
pub mod debug;
mod error;
pub mod ffi;
mod hot;
mod os;
mod pool;
#[cfg(feature = "std")]
pub mod replay;
mod reserve;
mod ring;
pub mod stats;
mod table;
#[cfg(feature = "std")]
pub mod trace;
mod trace_writer;

pub use config::*;
pub use debug::*;
pub use error::Error;
pub use ffi::*;
pub use hot::{ZfCodeHot, ZF_CODE_HOT_BYTES, ZF_SLOT_SHUT};
pub use stats::ZfStats;

/// The crate version; `zf_version()` returns it to C.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Frames are aligned to this many bytes.
pub const ZF_FRAME_ALIGN: usize = 16;
/// Bytes the library adds to each frame for its own bookkeeping (a
/// per-code pool under `ZF_FLAG_FRAME_PREFIX` that is neither debug nor
/// traced adds none); also the prefix's bytes when `prefix_bytes` is 0.
pub const ZF_HEADER_BYTES: usize = 16;
const _: () = assert!(ZF_FRAME_ALIGN == block::ALIGN && ZF_HEADER_BYTES == block::HEADER_BYTES);
