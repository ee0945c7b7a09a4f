//! Pool configuration: the `ZfConfig` C type, its defaults, its validation
//! and the `ZF_*` environment variables.

use crate::error::Error;
use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{c_char, c_void, CStr};
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

/// Per-code zombie free lists, bounded per code and by a pool-wide budget.
pub const ZF_POLICY_PER_CODE: u32 = 0;
/// CPython 3.9's scheme: one zombie per code plus a global free list of 200.
pub const ZF_POLICY_LEGACY: u32 = 1;

/// Check every frame against misuse and report it through the error handler.
pub const ZF_FLAG_DEBUG: u32 = 1;
/// Frames begin `prefix_bytes` (`ZF_HEADER_BYTES` unless set) before the
/// pointer the library hands out and `frame_bytes` counts those bytes, so
/// it is at least that (CPython's GC head, before the object). While a
/// per-code pool that is neither debug nor traced holds a frame, it keeps
/// a link in the word just before that pointer; every other byte stays as
/// the caller left it. Such a pool adds no header: a block is the frame's
/// size class. Debug, traced and legacy pools keep theirs, before the
/// prefix, with the link in it: they write none of the frame's bytes.
pub const ZF_FLAG_FRAME_PREFIX: u32 = 2;
const KNOWN_FLAGS: u32 = ZF_FLAG_DEBUG | ZF_FLAG_FRAME_PREFIX;

/// Default `per_code_max`: 128 zombies; past 64 a code grows only into room nobody holds.
pub const ZF_DEFAULT_PER_CODE_MAX: u32 = 128;
/// `budget_bytes` 0: no fixed cap, the bound follows the program (`ZF_BUDGET=auto`).
pub const ZF_BUDGET_AUTO: usize = 0;
/// Default `budget_bytes`: `ZF_BUDGET_AUTO`, the automatic bound.
pub const ZF_DEFAULT_BUDGET_BYTES: usize = ZF_BUDGET_AUTO;
/// The automatic bound never goes below this (32 KiB).
pub const ZF_AUTO_BOUND_FLOOR: usize = 32 * 1024;
/// The automatic bound never goes above this (16 MiB).
pub const ZF_AUTO_BOUND_CEILING: usize = 16 * 1024 * 1024;
/// Default `reserve_max`: 200 frames, as many as CPython's global free list.
pub const ZF_DEFAULT_RESERVE_MAX: u32 = 200;
/// Default `sweep_generation`: 3, none of CPython's collections (generations 0 to 2) runs a full sweep (full collections free idle lists).
pub const ZF_DEFAULT_SWEEP_GENERATION: u32 = 3;
/// Default `sweep_every`: an aging sweep every 65536 releases.
pub const ZF_DEFAULT_SWEEP_EVERY: u32 = 65536;
/// The largest `prefix_bytes` (256).
pub const ZF_MAX_PREFIX_BYTES: u32 = 256;

/// The largest `frame_bytes` a code may ask for (1 GiB).
pub const ZF_MAX_FRAME_BYTES: usize = 1 << 30;

/// What values an option of `OPTIONS` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Takes {
    /// A whole number from 0 to 4294967295 (a `u32` field).
    Whole,
    /// A size in bytes (`parse_size`: `65536`, `512K`, `4M`, `1G`), or
    /// `auto`: 0, `ZF_BUDGET_AUTO`.
    SizeOrAuto,
}

impl Takes {
    /// The value a `ZF_*` variable's (trimmed) text gives, if any.
    pub fn parse(self, text: &str) -> Option<usize> {
        match self {
            Takes::Whole => parse_whole(text).map(|n| n as usize),
            Takes::SizeOrAuto if one_of(text.as_bytes(), "auto") => Some(ZF_BUDGET_AUTO),
            Takes::SizeOrAuto => parse_size(text),
        }
    }

    /// What the error for a `ZF_*` variable says it expected.
    pub const fn expected(self) -> &'static str {
        match self {
            Takes::Whole => "a whole number from 0 to 4294967295",
            Takes::SizeOrAuto => "auto, or a size such as 65536, 512K, 4M or 1G",
        }
    }

    /// What the error for `text`, which `parse` refused, says it expected:
    /// `expected`, or for a size written right but too large, the limit.
    pub fn expected_for(self, text: &str) -> &'static str {
        match self {
            Takes::SizeOrAuto if read_size(text) == Some(None) => TOO_LARGE,
            _ => self.expected(),
        }
    }
}

/// A size that a `usize` cannot hold.
const TOO_LARGE: &str = match usize::BITS {
    64 => "a size under 16 EiB (at most 17179869183G)",
    _ => "a size under 4 GiB (at most 3G)",
};

/// One tunable number of `ZfConfig`, as every place that names options
/// sees it: `ZfConfig::apply_env` (the `ZF_*` variables), the report of
/// `zf_pool_print_stats`, and zf-replay's `--set` and `--advise`.
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    /// The `ZfConfig` field; zf-replay's `--set` key.
    pub field: &'static str,
    /// The environment variable.
    pub var: &'static str,
    pub takes: Takes,
    /// The report's words for it, `{}` standing for the value.
    pub shown: &'static str,
    /// The report's words for 0, when 0 means something of its own (else
    /// ""): for `Takes::SizeOrAuto`, `{}` stands for the bound in force.
    pub zero: &'static str,
    pub get: fn(&ZfConfig) -> usize,
    /// Stores a value `takes` allows.
    pub set: fn(&mut ZfConfig, usize),
}

/// The options, in `ZfConfig`'s order. A new one is a field of `ZfConfig`,
/// its default, and a line here; docs/API.md lists the variables.
///
/// Not here, because they are not numbers: `policy` (`ZF_POLICY`:
/// `per-code` or `legacy`; the report's first words), `trace_path`
/// (`ZF_TRACE`, a path that must outlive the config), `flags`
/// (`ZF_DEBUG` sets one bit), the allocator hooks (no variable),
/// `struct_size`, and `prefix_bytes` (the caller's frame layout, not a
/// setting to tune).
pub static OPTIONS: [Opt; 5] = [
    Opt {
        field: "per_code_max",
        var: "ZF_PER_CODE_MAX",
        takes: Takes::Whole,
        shown: "per_code_max {}",
        zero: "",
        get: |c| c.per_code_max as usize,
        set: |c, n| c.per_code_max = n as u32,
    },
    Opt {
        field: "budget_bytes",
        var: "ZF_BUDGET",
        takes: Takes::SizeOrAuto,
        shown: "budget {}",
        zero: "bound auto (now {})",
        get: |c| c.budget_bytes,
        set: |c, n| c.budget_bytes = n,
    },
    Opt {
        field: "sweep_every",
        var: "ZF_SWEEP_EVERY",
        takes: Takes::Whole,
        shown: "sweep every {} releases",
        zero: "sweeps on zf_pool_collect only",
        get: |c| c.sweep_every as usize,
        set: |c, n| c.sweep_every = n as u32,
    },
    Opt {
        field: "reserve_max",
        var: "ZF_RESERVE_MAX",
        takes: Takes::Whole,
        shown: "reserve {}",
        zero: "",
        get: |c| c.reserve_max as usize,
        set: |c, n| c.reserve_max = n as u32,
    },
    Opt {
        field: "sweep_generation",
        var: "ZF_SWEEP_GENERATION",
        takes: Takes::Whole,
        shown: "sweep from generation {}",
        zero: "",
        get: |c| c.sweep_generation as usize,
        set: |c, n| c.sweep_generation = n as u32,
    },
];

/// Allocates `size` bytes aligned to 16, or returns NULL.
pub type ZfAllocFn = Option<unsafe extern "C" fn(ctx: *mut c_void, size: usize) -> *mut c_void>;
/// Frees a block that the alloc hook returned for `size` bytes.
pub type ZfDeallocFn = Option<unsafe extern "C" fn(ctx: *mut c_void, ptr: *mut c_void, size: usize)>;

/// How a pool caches frames. Fill it with `zf_config_default`, then change
/// what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ZfConfig {
    /// sizeof(ZfConfig), exactly the library's: a struct of another
    /// version's size is refused, not read in part.
    pub struct_size: u32,
    /// ZF_POLICY_PER_CODE (default) or ZF_POLICY_LEGACY.
    pub policy: u32,
    /// Most zombies one code keeps (default `ZF_DEFAULT_PER_CODE_MAX`; 0:
    /// none). Past half of it a code grows only into room nobody holds.
    pub per_code_max: u32,
    /// Most bytes the pool's cached frames (zombies and reserve, headers
    /// included) and its allowances' free room hold together: a hard
    /// bound. 0 (`ZF_BUDGET_AUTO`, the default): a bound that follows the
    /// program, from `ZF_AUTO_BOUND_FLOOR` to `ZF_AUTO_BOUND_CEILING`
    /// (`bound_bytes` in `ZfStats` says where it is).
    pub budget_bytes: usize,
    /// Releases between automatic aging sweeps (default
    /// `ZF_DEFAULT_SWEEP_EVERY`), checked when a release reaches the
    /// library (the inline fast path never sweeps); 0: only on
    /// zf_pool_collect.
    pub sweep_every: u32,
    /// ZF_FLAG_DEBUG, ZF_FLAG_FRAME_PREFIX.
    pub flags: u32,
    /// Optional allocator hook; NULL means the C library's allocator. Must
    /// return memory aligned to 16. Both hooks run inside the pool's call:
    /// neither may call the library on that pool.
    pub alloc: ZfAllocFn,
    /// Frees what `alloc` returned; set both hooks or neither.
    pub dealloc: ZfDeallocFn,
    /// Passed to both hooks.
    pub alloc_ctx: *mut c_void,
    /// NULL (or empty), or a file to record every event of the pool in, in
    /// the `zftrace 1` format (`%p` becomes the process id). Read once, by
    /// zf_pool_new. A file that cannot be written is reported once on
    /// stderr; the pool works on without recording.
    pub trace_path: *const c_char,
    /// Most frames in the reserve (default `ZF_DEFAULT_RESERVE_MAX`; 0: no
    /// reserve): retired frames that serve a code with no zombie of its
    /// own, from frames of its size class.
    pub reserve_max: u32,
    /// The youngest generation whose zf_pool_collect runs an aging sweep
    /// and any older one (default `ZF_DEFAULT_SWEEP_GENERATION`, 3: none
    /// of CPython's, 0 to 2, does).
    pub sweep_generation: u32,
    /// Under ZF_FLAG_FRAME_PREFIX, the bytes of each frame before the
    /// pointer the library hands out (the interpreter's GC head): 0 (the
    /// default) for `ZF_HEADER_BYTES`, else a multiple of 16 up to
    /// `ZF_MAX_PREFIX_BYTES`. 0 without the flag.
    pub prefix_bytes: u32,
}

impl Default for ZfConfig {
    fn default() -> Self {
        ZfConfig {
            struct_size: core::mem::size_of::<ZfConfig>() as u32,
            policy: ZF_POLICY_PER_CODE,
            per_code_max: ZF_DEFAULT_PER_CODE_MAX,
            budget_bytes: ZF_DEFAULT_BUDGET_BYTES,
            sweep_every: ZF_DEFAULT_SWEEP_EVERY,
            flags: 0,
            alloc: None,
            dealloc: None,
            alloc_ctx: ptr::null_mut(),
            trace_path: ptr::null(),
            reserve_max: ZF_DEFAULT_RESERVE_MAX,
            sweep_generation: ZF_DEFAULT_SWEEP_GENERATION,
            prefix_bytes: 0,
        }
    }
}

impl ZfConfig {
    /// Checks `struct_size`, the one field that can be read before the
    /// rest is known to exist, for `function`, which the error names.
    pub fn check_struct_size(struct_size: u32, function: &'static str) -> Result<(), Error> {
        let size = core::mem::size_of::<ZfConfig>() as u32;
        if struct_size == size {
            return Ok(());
        }
        let why = format!("is {struct_size}, expected sizeof(ZfConfig) = {size} (fill it with zf_config_default)");
        Err(Error::Config { function, field: "struct_size", why })
    }

    /// Checks every field for `zf_pool_new`; the error names the first bad one.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let function = "zf_pool_new";
        let bad = |field, why: String| Err(Error::Config { function, field, why });
        ZfConfig::check_struct_size(self.struct_size, function)?;
        match self.policy {
            ZF_POLICY_PER_CODE | ZF_POLICY_LEGACY => {}
            p => return bad("policy", format!("is {p}, expected ZF_POLICY_PER_CODE (0) or ZF_POLICY_LEGACY (1)")),
        }
        if self.flags & !KNOWN_FLAGS != 0 {
            // As a usize: the library prints hex for no u32 but this one.
            return bad("flags", format!("has unknown bits {:#x}", (self.flags & !KNOWN_FLAGS) as usize));
        }
        let n = self.prefix_bytes;
        if n != 0 && (!self.frame_prefix() || n % 16 != 0 || n > ZF_MAX_PREFIX_BYTES) {
            return bad("prefix_bytes", format!("is {n}: 0, or a multiple of 16 to 256 with ZF_FLAG_FRAME_PREFIX"));
        }
        if self.alloc.is_some() != self.dealloc.is_some() {
            return bad("alloc", "is set without dealloc, or dealloc without it: set both hooks or neither".into());
        }
        if self.trace_file().is_err() {
            return bad("trace_path", "is not UTF-8 text".into());
        }
        Ok(())
    }

    /// The file named by `trace_path`, if any: none for NULL or an empty
    /// path, as for an empty `ZF_TRACE`.
    pub(crate) fn trace_file(&self) -> Result<Option<&str>, core::str::Utf8Error> {
        if self.trace_path.is_null() {
            return Ok(None);
        }
        // SAFETY: a non-NULL trace_path is a NUL-terminated string (the
        // field's contract), alive while the config is used.
        let path = unsafe { CStr::from_ptr(self.trace_path) }.to_str()?;
        Ok((!path.is_empty()).then_some(path))
    }

    pub fn debug(&self) -> bool {
        self.flags & ZF_FLAG_DEBUG != 0
    }

    pub fn frame_prefix(&self) -> bool {
        self.flags & ZF_FLAG_FRAME_PREFIX != 0
    }

    /// The bytes of each frame before the library's pointer: 0 without
    /// ZF_FLAG_FRAME_PREFIX.
    pub fn prefix(&self) -> usize {
        match (self.frame_prefix(), self.prefix_bytes) {
            (false, _) => 0,
            (true, 0) => crate::ZF_HEADER_BYTES,
            (true, n) => n as usize,
        }
    }

    /// Applies the `ZF_*` variables that `var` finds: `ZF_POLICY`, those of
    /// `OPTIONS` in its order, `ZF_TRACE`, `ZF_DEBUG`. All or nothing: on an
    /// error `self` is left as it was, and the error names the variable.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<Vec<u8>>) -> Result<(), Error> {
        let mut cfg = *self;
        let text = |name: &'static str| -> Result<Option<String>, Error> {
            match var(name) {
                None => Ok(None),
                Some(v) => String::from_utf8(v).map(|s| Some(s.trim_ascii().to_owned())).map_err(|e| Error::Env {
                    var: name,
                    value: lossy(e.as_bytes()),
                    expected: "text in UTF-8",
                }),
            }
        };
        if let Some(v) = text("ZF_POLICY")? {
            let is = |words| one_of(v.as_bytes(), words);
            cfg.policy = match (is("per-code per_code 0"), is("legacy 1")) {
                (true, _) => ZF_POLICY_PER_CODE,
                (_, true) => ZF_POLICY_LEGACY,
                _ => return Err(Error::env("ZF_POLICY", v, "per-code (or 0) or legacy (or 1)")),
            };
        }
        for opt in &OPTIONS {
            if let Some(v) = text(opt.var)? {
                let Some(n) = opt.takes.parse(&v) else {
                    let expected = opt.takes.expected_for(&v);
                    return Err(Error::env(opt.var, v, expected));
                };
                (opt.set)(&mut cfg, n);
            }
        }
        if let Some(v) = text("ZF_TRACE")? {
            cfg.trace_path = if v.is_empty() { ptr::null() } else { intern(&v).as_ptr() };
        }
        if let Some(v) = text("ZF_DEBUG")? {
            let is = |words| one_of(v.as_bytes(), words);
            let on = match (is("1 yes true on"), v.is_empty() || is("0 no false off")) {
                (true, _) => true,
                (_, true) => false,
                _ => return Err(Error::env("ZF_DEBUG", v, "1, yes, true, on, or 0, no, false, off")),
            };
            cfg.flags = if on { cfg.flags | ZF_FLAG_DEBUG } else { cfg.flags & !ZF_FLAG_DEBUG };
        }
        *self = cfg;
        Ok(())
    }

    /// The error for a variable named `name` (from the environment) one
    /// slip (`one_slip`) from one `apply_env` reads: set, it would be
    /// ignored, and the value it was meant to change kept.
    #[inline(never)]
    pub fn slipped_name(name: &[u8]) -> Option<Error> {
        // Every setting starts `ZF_`, so one slip leaves a Z or an F first
        // or second: the rest of the environment goes at this test.
        let zf = |i: usize| name.get(i).is_some_and(|c| matches!(c.to_ascii_uppercase(), b'Z' | b'F'));
        if !(zf(0) || zf(1)) {
            return None;
        }
        let meant = env_vars().find(|s| one_slip(name, s.as_bytes()))?;
        Some(Error::EnvName { name: lossy(name), meant })
    }
}

/// Every variable `apply_env` reads.
fn env_vars() -> impl Iterator<Item = &'static str> {
    ["ZF_POLICY", "ZF_TRACE", "ZF_DEBUG"].into_iter().chain(OPTIONS.iter().map(|o| o.var))
}

/// Whether `text` is one of `words` (one string, split at spaces: an
/// array of strings costs a shared library a relocation each), in any case.
fn one_of(text: &[u8], words: &str) -> bool {
    words.as_bytes().split(|&b| b == b' ').any(|w| same(w, text))
}

/// `a` and `b` are the same ASCII text in any case. Every case-blind
/// comparison here goes through it, out of line: core's
/// `eq_ignore_ascii_case` is inlined, vectorized, wherever it is called.
#[inline(never)]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// Whether `name` is `setting` but for one slip: its case, or one letter
/// wrong, missing, extra, or swapped with the next (never `setting` itself):
/// between their common start and end, ignoring case, at most one letter
/// is left of each, or two swapped.
#[inline(never)]
fn one_slip(name: &[u8], setting: &[u8]) -> bool {
    let (n, s) = (name.len(), setting.len());
    // Most of the environment is rejected here, or at the first letters.
    if n.abs_diff(s) > 1 {
        return false;
    }
    let eq = |i: usize, j: usize| name[i].eq_ignore_ascii_case(&setting[j]);
    let mut start = 0;
    while start < n.min(s) && eq(start, start) {
        start += 1;
    }
    let mut end = 0;
    while end < n.min(s) - start && eq(n - 1 - end, s - 1 - end) {
        end += 1;
    }
    let (a, b) = (n - start - end, s - start - end);
    let swapped = a == 2 && b == 2 && eq(start, start + 1) && eq(start + 1, start);
    name != setting && (a <= 1 && b <= 1 || swapped)
}

/// `bytes` as text, each invalid sequence as U+FFFD (as
/// `String::from_utf8_lossy` does, without alloc's precompiled copy).
/// Through `from_utf8`'s errors, which mark the same sequences: the
/// library has `from_utf8` anyway, where `utf8_chunks` added 400 bytes.
fn lossy(mut bytes: &[u8]) -> String {
    let mut text = String::new();
    loop {
        match core::str::from_utf8(bytes) {
            Ok(valid) => {
                text.push_str(valid);
                return text;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at_checked(e.valid_up_to()).unwrap_or_default();
                text.push_str(core::str::from_utf8(valid).unwrap_or_default());
                text.push('\u{FFFD}');
                // None: the bytes end inside a sequence, which is all invalid.
                bytes = rest.get(e.error_len().unwrap_or(rest.len())..).unwrap_or_default();
            }
        }
    }
}

/// A copy of `text` that lives as long as the process: `ZF_TRACE` fills a
/// pointer field, which the caller's config may keep. Each distinct value
/// is kept once.
fn intern(text: &str) -> &'static CStr {
    /// A value kept for good; a list that only grows, pushed to without a lock.
    struct Kept {
        text: &'static CStr,
        next: *mut Kept,
    }
    static KEPT: AtomicPtr<Kept> = AtomicPtr::new(ptr::null_mut());
    let mut head = KEPT.load(Ordering::Acquire);
    let mut seen = head;
    // SAFETY: every node was leaked below and is never freed or changed after its push.
    while let Some(k) = unsafe { seen.as_ref() } {
        if k.text.to_bytes() == text.as_bytes() {
            return k.text;
        }
        seen = k.next;
    }
    // Environment values hold no NUL byte.
    let bytes: &'static [u8] = Box::leak(crate::os::c_string(text).unwrap_or_default().into_boxed_slice());
    let text = crate::os::c_str(bytes);
    let node = Box::leak(Box::new(Kept { text, next: head }));
    // Two threads interning one new value at once each keep a copy: harmless.
    while let Err(now) = KEPT.compare_exchange_weak(head, node, Ordering::AcqRel, Ordering::Acquire) {
        head = now;
        node.next = head;
    }
    text
}

/// `text` as a `u32`, read as `str::parse` reads one (digits after an
/// optional `+`), folded byte by byte: `str::parse` left two copies of
/// its code in the library, 900 bytes.
fn parse_whole(text: &str) -> Option<u32> {
    let t = text.as_bytes();
    let digits = t.strip_prefix(b"+").unwrap_or(t);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |n, d| match d {
        b'0'..=b'9' => n.checked_mul(10)?.checked_add(u32::from(d - b'0')),
        _ => None,
    })
}

/// Parses `4096`, `512K`, `4M`, `1G` (also `KB`, `KiB`, ...; powers of 1024).
/// Byte by byte, with no lowercased copy and no `str::parse`: each cost
/// the library hundreds of bytes.
pub fn parse_size(text: &str) -> Option<usize> {
    read_size(text).flatten()
}

/// `parse_size`'s work: None when `text` is not a size, `Some(None)` when
/// it is one too large for a `usize`.
fn read_size(text: &str) -> Option<Option<usize>> {
    // A leading `+`, as a whole number may carry.
    let t = text.trim_ascii().as_bytes();
    let t = t.strip_prefix(b"+").unwrap_or(t);
    let digits = t.iter().take_while(|b| b.is_ascii_digit()).count();
    let (num, unit) = t.split_at_checked(digits)?;
    // Nothing or B; or K, M or G, alone or with B or iB; in any case.
    let (prefix, rest) = unit.trim_ascii().split_first().map_or((b'b', &[][..]), |(p, r)| (*p, r));
    let shift = match prefix.to_ascii_lowercase() {
        b'b' if rest.is_empty() => 0,
        b'k' => 10,
        b'm' => 20,
        b'g' => 30,
        _ => return None,
    };
    if num.is_empty() || !(rest.is_empty() || one_of(rest, "b ib")) {
        return None;
    }
    let n = num.iter().try_fold(0usize, |n, d| n.checked_mul(10)?.checked_add((d - b'0') as usize));
    Some(n.and_then(|n| n.checked_mul(1usize << shift)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<Vec<u8>> {
        let map: HashMap<String, Vec<u8>> = pairs.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn env_text_that_is_not_utf8_is_named() {
        let mut c = ZfConfig::default();
        let err = c.apply_env(|k| (k == "ZF_POLICY").then(|| b"leg\xffacy".to_vec())).unwrap_err();
        assert_eq!(err.to_string(), "invalid ZF_POLICY=\"leg\u{fffd}acy\": expected text in UTF-8");
        // A control character inside the value shows as `?`: one line.
        let err = c.apply_env(env(&[("ZF_POLICY", "leg\nacy")])).unwrap_err();
        assert_eq!(err.to_string(), "invalid ZF_POLICY=\"leg?acy\": expected per-code (or 0) or legacy (or 1)");
    }

    /// Whether `a` and `b`, in any case, are at most one edit apart
    /// (substitution, insertion, deletion, or a swap of neighbours), by
    /// the textbook table: what `one_slip` says, itself aside.
    fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
        let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 0..=a.len() {
            for j in 0..=b.len() {
                d[i][j] = match (i, j) {
                    (0, _) => j,
                    (_, 0) => i,
                    _ => {
                        let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1);
                        v = v.min(d[i - 1][j - 1] + (a[i - 1] != b[j - 1]) as usize);
                        if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                            v = v.min(d[i - 2][j - 2] + 1);
                        }
                        v
                    }
                };
            }
        }
        d[a.len()][b.len()] <= 1
    }

    #[test]
    fn a_slip_is_one_edit_from_a_setting_and_nothing_else() {
        let settings: Vec<&str> = env_vars().collect();
        let mut names: Vec<Vec<u8>> = vec![b"".to_vec(), b"Z".to_vec(), b"ZF_".to_vec(), b"PATH".to_vec()];
        // Every one edit of each setting's name, and some of two.
        for setting in &settings {
            let setting = setting.as_bytes();
            assert!(setting.starts_with(b"ZF_"), "slipped_name's first test");
            names.push(setting.to_ascii_lowercase());
            for i in 0..=setting.len() {
                for c in [b'X', b'_', b'z', b'f', b'\n'] {
                    let mut s = setting.to_vec();
                    s.insert(i, c);
                    names.push(s.clone());
                    if i < setting.len() {
                        s.remove(i + 1);
                        names.push(s.clone());
                        s.remove(i);
                        names.push(s.clone());
                        s.insert(0, b'Q'); // and a second edit
                        names.push(s);
                    }
                }
                if i + 1 < setting.len() {
                    let mut s = setting.to_vec();
                    s.swap(i, i + 1);
                    names.push(s.clone());
                    s.swap(0, setting.len() - 1);
                    names.push(s);
                }
            }
        }
        for name in &names {
            for setting in &settings {
                let want = name.as_slice() != setting.as_bytes() && within_one_edit(name, setting.as_bytes());
                assert_eq!(one_slip(name, setting.as_bytes()), want, "{:?} {setting}", String::from_utf8_lossy(name));
            }
            let want = settings.iter().any(|s| name.as_slice() != s.as_bytes() && within_one_edit(name, s.as_bytes()));
            assert_eq!(ZfConfig::slipped_name(name).is_some(), want, "{:?}", String::from_utf8_lossy(name));
        }
    }

    #[test]
    fn a_slipped_name_is_refused_naming_the_setting() {
        let e = ZfConfig::slipped_name(b"ZF_SWEEP_GENRATION").unwrap();
        assert_eq!(e.to_string(), "unknown variable ZF_SWEEP_GENRATION: not a setting; ZF_SWEEP_GENERATION is");
        assert_eq!(
            ZfConfig::slipped_name(b"zf_polic\n").unwrap().to_string(),
            "unknown variable zf_polic?: not a setting; ZF_POLICY is"
        );
        for other in [&b"ZF_CPY_EAGER"[..], b"ZF_BENCH_TRACES", b"PATH", b"ZF_DEBUG", b"ZF_TRACE"] {
            assert!(ZfConfig::slipped_name(other).is_none(), "{other:?}");
        }
    }

    #[test]
    fn lossy_text_is_what_std_makes() {
        let cases: [&[u8]; 9] = [
            b"",
            b"plain",
            b"\xff",
            b"a\xffb\xfe",
            b"\xe2\x82",
            b"x\xe2\x82",
            b"\xe2\x82y\xf0\x9f\x98\x80\xf0\x9f",
            b"\xed\xa0\x80z",
            b"\xc0\xaf\xf5\x80\xe9",
        ];
        for bytes in cases {
            assert_eq!(lossy(bytes), String::from_utf8_lossy(bytes), "{bytes:?}");
        }
    }

    #[test]
    fn policy_and_debug_words_take_any_case_and_nothing_else() {
        for (text, policy) in [("Per-Code", 0), ("PER_CODE", 0), ("0", 0), ("Legacy", 1), (" 1 ", 1)] {
            let mut c = ZfConfig { policy: 7, ..ZfConfig::default() };
            c.apply_env(env(&[("ZF_POLICY", text)])).unwrap();
            assert_eq!(c.policy, policy, "{text:?}");
        }
        for text in ["", "per code", "percode", "per-code-", "2", "legacy1"] {
            assert!(ZfConfig::default().apply_env(env(&[("ZF_POLICY", text)])).is_err(), "{text:?}");
        }
        for (text, on) in [("YES", true), ("On", true), ("1", true), ("", false), ("False", false), ("OFF", false)] {
            let mut c = ZfConfig { flags: if on { 0 } else { ZF_FLAG_DEBUG }, ..ZfConfig::default() };
            c.apply_env(env(&[("ZF_DEBUG", text)])).unwrap();
            assert_eq!(c.debug(), on, "{text:?}");
        }
        for text in ["2", "y", "onn", "yes no"] {
            assert!(ZfConfig::default().apply_env(env(&[("ZF_DEBUG", text)])).is_err(), "{text:?}");
        }
    }

    #[test]
    fn interned_values_are_kept_once() {
        let a = intern("/tmp/zf-intern-test");
        assert_eq!(a.to_bytes(), b"/tmp/zf-intern-test");
        assert!(ptr::eq(a, intern("/tmp/zf-intern-test")));
        assert!(!ptr::eq(a, intern("/tmp/zf-intern-other")));
    }

    #[test]
    fn defaults_validate() {
        assert!(ZfConfig::default().validate().is_ok());
        assert_eq!(ZfConfig::default().budget_bytes, ZF_BUDGET_AUTO, "the default bound follows the program");
    }

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("512K"), Some(512 << 10));
        assert_eq!(parse_size("4M"), Some(4 << 20));
        assert_eq!(parse_size("4MiB"), Some(4 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size(" 7 kb "), Some(7 << 10));
        assert_eq!(parse_size("+4K"), Some(4 << 10));
        for bad in ["", "M", "4Q", "-1", "++1", "+ 1", "1+", "1.5M", "99999999999999999999", "18014398509481984G"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn whole_numbers_read_as_str_parse_reads_them() {
        let cases =
            ["0", "7", "+7", "007", "4294967295", "+4294967295", "4294967296", "99999999999", "", "+", "-", "-0"];
        let more = ["++1", "+-1", "1+", " 1", "1 ", "1_000", "1.0", "0x10", "\u{661}", "1\u{e9}"];
        for text in cases.into_iter().chain(more) {
            assert_eq!(parse_whole(text), text.parse::<u32>().ok(), "{text:?}");
        }
    }

    #[test]
    fn size_units_take_any_case_and_nothing_else() {
        for (text, n) in
            [("4b", 4), ("4B", 4), ("2kB", 2 << 10), ("2KIB", 2 << 10), ("3Mb", 3 << 20), ("1 GiB", 1 << 30)]
        {
            assert_eq!(parse_size(text), Some(n), "{text:?}");
        }
        for bad in ["4bb", "4ib", "4kbb", "4kib b", "4ki", "4t", "4\u{e9}"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn env_applies_every_variable() {
        let mut c = ZfConfig::default();
        c.apply_env(env(&[
            ("ZF_POLICY", "per_code"),
            ("ZF_PER_CODE_MAX", "7"),
            ("ZF_BUDGET", "4M"),
            ("ZF_SWEEP_EVERY", "0"),
            ("ZF_DEBUG", "1"),
            ("ZF_TRACE", "/tmp/run-%p.zft"),
        ]))
        .unwrap();
        assert_eq!((c.per_code_max, c.budget_bytes, c.sweep_every), (7, 4 << 20, 0));
        c.apply_env(env(&[("ZF_BUDGET", "Auto")])).unwrap();
        assert_eq!(c.budget_bytes, ZF_BUDGET_AUTO);
        c.apply_env(env(&[("ZF_BUDGET", "512K")])).unwrap();
        assert_eq!(c.budget_bytes, 512 << 10);
        assert!(c.debug());
        assert_eq!(c.trace_file(), Ok(Some("/tmp/run-%p.zft")));
        let kept = c.trace_path;
        c.apply_env(env(&[("ZF_TRACE", "/tmp/run-%p.zft")])).unwrap();
        assert_eq!(c.trace_path, kept, "one copy per distinct value");
        c.apply_env(env(&[("ZF_TRACE", "")])).unwrap();
        assert_eq!(c.trace_file(), Ok(None));
        // The field set empty from C means the same.
        c.trace_path = c"".as_ptr();
        assert_eq!(c.trace_file(), Ok(None));
        c.apply_env(env(&[("ZF_DEBUG", "off"), ("ZF_POLICY", "LEGACY")])).unwrap();
        assert!(!c.debug());
        assert_eq!(c.policy, ZF_POLICY_LEGACY);
    }

    #[test]
    fn every_option_reads_its_variable_and_names_it_in_errors() {
        for (i, opt) in OPTIONS.iter().enumerate() {
            let mut c = ZfConfig::default();
            c.apply_env(env(&[(opt.var, " 12345\t\n")])).unwrap();
            assert_eq!((opt.get)(&c), 12345, "{}", opt.var);
            // ASCII spaces only: a no-break space is a bad value, named.
            let msg = c.apply_env(env(&[(opt.var, "12345\u{a0}")])).unwrap_err().to_string();
            assert!(msg.starts_with(&format!("invalid {}=", opt.var)), "{msg}");
            let msg = c.apply_env(env(&[(opt.var, "-1")])).unwrap_err().to_string();
            assert_eq!(msg, format!("invalid {}=\"-1\": expected {}", opt.var, opt.takes.expected()));
            let others = &OPTIONS[i + 1..];
            assert!(others.iter().all(|o| o.field != opt.field && o.var != opt.var), "{} twice", opt.field);
        }
    }

    #[test]
    fn bad_env_names_variable_and_value_and_changes_nothing() {
        let mut c = ZfConfig::default();
        let before = format!("{c:?}");
        let err = c.apply_env(env(&[("ZF_PER_CODE_MAX", "12"), ("ZF_BUDGET", "12Q")])).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("ZF_BUDGET") && msg.contains("12Q"), "{msg}");
        assert_eq!(format!("{c:?}"), before);
        for (var, val) in
            [("ZF_POLICY", "fast"), ("ZF_PER_CODE_MAX", "-3"), ("ZF_SWEEP_EVERY", "x"), ("ZF_DEBUG", "maybe")]
        {
            let msg = c.apply_env(env(&[(var, val)])).unwrap_err().to_string();
            assert!(msg.contains(var) && msg.contains(val), "{msg}");
        }
    }

    #[test]
    fn a_size_too_large_is_told_by_its_limit() {
        let mut c = ZfConfig::default();
        let err = c.apply_env(env(&[("ZF_BUDGET", "99999999999G")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid ZF_BUDGET=\"99999999999G\": expected a size under 16 EiB (at most 17179869183G)"
        );
        assert_eq!(parse_size("17179869183G"), Some(17179869183 << 30));
        assert_eq!(parse_size("17179869184G"), None);
        for (text, expected) in
            [("17179869184G", TOO_LARGE), ("18446744073709551616", TOO_LARGE), ("12Q", Takes::SizeOrAuto.expected())]
        {
            assert_eq!(Takes::SizeOrAuto.expected_for(text), expected, "{text:?}");
        }
        assert_eq!(Takes::Whole.expected_for("99999999999"), Takes::Whole.expected());
    }

    #[test]
    fn bad_fields_are_named() {
        type Spoil = fn(&mut ZfConfig);
        let cases: [(&str, Spoil); 7] = [
            ("struct_size", |c| c.struct_size = 8),
            ("policy", |c| c.policy = 9),
            ("flags", |c| c.flags = 0x80),
            ("prefix_bytes", |c| c.prefix_bytes = 32),
            ("prefix_bytes", |c| (c.flags, c.prefix_bytes) = (ZF_FLAG_FRAME_PREFIX, 24)),
            ("prefix_bytes", |c| (c.flags, c.prefix_bytes) = (ZF_FLAG_FRAME_PREFIX, ZF_MAX_PREFIX_BYTES + 16)),
            ("alloc", |c| c.dealloc = Some(noop_dealloc)),
        ];
        for (field, spoil) in cases {
            let mut c = ZfConfig::default();
            spoil(&mut c);
            let msg = c.validate().unwrap_err().to_string();
            assert!(msg.starts_with(&format!("zf_pool_new: invalid ZfConfig: field {field} ")), "{field}: {msg}");
        }
    }

    #[test]
    fn the_prefix_is_the_flags_and_its_length() {
        let prefix = |flags, prefix_bytes| {
            let c = ZfConfig { flags, prefix_bytes, ..ZfConfig::default() };
            c.validate().map(|()| c.prefix()).ok()
        };
        let p = ZF_FLAG_FRAME_PREFIX;
        assert_eq!(
            [prefix(0, 0), prefix(p, 0), prefix(p, 32), prefix(p, ZF_MAX_PREFIX_BYTES)],
            [Some(0), Some(crate::ZF_HEADER_BYTES), Some(32), Some(ZF_MAX_PREFIX_BYTES as usize)]
        );
    }

    unsafe extern "C" fn noop_dealloc(_: *mut c_void, _: *mut c_void, _: usize) {}
}
