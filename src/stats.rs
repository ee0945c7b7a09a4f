//! Counters and the human-readable report. Every count but
//! `peak_live_frames` is exact when read: the slow path counts where the
//! event happens, and the inline path's work is added in per code.

use crate::config::{Takes, ZfConfig, OPTIONS};
use alloc::string::String;
use core::cell::Cell;
use core::fmt::{self, Write};

/// A snapshot of a pool's counters. Totals count since the pool was made;
/// `cached_*`, `live_frames`, `codes`, `shared_frames`, `bound_bytes` and
/// `allowance_bytes` are the state now. Every field but `peak_live_frames`
/// (see there) is exact when read: what the inline fast path did is
/// counted per code and added in by `zf_pool_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZfStats {
    /// Acquires that returned a frame, through any entry, the inline hits
    /// included (= zombie_hits + shared_hits + reallocs + fresh_allocs).
    pub acquires: u64,
    /// Acquires served by a zombie of the same code (contents intact).
    pub zombie_hits: u64,
    /// Acquires served by a new block from the allocator.
    pub fresh_allocs: u64,
    /// Acquires served by resizing a frame from the reserve (only under ZF_POLICY_LEGACY,
    /// whose reserve is CPython's global free list).
    pub reallocs: u64,
    /// Releases of a frame, through any entry, the inline ones included.
    pub releases: u64,
    /// Blocks given back to the allocator, for any reason but a resize
    /// (counted once, in `reallocs`, as CPython's one realloc).
    pub frees: u64,
    /// Frames cached now: zombies and the reserve.
    pub cached_frames: u64,
    /// Bytes of the blocks cached now, zombies and the reserve (the
    /// library's headers included).
    pub cached_bytes: u64,
    /// The most `cached_bytes + allowance_bytes` ever reached: the bytes the
    /// pool held or had promised to the fast path, which the budget bounds;
    /// at least the peak of `cached_bytes`. (Under ZF_POLICY_LEGACY, whose
    /// allowances are always empty, exactly that peak.)
    pub peak_cached_bytes: u64,
    /// Frames acquired and not released.
    pub live_frames: u64,
    /// The most frames live at an acquire that took a new block or a
    /// reserve frame (under ZF_POLICY_LEGACY, at every acquire): never
    /// more than were live then, the inline path's work included. Per-code
    /// pools, watched or not, count a new peak only once the count the
    /// library has seen passes the last by as many frames as codes hold
    /// slots, or by an eighth of the peak if less: it may read up to an
    /// eighth low, and lower by the zombies codes took through the inline
    /// pair since they last reached the library or the pool last counted
    /// them (those frames are not in that count until then); hits alone
    /// (no acquire of a new block) raise it only at the next such acquire.
    pub peak_live_frames: u64,
    /// Codes made and not yet passed to zf_code_free.
    pub codes: u64,
    /// Aging sweeps run (zf_pool_collect and automatic ones); under
    /// ZF_POLICY_LEGACY, full collections, which empty the reserve.
    pub sweeps: u64,
    /// Codes ever made by this pool.
    pub codes_created: u64,
    /// Zombies freed by aging sweeps (part of `frees`).
    pub aged_frees: u64,
    /// Zombies freed to keep the budget (part of `frees`).
    pub evicted_frees: u64,
    /// Acquires served, without a resize, by a frame from the reserve:
    /// another code's frame, which needs full initialisation (the reserve
    /// is CPython's global free list under ZF_POLICY_LEGACY).
    pub shared_hits: u64,
    /// Frames in the reserve now (part of `cached_frames`; under
    /// ZF_POLICY_LEGACY, CPython's global free list).
    pub shared_frames: u64,
    /// The memory bound in force now: `budget_bytes` when the caller set
    /// one, else the automatic bound, which follows the live codes whose
    /// frames have come back (0 once the pool is freed; UINT64_MAX under
    /// ZF_POLICY_LEGACY, which CPython's own rules bound). At every moment,
    /// `cached_bytes + allowance_bytes <= bound_bytes`.
    pub bound_bytes: u64,
    /// Bytes of the slots the codes' allowances hold free for releases the
    /// inline fast path caches without calling the library: at every
    /// moment, `cached_bytes + allowance_bytes <= bound_bytes`.
    pub allowance_bytes: u64,
}

/// A `Cell<u64>` counter.
pub trait Tally {
    fn add(&self, n: u64);
    fn sub(&self, n: u64);
    fn raise_to(&self, n: u64);
    fn shift(&self, by: i64);
}

impl Tally for Cell<u64> {
    #[inline]
    fn add(&self, n: u64) {
        self.set(self.get() + n);
    }
    #[inline]
    fn sub(&self, n: u64) {
        self.set(self.get() - n);
    }
    #[inline]
    fn raise_to(&self, n: u64) {
        self.set(self.get().max(n));
    }
    #[inline]
    fn shift(&self, by: i64) {
        self.set(self.get().wrapping_add_signed(by));
    }
}

/// The pool's counters, named once: `counters!` makes `Counters`, one
/// `Cell<u64>` per counted field of `ZfStats` (same name), and `snapshot`,
/// which copies them out. `ZfStats` itself stays written out above, because
/// cbindgen reads the header's struct and its comments from the source and
/// does not expand macros. `snapshot` names every `ZfStats` field, so a
/// field added there and not here fails to compile: put it in `counted`
/// (the pool counts it), or in `filled` (`Pool::stats` fills it from state
/// it keeps elsewhere). `acquires` alone is derived.
macro_rules! counters {
    (counted: $($counted:ident),+; filled: $($filled:ident),+;) => {
        /// The pool's live counters: the fields of `ZfStats` the pool counts
        /// (`acquires` is derived; the rest are filled in by `Pool::stats`).
        #[derive(Default)]
        pub struct Counters {
            $(pub $counted: Cell<u64>,)+
        }

        impl Counters {
            pub fn snapshot(&self) -> ZfStats {
                ZfStats {
                    acquires: self.zombie_hits.get()
                        + self.shared_hits.get()
                        + self.reallocs.get()
                        + self.fresh_allocs.get(),
                    $($counted: self.$counted.get(),)+
                    $($filled: 0,)+
                }
            }
        }
    };
}

counters! {
    counted: zombie_hits, fresh_allocs, reallocs, releases, frees, cached_frames, cached_bytes,
        peak_cached_bytes, live_frames, peak_live_frames, codes, sweeps, codes_created, aged_frees,
        evicted_frees, shared_hits, allowance_bytes;
    filled: shared_frames, bound_bytes;
}

/// One line of the report's list of the codes holding the most zombies:
/// (code id, frame bytes, zombies).
pub type TopList = (u64, usize, u32);

/// The report `zf_pool_print_stats` writes.
pub fn report(s: &ZfStats, cfg: &ZfConfig, closed: bool, top: &[TopList]) -> String {
    let mut r = String::new();
    let state = if closed { " (freed: no longer caching)" } else { "" };
    let debug = if cfg.debug() { ", debug" } else { "" };
    let _ = writeln!(r, "zombie-frames {} pool{state}", crate::VERSION);
    let _ = match cfg.policy {
        crate::ZF_POLICY_LEGACY => {
            writeln!(r, "  policy legacy (CPython's own to 3.10: one zombie per code, free list of 200){debug}")
        }
        _ => {
            per_code_settings(&mut r, s, cfg);
            writeln!(r, "{debug}")
        }
    };
    let _ = writeln!(
        r,
        "  acquires    {:>14}   zombie hits {} ({}%), shared {}, reallocs {}, fresh {}",
        Count(s.acquires),
        Count(s.zombie_hits),
        percent(s.zombie_hits, s.acquires, 2),
        Count(s.shared_hits),
        Count(s.reallocs),
        Count(s.fresh_allocs)
    );
    let _ = writeln!(
        r,
        "  releases    {:>14}   live now {}, peak {}",
        Count(s.releases),
        Count(s.live_frames),
        Count(s.peak_live_frames)
    );
    let _ = writeln!(
        r,
        "  frees       {:>14}   aged {}, evicted for the budget {}, sweeps {}",
        Count(s.frees),
        Count(s.aged_frees),
        Count(s.evicted_frees),
        Count(s.sweeps)
    );
    let _ = write!(
        r,
        "  cached now  {:>14}   {}, {} of them shared; peak {}",
        bytes(s.cached_bytes),
        counted(s.cached_frames, "frame"),
        Count(s.shared_frames),
        bytes(s.peak_cached_bytes),
    );
    // Legacy has no bound to measure the peak against.
    if cfg.policy != crate::ZF_POLICY_LEGACY {
        let _ = write!(r, " ({}% of the bound now)", percent(s.peak_cached_bytes, s.bound_bytes, 1));
    }
    r.push('\n');
    let _ = writeln!(r, "  codes alive {:>14}   made {}", Count(s.codes), Count(s.codes_created));
    top_lines(&mut r, top);
    r
}

/// The report's policy line under per-code: every option, as set.
fn per_code_settings(r: &mut String, s: &ZfStats, cfg: &ZfConfig) {
    r.push_str("  policy per-code");
    for opt in &OPTIONS {
        let n = (opt.get)(cfg) as u64;
        let words = if n == 0 && !opt.zero.is_empty() { opt.zero } else { opt.shown };
        let value = match opt.takes {
            Takes::SizeOrAuto => bytes(if n == 0 { s.bound_bytes } else { n }),
            Takes::Whole if words == opt.zero => String::new(),
            Takes::Whole => count(n),
        };
        let (before, after) = split_pair(words, b"{}").unwrap_or((words, ""));
        let _ = write!(r, ", {before}{value}{after}");
    }
}

/// The report's lines of the codes holding the most zombies, if any.
fn top_lines(r: &mut String, top: &[TopList]) {
    if top.is_empty() {
        return;
    }
    let _ = writeln!(r, "  codes holding the most zombies:");
    for (id, frame_bytes, n) in top {
        let noun = if *n == 1 { "zombie " } else { "zombies" };
        let _ = writeln!(r, "    code #{:<8} {:>4} {noun} of {} bytes", id, n, Count(*frame_bytes as u64));
    }
}

/// `n` things, with separators: "1 code", "1,200 codes".
pub fn counted(n: u64, thing: &str) -> String {
    format!("{} {thing}{}", Count(n), if n == 1 { "" } else { "s" })
}

/// 1234567 -> "1,234,567".
pub fn count(n: u64) -> String {
    format!("{}", Count(n))
}

/// `count`'s text, for a format string: the report prints a score of
/// counts, and a String for each (made, then dropped) cost the library
/// 500 bytes.
struct Count(u64);

impl fmt::Display for Count {
    /// Written digit by digit: going through `to_string` and `chars` cost
    /// the library twice the bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // u64::MAX: 20 digits and 6 commas.
        let mut buf = [0u8; 26];
        let (mut n, mut at, mut digits) = (self.0, buf.len(), 0);
        loop {
            if digits > 0 && digits % 3 == 0 {
                at -= 1;
                buf[at] = b',';
            }
            at -= 1;
            buf[at] = b'0' + (n % 10) as u8;
            digits += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        f.pad(core::str::from_utf8(&buf[at..]).unwrap_or_default())
    }
}

/// Bytes in the largest binary unit that keeps a whole part. Out of
/// line: the report would inline a copy at each of its three uses.
#[inline(never)]
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let u = (1..UNITS.len()).rev().find(|&u| n >> (10 * u) > 0).unwrap_or(0);
    if u == 0 {
        return format!("{n} B");
    }
    let unit = 1u128 << (10 * u);
    format!("{} {}", Fixed::new((n as u128 * 10 + unit / 2) / unit, 1), UNITS[u])
}

/// `n` as a percentage of `of` with `places` decimals, rounded (0 when
/// `of` is 0). Integers only: the library carries no float formatting.
fn percent(n: u64, of: u64, places: u32) -> Fixed {
    let scale = 10u128.pow(places);
    let scaled = if of == 0 { 0 } else { (n as u128 * 100 * scale + of as u128 / 2) / of as u128 };
    Fixed::new(scaled, places)
}

/// A decimal with `places` digits after the point: its whole part
/// (at most u64's largest) and its digits after the point.
struct Fixed {
    whole: u64,
    fraction: u64,
    places: u32,
}

impl Fixed {
    /// `scaled` / 10^`places`. Split here so that only u64s are printed:
    /// u128's printing costs the library over a kilobyte.
    fn new(scaled: u128, places: u32) -> Fixed {
        let scale = 10u128.pow(places);
        let whole = u64::try_from(scaled / scale).unwrap_or(u64::MAX);
        Fixed { whole, fraction: (scaled % scale) as u64, places }
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02$}", self.whole, self.fraction, self.places as usize)
    }
}

/// `text` before and after the first `pair`, as `split_once` gives it.
/// By hand: a `&str` pattern brings in core's two-way searcher, about
/// 3 KB of a library held under 100 KB.
pub(crate) fn split_pair<'a>(text: &'a str, pair: &[u8; 2]) -> Option<(&'a str, &'a str)> {
    let at = text.as_bytes().windows(2).position(|w| w == pair)?;
    // The pair is ASCII, so both cuts fall on character boundaries; `get`
    // cuts without a panic path, whose message (`char`'s Debug, core's
    // Unicode tables) cost the library 7 KB with `parse_size`'s.
    Some((text.get(..at)?, text.get(at + 2..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(4 << 20), "4.0 MiB");
        assert_eq!(bytes(u64::MAX), "16.0 EiB"); // an unbounded budget
        assert_eq!(bytes(3 << 40), "3.0 TiB");
        let pct = |n, of, places| percent(n, of, places).to_string();
        assert_eq!([pct(1, 3, 2), pct(2, 3, 1), pct(5, 0, 2), pct(3, 2, 1)], ["33.33", "66.7", "0.00", "150.0"]);
        // Past u64 the whole part is clamped to u64's largest.
        assert_eq!(pct(u64::MAX, 1, 1), format!("{}.0", u64::MAX));
    }

    #[test]
    fn report_names_totals_hit_rate_and_top_codes() {
        let s = ZfStats { acquires: 200, zombie_hits: 150, fresh_allocs: 50, releases: 200, ..Default::default() };
        let s = ZfStats { bound_bytes: 200 << 10, ..s };
        let r = report(&s, &ZfConfig::default(), false, &[(7, 440, 3)]);
        assert!(r.contains("zombie hits 150 (75.00%)"), "{r}");
        assert!(r.contains("code #7") && r.contains("3 zombies of 440 bytes"), "{r}");
        assert!(r.contains("bound auto (now 200.0 KiB)") && r.contains("reserve 200"), "{r}");
        let fixed = ZfConfig { budget_bytes: 128 << 10, ..ZfConfig::default() };
        assert!(report(&s, &fixed, false, &[]).contains("budget 128.0 KiB"));
        let legacy = ZfConfig { policy: crate::ZF_POLICY_LEGACY, ..ZfConfig::default() };
        assert!(report(&s, &legacy, false, &[]).contains("policy legacy"));
    }
}
