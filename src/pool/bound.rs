//! The bound in force: what zombies, the reserve and every allowance may
//! hold together (`Pool::charged_bytes`). The caller's `budget_bytes`, or
//! under `ZF_BUDGET_AUTO` a bound that follows the program: one block of
//! every live code whose frame has come back once (the zombie CPython keeps
//! of it, in the block the pool holds it in), plus room for what CPython's
//! free list would hold: the deepest recursion since the last full
//! collection, less the first frames of codes counted since (up to
//! `RECURSION_CEILING` with the zombies), or if more, the frames
//! re-entries left there.
//!
//! `Bound` alone writes its fields. Its methods say when the bound shrank;
//! the pool then trims what it holds into it (`Pool::trim`).

use super::LEGACY_FREE_LIST_MAX;
use crate::code::Code;
use crate::config::{ZfConfig, ZF_AUTO_BOUND_CEILING, ZF_AUTO_BOUND_FLOOR, ZF_BUDGET_AUTO, ZF_POLICY_LEGACY};
use crate::stats::Tally;
use core::cell::Cell;

pub(super) struct Bound {
    /// The bound in force: `cfg.budget_bytes`, or the automatic bound,
    /// unbounded under legacy, or 0 once the pool is freed: then nothing
    /// is cached.
    bytes: Cell<usize>,
    /// `budget_bytes` was `ZF_BUDGET_AUTO` and the pool is not freed: the
    /// bound follows `zombie_bytes`, `deep_bytes` and `reentry_bytes`.
    auto: Cell<bool>,
    /// One block (`Code::bytes`, its size class's) of every live code whose
    /// frame has come back once: CPython's zombies, as the pool holds them.
    zombie_bytes: Cell<u64>,
    /// Bytes of the deepest recursion past a code's list since the last
    /// full collection, up to CPython's 200 frames, less the first frames
    /// of codes counted since: what its free list would hold on top of
    /// the zombies (see `note_depth`, `code_returned`).
    deep_bytes: Cell<u64>,
    /// The code whose recursion made that room (its id; 0: none).
    deep_code: Cell<u64>,
    /// The mean frame (`Code::weight`) of the latest misses with more
    /// frames of their code live than half its limit, times `MIX_MISSES`
    /// (0: none yet; `mixed_weight`).
    mix: Cell<u64>,
    /// The frames re-entries left in CPython's free list (`note_reentry`),
    /// up to 200, less those the misses of a code's first or second frame
    /// took back since (`note_miss`); and their bytes.
    reentry_frames: Cell<u32>,
    reentry_bytes: Cell<u64>,
}

impl Bound {
    /// The bound of a pool made from `cfg` (already validated).
    pub fn new(cfg: &ZfConfig) -> Bound {
        let legacy = cfg.policy == ZF_POLICY_LEGACY;
        let auto = !legacy && cfg.budget_bytes == ZF_BUDGET_AUTO;
        let bytes = if legacy {
            usize::MAX
        } else if auto {
            auto_bound(0, 0, 0)
        } else {
            cfg.budget_bytes
        };
        Bound {
            bytes: Cell::new(bytes),
            auto: Cell::new(auto),
            zombie_bytes: Cell::new(0),
            deep_bytes: Cell::new(0),
            deep_code: Cell::new(0),
            mix: Cell::new(0),
            reentry_frames: Cell::new(0),
            reentry_bytes: Cell::new(0),
        }
    }

    /// The bound in force, in bytes.
    #[inline]
    pub fn bytes(&self) -> u64 {
        self.bytes.get() as u64
    }

    /// `zf_pool_free`: nothing is cached any more, and the bound stays 0.
    pub fn close(&self) {
        self.auto.set(false);
        self.bytes.set(0);
    }

    /// A frame of `code` came back for the first time: CPython keeps it
    /// as the code's zombie from now on, so one block of it joins what the
    /// bound follows. Not at its first
    /// call: a module's body, a main loop, a generator's first frame can
    /// stay live for long, and CPython holds no zombie of theirs meanwhile.
    ///
    /// The block as the pool holds it, its size class's, though CPython's
    /// zombie is the size asked: at that size, a program calling more codes
    /// in turn than the floor holds had fewer blocks of room than codes,
    /// and the clock evicted, at each release, the zombie called next (not
    /// one call hit; CPython's scheme: all but the first). So the peak can
    /// pass CPython's by the classes' rounding (BENCHMARKS.md).
    ///
    /// The room for recursion gives up that block (no byte counts twice;
    /// the room was counted at the size asked, so the rounding comes out
    /// of it rather than on top), as CPython took that first frame from its
    /// free list; but not when
    /// the room is the code's own recursion's, made after that frame was
    /// taken, which CPython's list keeps beside the zombie. Where the list
    /// was empty at the first call (a body that runs since before the
    /// recursion that made the room), CPython malloc'd the frame and holds
    /// a block more than this bound: kept so, since counting it raised
    /// the peaks of two recursion traces past CPython's (BENCHMARKS.md).
    pub fn code_returned(&self, code: &Code) {
        let bytes = code.bytes() as u64;
        self.zombie_bytes.add(bytes);
        if self.deep_code.get() != code.id {
            self.deep_bytes.set(self.deep_bytes.get().saturating_sub(bytes));
        }
        self.follow_program();
    }

    /// A code counted was freed: its block leaves what the automatic
    /// bound follows. True when the bound shrank.
    pub fn code_gone(&self, code: &Code) -> bool {
        self.zombie_bytes.sub(code.bytes() as u64);
        self.follow_program()
    }

    /// The automatic bound, set again from `zombie_bytes` and the room for
    /// CPython's free list, `deep_bytes` or `reentry_bytes` (nothing when
    /// the caller set a budget, or once the pool is freed). True when it
    /// shrank.
    fn follow_program(&self) -> bool {
        if !self.auto.get() {
            return false;
        }
        let bound = auto_bound(self.zombie_bytes.get(), self.deep_bytes.get(), self.reentry_bytes.get());
        self.bytes.replace(bound) > bound
    }

    /// A miss of `code` that reached the library. CPython serves a code's
    /// first frame (none back yet), which stays as its zombie, and its
    /// second (one live: a re-entry, whose end gives one back) from its
    /// free list: a re-entry's frame leaves it (`take_reentry`). Deeper
    /// frames, a recursion's, come back to that list when it returns, and
    /// their room is counted apart (`note_depth`). True when the bound
    /// shrank: the pool then trims, before it asks the system for a block.
    #[inline(always)]
    pub fn note_miss(&self, code: &Code) -> bool {
        let depth = code.live();
        if !self.auto.get() {
            return false;
        }
        let took = self.reentry_frames.get() > 0 && (depth == 1 || !code.counted());
        if took {
            self.take_reentry();
        }
        let deeper = depth > 0 && depth <= LEGACY_FREE_LIST_MAX as u64 && self.note_depth(code, depth);
        (took || deeper) && self.follow_program()
    }

    /// A recursion `depth` frames deep: CPython would keep that many frames
    /// (up to 200) in its free list when it returns, and the bound makes
    /// the same room, once per depth reached. Deeper than 200, CPython's
    /// list holds no more: nothing is counted (a deep recursion's misses
    /// cost the tests alone). True when the room grew.
    ///
    /// The room is counted at the code's frame size, or, past half its
    /// limit, at `mixed_weight`'s if less. Below, a code's list grows by
    /// taking other codes' spare room (`Code::may_make_room`); past it,
    /// only into room nobody holds, this room, which CPython's list fills
    /// with the frames of every recursion running then.
    fn note_depth(&self, code: &Code, depth: u64) -> bool {
        let weight = match depth > code.half_limit() as u64 {
            true => self.mixed_weight(code.weight()),
            false => code.weight(),
        };
        let bytes = depth * weight;
        if bytes > self.deep_bytes.get() {
            self.deep_bytes.set(bytes);
            self.deep_code.set(code.id);
            return true;
        }
        false
    }

    /// Whether the bound follows the program (`ZF_BUDGET_AUTO`).
    #[inline(always)]
    pub fn is_auto(&self) -> bool {
        self.auto.get()
    }

    /// The end of a re-entry of `code` (`Code::ends_reentry`): under the
    /// automatic bound, its second frame goes to CPython's free list, and
    /// stays there until a miss takes it. So much room more, up to 200
    /// frames: the reserve holds it for the next re-entry, or the next
    /// new code.
    pub fn note_reentry(&self, code: &Code) {
        let frames = self.reentry_frames.get();
        if !self.auto.get() || frames >= LEGACY_FREE_LIST_MAX {
            return;
        }
        self.reentry_frames.set(frames + 1);
        // At the block the reserve will hold it in, its class's: at the
        // size asked, two frames of a code whose block rounds up had room
        // for one, once the zombies filled the bound to the byte.
        self.reentry_bytes.add(code.bytes() as u64);
        self.follow_program();
    }

    /// A miss takes a re-entry's frame (there is one), of the list's mean
    /// size.
    #[cold]
    #[inline(never)]
    fn take_reentry(&self) {
        let frames = self.reentry_frames.get();
        let bytes = self.reentry_bytes.get();
        // (`max`: never 0 here; it spares the division its check.)
        self.reentry_bytes.set(bytes - bytes / u64::from(frames).max(1));
        self.reentry_frames.set(frames - 1);
    }

    /// The frame size a deep recursion's room is counted at, for a miss of
    /// a code whose frames weigh `weight`: its own, or the mean of the
    /// latest such misses' (about `MIX_MISSES` of them, this one included)
    /// if less. Codes whose misses come in turn (a generator pipeline, a
    /// mutual recursion) return their frames in turn too, so CPython's
    /// free list holds a mix of them, not 200 of the largest: counting
    /// those passed legacy's peak on the pipelines (BENCHMARKS.md, "Why
    /// the defaults").
    fn mixed_weight(&self, weight: u64) -> u64 {
        let mix = match self.mix.get() {
            0 => weight * MIX_MISSES,
            mix => mix - mix / MIX_MISSES + weight,
        };
        self.mix.set(mix);
        weight.min(mix / MIX_MISSES)
    }

    /// A full collection: CPython empties its free list, so the room made
    /// for it goes. True when the bound shrank (the cache is then trimmed
    /// into the bound left).
    pub fn forget_free_list(&self) -> bool {
        self.deep_code.set(0);
        self.reentry_frames.set(0);
        let had = self.deep_bytes.replace(0).max(self.reentry_bytes.replace(0));
        had > 0 && self.follow_program()
    }
}

/// How high the room for a recursion may lift the automatic bound: 192
/// KiB. CPython holds one zombie per code plus its free list;
/// a small program's deep recursion fills that list (legacy's peak on the
/// tuning half's recursion traces: 172 to 202 KiB). In a program with
/// thousands of codes and frames live at once (asyncio), the codes' share
/// alone is already near CPython's peak, and adding a full free list on
/// top went past it (1.04x to 1.06x). The frames re-entries left are not
/// held to it: they are counted one by one as CPython's list takes and
/// gives them, and where the codes' share passed the ceiling (a program
/// of hundreds of methods, some now and then running twice at once) that
/// room was none, and every such second frame asked the system
/// (BENCHMARKS.md, "Why the defaults").
const RECURSION_CEILING: u64 = 192 * 1024;

/// How many misses the mean in `Bound::mixed_weight` mostly weighs (a
/// running mean, each miss weighing 1/32): 16 to 64 meet the same targets
/// on the tuning half (BENCHMARKS.md, "Why the defaults").
const MIX_MISSES: u64 = 32;

/// The automatic bound, within the floor and the ceiling: CPython's
/// zombies (`zombie_bytes`: one block of each live code whose frame has
/// come back), plus room for what CPython's free list would hold, one
/// list for both, so the larger, not the sum: the frames re-entries
/// left (`reentries`), or the deepest recursion seen (`deep`), which may
/// lift the sum up to `RECURSION_CEILING` only.
fn auto_bound(zombie_bytes: u64, deep: u64, reentries: u64) -> usize {
    let floor = ZF_AUTO_BOUND_FLOOR as u64;
    let ceiling = ZF_AUTO_BOUND_CEILING as u64;
    let recursion = (zombie_bytes + deep).min(RECURSION_CEILING);
    (zombie_bytes + reentries).max(recursion).clamp(floor, ceiling) as usize
}
