//! Configurations and arguments the library must refuse cleanly, decoded
//! from the fuzzer's bytes:
//! - a `ZfConfig` with any value in any field (most from lists of edges):
//!   `zf_pool_new` refuses it with NULL and a message naming the first bad
//!   field by the documented rules (docs/API.md, `ZfConfig`), or accepts
//!   it, and the pool then works;
//! - `ZF_*` values (`ZfConfig::apply_env`, given a lookup of fuzzed
//!   values): each accepted one sets its field as documented, a bad one is
//!   refused with a one-line message naming the first bad variable, and the
//!   config is left as it was;
//! - on an accepted pool, codes, frames, collections and reports, mixed
//!   with calls given a NULL handle, a NULL out-pointer, a negative
//!   generation, a misaligned `ZfCodeHot` or a bad descriptor: each
//!   behaves as docs/API.md's NULL table says (a no-op, or refused with
//!   its exact message), and the pool's counters do not move.
//!
//! At the end every frame, code and the pool are freed, and allocator
//! hooks (when the config has them) must have every byte back;
//! AddressSanitizer watches every access and leak without them.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "input.rs"]
mod input;
// For its ledger hooks and its fill and check of a frame's bytes alone.
#[allow(dead_code)]
#[path = "../../tests/common/model.rs"]
mod model;

use common::{last_error, stats};
use input::Input;
use libfuzzer_sys::fuzz_target;
use model::{fill, holds, ledger_alloc, ledger_dealloc, Ledger};
use std::collections::HashMap;
use std::ffi::{c_int, c_void, CStr};
use std::ptr::null_mut;
use std::sync::OnceLock;
use zombie_frames::*;

/// Frames larger than this are made as codes, never acquired: they only
/// cost the fuzzer memory.
const MAX_ACQUIRED_FRAME: usize = 1 << 16;

/// Trace files a config may name: no other path is ever written. The
/// first is not UTF-8; the last cannot be made (reported once on stderr).
const TRACE_PATHS: [&CStr; 4] = [c"/dev/\xff", c"/dev/null", c"/dev/null", c"/nonexistent-zf-fuzz/t-%p.zft"];

/// A config with every field chosen by the input, most from its edges.
fn fuzzed_config(input: &mut Input, ledger: &mut Ledger) -> ZfConfig {
    let size = std::mem::size_of::<ZfConfig>() as u32;
    // Fields are read in the order written.
    let mut cfg = ZfConfig {
        struct_size: input.value(&[size, size, size, size, 0, 8, size - 8, size + 8]),
        policy: input.value(&[ZF_POLICY_PER_CODE, ZF_POLICY_LEGACY, 2]),
        per_code_max: input.value(&[0, 1, 2, 128, u32::MAX]),
        budget_bytes: input.value(&[0, 1, 100, 32 << 10, usize::MAX]),
        sweep_every: input.value(&[0, 1, 65536, u32::MAX]),
        flags: input.value(&[0, ZF_FLAG_DEBUG, ZF_FLAG_FRAME_PREFIX, 3, 4, 0x8000_0000]),
        reserve_max: input.value(&[0, 1, 200, u32::MAX]),
        sweep_generation: input.value(&[0, 1, 2, 3, 4, u32::MAX]),
        prefix_bytes: input.value(&[0, 0, 16, 32, 24, ZF_MAX_PREFIX_BYTES, ZF_MAX_PREFIX_BYTES + 16]),
        ..ZfConfig::default()
    };
    let hooks = input.byte();
    if hooks & 1 != 0 {
        cfg.alloc = Some(ledger_alloc);
    }
    if hooks & 2 != 0 {
        cfg.dealloc = Some(ledger_dealloc);
    }
    cfg.alloc_ctx = (ledger as *mut Ledger).cast();
    if hooks & 4 != 0 {
        cfg.trace_path = TRACE_PATHS[(hooks >> 3) as usize % TRACE_PATHS.len()].as_ptr();
    }
    cfg
}

/// The field `zf_pool_new` must name, worked out from docs/API.md's rules
/// in the order they are checked; None when the config is good.
fn first_bad_field(cfg: &ZfConfig) -> Option<&'static str> {
    let prefix = cfg.prefix_bytes;
    let prefix_ok =
        prefix == 0 || (cfg.flags & ZF_FLAG_FRAME_PREFIX != 0 && prefix % 16 == 0 && prefix <= ZF_MAX_PREFIX_BYTES);
    // SAFETY: NULL or one of TRACE_PATHS.
    let trace_ok = cfg.trace_path.is_null() || unsafe { CStr::from_ptr(cfg.trace_path) }.to_str().is_ok();
    [
        ("struct_size", cfg.struct_size as usize == std::mem::size_of::<ZfConfig>()),
        ("policy", cfg.policy <= ZF_POLICY_LEGACY),
        ("flags", cfg.flags & !(ZF_FLAG_DEBUG | ZF_FLAG_FRAME_PREFIX) == 0),
        ("prefix_bytes", prefix_ok),
        ("alloc", cfg.alloc.is_some() == cfg.dealloc.is_some()),
        ("trace_path", trace_ok),
    ]
    .into_iter()
    .find(|&(_, ok)| !ok)
    .map(|(field, _)| field)
}

/// The variables `apply_env` reads, in the order it reads them.
const VARS: [&str; 8] = [
    "ZF_POLICY",
    "ZF_PER_CODE_MAX",
    "ZF_BUDGET",
    "ZF_SWEEP_EVERY",
    "ZF_RESERVE_MAX",
    "ZF_SWEEP_GENERATION",
    "ZF_TRACE",
    "ZF_DEBUG",
];

/// Values worth trying: those a variable takes, near misses, and bytes
/// that are not text.
const VALUES: [&[u8]; 19] = [
    b"",
    b" ",
    b"0",
    b"1",
    b"legacy",
    b" Per_Code\t",
    b"auto",
    b"AUTO ",
    b"512K",
    b"4 MiB",
    b"1g",
    b"7kb",
    b"4294967295",
    b"4294967296",
    b"+5",
    b"-1",
    b"yes",
    b"Off",
    b"\xff",
];

/// ZF_TRACE's values, and no others: a fuzzed path would write files, and
/// each distinct value is kept for good.
const TRACE_VALUES: [&[u8]; 5] = [b"", b" ", b"/dev/null", b" /dev/null\t", b"\xff"];

/// The environment a config is read from: a value for some variables,
/// from `VALUES` or (but for ZF_TRACE) bytes of the input.
fn fuzzed_env(input: &mut Input) -> Vec<(&'static str, Vec<u8>)> {
    let mut env = vec![];
    for var in VARS {
        let b = input.byte();
        if b % 2 == 0 {
            continue;
        }
        let value = match b >> 1 {
            n if var == "ZF_TRACE" => TRACE_VALUES[n as usize % TRACE_VALUES.len()].to_vec(),
            n if n < 96 => VALUES[n as usize % VALUES.len()].to_vec(),
            n => input.bytes(n as usize % 24).to_vec(),
        };
        env.push((var, value));
    }
    env
}

/// What a variable's value must set, by docs/API.md's rules (worked out
/// apart from the library's parser); None for a value it must refuse.
fn expected_setting(var: &str, value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(value).ok()?.trim_ascii();
    let lower = text.to_ascii_lowercase();
    match var {
        "ZF_POLICY" => match lower.replace('_', "-").as_str() {
            "per-code" | "0" => Some(ZF_POLICY_PER_CODE as u64),
            "legacy" | "1" => Some(ZF_POLICY_LEGACY as u64),
            _ => None,
        },
        "ZF_BUDGET" if lower == "auto" => Some(0),
        // A `+` may lead, as it may a whole number.
        "ZF_BUDGET" => size_value(text.strip_prefix('+').unwrap_or(text)),
        "ZF_TRACE" => Some(!text.is_empty() as u64),
        "ZF_DEBUG" => match lower.as_str() {
            "1" | "yes" | "true" | "on" => Some(1),
            "0" | "no" | "false" | "off" | "" => Some(0),
            _ => None,
        },
        // A whole number (Rust's own `u32` syntax: a `+` may lead).
        _ => whole_value(text.strip_prefix('+').unwrap_or(text)).filter(|&n| n <= u32::MAX as u64),
    }
}

/// ASCII digits alone, as a number (None past u64, or with none).
fn whole_value(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.bytes().try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add((d - b'0') as u64))
}

/// A size: digits, then (spaces allowed) nothing, B, or K, M or G alone
/// or with B or iB, in any case; powers of 1024.
fn size_value(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let shift = match unit.trim_ascii().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    let n = whole_value(digits)?.checked_mul(1 << shift)?;
    usize::try_from(n).is_ok().then_some(n)
}

/// The field a variable sets, as `expected_setting` gives it.
fn setting(cfg: &ZfConfig, var: &str) -> u64 {
    match var {
        "ZF_POLICY" => cfg.policy as u64,
        "ZF_PER_CODE_MAX" => cfg.per_code_max as u64,
        "ZF_BUDGET" => cfg.budget_bytes as u64,
        "ZF_SWEEP_EVERY" => cfg.sweep_every as u64,
        "ZF_RESERVE_MAX" => cfg.reserve_max as u64,
        "ZF_SWEEP_GENERATION" => cfg.sweep_generation as u64,
        "ZF_TRACE" => !cfg.trace_path.is_null() as u64,
        _ => (cfg.flags & ZF_FLAG_DEBUG) as u64,
    }
}

/// `apply_env` on a fuzzed environment: all of it applied, or the first
/// bad variable named and nothing changed.
fn apply_fuzzed_env(cfg: &mut ZfConfig, input: &mut Input) {
    let env = fuzzed_env(input);
    let before = format!("{cfg:?}");
    let first_bad = env.iter().find(|(var, value)| expected_setting(var, value).is_none());
    let got = cfg.apply_env(|name| env.iter().find(|(var, _)| *var == name).map(|(_, v)| v.clone()));
    match (first_bad, got) {
        (None, Ok(())) => {
            for (var, value) in &env {
                assert_eq!(Some(setting(cfg, var)), expected_setting(var, value), "{var}={value:?}");
            }
            if let Some((_, value)) = env.iter().find(|(var, _)| *var == "ZF_TRACE") {
                // SAFETY: apply_env keeps a NUL-terminated copy for good.
                let kept = (!cfg.trace_path.is_null()).then(|| unsafe { CStr::from_ptr(cfg.trace_path) });
                let text = std::str::from_utf8(value).unwrap().trim_ascii();
                assert_eq!(kept.map(|k| k.to_bytes()), (!text.is_empty()).then_some(text.as_bytes()), "ZF_TRACE");
            }
        }
        (Some((var, value)), Err(e)) => {
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("invalid {var}=")), "{var}={value:?} refused as: {msg}");
            assert!(!msg.contains(|c: char| c.is_control()), "a message of one line: {msg:?}");
            assert_eq!(format!("{cfg:?}"), before, "a refused environment changed the config");
        }
        (bad, got) => panic!("environment {env:?}: expected {bad:?} refused, got {got:?}"),
    }
}

/// A failed call's message, which starts with `expected`. The thread's
/// last message is first set to another, so that a call that leaves none
/// is caught.
fn expect_error(call: impl FnOnce(), expected: &str) {
    // SAFETY: NULL is refused, with a message.
    unsafe { zf_frame_acquire(null_mut(), null_mut()) };
    call();
    let msg = last_error();
    assert!(msg.starts_with(expected), "expected {expected:?}, got {msg:?}");
}

/// One frame acquired, and what was written into it.
struct Live {
    code: usize,
    frame: *mut c_void,
    seed: u64,
}

/// An accepted pool in use: its codes (handle, frame bytes, freed), live
/// frames, and what each released frame held.
struct Usage {
    pool: *mut ZfPool,
    prefix: usize,
    codes: Vec<(*mut ZfCode, usize, bool)>,
    live: Vec<Live>,
    released: HashMap<usize, u64>,
    /// The caller's inline states (zf_code_new_with_hot): boxed, as they
    /// must stay in place while the vector grows.
    #[allow(clippy::vec_box)]
    hots: Vec<Box<ZfCodeHot>>,
    seed: u64,
}

impl Usage {
    fn new(pool: *mut ZfPool, cfg: &ZfConfig) -> Usage {
        let (codes, live, released, hots) = Default::default();
        Usage { pool, prefix: cfg.prefix(), codes, live, released, hots, seed: 1 }
    }

    /// A new code of any size: refused with a message outside 1 (or the
    /// prefix) to ZF_MAX_FRAME_BYTES.
    unsafe fn new_code(&mut self, input: &mut Input) {
        let bytes = input.value(&[0, 1, 15, 16, 17, 255, 256, 4000, ZF_MAX_FRAME_BYTES, ZF_MAX_FRAME_BYTES + 1]);
        let in_range = bytes >= self.prefix.max(1) && bytes <= ZF_MAX_FRAME_BYTES;
        let (code, function) = match input.byte() % 2 {
            0 => (zf_code_new(self.pool, bytes), "zf_code_new"),
            _ => {
                let mut hot = Box::new(ZfCodeHot::inert());
                let code = zf_code_new_with_hot(self.pool, bytes, &mut *hot);
                self.hots.push(hot);
                (code, "zf_code_new_with_hot")
            }
        };
        assert_eq!(!code.is_null(), in_range, "{function}({bytes})");
        if code.is_null() {
            let msg = last_error();
            assert!(msg.starts_with(&format!("{function}: frame_bytes {bytes} is out of range")), "{msg}");
            return;
        }
        self.codes.push((code, bytes, false));
    }

    /// A code not freed whose frames are small enough to acquire.
    fn pick_code(&self, input: &mut Input) -> Option<usize> {
        let open = |&i: &usize| !self.codes[i].2 && self.codes[i].1 <= MAX_ACQUIRED_FRAME;
        let small: Vec<usize> = (0..self.codes.len()).filter(open).collect();
        (!small.is_empty()).then(|| small[input.below(small.len())])
    }

    /// A frame: a zombie holds what its code's release left in it.
    unsafe fn acquire(&mut self, input: &mut Input) {
        let Some(ci) = self.pick_code(input) else { return };
        let (code, bytes, _) = self.codes[ci];
        let mut is_zombie = -1;
        let frame = match input.byte() % 3 {
            0 => zf_frame_acquire(code, &mut is_zombie),
            1 => zf_frame_acquire_slow(code, &mut is_zombie),
            _ => zf_frame_acquire(code, null_mut()),
        };
        assert!(!frame.is_null() && frame as usize % ZF_FRAME_ALIGN == 0, "no frame: {}", last_error());
        if is_zombie == 1 {
            // Any pool may keep its link in a prefix's last word.
            let seed = self.released[&(frame as usize)];
            assert!(holds(frame.cast(), self.prefix, bytes, seed, false), "a zombie's bytes changed");
        }
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        fill(frame.cast(), self.prefix, bytes, self.seed);
        self.live.push(Live { code: ci, frame, seed: self.seed });
    }

    /// A live frame released (through its code's handle, freed or not);
    /// its bytes are still what was written.
    unsafe fn release(&mut self, i: usize, slow: bool) {
        let f = self.live.swap_remove(i);
        let (code, bytes, _) = self.codes[f.code];
        assert!(holds(f.frame.cast(), self.prefix, bytes, f.seed, true), "a live frame's bytes changed");
        self.released.insert(f.frame as usize, f.seed);
        match slow {
            false => zf_frame_release(code, f.frame),
            true => zf_frame_release_slow(code, f.frame),
        }
    }

    unsafe fn free_code(&mut self, ci: usize) {
        if !std::mem::replace(&mut self.codes[ci].2, true) {
            zf_code_free(self.codes[ci].0);
        }
    }

    /// One step: a pool call, or a call with a NULL or bad argument.
    unsafe fn step(&mut self, input: &mut Input) {
        match input.byte() % 8 {
            0 => self.new_code(input),
            1 | 2 => self.acquire(input),
            3 if !self.live.is_empty() => {
                let i = input.below(self.live.len());
                self.release(i, input.byte() % 2 == 1);
            }
            4 if !self.codes.is_empty() => {
                let ci = input.below(self.codes.len());
                self.free_code(ci);
            }
            5 => {
                let generation = input.pick(&[0, 1, 2, 3, 100]);
                zf_pool_collect(self.pool, generation);
            }
            6 => _ = zf_pool_clear(self.pool),
            _ => self.bad_call(input),
        }
        let s = stats(self.pool);
        assert_eq!(s.acquires, s.zombie_hits + s.shared_hits + s.reallocs + s.fresh_allocs, "acquires served");
        assert_eq!(s.live_frames, self.live.len() as u64, "live frames");
        assert_eq!(s.codes, self.codes.iter().filter(|c| !c.2).count() as u64, "codes");
        assert!(s.cached_bytes + s.allowance_bytes <= s.bound_bytes, "over the bound");
    }

    /// A call with a NULL handle or out-pointer, or another argument the
    /// API refuses: a no-op or its exact message, and no counter moves.
    unsafe fn bad_call(&mut self, input: &mut Input) {
        let before = stats(self.pool);
        let pool = self.pool;
        let code = self.pick_code(input).map(|ci| self.codes[ci].0);
        let live = (!self.live.is_empty()).then(|| self.live[input.below(self.live.len())].frame);
        let mut is_zombie: c_int = -1;
        match input.byte() % 16 {
            0 => expect_error(|| _ = zf_frame_acquire(null_mut(), &mut is_zombie), "zf_frame_acquire: code is NULL"),
            1 => expect_error(
                || _ = zf_frame_acquire_slow(null_mut(), &mut is_zombie),
                "zf_frame_acquire_slow: code is NULL",
            ),
            // A live frame released to no code: refused, the frame stays live.
            2 if live.is_some() => {
                expect_error(|| zf_frame_release(null_mut(), live.unwrap()), "zf_frame_release: code is NULL")
            }
            3 if live.is_some() => {
                expect_error(|| zf_frame_release_slow(null_mut(), live.unwrap()), "zf_frame_release_slow: code is NULL")
            }
            4 if code.is_some() => {
                zf_frame_release(code.unwrap(), null_mut());
                zf_frame_release_slow(code.unwrap(), null_mut());
                zf_code_free(null_mut());
                zf_pool_free(null_mut());
            }
            5 => expect_error(|| _ = zf_code_new(null_mut(), 64), "zf_code_new: pool is NULL"),
            6 => expect_error(|| _ = zf_code_new_with_hot(pool, 64, null_mut()), "zf_code_new_with_hot: hot is NULL"),
            7 => {
                let mut hot = [ZfCodeHot::inert(), ZfCodeHot::inert()];
                let misaligned = hot.as_mut_ptr().cast::<u8>().add(1 + input.below(7)).cast();
                let why = "zf_code_new_with_hot: hot is not aligned as a pointer";
                expect_error(|| _ = zf_code_new_with_hot(pool, 64, misaligned), why);
                let hot = &mut hot[0];
                expect_error(|| _ = zf_code_new_with_hot(null_mut(), 64, hot), "zf_code_new_with_hot: pool is NULL");
                assert!(hot.is_inert(), "a refused code wrote its state");
            }
            8 => expect_error(|| _ = zf_pool_collect(null_mut(), 2), "zf_pool_collect: pool is NULL"),
            9 => {
                let generation = -1 - input.below(1000) as c_int;
                let why = format!("zf_pool_collect: generation {generation} is negative");
                expect_error(|| assert_eq!(zf_pool_collect(pool, generation), 0), &why);
            }
            10 => expect_error(|| assert_eq!(zf_pool_clear(null_mut()), 0), "zf_pool_clear: pool is NULL"),
            11 => {
                let mut out = ZfStats { acquires: 7, bound_bytes: 9, ..ZfStats::default() };
                expect_error(|| zf_pool_stats(null_mut(), &mut out), "zf_pool_stats: pool is NULL");
                assert_eq!(out, ZfStats::default(), "a NULL pool's stats are zeros");
                expect_error(|| zf_pool_stats(pool, null_mut()), "zf_pool_stats: out is NULL");
            }
            12 => {
                let null = || assert_eq!(zf_pool_print_stats(null_mut(), 1), -1);
                expect_error(null, "zf_pool_print_stats: pool is NULL");
                let fd = input.pick(&[-1, 1 << 20]);
                assert_eq!(zf_pool_print_stats(pool, fd), -1, "a report to a bad descriptor");
                assert!(last_error().starts_with(&format!("zf_pool_print_stats: write to fd {fd} failed")));
            }
            13 => {
                expect_error(
                    || zf_set_error_handler(null_mut(), None, null_mut()),
                    "zf_set_error_handler: pool is NULL",
                );
                expect_error(|| zf_config_default(null_mut()), "zf_config_default: out is NULL");
                expect_error(|| assert_eq!(zf_config_from_env(null_mut()), -1), "zf_config_from_env: cfg is NULL");
            }
            14 => {
                let bytes = input.value(&[0, 1, 16, 4000, ZF_MAX_FRAME_BYTES, ZF_MAX_FRAME_BYTES + 1, usize::MAX]);
                let block = zf_frame_block_bytes(bytes);
                if bytes == 0 || bytes > ZF_MAX_FRAME_BYTES {
                    assert_eq!(block, 0, "out of range: {bytes}");
                } else {
                    // The frame and the header, rounded up to a class: by
                    // less than a sixteenth, to 32 bytes at least.
                    let least = (bytes.next_multiple_of(16) + ZF_HEADER_BYTES).max(32);
                    assert!(block >= least && block <= least + least / 16, "block of {bytes}: {block}");
                }
            }
            _ => assert_eq!(zf_pool_print_stats(pool, null_fd()), 0, "a report: {}", last_error()),
        }
        assert_eq!(is_zombie, -1, "a refused acquire wrote is_zombie");
        assert_eq!(stats(self.pool), before, "a refused call moved a counter");
    }

    /// Every live frame released, every code and the pool freed.
    unsafe fn finish(mut self) {
        while !self.live.is_empty() {
            self.release(0, false);
        }
        for ci in 0..self.codes.len() {
            self.free_code(ci);
        }
        zf_pool_free(self.pool);
        assert!(self.hots.iter().all(|h| h.is_inert()), "a freed code's state is not inert");
    }
}

/// A descriptor reports are written to.
fn null_fd() -> c_int {
    static FD: OnceLock<c_int> = OnceLock::new();
    // SAFETY: a NUL-terminated path.
    *FD.get_or_init(|| unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY) })
}

/// A fuzzed config, read from a fuzzed environment too, then either
/// refused by zf_pool_new (naming the field: None) or made a pool; or,
/// for an input that starts with 0xff, the defaults (a NULL config).
unsafe fn configured_pool(input: &mut Input, ledger: &mut Ledger) -> Option<(ZfConfig, *mut ZfPool)> {
    if input.0.first() == Some(&0xff) {
        input.byte();
        let pool = zf_pool_new(std::ptr::null());
        assert!(!pool.is_null(), "a pool with the defaults: {}", last_error());
        return Some((ZfConfig::default(), pool));
    }
    let mut cfg = fuzzed_config(input, ledger);
    if cfg.struct_size as usize == std::mem::size_of::<ZfConfig>() {
        apply_fuzzed_env(&mut cfg, input);
    } else {
        // Nothing past struct_size is read, and the caller learns why.
        let why = format!("zf_config_from_env: invalid ZfConfig: field struct_size is {}", cfg.struct_size);
        expect_error(|| assert_eq!(zf_config_from_env(&mut cfg), -1), &why);
    }
    let pool = zf_pool_new(&cfg);
    if let Some(field) = first_bad_field(&cfg) {
        assert!(pool.is_null(), "a config with a bad {field} accepted");
        let msg = last_error();
        assert!(msg.starts_with(&format!("zf_pool_new: invalid ZfConfig: field {field} ")), "{field}: {msg}");
        return None;
    }
    assert!(!pool.is_null(), "a good config refused: {}", last_error());
    Some((cfg, pool))
}

/// A pool made as the input says, used until the input runs out, then
/// freed with all it made: the hooks, when set, must have every byte back.
unsafe fn run(input: &mut Input) {
    let mut ledger = Box::<Ledger>::default();
    let Some((cfg, pool)) = configured_pool(input, &mut ledger) else { return };
    let mut usage = Usage::new(pool, &cfg);
    while !input.0.is_empty() {
        usage.step(input);
    }
    usage.finish();
    if cfg.alloc.is_some() {
        assert_eq!((ledger.allocs, ledger.bytes_out), (ledger.frees, 0), "the hooks did not get every byte back");
    }
}

fuzz_target!(|data: &[u8]| {
    // SAFETY: every handle and frame is used as the header says.
    unsafe { run(&mut Input(data)) };
});
