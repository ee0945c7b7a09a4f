//! The library's one error type, and each thread's last one, which
//! `zf_last_error()` returns.

use crate::os::ThreadBuffer;
use alloc::string::String;
use core::ffi::c_char;
use core::fmt::{self, Write};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A `ZfConfig` field that `function` was given is out of range.
    Config { function: &'static str, field: &'static str, why: String },
    /// A `ZF_*` environment variable holds something it cannot mean.
    Env { var: &'static str, value: String, expected: &'static str },
    /// A variable is set whose name is one slip from a setting's (`meant`).
    EnvName { name: String, meant: &'static str },
    /// `function` (`zf_code_new` or `zf_code_new_with_hot`) was asked for
    /// a frame size it refuses.
    FrameBytes { function: &'static str, asked: usize, min: usize, max: usize },
    /// The allocator (malloc or the hook) returned NULL.
    OutOfMemory { what: &'static str, bytes: usize },
    /// The alloc hook returned memory that is not aligned to 16.
    Misaligned { bytes: usize },
    /// A required pointer argument was NULL.
    Null { function: &'static str, arg: &'static str },
    /// An argument is out of its documented range.
    Invalid { function: &'static str, why: String },
    /// Writing to a file descriptor failed.
    Io { function: &'static str, why: String },
}

impl Error {
    pub fn env(var: &'static str, value: String, expected: &'static str) -> Error {
        Error::Env { var, value, expected }
    }

    /// `Error::Invalid` for a reason that is fixed text, out of line: the
    /// String made of it is one copy, not one at each call.
    #[inline(never)]
    pub(crate) fn invalid(function: &'static str, why: &str) -> Error {
        Error::Invalid { function, why: why.into() }
    }

    /// The error as `function` reports it (a frame size refused by
    /// `zf_code_new`'s work, on behalf of another entry).
    pub fn called_from(self, function: &'static str) -> Error {
        match self {
            Error::FrameBytes { asked, min, max, .. } => Error::FrameBytes { function, asked, min, max },
            e => e,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { function, field, why } => write!(f, "{function}: invalid ZfConfig: field {field} {why}"),
            Error::Env { var, value, expected } => {
                write!(f, "invalid {var}=\"")?;
                one_line(f, value)?;
                write!(f, "\": expected {expected}")
            }
            Error::EnvName { name, meant } => {
                f.write_str("unknown variable ")?;
                one_line(f, name)?;
                write!(f, ": not a setting; {meant} is")
            }
            Error::FrameBytes { function, asked, min, max } => {
                let why = if *min > 1 { " (a frame holds its ZF_FLAG_FRAME_PREFIX prefix)" } else { "" };
                write!(f, "{function}: frame_bytes {asked} is out of range: expected {min} to {max} (ZF_MAX_FRAME_BYTES){why}")
            }
            Error::OutOfMemory { what, bytes } => {
                write!(f, "out of memory: could not allocate {bytes} bytes for {what}")
            }
            Error::Misaligned { bytes } => {
                write!(f, "the alloc hook returned a block of {bytes} bytes that is not aligned to 16")
            }
            Error::Null { function, arg } => write!(f, "{function}: {arg} is NULL"),
            Error::Invalid { function, why } => write!(f, "{function}: {why}"),
            Error::Io { function, why } => write!(f, "{function}: {why}"),
        }
    }
}

impl core::error::Error for Error {}

/// Text from the environment, each control character (a newline in it) as
/// `?`: the message stays one line.
fn one_line(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    text.chars().try_for_each(|c| f.write_char(if c.is_control() { '?' } else { c }))
}

const ERROR_CAPACITY: usize = 512;

/// Each thread's last error message, NUL-terminated; no buffer: no error
/// yet. Formatted in place, so reporting an error allocates only once per
/// thread.
static LAST_ERROR: ThreadBuffer<ERROR_CAPACITY> = ThreadBuffer::new();

/// Fills a buffer and drops what does not fit, cut at a character
/// boundary, always leaving room for the NUL.
struct Truncating<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for Truncating<'_> {
    /// Out of line: `write_char` and `write_fmt` would each inline a copy.
    #[inline(never)]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - 1 - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Out of line: every function's error path calls it, and none of their
/// success paths should pay for its stack frame.
#[cold]
#[inline(never)]
pub(crate) fn set_error(e: &Error) {
    // No buffer (no memory for one): zf_last_error() stays as it was.
    let Some(buf) = LAST_ERROR.get(true) else { return };
    // SAFETY: this thread's buffer, used by this thread alone; no reference
    // to it from an earlier call is alive (zf_last_error returns a pointer).
    let buf = unsafe { &mut *buf.as_ptr() };
    let mut text = Truncating { buf, len: 0 };
    let _ = write!(text, "{e}");
    let end = text.len;
    buf[end] = 0;
}

/// Puts `function: ` before this thread's last error, which work that
/// did not know its entry set just now (out of memory, a misaligned
/// hook), unless it names an entry already.
#[cold]
#[inline(never)]
pub(crate) fn name_last(function: &str) {
    let Some(buf) = LAST_ERROR.get(false) else { return };
    // SAFETY: as in `set_error`.
    let buf = unsafe { &mut *buf.as_ptr() };
    let len = buf.iter().position(|&b| b == 0).unwrap_or(0);
    let lead = function.len() + 2;
    if buf.starts_with(b"zf_") || lead >= buf.len() {
        return;
    }
    // What does not fit goes, cut at a character boundary.
    let mut kept = len.min(buf.len() - 1 - lead);
    while kept > 0 && kept < len && (buf[kept] & 0xC0) == 0x80 {
        kept -= 1;
    }
    buf.copy_within(..kept, lead);
    buf[..lead - 2].copy_from_slice(function.as_bytes());
    buf[lead - 2..lead].copy_from_slice(b": ");
    buf[lead + kept] = 0;
}

/// This thread's last error message, or NULL if none yet.
pub(crate) fn last() -> *const c_char {
    LAST_ERROR.get(false).map_or(core::ptr::null(), |b| b.as_ptr().cast::<c_char>().cast_const())
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    fn last_text() -> String {
        // SAFETY: set on this thread just before, NUL-terminated.
        unsafe { CStr::from_ptr(last()) }.to_str().expect("UTF-8").into()
    }

    #[test]
    fn naming_the_entry_keeps_the_message_whole_or_cut_at_a_character() {
        set_error(&Error::OutOfMemory { what: "a frame", bytes: 64 });
        name_last("zf_frame_acquire");
        assert_eq!(last_text(), "zf_frame_acquire: out of memory: could not allocate 64 bytes for a frame");
        // Named already: as it was.
        name_last("zf_code_new");
        assert!(last_text().starts_with("zf_frame_acquire: out"));
        // A full buffer loses its end, never half a character.
        set_error(&Error::Invalid { function: "a hook", why: "\u{e9}".repeat(300) });
        name_last("zf_pool_new");
        let text = last_text();
        assert!(text.starts_with("zf_pool_new: a hook: \u{e9}") && text.ends_with('\u{e9}'), "{text}");
        assert!(text.len() < ERROR_CAPACITY && text.len() > ERROR_CAPACITY - 3, "{}", text.len());
    }
}
