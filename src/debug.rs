//! Reports of misuse (`ZF_FLAG_DEBUG`): the kinds, and the handler that
//! receives them. The default handler does what `Py_FatalError` does: one
//! line on stderr, then abort().

use std::ffi::{c_char, c_int, c_void, CString};

/// A frame was released twice.
pub const ZF_ERR_DOUBLE_RELEASE: c_int = 1;
/// A frame was released to a code other than the one it was acquired for.
pub const ZF_ERR_WRONG_CODE: c_int = 2;
/// A pointer that never came from this pool was released.
pub const ZF_ERR_FOREIGN_POINTER: c_int = 3;
/// A zombie was written to after its release.
pub const ZF_ERR_WRITE_AFTER_RELEASE: c_int = 4;
/// Bytes past the end of a frame were written.
pub const ZF_ERR_OVERRUN: c_int = 5;
/// Two threads were inside the pool at the same moment.
pub const ZF_ERR_CONCURRENT_USE: c_int = 6;
/// Frames were still live when the pool was freed.
pub const ZF_ERR_LEAK: c_int = 7;

/// Receives a misuse report. When it returns, the library goes on safely.
pub type ZfErrorHandler = Option<unsafe extern "C" fn(ctx: *mut c_void, kind: c_int, message: *const c_char)>;

pub fn kind_name(kind: c_int) -> &'static str {
    match kind {
        ZF_ERR_DOUBLE_RELEASE => "double release",
        ZF_ERR_WRONG_CODE => "release to the wrong code",
        ZF_ERR_FOREIGN_POINTER => "foreign pointer",
        ZF_ERR_WRITE_AFTER_RELEASE => "write after release",
        ZF_ERR_OVERRUN => "write past the end of a frame",
        ZF_ERR_CONCURRENT_USE => "concurrent use",
        ZF_ERR_LEAK => "leak",
        _ => "misuse",
    }
}

#[derive(Clone, Copy)]
pub struct Handler {
    pub func: ZfErrorHandler,
    pub ctx: *mut c_void,
}

impl Default for Handler {
    fn default() -> Self {
        Handler { func: None, ctx: std::ptr::null_mut() }
    }
}

impl Handler {
    pub fn report(self, kind: c_int, message: &str) {
        let line = format!("zombie-frames: {}: {message}", kind_name(kind));
        match self.func {
            Some(f) => {
                let text = CString::new(line.replace('\0', " ")).unwrap_or_default();
                // SAFETY: the caller registered `f` for this pool with `ctx`;
                // `text` outlives the call.
                unsafe { f(self.ctx, kind, text.as_ptr()) }
            }
            None => {
                eprintln!("{line}");
                std::process::abort();
            }
        }
    }
}
