//! The lifetimes of pools and codes: made, freed by the caller, and their
//! memory given back with the last thing that needs it.
//!
//! Ownership runs one way: a live frame keeps its code alive, a code keeps
//! its pool alive. `zf_code_free` and `zf_pool_free` drop the caller's claim
//! and every zombie at once; the memory of the struct itself goes with the
//! last thing that needs it. So any order of frees is defined, and no handle
//! the caller still holds ever dangles.

use super::bound::Bound;
use super::policy::Aging;
use super::{Pool, LEGACY_FREE_LIST_MAX};
use crate::block::{Heap, Layout};
#[cfg(feature = "std")]
use crate::code::Miss;
use crate::code::{Code, PoolLink, Shape};
use crate::config::{ZfConfig, ZF_MAX_FRAME_BYTES, ZF_POLICY_LEGACY};
use crate::debug::{self, Handler, Record};
use crate::error::Error;
use crate::reserve::Reserve;
use crate::ring::Ring;
use crate::stats::{Counters, Tally};
use crate::trace_writer::Recorder;
use core::cell::{Cell, RefCell};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};

/// The debug pools `keep_dead_pool` holds on to, the latest few.
struct KeptPools {
    lock: AtomicBool,
    /// Where the next goes (under the lock).
    next: Cell<usize>,
    /// Under the lock.
    pools: [Cell<Option<NonNull<Pool>>>; KEPT_POOLS],
}

const KEPT_POOLS: usize = 8;

// SAFETY: `next` and `pools` are used only under `lock`.
unsafe impl Sync for KeptPools {}

static KEPT: KeptPools =
    KeptPools { lock: AtomicBool::new(false), next: Cell::new(0), pools: [const { Cell::new(None) }; KEPT_POOLS] };

impl Pool {
    pub fn create(cfg: &ZfConfig) -> Result<NonNull<Pool>, Error> {
        cfg.validate()?;
        let mut cfg = *cfg;
        let bound = Bound::new(&cfg);
        let reserve_max = match cfg.policy {
            ZF_POLICY_LEGACY => {
                // One zombie per code, bounded the way CPython bounds it.
                cfg.per_code_max = 1;
                cfg.sweep_every = 0;
                LEGACY_FREE_LIST_MAX
            }
            _ => cfg.reserve_max,
        };
        let mut heap = Heap::new(&cfg, Layout::DEFAULT);
        let trace = cfg.trace_file().ok().flatten().and_then(|path| Recorder::create(path, heap)).map(RefCell::new);
        // Legacy too: CPython hands any block to any code, which the
        // fast path's one-size-per-code accounting cannot follow.
        let watched = cfg.debug() || trace.is_some() || cfg.policy == ZF_POLICY_LEGACY;
        heap.layout = Layout::new(cfg.prefix(), watched);
        // The caller's string need not outlive zf_pool_new: keep no pointer to it.
        cfg.trace_path = core::ptr::null();
        let pool = Pool {
            cfg,
            heap,
            bound,
            closed: Cell::new(false),
            kept: Cell::new(false),
            aging: Aging::new(cfg.sweep_every),
            ring: Ring::default(),
            reserve: Reserve::new(cfg.policy == ZF_POLICY_LEGACY, heap.layout.link()),
            reserve_max,
            handler: Cell::new(Handler::default()),
            counters: Counters::default(),
            watched,
            full_releases: watched || matches!(cfg.per_code_max, 1 | 2),
            trace,
            record: Record::new(heap),
            #[cfg(feature = "std")]
            last_miss: Cell::new(Miss::None),
            multi_slot: Cell::new(0),
            live_low: Cell::new(0),
            live_look: Cell::new(0),
            spare_codes: Default::default(),
            spare_len: Cell::new(0),
            shapes: Shapes::new(),
        };
        heap.boxed(pool, "a pool")
    }

    /// `zf_pool_free`, before the struct may go (`free_if_unused`): drops
    /// every zombie and stops caching. The struct lives on while codes do
    /// (they may still acquire and release: uncached).
    pub fn close(&self) {
        self.traced(|t| t.finish());
        self.clear_to_close();
        self.free_spare_codes();
        self.closed.set(true);
        self.bound.close();
        if self.cfg.debug() {
            // The handler may release the frames it is told of, and free
            // their codes (`nested`): the pool outlives this call all the
            // same, claimed (`free_if_unused`, after it, frees it).
            self.record.closing.set(true);
            self.report_leaks();
            self.record.closing.set(false);
        }
    }

    /// # Safety
    /// `pool` is alive and no reference to it outlives this call.
    pub unsafe fn free_if_unused(pool: NonNull<Pool>) {
        // SAFETY: alive by the contract.
        let p = unsafe { pool.as_ref() };
        // Live frames keep their code's struct, hence the pool, even once
        // the code itself was freed; a call inside a debug pool keeps it
        // too (the one that ends last frees it).
        let unused =
            p.closed.get() && p.record.depth() == 0 && p.counters.codes.get() == 0 && p.counters.live_frames.get() == 0;
        if unused && !p.kept.get() {
            // SAFETY: forwarded contract.
            unsafe { Pool::free_unused(pool) };
        }
    }

    /// # Safety
    /// As `free_if_unused`, and the pool is unused.
    #[cold]
    #[inline(never)]
    unsafe fn free_unused(pool: NonNull<Pool>) {
        // SAFETY: alive by the contract.
        let p = unsafe { pool.as_ref() };
        // (A hook's memory goes back when the caller expects it: its
        // allocator may go next.)
        if p.cfg.debug() && p.cfg.alloc.is_none() {
            return Pool::keep_dead_pool(pool);
        }
        // SAFETY: closed by the caller and no code points to it any more.
        unsafe { Pool::free_memory(pool) };
    }

    /// The pool's memory goes, with the dead codes' structs a debug pool
    /// kept (`keep_dead_code`), which only stale handles refer to: past
    /// this, using one is undefined.
    ///
    /// # Safety
    /// `pool` is closed, unused, and nothing uses it after.
    unsafe fn free_memory(pool: NonNull<Pool>) {
        // SAFETY: alive by the contract.
        let p = unsafe { pool.as_ref() };
        while let Some(code) = p.record.take_dead() {
            // SAFETY: a dead code's struct, kept by `keep_dead_code`.
            unsafe { p.free_code_memory(code) };
        }
        let heap = p.heap;
        // SAFETY: by the contract.
        unsafe { heap.unbox(pool) };
    }

    /// The memory of a debug pool without hooks stays a while after it is
    /// unused, so that a call that still passes it (a second
    /// `zf_pool_free`, the commonest) finds it closed and is reported,
    /// where it would use freed memory: the latest `KEPT_POOLS` are kept,
    /// the oldest going as a new one comes (from any thread: pools come
    /// and go rarely, so a spin lock). `KEPT` keeps them reachable, so
    /// leak checkers see no leak.
    fn keep_dead_pool(pool: NonNull<Pool>) {
        // SAFETY: alive: the caller's.
        unsafe { pool.as_ref() }.kept.set(true);
        while KEPT.lock.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            core::hint::spin_loop();
        }
        let i = KEPT.next.get();
        KEPT.next.set((i + 1) % KEPT_POOLS);
        let oldest = KEPT.pools[i].replace(Some(pool));
        KEPT.lock.store(false, Ordering::Release);
        if let Some(old) = oldest {
            // SAFETY: kept since it was unused, and no handle to it is
            // valid: only a misuse could still be inside it; `KEPT` no
            // longer holds it.
            unsafe { Pool::free_memory(old) };
        }
    }

    #[inline(always)]
    pub fn new_code(&self, frame_bytes: usize) -> Result<NonNull<Code>, Error> {
        let shape = self.shape(frame_bytes)?;
        let id = self.counters.codes_created.get() + 1;
        let (pool, limit) = (PoolLink(NonNull::from(self).cast()), self.cfg.per_code_max);
        let code = Code::new(pool, id, shape, limit, self.watched, self.heap.layout.link());
        let memory = match self.take_spare_code() {
            // A dead code's memory, which nothing refers to
            // (`keep_spare_code`), of this pool's size; a Code has nothing
            // to drop.
            Some(spare) => spare.cast(),
            None => self.heap.alloc(Code::memory_bytes(self.watched), "a code's free list")?,
        };
        // SAFETY: as large as this pool's codes, 16-aligned, and unused.
        let code = unsafe { Code::place(memory, code) };
        self.counters.codes_created.set(id);
        self.counters.codes.add(1);
        self.traced(|t| t.create_code(id, frame_bytes));
        Ok(code)
    }

    /// The shape of a code whose frames need `frame_bytes`: the one made
    /// last for that size, if the memo still holds it (a shape costs two
    /// size classes, about 60 instructions, and a program's codes come in
    /// a few dozen sizes), or why there is none.
    #[inline(always)]
    fn shape(&self, frame_bytes: usize) -> Result<Shape, Error> {
        let memo = self.shapes.slot(frame_bytes);
        let (asked, shape) = memo.get();
        if asked == frame_bytes {
            return Ok(shape);
        }
        let shape = self.new_shape(frame_bytes)?;
        memo.set((frame_bytes, shape));
        Ok(shape)
    }

    /// `shape`'s work, for a size the memo does not hold.
    #[inline(always)]
    fn new_shape(&self, frame_bytes: usize) -> Result<Shape, Error> {
        // A prefixed frame holds its prefix: the link is inside the frame.
        let min = self.heap.layout.prefix().max(1);
        let out_of_range =
            || Error::FrameBytes { function: "zf_code_new", asked: frame_bytes, min, max: ZF_MAX_FRAME_BYTES };
        if frame_bytes < min || frame_bytes > ZF_MAX_FRAME_BYTES {
            return Err(out_of_range());
        }
        let block_frame = debug::block_frame_bytes(frame_bytes, self.cfg.debug());
        let layout = self.heap.layout;
        let asked = layout.block_bytes(block_frame).ok_or_else(out_of_range)?;
        // Legacy blocks keep the size asked, as CPython's do; else a block
        // is its size class's (`Layout::size_class`), which holds the rest.
        let (capacity, bytes) = match self.legacy() {
            true => (block_frame, asked),
            false => layout.class_of_block(asked).ok_or_else(out_of_range)?,
        };
        let weight = asked as u64;
        Ok(Shape { frame_bytes: block_frame, capacity, bytes, weight, class: self.reserve.class_of(bytes) })
    }

    /// `zf_code_free`: the code object is gone. Its zombies go at once; the
    /// struct stays until its last live frame is released.
    ///
    /// # Safety
    /// `code` came from `new_code` and this is the caller's only free of it.
    pub unsafe fn free_code(code: NonNull<Code>) {
        {
            // SAFETY: alive: the caller has not freed it before.
            let c = unsafe { code.as_ref() };
            let p = Pool::of(c);
            if p.cfg.debug() {
                if c.is_freed() {
                    // A debug pool keeps freed codes readable (`keep_dead_code`).
                    return p.report_freed_code("zf_code_free", c);
                }
                p.vet_hot(c, "zf_code_free");
            }
            match p.closed.get() {
                // A closed pool holds no zombie, room or bound (`close`
                // cleared them; frames since come and go uncached): the
                // code alone leaves.
                true => debug_assert!(c.slots() == 0 && !c.in_ring.get()),
                false => p.let_go(c),
            }
            c.set_freed();
            c.detach_hot();
            p.counters.codes.sub(1);
        }
        // SAFETY: no reference is held here.
        unsafe { Pool::free_code_if_unused(code) };
    }

    /// An open pool's part of `free_code`: the code's room goes first, then
    /// the bound shrinks; its zombies retire within what is left or what
    /// others hold spare, and others are trimmed if need be.
    #[inline(always)]
    fn let_go(&self, c: &Code) {
        self.traced(|t| t.destroy(c.id));
        self.sync(c);
        if c.free_units() > 0 {
            self.revoke_room(c, u32::MAX);
        }
        let shrunk = c.counted() && self.bound.code_gone(c);
        // With its room gone, every slot it has left holds a zombie.
        for _ in 0..c.slots() {
            let Some(block) = self.drop_zombie(c, false) else { break };
            match self.legacy() {
                true => _ = self.free_zombie(c, block),
                false => _ = self.retire_dead(c, block),
            }
        }
        if shrunk {
            _ = self.trim();
        }
    }

    /// Inlined: a dying code's struct usually goes to the spare list.
    ///
    /// # Safety
    /// `code` is alive and no reference to it outlives this call.
    #[inline(always)]
    pub(super) unsafe fn free_code_if_unused(code: NonNull<Code>) {
        // SAFETY: alive by the contract.
        let c = unsafe { code.as_ref() };
        if !c.is_freed() || c.live() > 0 {
            return;
        }
        let p = Pool::of(c);
        if !p.keep_spare_code(code) {
            // SAFETY: forwarded contract.
            unsafe { Pool::free_dead_code(code) };
        }
    }

    /// A dead code's struct the spare list did not take: a debug pool
    /// keeps it, else it goes, and with it the pool if that was its last.
    ///
    /// # Safety
    /// As `free_code_if_unused`, and the code is dead.
    #[inline(never)]
    unsafe fn free_dead_code(code: NonNull<Code>) {
        // SAFETY: alive by the contract.
        let p = Pool::of(unsafe { code.as_ref() });
        if p.keep_dead_code(code) {
            return;
        }
        let pool = NonNull::from(p);
        // SAFETY: freed by the caller, no live frames, out of the ring.
        unsafe { p.free_code_memory(code) };
        // SAFETY: no reference to the pool is held any more.
        unsafe { Pool::free_if_unused(pool) };
    }

    /// Keeps a dead code's struct for the next new code: up to
    /// `SPARE_CODES_MAX`, while the pool is open, and never in debug mode,
    /// where a struct used again would hide a freed handle's misuse.
    fn keep_spare_code(&self, code: NonNull<Code>) -> bool {
        let len = self.spare_len.get();
        // The list's end: full when there is no cell past it.
        let Some(end) = self.spare_codes.get(len) else { return false };
        if self.closed.get() || self.cfg.debug() {
            return false;
        }
        // Dead (freed, no live frames, out of the ring): only this list
        // refers to it from now on.
        end.set(Some(code));
        self.spare_len.set(len + 1);
        true
    }

    fn take_spare_code(&self) -> Option<NonNull<Code>> {
        let len = self.spare_len.get().checked_sub(1)?;
        self.spare_len.set(len);
        self.spare_codes.get(len)?.take()
    }

    /// `zf_pool_free`: the spare structs go with the zombies (a debug
    /// pool's dead codes stay: `keep_dead_code`).
    fn free_spare_codes(&self) {
        while let Some(code) = self.take_spare_code() {
            // SAFETY: a spare struct, referred to by nothing else.
            unsafe { self.free_code_memory(code) };
        }
    }

    /// Gives back a code's memory (`Code::place`'s).
    ///
    /// # Safety
    /// `code` is one of this pool's, dead, and nothing uses it after.
    unsafe fn free_code_memory(&self, code: NonNull<Code>) {
        // SAFETY: by the contract; of this pool's size (`new_code`).
        unsafe { self.heap.free(code.cast(), Code::memory_bytes(self.watched)) };
    }

    /// A debug pool keeps a dead code's struct while the pool's memory
    /// lives, after `zf_pool_free` too, while other codes keep it (the
    /// kits free their codes after the pool): a second `zf_code_free` of
    /// it is reported, not a use of freed memory, or of another code's
    /// (`Record::keep_dead`). False when it is not kept.
    fn keep_dead_code(&self, code: NonNull<Code>) -> bool {
        let keep = self.cfg.debug();
        if keep {
            // SAFETY: dead (freed, no live frame, out of the ring), and
            // only `free_memory` frees it, after `take_dead`.
            unsafe { self.record.keep_dead(code) };
        }
        keep
    }
}

/// Dead codes' structs a pool keeps (`Pool::spare_codes`): 32 of 160 (192 watched)
/// bytes.
pub(super) const SPARE_CODES_MAX: usize = 32;

/// The shapes made last (`Pool::shape`), one per frame size in each of
/// `SHAPES` slots, by the size's 8-byte steps (frames of CPython's codes
/// differ by 8 bytes a slot). A slot holds only sizes in range, and while
/// empty, a size of the next slot's, which no size asked of it matches
/// (0 included, which is refused).
pub(super) struct Shapes([Cell<(usize, Shape)>; SHAPES]);

const SHAPES: usize = 16;

impl Shapes {
    fn new() -> Shapes {
        Shapes(core::array::from_fn(|i| Cell::new((8 * (i + 1), Shape::default()))))
    }

    fn slot(&self, frame_bytes: usize) -> &Cell<(usize, Shape)> {
        &self.0[(frame_bytes / 8) % SHAPES]
    }
}

// A spare struct is overwritten with the next code, never dropped.
const _: () = assert!(!core::mem::needs_drop::<Code>());
