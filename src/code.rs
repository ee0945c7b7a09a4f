//! One code object's zombies and allowance: what `ZfCode *` points to.
//!
//! Zombies sit in the hot state's slot (`ZfCodeHot`, `src/hot.rs`) and in
//! two LIFO stacks threaded through each block's link word (`Layout::link`):
//! * **hot**, whose top is in `ZfCodeHot`: what the fast path pushes onto
//!   when the slot is full, and pops when it holds no zombie;
//! * **cold**, under it: the zombies no acquire has touched since the last
//!   aging sweep. Each sweep moves the slot's and the hot ones down here;
//!   an acquire that finds the slot and the hot stack empty brings one back
//!   up (the slow path). So what is left here at the next sweep is exactly
//!   the list's low-water mark, tcmalloc's measure of zombies nobody
//!   needed, and the fast path pays nothing to keep it.
//!
//! The allowance is `slots` blocks of `bytes` each, charged to the pool's
//! budget: the zombies, plus the free units the fast path may still fill
//! (the slot when NULL, and `room`). Every
//! frame a code owns, live or zombie, is a block of its size class (the
//! reserve hands out only blocks of the class asked for), so counts times
//! `bytes` are exact.
//! The legacy policy is the exception: CPython hands any block to any
//! code, so its pools run every call through the slow path, which counts
//! each block's own size.
//!
//! Fields are `Cell`s: a code is reached from the caller's handle and from
//! the pool's ring, and a pool is used by one thread at a time.

use crate::block::{Block, Link, Stack};
use crate::config::ZF_MAX_FRAME_BYTES;
use crate::hot::{Work, ZfCodeHot};
use core::cell::Cell;
use core::mem::offset_of;
use core::ptr::NonNull;

/// A code's link to the pool that made it, as an address: this module sits
/// below `pool`, which turns it back into a `&Pool` (`Pool::of`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PoolLink(pub NonNull<u8>);

#[repr(C)]
pub struct Code {
    /// First: `ZfCode *` points here. Inert in a watched pool, and for a
    /// code whose caller keeps the inline state (`attach_hot`).
    hot: ZfCodeHot,
    /// The hot state the pool works on (`state`): `hot`, the caller's
    /// (`attach_hot`, until `detach_hot`), or in a watched pool its shadow
    /// (`WithShadow`).
    /// A pointer, not a choice made at every use: the slow path reads it
    /// often. Dangling until `place`, as is `fast_at`.
    state_at: Cell<NonNull<ZfCodeHot>>,
    /// The hot state the exported functions try first (`fast`), the one
    /// the inline pair works on in a plain pool: `hot`, or the caller's
    /// once attached. A watched pool keeps it at `hot`, inert, never at
    /// the caller's.
    fast_at: Cell<NonNull<ZfCodeHot>>,
    /// The hot state the caller's inline functions use: `hot`, or the
    /// caller's from `attach_hot` until `detach_hot`. A watched pool keeps
    /// it inert, and a debug pool checks that it stays so (`Pool::vet_hot`).
    inline_at: Cell<NonNull<ZfCodeHot>>,
    /// Where its zombies' links sit (its pool's `Layout::link`).
    link: Link,
    /// Zombies no acquire touched since the last sweep, under the hot ones.
    cold: Cell<*mut u8>,
    /// Frames acquired and not yet released, as of the last `sync`.
    live: Cell<u64>,
    /// The pool that made this code (`Pool::of` follows it).
    pub(crate) pool: PoolLink,
    /// The block size of every frame this code owns (its size class's),
    /// and `weight()`, worked out once: the bound's updates read them.
    bytes: usize,
    weight: u64,
    /// The order in which the pool made this code, from 1.
    pub(crate) id: u64,
    /// The ring's links; a dead code on a debug pool's list
    /// (`Record::keep_dead`) is out of the ring, and that list uses `next`.
    pub(crate) prev: Cell<Option<NonNull<Code>>>,
    pub(crate) next: Cell<Option<NonNull<Code>>>,
    // Then the narrower fields (`narrow` says why sizes fit 32 bits): no
    // padding between words.
    cold_len: Cell<u32>,
    /// The allowance, charged to the budget: zombies plus room.
    slots: Cell<u32>,
    /// The free units as of the last `sync`.
    free_seen: Cell<u32>,
    /// Most slots: `per_code_max`, or 0 once the code is freed.
    limit: Cell<u32>,
    /// The frame capacity of its blocks (their size class's).
    capacity: u32,
    /// The frame bytes the code asked for (plus a debug pool's guard).
    frame_bytes: u32,
    /// Its class's list in the reserve (`reserve::CLASSES` <= 2^16).
    class: u16,
    /// Full collections in a row through which no acquire touched its list
    /// (saturating: aging asks only whether there were more than a few).
    idle: Cell<u16>,
    watched: bool,
    /// Counted in the bound yet, or freed (`Life`).
    life: Cell<Life>,
    /// Set by acquires (and by a release that must make room), cleared by
    /// the eviction clock as it passes: a second chance.
    used: Cell<bool>,
    /// In the pool's ring: the codes with an allowance (`slots` > 0).
    pub(crate) in_ring: Cell<bool>,
    /// Why its misses happened (`charge_miss`).
    causes: Causes,
}

// The C library's struct, two and a half cache lines (a `std` build's
// `Causes` adds 24 bytes): no padding to lose.
#[cfg(not(feature = "std"))]
const _: () = assert!(core::mem::size_of::<Code>() == 160);

/// A watched pool's code: its hot state, out of the fast path's sight,
/// right after the struct. Only such pools pay its 32 bytes; a plain
/// pool's codes are a bare `Code`, of the same layout up to there.
#[repr(C)]
pub struct WithShadow {
    code: Code,
    shadow: ZfCodeHot,
}

/// Where a code is in its life, as the bound sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Life {
    /// Never run.
    Fresh,
    /// Run, and no frame of it has come back yet: CPython holds no zombie
    /// of it.
    Running,
    /// A frame has come back: one block of it counts in the bound
    /// (`Bound::code_returned`).
    Counted,
    /// `zf_code_free` was called; the struct waits for its last live frame.
    Freed,
}

/// Why a code lost a frame it had: what a later miss at a depth it had
/// already reached is charged to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Loss {
    /// The bound: evicted to make room, or no room within it.
    Bound,
    /// Its own limit (`per_code_max`, or the half-limit rule).
    Limit,
    /// An aging sweep.
    Aged,
}

/// Why a code had no zombie when it missed (a `std` build's: see `Causes`).
#[cfg(feature = "std")]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Miss {
    /// No miss yet.
    #[default]
    None,
    /// A depth the code never reached: no list of its own could have held it.
    Deeper,
    /// A frame it had was lost, for this reason.
    Lost(Loss),
    /// It had as many frames before and lost none it can name.
    Unexplained,
}

/// What a code's frames weigh, fixed when it is made.
#[derive(Clone, Copy, Default)]
pub struct Shape {
    /// The frame bytes asked for (plus a debug pool's guard).
    pub frame_bytes: usize,
    /// The size class its frames get, and their blocks' bytes.
    pub capacity: usize,
    pub bytes: usize,
    /// The block its frames would need unrounded (see `weight`).
    pub weight: u64,
    /// Its class's list in the reserve (`Reserve::class_of`).
    pub class: usize,
}

/// A code's size in the 32 bits its struct keeps: a frame is at most
/// `ZF_MAX_FRAME_BYTES`, and its block, rounded up to a class (a sixteenth
/// more at most) with its header and a debug pool's guard, stays under 2^31.
fn narrow(bytes: usize) -> u32 {
    const { assert!(ZF_MAX_FRAME_BYTES <= 1 << 30) };
    debug_assert!(bytes < 1 << 31);
    bytes as u32
}

impl Code {
    pub fn new(pool: PoolLink, id: u64, shape: Shape, limit: u32, watched: bool, link: Link) -> Code {
        let Shape { frame_bytes, capacity, bytes, weight, class } = shape;
        // The fast path reads a plain pool's hot state at Link::FAST.
        debug_assert!(watched || link == Link::FAST, "a plain pool links where the fast path reads");
        Code {
            hot: ZfCodeHot::inert(),
            state_at: Cell::new(NonNull::dangling()),
            fast_at: Cell::new(NonNull::dangling()),
            inline_at: Cell::new(NonNull::dangling()),
            link,
            watched,
            life: Cell::new(Life::Fresh),
            used: Cell::new(false),
            in_ring: Cell::new(false),
            cold: Cell::new(core::ptr::null_mut()),
            live: Cell::new(0),
            pool,
            id,
            prev: Cell::new(None),
            next: Cell::new(None),
            cold_len: Cell::new(0),
            slots: Cell::new(0),
            free_seen: Cell::new(0),
            limit: Cell::new(limit),
            bytes,
            weight,
            capacity: narrow(capacity),
            frame_bytes: narrow(frame_bytes),
            class: {
                const { assert!(crate::reserve::CLASSES <= 1 << 16) };
                class as u16
            },
            idle: Cell::new(0),
            causes: Causes::default(),
        }
    }

    /// The bytes of a code's memory: a watched pool's carry its shadow
    /// state (`WithShadow`).
    pub fn memory_bytes(watched: bool) -> usize {
        match watched {
            true => size_of::<WithShadow>(),
            false => size_of::<Code>(),
        }
    }

    /// Makes a code in `memory`, of `memory_bytes(code.watched)`, and
    /// points its states into it, where it now stays.
    ///
    /// # Safety
    /// `memory` is that many bytes, aligned for a `WithShadow`, and
    /// nothing else uses them.
    pub unsafe fn place(memory: NonNull<u8>, code: Code) -> NonNull<Code> {
        // The pool's memory comes aligned to ALIGN.
        const { assert!(align_of::<WithShadow>() <= crate::block::ALIGN) };
        let watched = code.watched;
        let place = memory.cast::<Code>();
        // SAFETY: ours, large and aligned enough for a Code (the contract).
        unsafe { place.write(code) };
        // SAFETY: in place now.
        let c = unsafe { place.as_ref() };
        c.settle();
        if watched {
            // SAFETY: a watched code's memory is a WithShadow's (the
            // contract), its shadow field within it, after the code.
            let shadow = unsafe { memory.byte_add(offset_of!(WithShadow, shadow)) }.cast::<ZfCodeHot>();
            // SAFETY: that field's place, aligned (repr(C)) and unused.
            unsafe { shadow.write(ZfCodeHot::inert()) };
            c.state_at.set(shadow);
        }
        place
    }

    /// Points the states at `hot` (but a watched code's `state_at`, set
    /// once by `place` to its shadow), where it now stays.
    pub fn settle(&self) {
        if !self.watched {
            self.state_at.set(NonNull::from(&self.hot));
        }
        self.fast_at.set(NonNull::from(&self.hot));
        self.inline_at.set(NonNull::from(&self.hot));
    }

    /// The hot state the slow path works on.
    #[inline(always)]
    pub fn state(&self) -> &ZfCodeHot {
        debug_assert!(self.state_at.get() != NonNull::dangling(), "settled first");
        // SAFETY: set by `settle` to this struct's own field, or by
        // `place` to the shadow after it, neither of which moves, or by
        // `attach_hot` to the caller's, valid until `detach_hot` sets it
        // back.
        unsafe { self.state_at.get().as_ref() }
    }

    /// The hot state the exported functions try first (`fast_at`; inert
    /// in a watched pool).
    #[inline(always)]
    pub fn fast(&self) -> &ZfCodeHot {
        debug_assert!(self.fast_at.get() != NonNull::dangling(), "settled first");
        // SAFETY: as `state`.
        unsafe { self.fast_at.get().as_ref() }
    }

    /// The hot state the caller's inline functions use (`inline_at`).
    pub fn inline_state(&self) -> &ZfCodeHot {
        debug_assert!(self.inline_at.get() != NonNull::dangling(), "settled first");
        // SAFETY: as `state`.
        unsafe { self.inline_at.get().as_ref() }
    }

    /// The caller's `hot` starts inert, and in a plain pool the inline
    /// pair and the pool work on it from now on (`hot` stays inert). A
    /// watched pool keeps to its own states: the caller's stays inert,
    /// and the library never touches it again.
    ///
    /// # Safety
    /// `hot` is valid for reads and writes, aligned, and nothing but the
    /// inline pair and this code use it, until `detach_hot`.
    pub unsafe fn attach_hot(&self, hot: NonNull<ZfCodeHot>) {
        // SAFETY: valid for writes by the contract; a ZfCodeHot has nothing to drop.
        unsafe { hot.as_ptr().write(ZfCodeHot::inert()) };
        self.inline_at.set(hot);
        if !self.watched {
            self.fast_at.set(hot);
            self.state_at.set(hot);
        }
    }

    /// The code is freed: the caller's state, empty and inert again, is
    /// never touched after this (the caller may free it).
    pub fn detach_hot(&self) {
        debug_assert!(self.fast().is_inert(), "a freed code's inline state holds nothing");
        self.settle();
    }

    /// The state's stack of hot zombies.
    fn stack(&self) -> Stack<'_> {
        self.state().stack(self.link)
    }

    fn cold(&self) -> Stack<'_> {
        Stack::new(&self.cold, self.link)
    }

    /// The hit path on the state the slow path works on (`ZfCodeHot::take`).
    pub fn take(&self) -> Option<NonNull<u8>> {
        self.state().take(self.link)
    }

    /// The cached release on that state (`ZfCodeHot::give`).
    ///
    /// # Safety
    /// `frame` is a live frame of this code.
    pub unsafe fn give(&self, frame: NonNull<u8>) -> bool {
        // SAFETY: forwarded contract; the link is its pool's.
        unsafe { self.state().give(frame, self.link) }
    }

    /// `give` on a code with nothing to `sync`, counted at once: the work
    /// a `sync` would find now (this one release), taken into the code's
    /// own counts as `sync` takes it.
    ///
    /// # Safety
    /// As `give`.
    pub unsafe fn give_synced(&self, frame: NonNull<u8>) -> Option<Work> {
        debug_assert!(self.synced(), "synced first");
        // SAFETY: forwarded contract.
        if !unsafe { self.give(frame) } {
            return None;
        }
        let s = self.state();
        s.open_slot();
        self.free_seen.set(s.free_units());
        self.live.set(self.live.get() - 1);
        Some(Work { hits: 0, releases: 1, bytes: self.bytes as u64 })
    }

    /// The fast path's work since the last `sync` (see `src/hot.rs`).
    pub fn pending(&self) -> Work {
        let s = self.state();
        let hits = s.hits.get();
        // Each hit freed a unit, each cached release filled one.
        let releases = hits + self.free_seen.get() as u64 - s.free_units() as u64;
        Work { hits, releases, bytes: self.bytes as u64 }
    }

    /// `pending`, now taken into this code's own counts.
    #[inline]
    pub fn sync(&self) -> Work {
        let work = self.pending();
        let s = self.state();
        s.open_slot();
        // Most slow calls follow no fast-path work on their code.
        if work.hits != 0 || work.releases != 0 {
            s.hits.set(0);
            self.free_seen.set(s.free_units());
            self.live.set(self.live.get() + work.hits - work.releases);
        }
        work
    }

    /// No work of the fast path since the last `sync`, which would then
    /// change nothing (`pending` would be zero).
    pub fn synced(&self) -> bool {
        let s = self.state();
        s.hits.get() == 0 && s.free_units() == self.free_seen.get()
    }

    /// `synced`, and no free unit: a release finds no room.
    pub fn full(&self) -> bool {
        self.synced() && self.free_seen.get() == 0
    }

    /// Whether it holds a cold zombie (one the hot state does not show).
    pub fn has_cold(&self) -> bool {
        !self.cold.get().is_null()
    }

    /// Zombies held.
    pub fn len(&self) -> u32 {
        self.slots.get() - self.free_units()
    }

    /// Free units of the allowance, the slot's included (`ZfCodeHot.room`
    /// counts those besides the slot).
    pub fn free_units(&self) -> u32 {
        self.state().free_units()
    }

    pub fn slots(&self) -> u32 {
        self.slots.get()
    }

    pub fn live(&self) -> u64 {
        self.live.get()
    }

    pub fn add_live(&self, n: i64) {
        self.live.set(self.live.get().wrapping_add_signed(n));
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// Its class's list in the reserve.
    pub fn class(&self) -> usize {
        self.class as usize
    }

    /// The frame bytes it asked for (plus a debug pool's guard).
    pub fn frame_bytes(&self) -> usize {
        self.frame_bytes as usize
    }

    /// What one frame of this code weighs in the automatic bound's room
    /// for CPython's free list: its block at the size asked (not its
    /// class), as CPython's list would hold it.
    pub fn weight(&self) -> u64 {
        self.weight
    }

    /// `zf_code_free` was called.
    pub fn is_freed(&self) -> bool {
        self.life.get() == Life::Freed
    }

    /// The code's object is gone: it takes no more slots.
    pub fn set_freed(&self) {
        self.limit.set(0);
        self.life.set(Life::Freed);
    }

    /// The clock's reference bit: set when the code is used.
    pub fn mark_used(&self) {
        self.used.set(true);
    }

    /// Whether it was used since the clock hand last passed; clears it.
    pub fn take_used(&self) -> bool {
        self.used.replace(false)
    }

    /// A miss: the first marks it run.
    pub fn mark_run(&self) {
        if self.life.get() == Life::Fresh {
            self.life.set(Life::Running);
        }
    }

    /// Whether it has run (a freed code counts as run).
    pub fn has_run(&self) -> bool {
        self.life.get() != Life::Fresh
    }

    /// Its first release while alive: true once, when it starts to count
    /// in the bound.
    pub fn first_release(&self) -> bool {
        let first = self.life.get() == Life::Running;
        if first {
            self.life.set(Life::Counted);
        }
        first
    }

    /// Alive and counted in the bound: where a release has nothing to
    /// note but its frame (one test for both, on the release lane).
    pub fn counted(&self) -> bool {
        self.life.get() == Life::Counted
    }

    /// Whether a slot more is within `per_code_max`.
    pub fn may_grow(&self) -> bool {
        self.slots.get() < self.limit.get()
    }

    /// A second slot asked for the code's last live frame: the end of a
    /// re-entry (a call back into a function on the stack, a generator
    /// run twice at once), not of a recursion, which would have more
    /// frames live. CPython takes such a second frame from its free list
    /// and gives it back there, as the reserve does here: a second slot
    /// would be taken from another code's last zombie, which then misses,
    /// and takes a third's (BENCHMARKS.md, "Stacks deep through many
    /// functions"). Synced first.
    pub fn ends_reentry(&self) -> bool {
        self.slots.get() == 1 && self.live.get() < 2
    }

    /// Below half its limit, a code may have others give up room for one
    /// more slot; above, it takes only room nobody holds (`Pool::grant_slot`).
    pub fn may_make_room(&self) -> bool {
        self.slots.get() < self.half_limit()
    }

    /// Half its limit, rounded up (see `may_make_room`).
    pub fn half_limit(&self) -> u32 {
        self.limit.get().div_ceil(2)
    }

    /// One more slot, already charged to the budget by the pool.
    pub fn grant(&self) {
        self.slots.set(self.slots.get() + 1);
        self.state().add_unit();
        self.free_seen.set(self.free_seen.get() + 1);
    }

    /// Takes back up to `most` unused slots; returns how many.
    pub fn revoke_room(&self, most: u32) -> u32 {
        let s = self.state();
        debug_assert_eq!(s.free_units(), self.free_seen.get(), "synced first");
        let room = s.take_free_units(most);
        self.free_seen.set(s.free_units());
        self.slots.set(self.slots.get() - room);
        room
    }

    /// The zombie an acquire would take next, if any.
    pub fn peek(&self) -> Option<Block> {
        let s = self.state();
        s.slot_block().or_else(|| self.stack().iter().next()).or_else(|| self.cold().iter().next())
    }

    /// When the slot and the hot stack are empty, brings the top cold
    /// zombie up into the stack. False when there is none anywhere.
    pub fn warm_up(&self) -> bool {
        let s = self.state();
        if s.slot_zombie().is_some() || !self.stack().is_empty() {
            return true;
        }
        self.warm_up_cold()
    }

    /// `warm_up` for a caller that found the slot and the hot stack
    /// without a zombie just now.
    pub fn warm_up_cold(&self) -> bool {
        let Some(block) = self.cold().pop() else { return false };
        self.cold_len.set(self.cold_len.get() - 1);
        self.stack().push(block);
        true
    }

    /// Takes a zombie out, with its slot, without handing it out: the
    /// coldest first (eviction), or the one an acquire would take next.
    pub fn remove(&self, coldest_first: bool) -> Option<Block> {
        let (hot, cold) = (self.stack(), self.cold());
        let cold = || cold.pop().inspect(|_| self.cold_len.set(self.cold_len.get() - 1));
        let slot = || self.state().remove_slot_block();
        let block = match coldest_first {
            true => cold().or_else(|| hot.pop()).or_else(slot),
            false => slot().or_else(|| hot.pop()).or_else(cold),
        }?;
        self.slots.set(self.slots.get() - 1);
        Some(block)
    }

    /// The code lost a frame it had (its release found no slot, or a
    /// zombie was taken away).
    pub fn note_loss(&self, why: Loss) {
        self.causes.note_loss(why);
    }

    /// At a miss (synced first: `live` is the frames live before it):
    /// whether it takes the code to a depth it never had.
    pub fn reach_depth(&self) -> bool {
        self.causes.reach_depth(self.live.get())
    }

    /// Why a miss that asks the system for a block had no zombie: a new
    /// depth (`reach_depth`), or one of the code's losses, charged to it.
    #[cfg(feature = "std")]
    pub fn charge_miss(&self, deeper: bool) -> Miss {
        self.causes.charge_miss(deeper)
    }

    /// The low-water mark since the last sweep: zombies no acquire touched.
    pub fn untouched(&self) -> u32 {
        self.cold_len.get()
    }

    /// At a full collection: how many in a row its list has now been idle
    /// through (no acquire touched any zombie since the last one).
    pub fn count_idle(&self) -> u32 {
        let idle = match self.len() > 0 && self.untouched() == self.len() {
            true => self.idle.get().saturating_add(1),
            false => 0,
        };
        self.idle.set(idle);
        idle.into()
    }

    /// Where its zombies' links sit.
    pub fn link(&self) -> Link {
        self.link
    }

    /// Its stacks' tops, hot then cold, each with how many zombies the
    /// code counts in it (what a debug pool checks their links by).
    pub fn stacks(&self) -> [(Option<Block>, u32); 2] {
        let in_slot = self.state().slot_zombie().is_some() as u32;
        let hot = self.len() - in_slot - self.cold_len.get();
        [(self.stack().iter().next(), hot), (self.cold().iter().next(), self.cold_len.get())]
    }

    /// Keeps the first `kept` zombies of the hot (or the cold) stack and
    /// lets the rest go, with their slots, unfreed: a debug pool found a
    /// link under them overwritten (`Pool::vet_list`). Returns how many
    /// went.
    pub fn cut(&self, cold: bool, kept: u32) -> u32 {
        let len = self.stacks()[cold as usize].1;
        let stack = if cold { self.cold() } else { self.stack() };
        stack.keep(kept);
        let lost = len - kept;
        if cold {
            self.cold_len.set(kept);
        }
        self.slots.set(self.slots.get() - lost);
        lost
    }

    /// At a sweep: every zombie becomes cold.
    pub fn cool_down(&self) {
        let s = self.state();
        self.cold().cover_with(self.stack());
        if let Some(block) = s.remove_slot_block() {
            self.cold().push(block);
        }
        self.cold_len.set(self.len());
    }

    /// Bytes the zombies hold together.
    pub fn cached_bytes(&self) -> u64 {
        self.len() as u64 * self.bytes as u64
    }
}

/// What explains a code's misses: the frames it had and lost, by `Loss`,
/// not yet charged to a miss, and the most frames it ever had live. Read
/// by the replay alone (`Pool::last_miss`, `zf-replay`'s lockstep), so
/// only a `std` build keeps them: the C library's misses and releases
/// skip the bookkeeping (a ZST, whose methods do nothing).
#[derive(Default)]
struct Causes {
    #[cfg(feature = "std")]
    lost: [Cell<u32>; 3],
    #[cfg(feature = "std")]
    deepest: Cell<u64>,
}

#[cfg(feature = "std")]
impl Causes {
    fn note_loss(&self, why: Loss) {
        let n = &self.lost[why as usize];
        n.set(n.get().saturating_add(1));
    }

    fn reach_depth(&self, live: u64) -> bool {
        let deeper = live >= self.deepest.get();
        if deeper {
            self.deepest.set(live + 1);
        }
        deeper
    }

    fn charge_miss(&self, deeper: bool) -> Miss {
        if deeper {
            return Miss::Deeper;
        }
        for why in [Loss::Aged, Loss::Bound, Loss::Limit] {
            let n = &self.lost[why as usize];
            if n.get() > 0 {
                n.set(n.get() - 1);
                return Miss::Lost(why);
            }
        }
        Miss::Unexplained
    }
}

#[cfg(not(feature = "std"))]
impl Causes {
    fn note_loss(&self, _: Loss) {}

    fn reach_depth(&self, _: u64) -> bool {
        false
    }
}
