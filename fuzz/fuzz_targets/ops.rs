//! Operation sequences (new code, acquire, write, release, free code,
//! collect, clear, print the stats, free the pool early, a new pool with
//! another configuration) decoded from the fuzzer's bytes, run through the
//! C ABI beside the reference model of tests/common/model.rs (the model
//! test's, the very same module). The input picks the configuration:
//! per-code or legacy policy, debug or not, traced (to /dev/null) or not,
//! prefixed frames and their prefix, budget or automatic bound,
//! per_code_max, reserve_max, sweep_every, sweep_generation. After every
//! step the stats must equal the model's, a zombie must come back with the
//! bytes its last user wrote, a live frame must keep every byte its user
//! wrote (checked before each write and at its release: two live frames
//! that overlap, or a frame handed out twice, break it), a fresh block
//! must not sit where the pool holds another, a collection and a clear
//! must return the bytes they gave back, and the bound in force must hold
//! (budget 0: the automatic bound). Once the pool is freed early, its codes
//! go on acquiring and releasing (uncached) until the run ends; the run
//! ends by freeing pool, frames and codes in an order the input picks, and
//! then a counting allocator hook must have got every byte back.
//! That hook also refuses requests when the input says so (a quarter of
//! the acquires and new codes: the first request, or all of them): a
//! refused call must return NULL with an out-of-memory message and leave
//! `*is_zombie` unwritten, exactly when the model says the pool needed a
//! block it could not get (an acquire's miss clears the cache and asks
//! once more, `Model::try_acquire`; a debug pool asks first for its record
//! to grow; a new code reuses a dead code's struct), and the stats must
//! still equal the model's. Every pool is first made with every request
//! refused: NULL, and nothing kept.
//! AddressSanitizer watches every access. Half the pools run in debug mode,
//! whose checks must stay silent on correct use and, when the input picks
//! a misuse (a frame released twice, to the wrong code, a foreign pointer,
//! a freed code used, a byte written past a live frame's end or over its
//! header), report exactly that one, then go on as the model says (the
//! misuse ignored, or the frame released to its own code).
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "input.rs"]
mod input;
#[path = "../../tests/common/model.rs"]
mod model;

use common::stats;
use input::Input;
use libfuzzer_sys::fuzz_target;
use model::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;
use zombie_frames::*;

/// The allocator hooks' context: the ledger of what they gave, and how
/// many of the next requests they refuse (a refused one is not in the
/// ledger). Cells: the driver sets them around a call in which the hooks
/// change them, so no `&mut` to them may be held across it.
#[derive(Default)]
struct Hooks {
    ledger: Ledger,
    refuse: Cell<u32>,
    refused: Cell<u32>,
}

impl Hooks {
    /// The requests of the next call are answered as `alloc` says.
    fn answer(&self, alloc: Alloc) {
        self.refuse.set(match alloc {
            Alloc::Gives => 0,
            Alloc::RefusesOnce => 1,
            Alloc::Refuses => u32::MAX,
        });
        self.refused.set(0);
    }

    /// Back to giving, after the call; returns the requests refused.
    fn give(&self) -> u32 {
        self.refuse.set(0);
        self.refused.take()
    }
}

unsafe extern "C" fn hooks_alloc(ctx: *mut c_void, size: usize) -> *mut c_void {
    let hooks = ctx.cast::<Hooks>();
    // SAFETY: the Run's `hooks`, which outlives its pool; one thread.
    let (refuse, refused) = unsafe { (&(*hooks).refuse, &(*hooks).refused) };
    if refuse.get() > 0 {
        refuse.set(refuse.get() - 1);
        refused.set(refused.get() + 1);
        return std::ptr::null_mut();
    }
    // SAFETY: as above; the ledger is the hooks' own.
    unsafe { ledger_alloc(std::ptr::addr_of_mut!((*hooks).ledger).cast(), size) }
}

unsafe extern "C" fn hooks_dealloc(ctx: *mut c_void, p: *mut c_void, size: usize) {
    let hooks = ctx.cast::<Hooks>();
    // SAFETY: as in `hooks_alloc`; `p` came from it.
    unsafe { ledger_dealloc(std::ptr::addr_of_mut!((*hooks).ledger).cast(), p, size) }
}

/// How the hook answers a call's requests, from 3 bits of the input: a
/// quarter of the calls are refused, the first request or every one.
fn refusal(bits: u8) -> Alloc {
    match bits % 8 {
        6 => Alloc::RefusesOnce,
        7 => Alloc::Refuses,
        _ => Alloc::Gives,
    }
}

/// A refused call: NULL, at least one request refused, and a message
/// naming what the memory was for.
fn assert_refused(null: bool, refused: u32, what: &str) {
    assert!(null, "a call returned though {what} was refused");
    assert!(refused > 0, "a call returned NULL with no request refused ({what})");
    let msg = common::last_error();
    assert!(msg.contains("out of memory") && msg.contains(what), "the message of a refusal ({what}): {msg}");
}

/// A dead code's struct a pool keeps for the next new code (`SPARE_CODES_MAX`
/// in src/pool/lifetime.rs): that code needs no memory.
const SPARE_CODES_MAX: usize = 32;

struct Run {
    cfg: ZfConfig,
    pool: *mut ZfPool,
    m: Model,
    hooks: Box<Hooks>,
    /// Slots of a debug pool's record of frames (`FrameTable`: at most
    /// half full, from 64, doubling): whether an acquire asks it to grow.
    record_slots: usize,
    /// Dead codes' structs the pool keeps (not in debug mode).
    spares: usize,
    live: Vec<(usize, *mut c_void)>,
    /// Each code's frame size as the caller sees it (the model is told the
    /// size of its blocks' frames: debug pools add a guard).
    user_bytes: Vec<usize>,
    contents: HashMap<usize, u64>,
    seed: u64,
    /// The inline states kept outside their codes (zf_code_new_with_hot).
    hots: Vec<*mut ZfCodeHot>,
    /// zf_pool_free was called: the codes go on, uncached; the model and
    /// the stats are left behind.
    closed: bool,
    /// The order `finish` frees pool, live frames and codes in.
    order: u8,
    /// What a debug pool reported (its handler's), and what it must have
    /// reported by the end of the step.
    reports: Box<RefCell<Vec<c_int>>>,
    expected: Vec<c_int>,
}

/// A debug pool's handler: the report's kind, kept for the step's check.
unsafe extern "C" fn keep_report(ctx: *mut c_void, kind: c_int, _: *const std::ffi::c_char) {
    // SAFETY: the Run's `reports`, which outlives the pool.
    unsafe { &*ctx.cast::<RefCell<Vec<c_int>>>() }.borrow_mut().push(kind);
}

/// Where a traced pool records: every event is written, none kept.
const TRACE_SINK: &CStr = c"/dev/null";

/// A descriptor zf_pool_print_stats writes its report to.
fn null_fd() -> c_int {
    static FD: OnceLock<c_int> = OnceLock::new();
    // SAFETY: a NUL-terminated path.
    *FD.get_or_init(|| unsafe { libc::open(TRACE_SINK.as_ptr(), libc::O_WRONLY) })
}

/// zf_pool_new with every request of the hook refused: NULL, a message,
/// and nothing kept (a traced pool's recorder, made first, goes too).
fn refused_pool(cfg: &ZfConfig, hooks: &Hooks) {
    hooks.answer(Alloc::Refuses);
    // SAFETY: a whole, valid config.
    let pool = unsafe { zf_pool_new(cfg) };
    let refused = hooks.give();
    assert_refused(pool.is_null(), refused, "a pool");
    assert_eq!((hooks.ledger.allocs, hooks.ledger.frees), (0, 0), "a refused pool kept memory");
}

impl Run {
    fn new(input: &mut Input) -> Run {
        let mut hooks = Box::<Hooks>::default();
        let mut cfg = ZfConfig::default();
        cfg.per_code_max = input.pick(&[0, 1, 2, 3, 8, 128, 1000]);
        cfg.budget_bytes = input.pick(&[0, 100, 300, 2048, 16 << 10, usize::MAX]);
        cfg.sweep_every = input.pick(&[0, 1, 2, 7, 64]);
        cfg.reserve_max = input.pick(&[0, 1, 4, 200]);
        // 3 (the default): no collection sweeps, full ones age idle lists.
        cfg.sweep_generation = input.pick(&[0, 1, 2, 3]);
        cfg.flags = input.pick(&[0, ZF_FLAG_DEBUG, ZF_FLAG_FRAME_PREFIX, ZF_FLAG_DEBUG | ZF_FLAG_FRAME_PREFIX]);
        if cfg.flags & ZF_FLAG_FRAME_PREFIX != 0 {
            // 3.9's GC head (16, as 0), 2.7's (32), the largest.
            cfg.prefix_bytes = input.pick(&[0, 16, 32, ZF_MAX_PREFIX_BYTES]);
        }
        // One byte more: the policy (a quarter legacy), a trace (an
        // eighth), the order `finish` frees in.
        let more = input.byte();
        if more % 4 == 3 {
            cfg.policy = ZF_POLICY_LEGACY;
        }
        if (more >> 2) % 8 == 7 {
            cfg.trace_path = TRACE_SINK.as_ptr();
        }
        let order = more >> 5;
        cfg.alloc = Some(hooks_alloc);
        cfg.dealloc = Some(hooks_dealloc);
        cfg.alloc_ctx = (&mut *hooks as *mut Hooks).cast();
        refused_pool(&cfg, &hooks);
        // SAFETY: a whole, valid config.
        let pool = unsafe { zf_pool_new(&cfg) };
        assert!(!pool.is_null());
        let m = Model::new(&cfg);
        let reports: Box<RefCell<Vec<c_int>>> = Box::default();
        if cfg.flags & ZF_FLAG_DEBUG != 0 {
            let ctx = (&*reports as *const RefCell<Vec<c_int>>).cast_mut().cast();
            // SAFETY: a live pool; `reports` outlives it (`finish`).
            unsafe { zf_set_error_handler(pool, Some(keep_report), ctx) };
        }
        Run {
            cfg,
            pool,
            m,
            hooks,
            record_slots: 0,
            spares: 0,
            live: vec![],
            user_bytes: vec![],
            contents: HashMap::new(),
            seed: 1,
            hots: vec![],
            closed: false,
            order,
            reports,
            expected: vec![],
        }
    }

    fn debug(&self) -> bool {
        self.cfg.flags & ZF_FLAG_DEBUG != 0
    }

    /// Every call reaches the library, which keeps its header (and a
    /// zombie's link in it) before a prefix: debug, traced or legacy.
    fn watched(&self) -> bool {
        self.debug() || !self.cfg.trace_path.is_null() || self.cfg.policy == ZF_POLICY_LEGACY
    }

    /// A live frame holds every byte its user last wrote.
    fn check_live(&self, ci: usize, frame: *mut c_void, what: &str) {
        let len = self.user_bytes[ci];
        let intact = holds(frame.cast(), self.prefix(), len, self.contents[&(frame as usize)], true);
        assert!(intact, "a live frame's bytes changed ({what})");
    }

    /// The frame's bytes before its pointer (`ZF_FLAG_FRAME_PREFIX`).
    fn prefix(&self) -> usize {
        self.cfg.prefix()
    }

    fn alive(&self) -> Vec<usize> {
        (0..self.m.codes.len()).filter(|&i| !self.m.codes[i].freed).collect()
    }

    fn write(&mut self, frame: *mut c_void, len: usize) {
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        fill(frame.cast(), self.prefix(), len, self.seed);
        self.contents.insert(frame as usize, self.seed);
    }

    /// One operation; every handle and frame is used as the header says.
    unsafe fn step(&mut self, input: &mut Input) {
        if self.closed {
            self.step_closed(input);
            return self.check_reports();
        }
        let alive = self.alive();
        match input.byte() % 13 {
            0 => self.new_code(input),
            1 | 2 | 11 if !alive.is_empty() => {
                let ci = alive[input.below(alive.len())];
                self.acquire_step(ci, input.byte());
            }
            3 if !self.live.is_empty() => {
                let (ci, frame) = self.live[input.below(self.live.len())];
                self.check_live(ci, frame, "before a write");
                self.write(frame, self.user_bytes[ci]);
            }
            4 | 5 if !self.live.is_empty() => {
                let (ci, frame) = self.live.swap_remove(input.below(self.live.len()));
                self.release(ci, frame, input.byte());
                self.m.release(ci, frame as usize);
                self.note_if_dead(ci);
            }
            6 if !alive.is_empty() => {
                let ci = alive[input.below(alive.len())];
                zf_code_free(self.m.codes[ci].handle);
                self.m.free_code(ci);
                assert!(self.m.codes[ci].forget_hot(), "a freed code's state is inert");
                self.note_if_dead(ci);
            }
            7 => {
                // Past CPython's generation 2 too, as a C caller may ask.
                let generation = input.below(4);
                let cached = self.m.s.cached_bytes;
                let given_back = zf_pool_collect(self.pool, generation as c_int);
                self.m.collect(generation as u32);
                assert_eq!(given_back as u64, cached - self.m.s.cached_bytes, "the bytes a collection gave back");
            }
            8 => {
                let cached = self.m.s.cached_bytes;
                let given_back = zf_pool_clear(self.pool);
                self.m.clear();
                assert_eq!((given_back as u64, self.m.s.cached_bytes), (cached, 0), "the bytes a clear gave back");
            }
            9 => assert_eq!(zf_pool_print_stats(self.pool, null_fd()), 0, "the report"),
            10 if input.byte() % 4 == 0 => {
                // The pool goes first; its codes and frames live on.
                self.free_pool();
                return self.check_reports();
            }
            12 if self.debug() => self.misuse(input),
            _ => {}
        }
        self.check_reports();
        let got = stats(self.pool);
        self.m.s.shared_frames = self.m.reserve.len() as u64;
        self.m.s.allowance_bytes = self.m.allowance();
        self.m.s.bound_bytes = self.m.bound();
        assert_eq!(got, self.m.s, "stats differ from the model");
        let served = got.zombie_hits + got.shared_hits + got.reallocs + got.fresh_allocs;
        assert_eq!(got.acquires, served, "acquires are the frames served");
        assert!(got.cached_bytes + got.allowance_bytes <= got.bound_bytes, "over the bound in force");
        if self.cfg.budget_bytes != ZF_BUDGET_AUTO && self.cfg.policy != ZF_POLICY_LEGACY {
            assert_eq!(got.bound_bytes, self.cfg.budget_bytes as u64, "a user's budget is the bound");
        }
    }

    /// A new code, its inline state in the `ZfCode` or the caller's; the
    /// hook refuses its struct as the input picks (a dead code's kept
    /// struct needs none).
    unsafe fn new_code(&mut self, input: &mut Input) {
        let size = match input.byte() {
            b @ 0..=199 => b as usize + 1,
            b => (b as usize - 199) * 97,
        }
        .max(self.prefix()); // a prefixed frame holds its prefix
        let how = input.byte();
        let alloc = refusal(how >> 1);
        self.hooks.answer(alloc);
        let (code, inline) = match how % 2 {
            0 => {
                let code = zf_code_new(self.pool, size);
                (code, code.cast())
            }
            _ => {
                let hot = new_hot();
                (zf_code_new_with_hot(self.pool, size, hot), hot)
            }
        };
        let refused = self.hooks.give();
        if alloc != Alloc::Gives && self.spares == 0 {
            assert_refused(code.is_null(), refused, "a code's free list");
            if inline != code.cast() {
                assert!(drop_hot(inline), "a refused code's state was written");
            }
            return;
        }
        assert!(!code.is_null(), "a code refused with memory to spare");
        self.spares = self.spares.saturating_sub(1);
        if inline != code.cast() {
            self.hots.push(inline);
        }
        self.m.new_code(code, inline, block_frame_bytes(size, self.debug()));
        self.user_bytes.push(size);
    }

    /// Code `ci` was freed, or released a frame: with no frame live left,
    /// its struct is dead, and an open pool not in debug mode keeps it
    /// for the next new code.
    fn note_if_dead(&mut self, ci: usize) {
        let dead = self.m.codes[ci].freed && self.live.iter().all(|&(cj, _)| cj != ci);
        if dead && !self.debug() {
            self.spares = (self.spares + 1).min(SPARE_CODES_MAX);
        }
    }

    /// An acquire for live code `ci` (the entry and the hook's answer from
    /// `how`), checked against the model; the frame is written and kept.
    unsafe fn acquire_step(&mut self, ci: usize, how: u8) {
        let alloc = refusal(how >> 4);
        // A debug pool's record of frames grows, before anything else, when
        // the frame it may hand out would fill it past half.
        let grows = self.debug() && (self.m.blocks_held() + 1) * 2 > self.record_slots;
        self.hooks.answer(alloc);
        let got = self.acquire(ci, how);
        let refused = self.hooks.give();
        if grows && alloc != Alloc::Gives {
            return assert_refused(got.is_none(), refused, "the debug record of frames");
        }
        if grows {
            self.record_slots = (self.record_slots * 2).max(64);
        }
        let Some(want) = self.m.try_acquire(ci, alloc) else {
            return assert_refused(got.is_none(), refused, "a frame");
        };
        let (frame, flag) = got.expect("an acquire refused though the model's pool had memory");
        let len = self.user_bytes[ci];
        let is_zombie = flag.unwrap_or(matches!(want, Want::Zombie(_)) as c_int);
        match want {
            Want::Zombie(addr) => {
                assert_eq!((is_zombie, frame as usize), (1, addr), "not the zombie the hit takes next");
                let intact = holds(frame.cast(), self.prefix(), len, self.contents[&addr], self.watched());
                assert!(intact, "zombie bytes changed");
            }
            Want::Reserve(addr) => assert_eq!((is_zombie, frame as usize), (0, addr), "not the reserve frame"),
            Want::Fresh => {
                assert_eq!(is_zombie, 0, "is_zombie");
                self.m.fresh(ci, frame as usize);
            }
        }
        self.write(frame, len);
        self.live.push((ci, frame));
    }

    /// An acquire for code `ci` through the entry `how` picks: the exported
    /// function, or the header's inline pair (its copy in
    /// tests/common/model.rs), with an is_zombie to fill (returned) or
    /// NULL.
    /// None when it returned NULL, `*is_zombie` unwritten.
    unsafe fn acquire(&mut self, ci: usize, how: u8) -> Option<(*mut c_void, Option<c_int>)> {
        let (handle, inline) = (self.m.codes[ci].handle, self.m.codes[ci].inline);
        let mut is_zombie: c_int = -1;
        let (frame, flag) = match how % 4 {
            0 => (zf_frame_acquire(handle, &mut is_zombie), true),
            1 => (acquire_fast(inline, handle, &mut is_zombie), true),
            2 => (zf_frame_acquire(handle, std::ptr::null_mut()), false),
            _ => (acquire_fast(inline, handle, std::ptr::null_mut()), false),
        };
        if frame.is_null() {
            assert_eq!(is_zombie, -1, "is_zombie written by a failed acquire");
            return None;
        }
        assert!(frame as usize % 16 == 0);
        assert!(self.live.iter().all(|&(_, f)| f != frame), "a live frame handed out again");
        Some((frame, flag.then_some(is_zombie)))
    }

    /// A release of code `ci`'s live `frame` through the entry `how`
    /// picks: the exported function, its slow half, or the inline pair.
    /// The frame's bytes are checked first.
    unsafe fn release(&mut self, ci: usize, frame: *mut c_void, how: u8) {
        self.check_live(ci, frame, "at its release");
        let (handle, inline) = (self.m.codes[ci].handle, self.m.codes[ci].inline);
        match how % 3 {
            0 => zf_frame_release(handle, frame),
            1 => zf_frame_release_slow(handle, frame),
            _ => release_fast(inline, handle, frame),
        }
    }

    /// After an early zf_pool_free: the codes' frames come and go uncached
    /// (every acquire a fresh block), and a code may still be freed.
    unsafe fn step_closed(&mut self, input: &mut Input) {
        let alive = self.alive();
        match input.byte() % 4 {
            0 if !alive.is_empty() => {
                let ci = alive[input.below(alive.len())];
                let how = input.byte();
                let alloc = refusal(how >> 4);
                self.hooks.answer(alloc);
                let got = self.acquire(ci, how & 1);
                let refused = self.hooks.give();
                if alloc != Alloc::Gives {
                    // Nothing cached to clear: no second request.
                    assert_eq!(refused, 1, "a freed pool asked again after a refusal");
                    let record = common::last_error().contains("the debug record of frames");
                    let what = if record { "the debug record of frames" } else { "a frame" };
                    return assert_refused(got.is_none(), refused, what);
                }
                let (frame, is_zombie) = got.expect("a frame of a freed pool");
                assert_eq!(is_zombie, Some(0), "a zombie from a freed pool");
                self.write(frame, self.user_bytes[ci]);
                self.live.push((ci, frame));
            }
            1 if !self.live.is_empty() => {
                let (ci, frame) = self.live[input.below(self.live.len())];
                self.check_live(ci, frame, "before a write");
                self.write(frame, self.user_bytes[ci]);
            }
            2 if !self.live.is_empty() => {
                let (ci, frame) = self.live.swap_remove(input.below(self.live.len()));
                self.release(ci, frame, input.byte());
            }
            3 if !alive.is_empty() => {
                let ci = alive[input.below(alive.len())];
                zf_code_free(self.m.codes[ci].handle);
                self.m.codes[ci].freed = true;
                assert!(self.m.codes[ci].forget_hot(), "a freed code's state is inert");
            }
            _ => {}
        }
    }

    /// zf_pool_free: a debug pool reports frames still live.
    unsafe fn free_pool(&mut self) {
        if self.debug() && !self.live.is_empty() {
            self.expected.push(ZF_ERR_LEAK);
        }
        zf_pool_free(self.pool);
        self.closed = true;
    }

    /// A debug pool reported what the step's misuse called for, and
    /// nothing else; any other pool reported nothing (its handler aborts).
    fn check_reports(&mut self) {
        let got = std::mem::take(&mut *self.reports.borrow_mut());
        assert_eq!(got, std::mem::take(&mut self.expected), "the misuse reports");
    }

    /// One misuse of a debug pool, reported (its kind expected), and then
    /// either ignored or, for a frame released to the wrong code or with a
    /// byte past its end or over its header written, a release to its own
    /// code (which the model follows).
    unsafe fn misuse(&mut self, input: &mut Input) {
        let alive = self.alive();
        let freed: Vec<usize> = (0..self.m.codes.len()).filter(|&i| self.m.codes[i].freed).collect();
        let cached = self.m.cached();
        let prefix = self.prefix();
        match input.byte() % 7 {
            // A zombie or a reserve frame released again, to any live code.
            0 if !cached.is_empty() && !alive.is_empty() => {
                let frame = cached[input.below(cached.len())] as *mut c_void;
                let code = self.m.codes[alive[input.below(alive.len())]].handle;
                self.expected.push(ZF_ERR_DOUBLE_RELEASE);
                zf_frame_release(code, frame);
            }
            // A pointer the pool never handed out.
            1 if !alive.is_empty() => {
                let mut buf = vec![0u128; 8];
                let code = self.m.codes[alive[input.below(alive.len())]].handle;
                self.expected.push(ZF_ERR_FOREIGN_POINTER);
                zf_frame_release(code, buf.as_mut_ptr().add(4).cast());
            }
            // A live frame released to another live code.
            2 if !self.live.is_empty() && alive.len() >= 2 => {
                let i = input.below(self.live.len());
                let (ci, frame) = self.live[i];
                let Some(&other) = alive.iter().filter(|&&cj| cj != ci).nth(input.below(alive.len() - 1)) else {
                    return;
                };
                self.check_live(ci, frame, "at its release");
                self.live.swap_remove(i);
                self.expected.push(ZF_ERR_WRONG_CODE);
                zf_frame_release(self.m.codes[other].handle, frame);
                self.m.release(ci, frame as usize);
            }
            // A freed code: a frame asked of it, or freed again.
            3 | 4 if !freed.is_empty() => {
                let code = self.m.codes[freed[input.below(freed.len())]].handle;
                self.expected.push(ZF_ERR_FREED_CODE);
                if input.byte() % 2 == 0 {
                    assert!(zf_frame_acquire(code, std::ptr::null_mut()).is_null(), "a frame of a freed code");
                } else {
                    zf_code_free(code);
                }
            }
            // A byte past a live frame's end (its guard), or one of the
            // pool's header before it, written; then the frame released.
            5 | 6 if !self.live.is_empty() => {
                let (ci, frame) = self.live.swap_remove(input.below(self.live.len()));
                self.check_live(ci, frame, "at its release");
                let (at, kind) = match input.byte() % 2 {
                    0 => (self.user_bytes[ci] + input.below(16), ZF_ERR_OVERRUN),
                    _ => (input.below(ZF_HEADER_BYTES), ZF_ERR_UNDERRUN),
                };
                let byte = match kind {
                    ZF_ERR_OVERRUN => frame.cast::<u8>().sub(prefix).add(at),
                    _ => frame.cast::<u8>().sub(prefix + ZF_HEADER_BYTES).add(at),
                };
                *byte ^= 0xff;
                self.expected.push(kind);
                zf_frame_release(self.m.codes[ci].handle, frame);
                self.m.release(ci, frame as usize);
            }
            _ => {}
        }
    }

    /// Frees the pool, the live frames and the codes in the order the
    /// input picked (the pool first leaves frames and codes alive), then
    /// checks that the hook got every byte back.
    unsafe fn finish(mut self) {
        const ORDERS: [[u8; 3]; 6] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
        for part in ORDERS[self.order as usize % 6] {
            match part {
                0 if !self.closed => self.free_pool(),
                1 => {
                    for (ci, frame) in std::mem::take(&mut self.live) {
                        self.release(ci, frame, 0);
                    }
                }
                2 => {
                    for c in self.m.codes.iter_mut().filter(|c| !c.freed) {
                        zf_code_free(c.handle);
                        c.freed = true;
                    }
                }
                _ => {}
            }
        }
        self.check_reports();
        for hot in self.hots.drain(..) {
            assert!(drop_hot(hot), "a freed code's state was written");
        }
        let ledger = &self.hooks.ledger;
        assert_eq!(ledger.allocs, ledger.frees, "blocks leaked");
        assert_eq!(ledger.bytes_out, 0, "bytes leaked");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut run = Run::new(&mut input);
    // SAFETY: the driver uses every handle and frame as the header says.
    unsafe {
        while !input.0.is_empty() {
            if input.0[0] == 0xff {
                // Another pool, with another configuration.
                input.byte();
                std::mem::replace(&mut run, Run::new(&mut input)).finish();
            }
            run.step(&mut input);
        }
        run.finish();
    }
});
