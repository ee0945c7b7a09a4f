//! What the operating system provides, through libc. The library is
//! `#![no_std]`: the environment, files, stderr, per-thread storage, abort
//! and (without the `std` feature) the heap and the panic handler come
//! from here, in every build, so tests run the code C programs link.

use core::ffi::{c_char, c_int, c_void, CStr};
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use alloc::vec::Vec;

/// `text` as a C string's bytes, NUL-terminated; None if it holds a NUL.
/// (Not alloc's `CString`: its precompiled constructor carries unwinding
/// code, which would make the shared library need libgcc_s.)
pub fn c_string(text: &str) -> Option<Vec<u8>> {
    if text.as_bytes().contains(&0) {
        return None;
    }
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(0);
    Some(bytes)
}

/// The C string at the start of `bytes` (up to its first NUL; empty if none).
pub fn c_str(bytes: &[u8]) -> &CStr {
    CStr::from_bytes_until_nul(bytes).unwrap_or(c"")
}

/// The bytes of environment variable `name`, if it is set.
pub fn getenv(name: &str) -> Option<Vec<u8>> {
    let name = c_string(name)?;
    let name = c_str(&name);
    // SAFETY: `name` is NUL-terminated; getenv returns NULL or a
    // NUL-terminated string, copied at once (the C rule: nobody calls
    // setenv while another thread reads the environment).
    let value = unsafe { libc::getenv(name.as_ptr()) };
    // SAFETY: a non-NULL result of getenv is a NUL-terminated string.
    NonNull::new(value).map(|v| unsafe { CStr::from_ptr(v.as_ptr()) }.to_bytes().to_vec())
}

extern "C" {
    /// POSIX's `char **environ`.
    static environ: *const *const c_char;
}

/// What `f` finds first among the names (each before its `=`) of the
/// environment's variables.
#[inline(never)]
pub fn find_env_name<T>(mut f: impl FnMut(&[u8]) -> Option<T>) -> Option<T> {
    // SAFETY: a read of the variable (the C rule, as for getenv: nobody
    // calls setenv while another thread reads the environment).
    let mut at = unsafe { environ };
    while !at.is_null() {
        // SAFETY: environ is NULL or an array of pointers ended by a NULL,
        // and `at` has not passed that NULL.
        let entry = NonNull::new(unsafe { at.read() }.cast_mut())?;
        // SAFETY: each entry before the NULL is a NUL-terminated string.
        let entry = unsafe { CStr::from_ptr(entry.as_ptr()) }.to_bytes();
        if let Some(found) = f(entry.split(|&b| b == b'=').next().unwrap_or_default()) {
            return Some(found);
        }
        // SAFETY: at most one past this entry, the NULL at the latest.
        at = unsafe { at.add(1) };
    }
    None
}

pub fn pid() -> u32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() as u32 }
}

/// Ends the process now, as `Py_FatalError` does.
pub fn abort() -> ! {
    // SAFETY: abort has no preconditions.
    unsafe { libc::abort() }
}

/// `size` bytes from the C library's heap, aligned to `align` (a power of
/// two and a multiple of the pointer size), or NULL.
#[inline]
pub fn alloc_aligned(align: usize, size: usize) -> *mut c_void {
    let mut block = core::ptr::null_mut();
    // SAFETY: `block` is a valid out-pointer; posix_memalign refuses a bad
    // alignment with EINVAL (leaving it NULL) rather than misbehaving.
    match unsafe { libc::posix_memalign(&mut block, align, size) } {
        0 => block,
        _ => core::ptr::null_mut(),
    }
}

/// What malloc aligns every block to on this target, at least.
pub const MALLOC_ALIGN: usize = if cfg!(target_pointer_width = "64") { 16 } else { 8 };

/// `size` bytes from the C library's heap, aligned to `align` (a power of
/// two and a multiple of the pointer size), or NULL: plain malloc when it
/// aligns that much anyway, as it is the cheaper call.
#[inline]
pub fn alloc(align: usize, size: usize) -> *mut c_void {
    match align <= MALLOC_ALIGN {
        true => malloc(size),
        false => alloc_aligned(align, size),
    }
}

/// `size` bytes from the C library's heap, or NULL.
#[inline]
pub fn malloc(size: usize) -> *mut c_void {
    // SAFETY: malloc has no preconditions.
    unsafe { libc::malloc(size) }
}

/// Gives a block back to the C library's heap.
///
/// # Safety
/// `block` is NULL, or came from `alloc_aligned` or `malloc` and is not
/// used afterwards.
#[inline]
pub unsafe fn free(block: *mut c_void) {
    // SAFETY: by the contract, `block` is NULL or a live block of the C heap.
    unsafe { libc::free(block) }
}

/// A number naming the calling thread, distinct from every other live
/// thread's and never 0 (its `pthread_t`).
#[inline]
pub fn thread_id() -> usize {
    // SAFETY: pthread_self has no preconditions; its value names this thread.
    unsafe { libc::pthread_self() as usize }
}

/// An `errno` value, printed as the C library words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OsError(pub c_int);

impl OsError {
    /// EINVAL: an argument the C library would refuse (a path holding a NUL).
    pub fn invalid() -> OsError {
        OsError(libc::EINVAL)
    }

    /// This thread's `errno` now.
    pub fn last() -> OsError {
        #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
        // SAFETY: no preconditions.
        let errno = unsafe { libc::__error() };
        #[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "freebsd")))]
        // SAFETY: no preconditions.
        let errno = unsafe { libc::__errno_location() };
        // SAFETY: the C library gives this thread's errno location, never NULL.
        OsError(unsafe { *errno })
    }
}

impl fmt::Display for OsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0 as c_char; 128];
        // SAFETY: `buf` is writable for its whole length.
        let ok = unsafe { libc::strerror_r(self.0, buf.as_mut_ptr(), buf.len()) } == 0;
        // SAFETY: on success strerror_r left a NUL-terminated string in `buf`.
        match ok.then(|| unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().ok()).flatten() {
            Some(text) => write!(f, "{text} (os error {})", self.0),
            None => write!(f, "os error {}", self.0),
        }
    }
}

/// Writes all of `bytes` to `fd`, retrying short and interrupted writes.
/// Out of line: stderr, the trace and the report each had a copy.
#[inline(never)]
pub fn write_all(fd: c_int, mut bytes: &[u8]) -> Result<(), OsError> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is readable for bytes.len() bytes.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match n {
            n if n >= 0 => bytes = &bytes[n as usize..],
            _ if OsError::last().0 == libc::EINTR => {}
            _ => return Err(OsError::last()),
        }
    }
    Ok(())
}

/// A file opened for writing, truncated, closed when dropped.
pub struct File(c_int);

impl File {
    pub fn create(path: &CStr) -> Result<File, OsError> {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
        // SAFETY: `path` is NUL-terminated; the mode is open's third argument.
        match unsafe { libc::open(path.as_ptr(), flags, 0o666 as libc::c_uint) } {
            -1 => Err(OsError::last()),
            fd => Ok(File(fd)),
        }
    }

    pub fn write_all(&self, bytes: &[u8]) -> Result<(), OsError> {
        write_all(self.0, bytes)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // SAFETY: the descriptor is this File's own, closed once.
        unsafe { libc::close(self.0) };
    }
}

/// Standard error, unbuffered: each piece goes out as it is formatted, so
/// a line printed just before abort() is never lost, and printing needs
/// no heap.
pub struct Stderr;

impl fmt::Write for Stderr {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_all(2, s.as_bytes()).map_err(|_| fmt::Error)
    }
}

/// Prints to stderr. A failed write to stderr has nowhere to be reported.
pub fn eprint(args: fmt::Arguments<'_>) {
    let _ = fmt::Write::write_fmt(&mut Stderr, args);
}

/// `N` bytes per thread, zeroed when a thread first asks for them and
/// freed when it exits: what `zf_last_error` returns. A pthread key, made
/// on first use (the key number plus one; 0: none yet).
pub struct ThreadBuffer<const N: usize> {
    key: AtomicUsize,
}

impl<const N: usize> ThreadBuffer<N> {
    pub const fn new() -> Self {
        ThreadBuffer { key: AtomicUsize::new(0) }
    }

    fn key(&self) -> Option<libc::pthread_key_t> {
        match self.key.load(Ordering::Acquire) {
            0 => {}
            k => return Some((k - 1) as libc::pthread_key_t),
        }
        let mut new: libc::pthread_key_t = 0;
        // SAFETY: `new` is writable; `free_buffer` frees what the key holds.
        if unsafe { libc::pthread_key_create(&mut new, Some(free_buffer)) } != 0 {
            return None;
        }
        match self.key.compare_exchange(0, new as usize + 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Some(new),
            Err(theirs) => {
                // Another thread made the key first: use theirs.
                // SAFETY: `new` was made above and holds no value yet.
                unsafe { libc::pthread_key_delete(new) };
                Some((theirs - 1) as libc::pthread_key_t)
            }
        }
    }

    /// This thread's buffer; made (zeroed) when `create` is set and it does
    /// not exist yet. None when it does not exist or cannot be made.
    pub fn get(&self, create: bool) -> Option<NonNull<[u8; N]>> {
        let key = self.key()?;
        // SAFETY: `key` is a live key of this buffer.
        let mine = unsafe { libc::pthread_getspecific(key) };
        if let Some(mine) = NonNull::new(mine) {
            return Some(mine.cast());
        }
        if !create {
            return None;
        }
        // SAFETY: calloc has no preconditions; NULL is handled.
        let fresh = NonNull::new(unsafe { libc::calloc(1, N) })?;
        // SAFETY: `key` is live; the value is this thread's, freed by `free_buffer`.
        if unsafe { libc::pthread_setspecific(key, fresh.as_ptr()) } != 0 {
            // SAFETY: `fresh` came from calloc and was not handed out.
            unsafe { libc::free(fresh.as_ptr()) };
            return None;
        }
        Some(fresh.cast())
    }
}

/// A thread's buffer, at its exit.
unsafe extern "C" fn free_buffer(buffer: *mut c_void) {
    // SAFETY: the key holds only buffers from calloc in `ThreadBuffer::get`.
    unsafe { libc::free(buffer) }
}

/// Without std, the heap is the C library's, and a panic aborts after one
/// line on stderr (the core is written not to panic; this is the backstop).
#[cfg(all(panic = "abort", not(any(test, feature = "std"))))]
mod runtime {
    use core::alloc::{GlobalAlloc, Layout};

    use super::MALLOC_ALIGN;

    struct Malloc;

    // SAFETY: each block comes from malloc or posix_memalign with at least
    // the layout's size and alignment (or is NULL), and goes back to free.
    unsafe impl GlobalAlloc for Malloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if layout.align() <= MALLOC_ALIGN && layout.align() <= layout.size() {
                return super::malloc(layout.size()).cast();
            }
            // A power of two and a multiple of the pointer size.
            let align = layout.align().max(core::mem::size_of::<usize>());
            super::alloc_aligned(align, layout.size()).cast()
        }

        unsafe fn dealloc(&self, block: *mut u8, _layout: Layout) {
            // SAFETY: `block` came from `alloc` above (GlobalAlloc's contract).
            unsafe { super::free(block.cast()) }
        }
    }

    #[global_allocator]
    static MALLOC: Malloc = Malloc;

    // The precompiled `alloc` library's unwind tables name
    // `rust_eh_personality`: a static link of the archive into a C program
    // needs the name, though with panic = "abort" nothing ever unwinds and
    // nothing calls it. It is defined weak (a Rust library with std linked
    // beside us brings the real one) and hidden (the .so exports only the
    // zf_ functions).
    #[cfg(target_os = "linux")]
    core::arch::global_asm!(
        ".weak rust_eh_personality",
        ".hidden rust_eh_personality",
        ".set rust_eh_personality, {never}",
        never = sym personality_never_called,
    );

    #[cfg(target_os = "linux")]
    extern "C" fn personality_never_called() -> ! {
        super::abort()
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        super::eprint(format_args!("zombie-frames: panic: {info}\n"));
        super::abort()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_buffers_are_per_thread_and_zeroed() {
        static BUF: ThreadBuffer<8> = ThreadBuffer::new();
        assert!(BUF.get(false).is_none());
        let mine = BUF.get(true).unwrap();
        // SAFETY: this thread's buffer, used by this thread alone.
        unsafe { (*mine.as_ptr())[0] = 7 };
        assert_eq!(BUF.get(false), Some(mine));
        let theirs = std::thread::spawn(|| {
            assert!(BUF.get(false).is_none());
            let b = BUF.get(true).unwrap();
            // SAFETY: the new thread's own buffer.
            (unsafe { *b.as_ptr() }, b.as_ptr() as usize)
        })
        .join()
        .unwrap();
        assert_eq!(theirs.0, [0; 8]);
        assert_ne!(theirs.1, mine.as_ptr() as usize);
        // SAFETY: this thread's buffer.
        assert_eq!(unsafe { (*mine.as_ptr())[0] }, 7);
    }

    #[test]
    fn os_errors_read_as_words() {
        let text = alloc::format!("{}", OsError(libc::ENOENT));
        assert!(text.contains("No such file") && text.ends_with("(os error 2)"), "{text}");
        assert!(File::create(c"/nonexistent-dir/x").is_err_and(|e| e.0 == libc::ENOENT));
    }

    #[test]
    fn write_all_reaches_a_file() {
        let path = std::env::temp_dir().join(alloc::format!("zf-os-{}", pid()));
        let c = alloc::ffi::CString::new(path.to_str().unwrap()).unwrap();
        File::create(&c).unwrap().write_all(b"zftrace 1\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"zftrace 1\n");
        std::fs::remove_file(path).unwrap();
        assert_eq!(write_all(-1, b"x"), Err(OsError(libc::EBADF)));
    }
}
