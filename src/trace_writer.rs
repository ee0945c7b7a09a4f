//! The recorder behind `ZF_TRACE`: writes the events one pool sees in the
//! `zftrace 1` format (`docs/TRACE_FORMAT.md`), which `trace` reads back.

use alloc::string::String;
use core::fmt::{self, Write};

use crate::block::Heap;
use crate::os::{self, File, OsError};
use crate::table::FrameTable;

/// Bytes gathered before one write to the file.
const BUFFER_BYTES: usize = 1 << 16;

/// Buffered; the first error is reported once on stderr and stops the
/// recording, never the interpreter.
pub struct Recorder {
    path: String,
    /// The process recording: a child made by fork() holds a copy of the
    /// recorder, and of what the parent had not written yet.
    pid: u32,
    out: Option<File>,
    buf: String,
    /// Live frame address -> its number in the trace.
    frames: FrameTable<u64>,
    next_frame: u64,
}

/// `path` with every `%p` replaced by the process id.
fn with_pid(mut path: &str) -> String {
    let mut out = String::new();
    while let Some((before, after)) = crate::stats::split_pair(path, b"%p") {
        let _ = write!(out, "{before}{}", os::pid());
        path = after;
    }
    out.push_str(path);
    out
}

impl Recorder {
    /// Starts a trace at `path` (`%p` becomes the process id, so each
    /// process of a program writes its own file). None, after one line on
    /// stderr, when the file cannot be made.
    pub fn create(path: &str, heap: Heap) -> Option<Recorder> {
        let path = with_pid(path);
        let frames = FrameTable::new(heap, "the ZF_TRACE record of live frames");
        let mut r = Recorder { out: None, buf: String::new(), frames, next_frame: 0, path, pid: os::pid() };
        // Paths from C hold no NUL byte (ZfConfig::trace_path is a C string).
        match os::c_string(&r.path).ok_or(OsError::invalid()).and_then(|c| File::create(os::c_str(&c))) {
            Ok(f) => r.out = Some(f),
            Err(e) => r.report(&e, "no trace is recorded"),
        }
        r.write(format_args!("zftrace 1\n# recorded by zombie-frames {}\n", crate::VERSION));
        r.out.is_some().then_some(r)
    }

    /// The trace failed part way: what it holds stays, nothing more is
    /// written.
    fn fail(&mut self, e: &dyn fmt::Display) {
        self.report(e, "nothing more is recorded");
    }

    /// One copy for every error type (`dyn`), out of line.
    #[inline(never)]
    fn report(&mut self, e: &dyn fmt::Display, outcome: &str) {
        // The path may come from C as well as from ZF_TRACE: name both.
        os::eprint(format_args!("zombie-frames: trace_path (ZF_TRACE) {}: {e}; {outcome}\n", self.path));
        self.stop();
    }

    /// Nothing more is written, and nothing gathered is.
    fn stop(&mut self) {
        self.out = None;
        self.buf = String::new();
    }

    fn write(&mut self, line: fmt::Arguments) {
        if self.out.is_none() {
            return;
        }
        // Formatting into a String fails only when the heap does.
        let _ = self.buf.write_fmt(line);
        if self.buf.len() >= BUFFER_BYTES {
            self.flush();
        }
    }

    pub fn create_code(&mut self, code: u64, bytes: usize) {
        self.write(format_args!("c {code} {bytes}\n"));
    }

    pub fn acquire(&mut self, code: u64, frame: *const u8) {
        if self.out.is_none() {
            return;
        }
        if let Err(e) = self.frames.reserve() {
            return self.fail(&e);
        }
        let n = self.next_frame;
        self.next_frame += 1;
        self.frames.set(frame as usize, n);
        self.write(format_args!("a {code} {n}\n"));
    }

    pub fn release(&mut self, frame: *const u8) {
        if let Some(n) = self.frames.remove(frame as usize) {
            self.write(format_args!("r {n}\n"));
        }
    }

    pub fn destroy(&mut self, code: u64) {
        self.write(format_args!("d {code}\n"));
    }

    pub fn collect(&mut self, generation: u32) {
        self.write(format_args!("s {generation}\n"));
    }

    pub fn clear(&mut self) {
        self.write(format_args!("x\n"));
    }

    /// Writes what is gathered; in a child made by fork() (the file, and
    /// the events gathered before the fork, are its parent's), stops
    /// instead, writing nothing.
    pub fn flush(&mut self) {
        let Some(out) = &self.out else { return };
        if os::pid() != self.pid {
            return self.stop();
        }
        let written = out.write_all(self.buf.as_bytes());
        self.buf.clear();
        if let Err(e) = written {
            self.fail(&e);
        }
    }

    /// The pool is freed: the trace ends (what follows is the teardown).
    pub fn finish(&mut self) {
        self.flush();
        self.out = None;
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_is_a_valid_trace() {
        let path = std::env::temp_dir().join(alloc::format!("zf-record-{}-%p.zft", os::pid()));
        let heap = Heap::new(&crate::ZfConfig::default(), crate::block::Layout::DEFAULT);
        let mut r = Recorder::create(path.to_str().unwrap(), heap).unwrap();
        let (frame, other) = (0x1000 as *const u8, 0x2000 as *const u8);
        r.create_code(0, 400);
        r.acquire(0, frame);
        r.release(frame);
        r.release(frame); // not live: no line
        r.acquire(0, other);
        r.collect(7); // as given: a replay must collect the same generation
        r.clear();
        r.destroy(0); // with a frame live, as the API allows
        r.release(other);
        let file = path.to_str().unwrap().replace("%p", &alloc::format!("{}", os::pid()));
        drop(r);
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        let body: std::vec::Vec<&str> = text.lines().filter(|l| !l.starts_with("# recorded")).collect();
        assert_eq!(body, ["zftrace 1", "c 0 400", "a 0 0", "r 0", "a 0 1", "s 7", "x", "d 0", "r 1"]);
        let (events, _) = crate::trace::read_all(text.as_bytes()).unwrap();
        assert_eq!(events.len(), 8);
    }

    #[test]
    fn every_percent_p_becomes_the_pid() {
        let pid = os::pid();
        assert_eq!(with_pid("t.zft"), "t.zft");
        assert_eq!(with_pid("%p"), alloc::format!("{pid}"));
        assert_eq!(with_pid("a%p/b-%p%.zft"), alloc::format!("a{pid}/b-{pid}%.zft"));
    }

    #[test]
    fn a_file_that_cannot_be_made_gives_no_recorder() {
        assert!(Recorder::create(
            "/nonexistent-dir/t.zft",
            Heap::new(&crate::ZfConfig::default(), crate::block::Layout::DEFAULT)
        )
        .is_none());
    }
}
