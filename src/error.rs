//! The library's one error type; the C layer turns it into `zf_last_error()`.

use alloc::string::String;
use core::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A `ZfConfig` field is out of range.
    Config { field: &'static str, why: String },
    /// A `ZF_*` environment variable holds something it cannot mean.
    Env { var: &'static str, value: String, expected: &'static str },
    /// `zf_code_new` was asked for a frame size it refuses.
    FrameBytes { asked: usize, max: usize },
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
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { field, why } => write!(f, "invalid ZfConfig: field {field} {why}"),
            Error::Env { var, value, expected } => write!(f, "invalid {var}={value:?}: expected {expected}"),
            Error::FrameBytes { asked, max } => {
                write!(f, "zf_code_new: frame_bytes {asked} is out of range: expected 1 to {max} (ZF_MAX_FRAME_BYTES)")
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
