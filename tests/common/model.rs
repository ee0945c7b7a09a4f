//! The reference model of the policy: plain vectors and loops, no
//! pointers, fed the same operations as a pool and asked what the pool
//! must answer (which frame, which stats). One file, used as a module by
//! the model test (`tests/model.rs`) and the `ops` fuzzer
//! (`fuzz/fuzz_targets/ops.rs`), so the two never drift apart. Beside it:
//! a leak-counting allocator hook, the fill and check of a frame's bytes,
//! and a line-for-line copy of the header's inline acquire and release.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::ptr;
use zombie_frames::*;

const HEADER: u64 = ZF_HEADER_BYTES as u64;
/// The most the room for recursion lifts the automatic bound to.
const RECURSION_CEILING: u64 = 192 * 1024;

/// Bytes the hooks handed out and took back, to prove nothing leaks.
#[derive(Default)]
pub struct Ledger {
    pub allocs: u64,
    pub frees: u64,
    pub bytes_out: i64,
}

pub unsafe extern "C" fn ledger_alloc(ctx: *mut c_void, size: usize) -> *mut c_void {
    let ledger = unsafe { &mut *ctx.cast::<Ledger>() };
    ledger.allocs += 1;
    ledger.bytes_out += size as i64;
    let mut p = ptr::null_mut();
    assert_eq!(unsafe { libc::posix_memalign(&mut p, 16, size) }, 0);
    p
}

pub unsafe extern "C" fn ledger_dealloc(ctx: *mut c_void, p: *mut c_void, size: usize) {
    let ledger = unsafe { &mut *ctx.cast::<Ledger>() };
    ledger.frees += 1;
    ledger.bytes_out -= size as i64;
    unsafe { libc::free(p) };
}

/// What a test writes over a caller's `ZfCodeHot` once its code is freed:
/// the library must never touch it again.
const POISON: u8 = 0x5a;

/// A `ZfCodeHot` of the caller's own, for zf_code_new_with_hot; give it
/// back with `drop_hot`.
pub fn new_hot() -> *mut ZfCodeHot {
    Box::into_raw(Box::new(ZfCodeHot::inert()))
}

/// A state from `new_hot`, its code freed: true when the library left it
/// as the test did, inert or poisoned (`MCode::forget_hot`).
///
/// # Safety
/// `hot` came from `new_hot`, and is dropped here.
pub unsafe fn drop_hot(hot: *mut ZfCodeHot) -> bool {
    // SAFETY: from Box::into_raw (`new_hot`), its code freed.
    let hot = unsafe { Box::from_raw(hot) };
    // SAFETY: the box's own bytes.
    let bytes = unsafe { std::slice::from_raw_parts((&*hot as *const ZfCodeHot).cast::<u8>(), size_of::<ZfCodeHot>()) };
    hot.is_inert() || bytes.iter().all(|&b| b == POISON)
}

/// One code object, as the model sees it.
pub struct MCode {
    pub handle: *mut ZfCode,
    /// The inline state the header's pair is given: the handle's own, or
    /// the caller's (`zf_code_new_with_hot`).
    pub inline: *mut ZfCodeHot,
    pub frame_bytes: usize,
    /// Block bytes of its size class.
    bytes: u64,
    /// The zombie in the hot state's slot, which an acquire takes first;
    /// then the hot zombies, top last; under them, the cold ones no
    /// acquire touched since the last sweep.
    slot: Option<usize>,
    hot: Vec<usize>,
    cold: Vec<usize>,
    /// Whether the slot holds a unit of the allowance (free or full).
    slot_open: bool,
    /// Free units besides the slot: zombies + free units = slots.
    room: u32,
    used: bool,
    in_ring: bool,
    pub freed: bool,
    live: usize,
    /// Hits and releases the inline path made since the library last
    /// looked at this code (it counts them then).
    unseen_hits: u64,
    unseen_releases: u64,
    /// A frame of it came back while it lived (what CPython keeps as its
    /// zombie): counts in the automatic bound.
    counted: bool,
    /// Full collections in a row through which its list was untouched.
    idle: u32,
}

impl MCode {
    fn len(&self) -> usize {
        self.hot.len() + self.cold.len() + self.slot.is_some() as usize
    }

    fn slots(&self) -> u32 {
        self.len() as u32 + self.free()
    }

    /// Free units: the slot when open and empty, and the room.
    fn free(&self) -> u32 {
        self.room + (self.slot_open && self.slot.is_none()) as u32
    }

    /// A shut slot takes a free room unit, if any.
    fn open_slot(&mut self) {
        if !self.slot_open && self.room > 0 {
            self.room -= 1;
            self.slot_open = true;
        }
    }

    /// One more unit: the slot if shut, else room.
    fn grant(&mut self) {
        match self.slot_open {
            false => self.slot_open = true,
            true => self.room += 1,
        }
    }

    /// A cached release: into the empty slot, else onto the stack if it
    /// has room; false if neither.
    fn give(&mut self, addr: usize) -> bool {
        if self.slot_open && self.slot.is_none() {
            self.slot = Some(addr);
        } else if self.room > 0 {
            self.room -= 1;
            self.hot.push(addr);
        } else {
            return false;
        }
        true
    }

    /// The slot's zombie out; the slot shuts, or opens with a room unit.
    fn take_slot(&mut self) -> Option<usize> {
        let addr = self.slot.take()?;
        self.slot_open = false;
        self.open_slot();
        Some(addr)
    }

    /// At a sweep: the slot's and the hot zombies become cold.
    fn cool_down(&mut self) {
        let hot = std::mem::take(&mut self.hot);
        self.cold.extend(hot);
        if let Some(addr) = self.take_slot() {
            self.cold.push(addr);
        }
    }
}

/// How the allocator answers an acquire's requests for a block (the ops
/// fuzzer's allocator hook refuses some; the model test's never does).
#[allow(dead_code)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Alloc {
    Gives,
    /// The first request is refused, the retry after the clear given.
    RefusesOnce,
    /// Every request is refused.
    Refuses,
}

/// Where an acquire's frame must come from.
pub enum Want {
    Zombie(usize),
    Reserve(usize),
    Fresh,
}

pub struct Model {
    /// The library's bytes in front of a frame: 0 for a per-code pool of
    /// prefixed frames (`ZF_FLAG_FRAME_PREFIX`), whose block is the frame.
    header: u64,
    per_code_max: u32,
    /// `budget_bytes`; 0: the automatic bound.
    budget: u64,
    sweep_every: u64,
    sweep_at: u64,
    reserve_max: usize,
    sweep_generation: u32,
    pub codes: Vec<MCode>,
    /// Every block the pool holds, live or cached: address -> bytes.
    blocks: HashMap<usize, u64>,
    /// Retired frames, top last, and the fewest held since the last sweep.
    pub reserve: Vec<usize>,
    reserve_low: usize,
    ring: Vec<usize>,
    hand: usize,
    pub s: ZfStats,
    /// Live frames and releases as the library has counted them: what the
    /// live peak and the sweep countdown read.
    seen_live: u64,
    seen_releases: u64,
    /// The live count as misses see it: its lowest since the last exact
    /// look at the peak, and the count past which the next look is due.
    live_low: u64,
    live_look: u64,
    /// Block bytes (at the size asked) of the deepest recursion a miss saw
    /// since the last full collection, up to 200 frames: the room the
    /// automatic bound makes for recursion.
    deep: u64,
    /// The code whose recursion made it.
    deep_code: Option<usize>,
    /// Frames the ends of re-entries put in CPython's free list (up to
    /// 200), less those the misses of a code's first or second frame took
    /// since, and their bytes: the other room the automatic bound makes
    /// for it.
    reentry_frames: u64,
    reentry_bytes: u64,
    /// 32 times the running mean of the block bytes of the latest such
    /// misses past half the limit, where the room is counted at that mean
    /// if it is less than the code's.
    mix: u64,
    /// `ZF_POLICY_LEGACY`: CPython's scheme (one zombie per code, a free
    /// list of 200 frames of any size, no bound), every call slow.
    legacy: bool,
    /// Under legacy, each block's frame capacity: the frame bytes of the
    /// code it was made for (a reserve frame too small for a code is
    /// replaced, `reallocs`).
    caps: HashMap<usize, usize>,
}

impl Model {
    /// A frame's block at the size asked, as the automatic bound counts the
    /// room for CPython's free list.
    fn asked_bytes(&self, frame_bytes: usize) -> u64 {
        self.header + frame_bytes.next_multiple_of(16) as u64
    }

    /// The block of a frame's size class, worked out independently of the
    /// library: the block at the size asked (at least 32 bytes), rounded
    /// up to a sixteenth of its power of two, at least 16.
    fn class_bytes(&self, frame_bytes: usize) -> u64 {
        if self.legacy {
            // Legacy blocks keep the size asked, as CPython's do.
            return self.asked_bytes(frame_bytes);
        }
        let block = self.asked_bytes(frame_bytes).max(32);
        let power = 1u64 << (u64::BITS - 1 - block.leading_zeros());
        block.next_multiple_of((power / 16).max(16))
    }

    pub fn new(cfg: &ZfConfig) -> Model {
        let every = cfg.sweep_every as u64;
        // A traced or debug pool is watched, and keeps its header in front
        // of a prefix.
        let legacy = cfg.policy == ZF_POLICY_LEGACY;
        let watched = !cfg.trace_path.is_null() || cfg.flags & ZF_FLAG_DEBUG != 0 || legacy;
        let prefixed = cfg.flags & ZF_FLAG_FRAME_PREFIX != 0 && !watched;
        // Legacy ignores per_code_max, sweep_every and reserve_max: one
        // zombie per code, no sweep, CPython's free list of 200.
        let every = if legacy { 0 } else { every };
        Model {
            header: if prefixed { 0 } else { HEADER },
            per_code_max: if legacy { 1 } else { cfg.per_code_max },
            budget: cfg.budget_bytes as u64,
            sweep_every: every,
            sweep_at: if every == 0 { u64::MAX } else { every },
            reserve_max: if legacy { 200 } else { cfg.reserve_max as usize },
            sweep_generation: cfg.sweep_generation,
            codes: vec![],
            blocks: HashMap::new(),
            reserve: vec![],
            reserve_low: 0,
            ring: vec![],
            hand: 0,
            s: ZfStats::default(),
            seen_live: 0,
            seen_releases: 0,
            live_low: 0,
            live_look: 0,
            deep: 0,
            deep_code: None,
            reentry_frames: 0,
            reentry_bytes: 0,
            mix: 0,
            legacy,
            caps: HashMap::new(),
        }
    }

    /// The library looks at a code: what the inline path did is counted.
    fn sync(&mut self, ci: usize) {
        let c = &mut self.codes[ci];
        self.seen_live = self.seen_live + c.unseen_hits - c.unseen_releases;
        self.seen_releases += c.unseen_releases;
        c.unseen_hits = 0;
        c.unseen_releases = 0;
        c.open_slot();
    }

    /// A code from zf_code_new (`inline`: `handle`'s own state) or from
    /// zf_code_new_with_hot (`inline`: the state it was given).
    pub fn new_code(&mut self, handle: *mut ZfCode, inline: *mut ZfCodeHot, frame_bytes: usize) {
        self.codes.push(MCode {
            handle,
            inline,
            frame_bytes,
            bytes: self.class_bytes(frame_bytes),
            slot: None,
            hot: vec![],
            cold: vec![],
            slot_open: false,
            room: 0,
            used: false,
            in_ring: false,
            freed: false,
            live: 0,
            unseen_hits: 0,
            unseen_releases: 0,
            counted: false,
            idle: 0,
        });
        self.s.codes += 1;
        self.s.codes_created += 1;
    }

    /// The bound in force: the budget, or with budget 0 one block (its
    /// size class's) of every live code whose frame has come back once
    /// (`counted`), plus the room for CPython's free list: the frames
    /// re-entries left there (`reentry_bytes`), or the deepest recursion
    /// (`deep`) if that is more, which may lift the sum up to
    /// `RECURSION_CEILING` only; within floor and ceiling.
    pub fn bound(&self) -> u64 {
        if self.legacy {
            return u64::MAX; // CPython's own rules bound it
        }
        if self.budget != 0 {
            return self.budget;
        }
        // One block of each code counted, as the pool holds it (its class's).
        let zombies: u64 = self.codes.iter().filter(|c| c.counted && !c.freed).map(|c| c.bytes).sum();
        let clamp = |b: u64| b.clamp(ZF_AUTO_BOUND_FLOOR as u64, ZF_AUTO_BOUND_CEILING as u64);
        clamp(zombies + self.reentry_bytes).max(clamp((zombies + self.deep).min(RECURSION_CEILING)))
    }

    pub fn allowance(&self) -> u64 {
        self.codes.iter().map(|c| c.free() as u64 * c.bytes).sum()
    }

    /// What the budget bounds: zombies, the reserve and every room.
    fn committed(&self) -> u64 {
        self.s.cached_bytes + self.allowance()
    }

    fn raise_peak(&mut self) {
        self.s.allowance_bytes = self.allowance();
        self.s.peak_cached_bytes = self.s.peak_cached_bytes.max(self.committed());
    }

    fn cache(&mut self, addr: usize) {
        self.s.cached_frames += 1;
        self.s.cached_bytes += self.blocks[&addr];
    }

    fn uncache(&mut self, addr: usize) {
        self.s.cached_frames -= 1;
        self.s.cached_bytes -= self.blocks[&addr];
    }

    fn free(&mut self, addr: usize) {
        self.blocks.remove(&addr);
        self.caps.remove(&addr);
        self.s.frees += 1;
    }

    /// An acquire with an allocator that always gives (the model test's).
    #[allow(dead_code)]
    pub fn acquire(&mut self, ci: usize) -> Want {
        self.try_acquire(ci, Alloc::Gives).expect("an allocator that gives")
    }

    /// An acquire whose requests for a block the allocator answers as
    /// `alloc` says; None when it returns NULL.
    pub fn try_acquire(&mut self, ci: usize, alloc: Alloc) -> Option<Want> {
        if self.legacy {
            return self.acquire_legacy(ci, alloc);
        }
        self.s.acquires += 1;
        self.s.live_frames += 1;
        self.codes[ci].live += 1;
        // The slot's or a hot zombie: the inline path's hit, counted at the
        // next look.
        let c = &mut self.codes[ci];
        let hit = c.slot.take().or_else(|| c.hot.pop().inspect(|_| c.room += 1));
        if let Some(addr) = hit {
            let c = &mut self.codes[ci];
            c.unseen_hits += 1;
            c.used = true;
            self.uncache(addr);
            self.s.zombie_hits += 1;
            self.s.allowance_bytes = self.allowance();
            return Some(Want::Zombie(addr));
        }
        self.sync(ci);
        self.seen_live += 1;
        let c = &mut self.codes[ci];
        c.used = true;
        if let Some(addr) = c.cold.pop() {
            c.room += 1;
            c.open_slot();
            self.uncache(addr);
            self.s.zombie_hits += 1;
            self.s.allowance_bytes = self.allowance();
            return Some(Want::Zombie(addr));
        }
        let c = &self.codes[ci];
        let (depth, weight) = (c.live as u64 - 1, self.asked_bytes(c.frame_bytes));
        // CPython serves a code's first frame (none back yet) and its
        // second (a re-entry) from its free list: a re-entry's frame there,
        // of the mean size, leaves it. A recursion's deeper frames come back.
        let auto = self.budget == 0 && !self.legacy;
        if auto && (depth == 1 || !c.counted) && self.reentry_frames > 0 {
            self.reentry_bytes -= self.reentry_bytes / self.reentry_frames;
            self.reentry_frames -= 1;
        }
        // A miss with frames of its code live: CPython's free list would
        // keep that many (up to 200) when the recursion returns.
        if depth > 0 && depth <= 200 {
            // Past half its limit: the running mean, where less than its own.
            let mut mixed = weight;
            if depth > self.per_code_max.div_ceil(2) as u64 {
                self.mix = if self.mix == 0 { 32 * weight } else { self.mix - self.mix / 32 + weight };
                mixed = self.mix / 32;
            }
            let deep = depth * weight.min(mixed);
            if deep > self.deep {
                self.deep = deep;
                self.deep_code = Some(ci);
            }
        }
        let bytes = self.codes[ci].bytes;
        if let Some(i) = self.reserve.iter().rposition(|a| self.blocks[a] == bytes) {
            let addr = self.reserve.remove(i);
            self.reserve_low = self.reserve_low.min(self.reserve.len());
            self.uncache(addr);
            self.s.shared_hits += 1;
            // What no longer fits the bound goes once the frame is out.
            self.trim();
            self.look_at_live();
            return Some(Want::Reserve(addr));
        }
        self.trim();
        if !self.system_block(alloc) {
            // Refused: nothing of the acquire is counted; what came before
            // the request stays (the sync, the code used, the depth noted).
            self.s.acquires -= 1;
            self.s.live_frames -= 1;
            self.codes[ci].live -= 1;
            self.seen_live -= 1;
            return None;
        }
        // Looked at once the frame is counted live: after the clear a
        // refusal may have made.
        self.look_at_live();
        self.s.fresh_allocs += 1;
        Some(Want::Fresh)
    }

    /// The peak is raised only to an exact count (the unseen work of
    /// every code with an allowance added in), looked at once the
    /// count has grown, since the last look or its lowest after, past
    /// the peak by a margin: an eighth of it, or as many as those
    /// codes, the smaller. When the count holds more than the margin of
    /// frames other codes returned unseen, the look counts every code's
    /// work, as their syncs would.
    fn look_at_live(&mut self) {
        let mut live = self.seen_live;
        if live > self.live_look || live < self.live_low {
            if live > self.live_look {
                let unseen: i64 = self
                    .ring
                    .iter()
                    .map(|&cj| self.codes[cj].unseen_hits as i64 - self.codes[cj].unseen_releases as i64)
                    .sum();
                let exact = (live as i64 + unseen) as u64;
                self.s.peak_live_frames = self.s.peak_live_frames.max(exact);
                if live.saturating_sub(exact) > self.live_margin() {
                    for cj in self.ring.clone() {
                        self.sync(cj);
                    }
                    live = self.seen_live;
                }
            }
            self.live_low = live;
            self.live_look = live.max(self.s.peak_live_frames) + self.live_margin();
        }
    }

    fn live_margin(&self) -> u64 {
        (self.s.peak_live_frames / 8).min(self.ring.len() as u64)
    }

    /// The system asked for a block, answering as `alloc` says: refused,
    /// every cached frame goes (a clear, when there is one) and it is asked
    /// once more (docs/API.md, `zf_frame_acquire`). True when it gave one.
    fn system_block(&mut self, alloc: Alloc) -> bool {
        if alloc == Alloc::Gives {
            return true;
        }
        if self.s.cached_frames == 0 {
            return false;
        }
        self.clear();
        alloc == Alloc::RefusesOnce
    }

    /// Legacy's acquire: the code's one zombie (its place goes with it),
    /// else the head of the free list, replaced by a new block when too
    /// small for the code, else a new block. The live peak is exact. A
    /// refused block leaves the acquire uncounted; a head too small then
    /// goes back to the system.
    fn acquire_legacy(&mut self, ci: usize, alloc: Alloc) -> Option<Want> {
        let c = &mut self.codes[ci];
        if let Some(addr) = c.slot.take() {
            c.slot_open = false;
            self.uncache(addr);
            self.s.zombie_hits += 1;
            return Some(self.count_legacy(ci, Want::Zombie(addr)));
        }
        let Some(addr) = self.reserve.pop() else {
            if !self.system_block(alloc) {
                return None;
            }
            self.s.fresh_allocs += 1;
            return Some(self.count_legacy(ci, Want::Fresh));
        };
        self.uncache(addr);
        if self.caps[&addr] >= self.codes[ci].frame_bytes {
            self.s.shared_hits += 1;
            return Some(self.count_legacy(ci, Want::Reserve(addr)));
        }
        if !self.system_block(alloc) {
            self.free(addr);
            return None;
        }
        // A resize, not a free: `frees` does not count the old block.
        self.blocks.remove(&addr);
        self.caps.remove(&addr);
        self.s.reallocs += 1;
        Some(self.count_legacy(ci, Want::Fresh))
    }

    /// A legacy acquire that returned a frame, counted.
    fn count_legacy(&mut self, ci: usize, want: Want) -> Want {
        self.s.acquires += 1;
        self.s.live_frames += 1;
        self.s.peak_live_frames = self.s.peak_live_frames.max(self.s.live_frames);
        self.codes[ci].live += 1;
        want
    }

    /// Blocks the pool holds, live or cached: a debug pool's record of
    /// frames holds as many.
    #[allow(dead_code)]
    pub fn blocks_held(&self) -> usize {
        self.blocks.len()
    }

    /// Every frame the pool caches now: zombies and the reserve (what the
    /// ops fuzzer releases again to a debug pool; the model test does not).
    #[allow(dead_code)]
    pub fn cached(&self) -> Vec<usize> {
        let zombies = self.codes.iter().flat_map(|c| c.slot.iter().chain(&c.hot).chain(&c.cold));
        zombies.chain(&self.reserve).copied().collect()
    }

    /// A fresh block was handed out at `addr` for `ci`: no block the pool
    /// holds, live or cached, is there.
    pub fn fresh(&mut self, ci: usize, addr: usize) {
        let old = self.blocks.insert(addr, self.codes[ci].bytes);
        assert!(old.is_none(), "a fresh block at the address of one the pool holds");
        self.caps.insert(addr, self.codes[ci].frame_bytes);
    }

    /// Takes out one zombie with its slot: the coldest first, or the one an
    /// acquire would take next.
    fn take_out(&mut self, ci: usize, coldest_first: bool) -> Option<usize> {
        let c = &mut self.codes[ci];
        let addr = match coldest_first {
            true => c.cold.pop().or_else(|| c.hot.pop()).or_else(|| c.take_slot()),
            false => c.take_slot().or_else(|| c.hot.pop()).or_else(|| c.cold.pop()),
        }?;
        self.uncache(addr);
        if self.codes[ci].slots() == 0 {
            self.unlink(ci);
        }
        Some(addr)
    }

    fn revoke(&mut self, ci: usize, most: u32) {
        let c = &mut self.codes[ci];
        let room = c.room.min(most);
        c.room -= room;
        if room < most && c.slot_open && c.slot.is_none() {
            c.slot_open = false;
        }
        self.s.allowance_bytes = self.allowance();
        if self.codes[ci].slots() == 0 {
            self.unlink(ci);
        }
    }

    /// To the reserve if it has room within the budget, else freed; true when kept.
    fn retire(&mut self, addr: usize) -> bool {
        if self.reserve.len() < self.reserve_max && self.committed() + self.blocks[&addr] <= self.bound() {
            self.reserve.push(addr);
            self.cache(addr);
            self.raise_peak();
            return true;
        }
        self.free(addr);
        false
    }

    pub fn release(&mut self, ci: usize, addr: usize) {
        if self.legacy {
            return self.release_legacy(ci, addr);
        }
        self.s.releases += 1;
        self.s.live_frames -= 1;
        self.codes[ci].live -= 1;
        if self.codes[ci].give(addr) {
            let c = &mut self.codes[ci];
            c.unseen_releases += 1;
            self.cache(addr);
            self.s.allowance_bytes = self.allowance();
            return;
        }
        self.sync(ci);
        self.seen_live -= 1;
        self.seen_releases += 1;
        if !self.codes[ci].counted && !self.codes[ci].freed {
            // Its first frame back, which stays as the code's zombie, out of
            // the room (CPython's free list handed it out), unless the room
            // is this code's own recursion's.
            self.codes[ci].counted = true;
            if self.deep_code != Some(ci) {
                self.deep = self.deep.saturating_sub(self.codes[ci].bytes);
            }
        }
        let limit = if self.codes[ci].freed { 0 } else { self.per_code_max };
        let need = self.codes[ci].bytes;
        // Below half the limit, room is made if need be; above, only free
        // room is taken. No second slot for a code's last live frame (the
        // end of a re-entry: `Code::ends_reentry`).
        let slots = self.codes[ci].slots();
        // A re-entry's end, whatever the limit: its second frame goes to
        // CPython's free list, and the bound makes room for it there.
        let auto = self.budget == 0 && !self.legacy;
        if auto && slots == 1 && self.codes[ci].live == 0 && self.reentry_frames < 200 {
            self.reentry_frames += 1;
            self.reentry_bytes += self.codes[ci].bytes;
        }
        let granted = slots < limit
            && (slots != 1 || self.codes[ci].live > 0)
            && match slots < limit.div_ceil(2) {
                true => self.fits(ci, need),
                false => self.committed() + need <= self.bound(),
            };
        if granted {
            // A slot granted and filled at once.
            self.s.peak_cached_bytes = self.s.peak_cached_bytes.max(self.committed() + need);
            let c = &mut self.codes[ci];
            c.grant();
            assert!(c.give(addr));
            if !c.in_ring {
                c.in_ring = true;
                self.ring.push(ci);
            }
            self.cache(addr);
        } else {
            self.retire(addr);
        }
        if self.seen_releases >= self.sweep_at {
            self.sweep();
        }
    }

    /// Legacy's release: the code's one zombie if it has none and lives,
    /// else onto the free list while it holds fewer than 200, else freed.
    fn release_legacy(&mut self, ci: usize, addr: usize) {
        self.s.releases += 1;
        self.s.live_frames -= 1;
        let c = &mut self.codes[ci];
        c.live -= 1;
        if !c.freed && c.slot.is_none() {
            c.slot = Some(addr);
            c.slot_open = true;
            self.cache(addr);
            self.s.peak_cached_bytes = self.s.peak_cached_bytes.max(self.committed());
        } else {
            self.retire(addr);
        }
    }

    fn fits(&mut self, ci: usize, need: u64) -> bool {
        let bound = self.bound();
        if self.committed() + need <= bound {
            return true;
        }
        self.codes[ci].used = true;
        if need > bound {
            return false;
        }
        while self.committed() + need > bound {
            match self.clock_victim() {
                Some(v) if v != ci => {
                    if self.codes[v].free() > 0 {
                        self.revoke(v, 1);
                    } else if let Some(addr) = self.take_out(v, true) {
                        self.free(addr);
                        self.s.evicted_frees += 1;
                    }
                }
                _ => return false,
            }
        }
        true
    }

    /// A code with room is a victim at once; else one not used since the hand passed.
    fn clock_victim(&mut self) -> Option<usize> {
        for _ in 0..=2 * self.ring.len() {
            if self.ring.is_empty() {
                return None;
            }
            let ci = self.ring[self.hand];
            self.hand = (self.hand + 1) % self.ring.len();
            self.sync(ci);
            let c = &mut self.codes[ci];
            if c.free() > 0 || !std::mem::replace(&mut c.used, false) {
                return Some(ci);
            }
        }
        None
    }

    fn unlink(&mut self, ci: usize) {
        if !self.codes[ci].in_ring {
            return;
        }
        self.codes[ci].in_ring = false;
        let i = self.ring.iter().position(|&x| x == ci).unwrap();
        self.ring.remove(i);
        if i < self.hand {
            self.hand -= 1;
        }
        if self.hand >= self.ring.len() {
            self.hand = 0;
        }
    }

    pub fn collect(&mut self, generation: u32) {
        if self.legacy {
            // A full collection empties CPython's free list.
            if generation >= 2 {
                self.s.sweeps += 1;
                self.drain_reserve();
            }
            return;
        }
        // A full collection empties CPython's free list: the room for it
        // goes, and the cache is trimmed to the bound left.
        if generation >= 2 && self.deep.max(self.reentry_bytes) > 0 {
            self.deep = 0;
            self.deep_code = None;
            self.reentry_frames = 0;
            self.reentry_bytes = 0;
            // The reserve, which holds what that list would, gives back first.
            while self.committed() > self.bound() && self.evict_reserve_frame() {}
            self.trim();
        }
        if generation >= self.sweep_generation {
            self.sweep();
        } else if generation >= 2 {
            self.age_idle();
        }
    }

    /// A full collection that does not sweep: a list untouched through
    /// more than 4 in a row frees half its zombies (it keeps the last).
    fn age_idle(&mut self) {
        for ci in self.ring.clone() {
            self.sync(ci);
            let c = &mut self.codes[ci];
            let len = c.len();
            c.idle = if len > 0 && c.cold.len() == len { c.idle + 1 } else { 0 };
            if c.idle > 4 {
                for _ in 0..len / 2 {
                    let addr = self.take_out(ci, true).unwrap();
                    self.free(addr);
                    self.s.aged_frees += 1;
                }
            }
            self.codes[ci].cool_down();
        }
        self.s.sweeps += 1;
    }

    /// The reserve frame aging and trimming give back first: of the
    /// smallest class held, the last retired.
    fn reserve_smallest(&mut self) -> Option<usize> {
        let least = self.reserve.iter().map(|a| self.blocks[a]).min()?;
        let i = self.reserve.iter().rposition(|a| self.blocks[a] == least)?;
        Some(self.reserve.remove(i))
    }

    fn sweep(&mut self) {
        let drop = self.reserve_low.div_ceil(4);
        for _ in 0..drop {
            let addr = self.reserve_smallest().unwrap();
            self.uncache(addr);
            self.free(addr);
        }
        self.s.aged_frees += drop as u64;
        for ci in self.ring.clone() {
            self.sync(ci);
            let low = self.codes[ci].cold.len() as u32;
            let drop = if low > 1 { low / 2 } else { low };
            for _ in 0..drop {
                let addr = self.take_out(ci, true).unwrap();
                self.s.aged_frees += !self.retire(addr) as u64;
            }
            self.codes[ci].cool_down();
        }
        self.reserve_low = self.reserve.len();
        self.s.sweeps += 1;
        self.sweep_at = if self.sweep_every == 0 { u64::MAX } else { self.seen_releases + self.sweep_every };
    }

    fn drain_reserve(&mut self) {
        while let Some(addr) = self.reserve.pop() {
            self.uncache(addr);
            self.free(addr);
        }
        self.reserve_low = 0;
    }

    pub fn clear(&mut self) {
        self.drain_reserve();
        if self.legacy {
            for ci in 0..self.codes.len() {
                self.free_legacy_zombie(ci);
            }
            return;
        }
        while let Some(&ci) = self.ring.first() {
            self.sync(ci);
            while let Some(addr) = self.take_out(ci, false) {
                self.free(addr);
            }
            self.revoke(ci, u32::MAX);
        }
        self.hand = 0;
    }

    /// Its room goes, then the bound shrinks (its zombies retire within
    /// what is left, or what others hold spare), then the cache is trimmed
    /// to the bound.
    pub fn free_code(&mut self, ci: usize) {
        if self.legacy {
            // As CPython frees a dead code's zombie.
            self.codes[ci].freed = true;
            self.s.codes -= 1;
            return self.free_legacy_zombie(ci);
        }
        self.sync(ci);
        self.revoke(ci, u32::MAX);
        self.codes[ci].freed = true;
        self.s.codes -= 1;
        while let Some(addr) = self.take_out(ci, false) {
            if self.reserve.len() < self.reserve_max {
                self.spare_room(ci, self.blocks[&addr]);
            }
            self.retire(addr);
        }
        self.trim();
    }

    fn free_legacy_zombie(&mut self, ci: usize) {
        let c = &mut self.codes[ci];
        c.slot_open = false;
        if let Some(addr) = c.slot.take() {
            self.uncache(addr);
            self.free(addr);
        }
    }

    /// Up to 32 codes from the hand (not `ci`), those with two slots or
    /// more, give up their room and every zombie but one, coldest first,
    /// until `need` fits; no walk when no code has two slots.
    fn spare_room(&mut self, ci: usize, need: u64) {
        for _ in 0..self.ring.len().min(32) {
            let multi = self.ring.iter().any(|&v| self.codes[v].slots() >= 2);
            if self.committed() + need <= self.bound() || !multi {
                return;
            }
            let v = self.ring[self.hand];
            self.hand = (self.hand + 1) % self.ring.len();
            if v == ci || self.codes[v].slots() < 2 {
                continue;
            }
            self.sync(v);
            self.revoke(v, u32::MAX);
            while self.codes[v].len() > 1 && self.committed() + need > self.bound() {
                let addr = self.take_out(v, true).unwrap();
                self.free(addr);
                self.s.evicted_frees += 1;
            }
        }
    }

    /// The clock takes room and zombies from any code, then the reserve
    /// gives back its smallest frames, until the cache fits the bound.
    fn trim(&mut self) {
        while self.committed() > self.bound() {
            if let Some(v) = self.clock_victim() {
                if self.codes[v].free() > 0 {
                    self.revoke(v, 1);
                } else if let Some(addr) = self.take_out(v, true) {
                    self.free(addr);
                    self.s.evicted_frees += 1;
                }
            } else if !self.evict_reserve_frame() {
                break;
            }
        }
    }

    /// The reserve's smallest frame freed to fit the bound; false when
    /// the reserve is empty.
    fn evict_reserve_frame(&mut self) -> bool {
        let Some(addr) = self.reserve_smallest() else { return false };
        self.reserve_low = self.reserve_low.min(self.reserve.len());
        self.uncache(addr);
        self.free(addr);
        self.s.evicted_frees += 1;
        true
    }
}

/// Writes every byte of a live frame of `len` bytes that starts `prefix`
/// (0, or `ZfConfig::prefix()` under `ZF_FLAG_FRAME_PREFIX`) bytes before
/// `frame`.
pub fn fill(frame: *mut u8, prefix: usize, len: usize, seed: u64) {
    // SAFETY: the frame's `len` bytes start `prefix` bytes before `frame`.
    let bytes = unsafe { std::slice::from_raw_parts_mut(frame.sub(prefix), len) };
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (seed as usize).wrapping_add(i.wrapping_mul(31)) as u8;
    }
}

/// Whether a zombie holds what `fill` wrote, but for the word before
/// `frame` when the library keeps its link there (a prefix's last word, in
/// a pool that is not `watched`: a debug or traced pool keeps its header,
/// and the link in it).
pub fn holds(frame: *const u8, prefix: usize, len: usize, seed: u64, watched: bool) -> bool {
    // SAFETY: as in `fill`.
    let bytes = unsafe { std::slice::from_raw_parts(frame.sub(prefix), len) };
    let linked = if watched { 0 } else { prefix };
    let link = linked.saturating_sub(8)..linked; // empty without a prefix
    bytes
        .iter()
        .enumerate()
        .all(|(i, &b)| link.contains(&i) || b == (seed as usize).wrapping_add(i.wrapping_mul(31)) as u8)
}

impl MCode {
    /// After zf_code_free: a caller's state (zf_code_new_with_hot) must be
    /// inert; it is poisoned (`drop_hot` checks it), and the code's live
    /// frames go through the handle's own state, inert, as a caller may.
    /// False when the state was not inert.
    ///
    /// # Safety
    /// `inline` is the handle's own state or one from `new_hot`, its code
    /// freed.
    pub unsafe fn forget_hot(&mut self) -> bool {
        if self.inline == self.handle.cast() {
            return true;
        }
        // SAFETY: a state from `new_hot`, alive until `drop_hot`.
        let inert = unsafe { (*self.inline).is_inert() };
        // SAFETY: as above; the library no longer uses it.
        unsafe { self.inline.cast::<u8>().write_bytes(POISON, size_of::<ZfCodeHot>()) };
        self.inline = self.handle.cast();
        inert
    }
}

/// The header's inline zf_hot_hit, line for line: the inline state's
/// zombie, counted as a hit, or null.
///
/// # Safety
/// `hot` is the inline state of a live code of a live pool.
pub unsafe fn hit_fast(hot: *mut ZfCodeHot) -> *mut c_void {
    // SAFETY: valid by the contract.
    let hot = unsafe { &*hot };
    let mut frame = hot.slot.get();
    if frame as usize > ZF_SLOT_SHUT {
        hot.slot.set(std::ptr::null_mut());
    } else {
        frame = hot.top.get();
        if frame.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: `top` is a zombie's frame; the word before it is the next one.
        hot.top.set(unsafe { *frame.cast::<*mut c_void>().sub(1) });
        hot.room.set(hot.room.get() + 1);
    }
    hot.hits.set(hot.hits.get() + 1);
    frame
}

/// The header's inline zf_frame_acquire_fast, line for line, with the hit
/// on `hot` (the code's own state, or its zf_code_new_with_hot state).
///
/// # Safety
/// `code` is a live code of a live pool and `hot` its inline state;
/// `is_zombie` is null or points to a writable int.
pub unsafe fn acquire_fast(hot: *mut ZfCodeHot, code: *mut ZfCode, is_zombie: *mut c_int) -> *mut c_void {
    // SAFETY: forwarded contract.
    let frame = unsafe { hit_fast(hot) };
    if frame.is_null() {
        let mut zombie = 0;
        // SAFETY: forwarded contract.
        let frame = unsafe { zf_frame_acquire_slow(code, &mut zombie) };
        if !frame.is_null() && !is_zombie.is_null() {
            // SAFETY: writable, by the contract.
            unsafe { *is_zombie = zombie };
        }
        return frame;
    }
    if !is_zombie.is_null() {
        // SAFETY: writable, by the contract.
        unsafe { *is_zombie = 1 };
    }
    frame
}

/// The header's inline zf_hot_give, line for line: true when the inline
/// state took the frame.
///
/// # Safety
/// `hot` is a live code's inline state; `frame` a live frame acquired for it.
pub unsafe fn give_fast(hot: *mut ZfCodeHot, frame: *mut c_void) -> bool {
    // SAFETY: valid by the contract.
    let hot = unsafe { &*hot };
    if hot.slot.get().is_null() {
        hot.slot.set(frame);
        return true;
    }
    if hot.room.get() != 0 {
        // SAFETY: a live frame of ours: the word before it is the library's link.
        unsafe { *frame.cast::<*mut c_void>().sub(1) = hot.top.get() };
        hot.top.set(frame);
        hot.room.set(hot.room.get() - 1);
        return true;
    }
    false
}

/// The header's inline zf_frame_release_fast, line for line, with the
/// give on `hot` (as `acquire_fast`).
///
/// # Safety
/// As `give_fast`, and `code` is the code `hot` belongs to.
pub unsafe fn release_fast(hot: *mut ZfCodeHot, code: *mut ZfCode, frame: *mut c_void) {
    // SAFETY: forwarded contract.
    if !unsafe { give_fast(hot, frame) } {
        // SAFETY: forwarded contract.
        unsafe { zf_frame_release_slow(code, frame) }
    }
}
