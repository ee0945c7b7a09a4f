//! The C ABI (`include/zombie_frames.h` is generated from this file). Each
//! function only checks and converts its arguments and calls the safe core
//! (the slow entries ask it which lane to take: `Lane`).
//!
//! One convention for errors: a failing call returns NULL (or -1, or 0
//! bytes) and leaves a message for `zf_last_error()` on the calling thread.
//! One rule for NULL handles, stated in the header: the free and release
//! functions take NULL as a no-op; every other function refuses it through
//! `non_null!`, which names the argument.
//! No Rust panic crosses this boundary: an `extern "C"` function that
//! panicked would abort the process, and the core is written not to panic.
//!
//! # Safety
//! One contract covers every function here, as the header states it: each
//! pointer argument is NULL or what its name says (a pool from
//! `zf_pool_new` not yet freed, a code from `zf_code_new` not yet freed or
//! still holding live frames, a frame that `zf_frame_acquire` returned for
//! that code and that is live, a writable struct). From Rust, these are the
//! same functions, hence `unsafe`.
#![allow(clippy::missing_safety_doc)]

use crate::block::Link;
use crate::code::Code;
use crate::config::ZfConfig;
use crate::debug::ZfErrorHandler;
use crate::error::{self, set_error, Error};
use crate::hot::ZfCodeHot;
use crate::os;
use crate::pool::{Lane, Pool};
use crate::stats::ZfStats;
use core::ffi::{c_char, c_int, c_void};
use core::ptr::{self, NonNull};

/// Every cached frame of one interpreter. Used by one thread at a time.
pub struct ZfPool {
    _opaque: [u8; 0],
}

/// The zombie free list of one code object (in place of `co_zombieframe`).
pub struct ZfCode {
    _opaque: [u8; 0],
}

fn fail<T>(e: Error, value: T) -> T {
    set_error(&e);
    value
}

/// The boundary's rule for a failure whose error the core set without
/// knowing the entry (`Pool::fail`, the allocator's refusals): the message
/// names `function` too.
#[cold]
fn named<T>(function: &'static str, value: T) -> T {
    error::name_last(function);
    value
}

/// The boundary's rule for a pointer argument that must not be NULL:
/// `non_null!(function, arg, failed)` is `arg` as a `NonNull`, or returns
/// `failed` from the function with a message naming `arg`.
macro_rules! non_null {
    ($function:literal, $arg:ident, $failed:expr) => {
        match NonNull::new($arg) {
            Some(p) => p,
            None => return fail(Error::Null { function: $function, arg: stringify!($arg) }, $failed),
        }
    };
}

/// The boundary's rule for a debug pool's one thread inside:
/// `claimed!(pool, function, failed, call)` is `call`'s value, run with the
/// pool claimed (`Pool::claim`), or returns `failed` from the function when
/// another thread is inside (reported, with a message); without `failed`,
/// for a function that returns nothing.
macro_rules! claimed {
    ($p:ident, $function:literal, $call:expr) => {
        claimed!($p, $function, (), $call)
    };
    ($p:ident, $function:literal, $failed:expr, $call:expr) => {{
        if !$p.claim($function) {
            #[allow(clippy::unused_unit)]
            return $failed;
        }
        let value = $call;
        $p.unclaim();
        value
    }};
}

/// # Safety
/// `pool` is a pool from zf_pool_new not yet freed (the module's contract).
unsafe fn pool_ref<'a>(pool: NonNull<ZfPool>) -> &'a Pool {
    // SAFETY: by the contract, a live pool.
    unsafe { pool.cast::<Pool>().as_ref() }
}

/// A caller's ZfConfig, once its `struct_size` says the whole struct is
/// there: a caller built against another version of the header may have
/// passed a smaller one, so nothing past that first field is read before.
/// Read only: `zf_pool_new`'s may be a `const` in read-only memory.
///
/// # Safety
/// `cfg` points to a struct that starts with `uint32_t struct_size`.
unsafe fn whole_config(cfg: NonNull<ZfConfig>, function: &'static str) -> Result<NonNull<ZfConfig>, Error> {
    // SAFETY: by the contract; every version of ZfConfig starts with it.
    ZfConfig::check_struct_size(unsafe { cfg.cast::<u32>().read() }, function)?;
    Ok(cfg)
}

fn code_ptr(code: *mut ZfCode) -> Option<NonNull<Code>> {
    NonNull::new(code.cast::<Code>())
}

/// Fills `out` with the defaults (per-code policy, documented limits).
#[no_mangle]
pub unsafe extern "C" fn zf_config_default(out: *mut ZfConfig) {
    let out = non_null!("zf_config_default", out, ());
    // SAFETY: `out` points to writable memory for a ZfConfig.
    unsafe { out.as_ptr().write(ZfConfig::default()) }
}

/// Applies ZF_POLICY, ZF_PER_CODE_MAX, ZF_BUDGET (512K, 4M, auto, ...),
/// ZF_SWEEP_EVERY, ZF_RESERVE_MAX, ZF_SWEEP_GENERATION, ZF_TRACE and
/// ZF_DEBUG from the environment. Returns 0, or -1 with
/// zf_last_error() naming the variable and its value, or a variable set
/// whose name is one slip from one of these (ZF_BUGDET, zf_budget); then
/// `cfg` is unchanged.
#[no_mangle]
pub unsafe extern "C" fn zf_config_from_env(cfg: *mut ZfConfig) -> c_int {
    let cfg = non_null!("zf_config_from_env", cfg, -1);
    // SAFETY: the module's contract: a ZfConfig of some version.
    let cfg = match unsafe { whole_config(cfg, "zf_config_from_env") } {
        // SAFETY: a whole ZfConfig, writable (this function's contract).
        Ok(cfg) => unsafe { &mut *cfg.as_ptr() },
        Err(e) => return fail(e, -1),
    };
    if let Some(e) = os::find_env_name(ZfConfig::slipped_name) {
        return fail(e, -1);
    }
    match cfg.apply_env(os::getenv) {
        Ok(()) => 0,
        Err(e) => fail(e, -1),
    }
}

/// Makes a pool; NULL `cfg` means the defaults. NULL on a bad config or no
/// memory, with zf_last_error() naming this function and the field.
#[no_mangle]
pub unsafe extern "C" fn zf_pool_new(cfg: *const ZfConfig) -> *mut ZfPool {
    let cfg = match NonNull::new(cfg.cast_mut()) {
        // SAFETY: the module's contract: a ZfConfig of some version.
        Some(cfg) => match unsafe { whole_config(cfg, "zf_pool_new") } {
            // SAFETY: a whole ZfConfig, read and copied, never written.
            Ok(cfg) => unsafe { cfg.read() },
            Err(e) => return fail(e, ptr::null_mut()),
        },
        None => ZfConfig::default(),
    };
    match Pool::create(&cfg) {
        Ok(pool) => pool.as_ptr().cast(),
        Err(e) => named("zf_pool_new", fail(e, ptr::null_mut())),
    }
}

/// Frees every zombie and stops caching; NULL is a no-op. Codes still
/// alive stay valid (acquire and release go straight to the allocator) and
/// the pool's memory goes with the last of them. With ZF_FLAG_DEBUG, frames
/// still live are reported as ZF_ERR_LEAK, and a call while another thread
/// is inside the pool is refused (reported; nothing is freed). A second
/// call is undefined: a debug pool reports it (ZF_ERR_FREED_POOL) while
/// codes keep its memory, and one without hooks also after, until eight
/// more such pools have gone.
#[no_mangle]
pub unsafe extern "C" fn zf_pool_free(pool: *mut ZfPool) {
    let Some(pool) = NonNull::new(pool) else { return };
    {
        // SAFETY: the caller frees each pool once (header contract).
        let p = unsafe { pool_ref(pool) };
        if !p.claim_to_free("zf_pool_free") {
            return;
        }
        p.close();
        p.unclaim();
    }
    // SAFETY: closed, and no reference to it is held any more.
    unsafe { Pool::free_if_unused(pool.cast()) }
}

/// A code object was made whose frames need `frame_bytes` bytes (1, or
/// with ZF_FLAG_FRAME_PREFIX the prefix's bytes, to ZF_MAX_FRAME_BYTES). NULL
/// on a bad size or no memory (or, in a debug pool, a call it refuses:
/// another thread inside it, or the pool freed).
#[no_mangle]
pub unsafe extern "C" fn zf_code_new(pool: *mut ZfPool, frame_bytes: usize) -> *mut ZfCode {
    let pool = non_null!("zf_code_new", pool, ptr::null_mut());
    // SAFETY: the module's contract: a live pool.
    let p = unsafe { pool_ref(pool) };
    new_code(p, frame_bytes, "zf_code_new").map_or(ptr::null_mut(), |code| code.as_ptr().cast())
}

/// Both entries' making of a code, in one copy: the code, or None with
/// the failure left for `function`.
#[inline(never)]
fn new_code(p: &Pool, frame_bytes: usize, function: &'static str) -> Option<NonNull<Code>> {
    if !p.claim(function) {
        return None;
    }
    let made = p.new_code(frame_bytes);
    p.unclaim();
    match made {
        Ok(code) => Some(code),
        Err(e) => named(function, fail(e.called_from(function), None)),
    }
}

/// `zf_code_new`, with the code's inline state (`ZfCodeHot`) in the
/// caller's `hot` instead of at the start of the `ZfCode`, so that glue
/// can keep it inside its code object, one load nearer. A call that
/// succeeds makes `*hot` inert; then pass `hot` to zf_hot_hit and
/// zf_hot_give, and the `ZfCode` to the exported functions (not to
/// zf_frame_acquire_fast or zf_frame_release_fast: on it they stay safe
/// and count right, but serve no zombie, and their acquire may take a new
/// block while zombies wait in `hot`). Each code needs its own `hot`,
/// which must stay valid and in place, and which nothing but those two
/// and the library may use, until
/// zf_code_free returns (a traced or legacy pool never writes it after
/// this call; a debug pool reads it at the code's calls, and only makes
/// it inert again, reported, if it was written); after it, the library
/// never touches it. NULL as
/// zf_code_new, or when `hot` is NULL or not aligned as a pointer.
#[no_mangle]
pub unsafe extern "C" fn zf_code_new_with_hot(
    pool: *mut ZfPool,
    frame_bytes: usize,
    hot: *mut ZfCodeHot,
) -> *mut ZfCode {
    let hot = non_null!("zf_code_new_with_hot", hot, ptr::null_mut());
    if !hot.as_ptr().is_aligned() {
        let why = "hot is not aligned as a pointer";
        return fail(Error::invalid("zf_code_new_with_hot", why), ptr::null_mut());
    }
    let pool = non_null!("zf_code_new_with_hot", pool, ptr::null_mut());
    // SAFETY: the module's contract: a live pool.
    let p = unsafe { pool_ref(pool) };
    let Some(code) = new_code(p, frame_bytes, "zf_code_new_with_hot") else { return ptr::null_mut() };
    // SAFETY: just made, and alive until the caller frees it.
    let c = unsafe { code.as_ref() };
    // SAFETY: aligned (tested above); the caller keeps `hot` for this code
    // until zf_code_free (header contract), which detaches it.
    unsafe { c.attach_hot(hot) };
    code.as_ptr().cast()
}

/// The code object is gone: its zombies leave now, to the reserve while
/// it has room within the bound (the next code of their size class takes
/// them), else back to the allocator; under ZF_POLICY_LEGACY always back,
/// as CPython frees a dead code's zombie. Frames of it still live stay
/// valid and go the same way when released, through this same handle,
/// which stays valid until then. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn zf_code_free(code: *mut ZfCode) {
    let Some(code) = code_ptr(code) else { return };
    // SAFETY: a code not yet freed is alive, and so is its pool.
    match Pool::of(unsafe { code.as_ref() }).is_debug() {
        // SAFETY: the caller frees each code once (header contract).
        false => unsafe { Pool::free_code(code) },
        // SAFETY: as above.
        true => unsafe { Pool::free_code_checked(code) },
    }
}

/// A frame of `frame_bytes` for this code, aligned to 16: one of its
/// zombies (every byte as it was released; `*is_zombie` = 1), or else a
/// frame from the reserve (another code's, of the same size class) or a
/// fresh block (`*is_zombie` = 0: initialise it in full). `is_zombie` may
/// be NULL. NULL only when memory runs out (or `code` is NULL, or a
/// debug pool refuses the call: another thread inside it, or a freed
/// code).
#[no_mangle]
pub unsafe extern "C" fn zf_frame_acquire(code: *mut ZfCode, is_zombie: *mut c_int) -> *mut c_void {
    // SAFETY: a non-null code is alive (header contract).
    let Some(c) = (unsafe { code.cast::<Code>().as_ref() }) else {
        return null_code("zf_frame_acquire", ptr::null_mut());
    };
    // The hit path first, as zf_frame_acquire_fast runs it; all else is
    // cold. A watched pool's hot state is inert (no zombie to take); a
    // plain pool links its blocks at Link::FAST.
    if let Some(frame) = c.fast().take(Link::FAST) {
        // SAFETY: a non-null `is_zombie` points to a writable int.
        if let Some(out) = unsafe { is_zombie.as_mut() } {
            *out = 1;
        }
        return frame.as_ptr().cast();
    }
    // SAFETY: forwarded contract (`is_zombie`).
    unsafe { acquire_slow(c, is_zombie, "zf_frame_acquire") }
}

/// `zf_frame_acquire` for a caller whose `zf_frame_hit_fast` just returned
/// NULL: the same, less a second look at the inline state. A call while
/// that state holds a zombie is still correct, but may hand out another
/// frame (`*is_zombie` = 0) and leave that zombie cached.
#[no_mangle]
pub unsafe extern "C" fn zf_frame_acquire_slow(code: *mut ZfCode, is_zombie: *mut c_int) -> *mut c_void {
    // SAFETY: a non-null code is alive (header contract).
    let Some(c) = (unsafe { code.cast::<Code>().as_ref() }) else {
        // (Out of line: the message's frame made every call push one.)
        return null_code("zf_frame_acquire_slow", ptr::null_mut());
    };
    // SAFETY: `is_zombie` is NULL or writable (header contract).
    unsafe { acquire_past_hot(c, is_zombie, "zf_frame_acquire_slow") }
}

/// An acquire past the inline state, three ways (`Pool::miss_lane`): a
/// plain pool's lane for a miss with nothing else due, the same after a
/// `sync` where the code has inline work not yet counted, else the slow
/// path, for the entry `function`. Tests and a tail call: no frame of its
/// own, so a call the lane turns away costs the tests and a jump.
///
/// # Safety
/// `is_zombie` is NULL or points to a writable int.
#[inline(always)]
unsafe fn acquire_past_hot(c: &Code, is_zombie: *mut c_int, function: &'static str) -> *mut c_void {
    match Pool::of(c).miss_lane(c) {
        // SAFETY: forwarded contract.
        Lane::Plain => unsafe { plain_miss(c, is_zombie) },
        // SAFETY: forwarded contract.
        Lane::Pending => unsafe { pending_miss(c, is_zombie) },
        // SAFETY: forwarded contract.
        Lane::Full => unsafe { acquire_slow(c, is_zombie, function) },
    }
}

/// The lane's miss (`Pool::plain_miss`).
///
/// # Safety
/// `is_zombie` is NULL or points to a writable int.
#[inline(never)]
unsafe fn plain_miss(c: &Code, is_zombie: *mut c_int) -> *mut c_void {
    // A failure has left its message already (`Pool::fail`). The lane's
    // one entry is zf_frame_acquire_slow (`acquire_past_hot`).
    let Ok(frame) = Pool::of(c).plain_miss(c) else { return named("zf_frame_acquire_slow", ptr::null_mut()) };
    // SAFETY: by the contract, a non-null `is_zombie` is writable.
    if let Some(out) = unsafe { is_zombie.as_mut() } {
        *out = 0;
    }
    frame.as_ptr().cast()
}

/// The lane's miss after the fast path's work is counted.
///
/// # Safety
/// `is_zombie` is NULL or points to a writable int.
#[cold]
#[inline(never)]
unsafe fn pending_miss(c: &Code, is_zombie: *mut c_int) -> *mut c_void {
    Pool::of(c).sync(c);
    // SAFETY: forwarded contract.
    unsafe { plain_miss(c, is_zombie) }
}

/// An acquire past the inline state, for the entry `function` (which
/// debug mode's reports name).
///
/// # Safety
/// `is_zombie` is NULL or points to a writable int.
#[cold]
#[inline(never)]
unsafe fn acquire_slow(c: &Code, is_zombie: *mut c_int, function: &'static str) -> *mut c_void {
    // A failure has left its message already (`Pool::fail`).
    let Ok((frame, hit)) = Pool::of(c).acquire(c, function) else { return named(function, ptr::null_mut()) };
    // SAFETY: by the contract, a non-null `is_zombie` is writable.
    if let Some(out) = unsafe { is_zombie.as_mut() } {
        *out = hit as c_int;
    }
    frame.as_ptr().cast()
}

/// The frame is no longer used: it becomes a zombie of `code`, or else
/// retires to the reserve, or goes back to the allocator. A NULL frame is
/// a no-op.
#[no_mangle]
pub unsafe extern "C" fn zf_frame_release(code: *mut ZfCode, frame: *mut c_void) {
    let Some(frame) = NonNull::new(frame.cast::<u8>()) else { return };
    let Some(code) = code_ptr(code) else { return null_code("zf_frame_release", ()) };
    // The hit path first, as zf_frame_release_fast runs it.
    // SAFETY: a non-null code is alive (header contract).
    let hot = unsafe { code.as_ref().fast() };
    // SAFETY: `frame` came from zf_frame_acquire on this code and is live
    // (header contract). A watched pool's hot state is inert (its slot
    // shut, no room), so it takes nothing and its slow path checks the
    // frame; a plain pool links its blocks at Link::FAST.
    if unsafe { hot.give(frame, Link::FAST) } {
        return;
    }
    // SAFETY: forwarded contract.
    unsafe { Pool::release(code, frame, "zf_frame_release") }
}

/// `zf_frame_release` for a caller whose `zf_frame_give_fast` just
/// returned 0: the same, less the exported function's own first try of
/// the inline state (the library's slow release still tries it once, so
/// a call that skipped `zf_frame_give_fast` is the same as
/// `zf_frame_release`).
#[no_mangle]
pub unsafe extern "C" fn zf_frame_release_slow(code: *mut ZfCode, frame: *mut c_void) {
    let Some(frame) = NonNull::new(frame.cast::<u8>()) else { return };
    let Some(code) = code_ptr(code) else { return null_code("zf_frame_release_slow", ()) };
    // SAFETY: forwarded contract.
    unsafe { release_past_hot(code, frame, "zf_frame_release_slow") }
}

/// A release past the inline state, three ways (`Pool::release_lane`): a
/// plain pool's lane for a frame with nothing but its free due, the same
/// after a `sync`, else the slow path, for the entry `function`. Tests and
/// a tail call, as `acquire_past_hot`.
///
/// # Safety
/// `frame` came from an acquire on `code` and has not been released since.
#[inline(always)]
unsafe fn release_past_hot(code: NonNull<Code>, frame: NonNull<u8>, function: &'static str) {
    // SAFETY: a code with a live frame is alive (header contract).
    let c = unsafe { code.as_ref() };
    match Pool::of(c).release_lane(c) {
        // SAFETY: forwarded contract.
        Lane::Plain => unsafe { plain_free(c, frame) },
        // SAFETY: forwarded contract.
        Lane::Pending => unsafe { pending_free(c, frame) },
        // SAFETY: forwarded contract.
        Lane::Full => unsafe { Pool::release(code, frame, function) },
    }
}

/// The lane's release (`Pool::plain_free`).
///
/// # Safety
/// As `release_past_hot`.
#[inline(never)]
unsafe fn plain_free(c: &Code, frame: NonNull<u8>) {
    // SAFETY: forwarded contract.
    unsafe { Pool::of(c).plain_free(c, frame) }
}

/// The lane's release after the fast path's work is counted.
///
/// # Safety
/// As `release_past_hot`.
#[cold]
#[inline(never)]
unsafe fn pending_free(c: &Code, frame: NonNull<u8>) {
    Pool::of(c).sync(c);
    // SAFETY: forwarded contract.
    unsafe { plain_free(c, frame) }
}

/// A NULL code given to `function` (an acquire, or a release of a frame
/// that is not NULL): refused, with `failed`.
#[cold]
#[inline(never)]
fn null_code<T>(function: &'static str, failed: T) -> T {
    fail(Error::Null { function, arg: "code" }, failed)
}

/// The interpreter ran a garbage collection of `generation` (0 or more).
/// Under ZF_POLICY_PER_CODE, a generation of `sweep_generation` or older
/// runs one aging sweep (by default, 3, none of CPython's 0 to 2 does),
/// and a full one (2 and up) below it halves the lists no acquire touched
/// through several full collections; either counts in `sweeps`. A full
/// one also forgets the room the automatic bound made for CPython's free
/// list (recursion, re-entries), freeing what no longer fits, the
/// reserve's frames first. Under ZF_POLICY_LEGACY, generation 2 and
/// up empty the reserve (CPython's global free list), as CPython's full
/// collections do. Returns every byte freed.
#[no_mangle]
pub unsafe extern "C" fn zf_pool_collect(pool: *mut ZfPool, generation: c_int) -> usize {
    let pool = non_null!("zf_pool_collect", pool, 0);
    // SAFETY: the module's contract: a live pool.
    let p = unsafe { pool_ref(pool) };
    if generation < 0 {
        let why = format!("generation {generation} is negative");
        return fail(Error::Invalid { function: "zf_pool_collect", why }, 0);
    }
    claimed!(p, "zf_pool_collect", 0, p.collect(generation as u32)) as usize
}

/// Frees every zombie and every reserve frame now (PyFrame_ClearFreeList).
/// Returns the bytes freed.
#[no_mangle]
pub unsafe extern "C" fn zf_pool_clear(pool: *mut ZfPool) -> usize {
    let pool = non_null!("zf_pool_clear", pool, 0);
    // SAFETY: the module's contract: a live pool.
    let p = unsafe { pool_ref(pool) };
    claimed!(p, "zf_pool_clear", 0, p.clear_on_request()) as usize
}

/// Copies the pool's counters into `out`; a NULL pool gives all zeros
/// (and zf_last_error() says so).
#[no_mangle]
pub unsafe extern "C" fn zf_pool_stats(pool: *const ZfPool, out: *mut ZfStats) {
    let out = non_null!("zf_pool_stats", out, ());
    // SAFETY: `out` points to writable memory for a ZfStats.
    unsafe { out.as_ptr().write(ZfStats::default()) };
    let pool = pool.cast_mut();
    let pool = non_null!("zf_pool_stats", pool, ());
    // SAFETY: the module's contract: a live pool.
    let p = unsafe { pool_ref(pool) };
    let stats = claimed!(p, "zf_pool_stats", p.stats());
    // SAFETY: as above.
    unsafe { out.as_ptr().write(stats) }
}

/// Writes a human-readable report to file descriptor `fd`. 0, or -1.
#[no_mangle]
pub unsafe extern "C" fn zf_pool_print_stats(pool: *const ZfPool, fd: c_int) -> c_int {
    let pool = pool.cast_mut();
    let pool = non_null!("zf_pool_print_stats", pool, -1);
    // SAFETY: the module's contract: a live pool.
    let p = unsafe { pool_ref(pool) };
    let text = claimed!(p, "zf_pool_print_stats", -1, p.stats_report());
    match os::write_all(fd, text.as_bytes()) {
        Ok(()) => 0,
        Err(err) => {
            let why = format!("write to fd {fd} failed: {err}");
            fail(Error::Io { function: "zf_pool_print_stats", why }, -1)
        }
    }
}

/// Bytes one frame of `frame_bytes` takes in a per-code pool's cache and
/// budget: the frame rounded up to 16, plus the library's header, rounded
/// up to its size class (by at most a sixteenth). 0 when `frame_bytes` is
/// out of range. Legacy and debug pools size blocks otherwise, and so
/// does a pool with ZF_FLAG_FRAME_PREFIX that is neither debug nor traced:
/// its block is the class of `frame_bytes` alone, with no header.
#[no_mangle]
pub extern "C" fn zf_frame_block_bytes(frame_bytes: usize) -> usize {
    if frame_bytes == 0 || frame_bytes > crate::ZF_MAX_FRAME_BYTES {
        return 0;
    }
    crate::block::block_bytes(crate::block::size_class(frame_bytes)).unwrap_or(0)
}

/// The message of this thread's last failed call, or NULL if none failed.
/// Valid until the next failing call on this thread.
#[no_mangle]
pub extern "C" fn zf_last_error() -> *const c_char {
    error::last()
}

/// The library's version, "MAJOR.MINOR.PATCH" (ZF_VERSION_STRING of the
/// header it was built with).
#[no_mangle]
pub extern "C" fn zf_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Sets the handler for this pool's misuse reports; NULL `func` restores the
/// default (a line on stderr, then abort()). In a debug pool, a call while
/// another thread is inside it is refused (reported; the handler stays).
#[no_mangle]
pub unsafe extern "C" fn zf_set_error_handler(pool: *mut ZfPool, func: ZfErrorHandler, ctx: *mut c_void) {
    let pool = non_null!("zf_set_error_handler", pool, ());
    // SAFETY: the module's contract: a live pool.
    let p = unsafe { pool_ref(pool) };
    claimed!(p, "zf_set_error_handler", p.set_handler(crate::debug::Handler { func, ctx }));
}
