//! The `zftrace 1` format (`TRACE_FORMAT.md`): a reader that checks every
//! rule of the format (for Rust tools: it needs std). `trace_writer` writes it.
//!
//! The reader hands out events with dense numbers: codes by order of
//! creation, live frames by a slot reused once the frame is released, so a
//! replayer keeps plain vectors instead of hash maps on its timed path.

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;

/// One event, as a replayer needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Code `code` (0, 1, 2... in order of creation) needs frames of `bytes`.
    Create { code: u32, bytes: usize },
    /// A frame of `code` is acquired into `slot`, free until its release.
    Acquire { code: u32, slot: u32 },
    /// The frame in `slot`, of `code`, is released.
    Release { code: u32, slot: u32 },
    /// Code `code` is destroyed (its live frames, if any, may still be released).
    Destroy { code: u32 },
    /// A garbage collection of `generation` ran.
    Collect { generation: u32 },
    /// The cache was emptied (`zf_pool_clear`).
    Clear,
}

/// The oldest generation a trace may name: `zf_pool_collect` takes a C `int`.
const GENERATION_MAX: u32 = i32::MAX as u32;

/// A line that breaks the format, and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    pub line: u64,
    pub why: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.why)
    }
}

impl std::error::Error for TraceError {}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CodeState {
    Alive,
    Destroyed,
}

/// Checks lines one at a time and turns them into events.
#[derive(Default)]
pub struct Parser {
    line: u64,
    /// Trace code number -> (dense index, state).
    codes: HashMap<u64, (u32, CodeState)>,
    /// Trace frame number -> (slot, dense code), for live frames.
    live: HashMap<u64, (u32, u32)>,
    free_slots: Vec<u32>,
    slots: u32,
    last_code: Option<u64>,
    last_frame: Option<u64>,
    /// Largest number of slots in use at once: the trace's peak live frames.
    pub peak_live: u32,
    /// Events read so far.
    events: u64,
    /// At each comment line, the events read before it (`line_of`).
    comments: Vec<u64>,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Number of the line last given to `parse_line`.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Code numbers the trace has created so far.
    pub fn codes(&self) -> usize {
        self.codes.len()
    }

    /// Slots a replayer needs: the most frames ever live at once.
    pub fn slots(&self) -> u32 {
        self.slots
    }

    /// The line of the trace's `n`-th event (from 1): where a replay's
    /// failure (`replay::ReplayError`'s event) happened.
    pub fn line_of(&self, n: u64) -> u64 {
        1 + n + self.comments.partition_point(|&before| before < n) as u64
    }

    /// The next line (without its newline): an event, or None for the
    /// header and comments.
    pub fn parse_line(&mut self, text: &str) -> Result<Option<Event>, TraceError> {
        self.line += 1;
        let line = self.line;
        let err = |why: String| TraceError { line, why };
        if self.line == 1 {
            return match text {
                "zftrace 1" => Ok(None),
                _ if text.starts_with('\u{feff}') => {
                    Err(err("a byte-order mark starts the file: the first line must be exactly \"zftrace 1\"".into()))
                }
                _ => Err(err(format!("the first line must be exactly \"zftrace 1\", found {:?}", clip(text)))),
            };
        }
        if text.starts_with('#') {
            self.comments.push(self.events);
            return Ok(None);
        }
        if text.is_empty() {
            return Err(err("empty line: expected an event (c, a, r, d, s, x) or a # comment".into()));
        }
        if text.starts_with(' ') || text.ends_with(' ') || text.contains("  ") {
            let at = if text.starts_with(' ') {
                "at the start of the line (an event or a # comment starts in the first column)"
            } else if text.ends_with(' ') {
                "at the end of the line"
            } else {
                "between two fields"
            };
            return Err(err(format!("a space {at}: fields are separated by single spaces, with none around them")));
        }
        let mut words = text.split(' ');
        let kind = words.next().unwrap_or("");
        let args: Vec<&str> = words.collect();
        let want = match kind {
            "c" | "a" => 2,
            "r" | "d" | "s" => 1,
            "x" => 0,
            _ => return Err(err(format!("unknown event {:?}: expected c, a, r, d, s, x or a # comment", clip(kind)))),
        };
        if args.len() != want {
            let found = args.len();
            let numbers = if want == 1 { "number" } else { "numbers" };
            return Err(err(format!("event {kind} takes {want} {numbers}, found {found}")));
        }
        let mut nums = [0u64; 2];
        for (n, a) in nums.iter_mut().zip(&args) {
            *n = number(a).map_err(err)?;
        }
        let event = self.event(kind, nums).map_err(err)?;
        self.events += 1;
        Ok(Some(event))
    }

    fn event(&mut self, kind: &str, [x, y]: [u64; 2]) -> Result<Event, String> {
        match kind {
            "c" => self.create(x, y),
            "a" => self.acquire(x, y),
            "r" => self.release(x),
            "d" => self.destroy(x),
            "x" => Ok(Event::Clear),
            _ => match u32::try_from(x).ok().filter(|&g| g <= GENERATION_MAX) {
                Some(generation) => Ok(Event::Collect { generation }),
                None => Err(format!("generation {x} is over {GENERATION_MAX}, the most zf_pool_collect takes")),
            },
        }
    }

    fn create(&mut self, code: u64, bytes: u64) -> Result<Event, String> {
        if self.codes.contains_key(&code) {
            return Err(format!("code {code} is created twice (code numbers are never reused)"));
        }
        if let Some(last) = self.last_code.filter(|&last| code < last) {
            return Err(format!("code {code} is created after code {last}: numbers must increase"));
        }
        if bytes == 0 || bytes > crate::ZF_MAX_FRAME_BYTES as u64 {
            return Err(format!("code {code} asks for {bytes} bytes: expected 1 to {}", crate::ZF_MAX_FRAME_BYTES));
        }
        let dense = self.codes.len() as u32;
        self.codes.insert(code, (dense, CodeState::Alive));
        self.last_code = Some(code);
        Ok(Event::Create { code: dense, bytes: bytes as usize })
    }

    /// The dense index of a code that exists and is not destroyed.
    fn alive(&self, code: u64, event: &str) -> Result<u32, String> {
        match self.codes.get(&code) {
            Some(&(dense, CodeState::Alive)) => Ok(dense),
            Some(_) => Err(format!("{event} names code {code}, which was destroyed")),
            None => Err(format!("{event} names code {code} before its c line")),
        }
    }

    fn acquire(&mut self, code: u64, frame: u64) -> Result<Event, String> {
        let dense = self.alive(code, "a")?;
        if let Some(last) = self.last_frame.filter(|&last| frame <= last) {
            return Err(format!("frame {frame} is not new: frame numbers increase and are never reused (last {last})"));
        }
        let slot = self.free_slots.pop().unwrap_or_else(|| {
            self.slots += 1;
            self.slots - 1
        });
        self.live.insert(frame, (slot, dense));
        self.peak_live = self.peak_live.max(self.live.len() as u32);
        self.last_frame = Some(frame);
        Ok(Event::Acquire { code: dense, slot })
    }

    fn release(&mut self, frame: u64) -> Result<Event, String> {
        let Some((slot, code)) = self.live.remove(&frame) else {
            return Err(match self.last_frame {
                Some(last) if frame <= last => format!("r names frame {frame}, which is not live (released already)"),
                _ => format!("r names frame {frame}, which was never acquired"),
            });
        };
        self.free_slots.push(slot);
        Ok(Event::Release { code, slot })
    }

    fn destroy(&mut self, code: u64) -> Result<Event, String> {
        let dense = self.alive(code, "d")?;
        self.codes.insert(code, (dense, CodeState::Destroyed));
        Ok(Event::Destroy { code: dense })
    }

    /// Call at the end of input: an empty file has no header.
    pub fn finish(&self) -> Result<(), TraceError> {
        match self.line {
            0 => Err(TraceError { line: 1, why: "the file is empty: expected the line \"zftrace 1\"".into() }),
            _ => Ok(()),
        }
    }
}

/// A decimal integer: digits only (no sign, no spaces, no leading `+`),
/// up to `u64::MAX`.
fn number(text: &str) -> Result<u64, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{:?} is not a decimal integer", clip(text)));
    }
    text.parse().map_err(|_| format!("{} is over {}, the largest number a trace may hold", clip(text), u64::MAX))
}

/// At most 40 characters of untrusted text, for an error message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

/// Reads a whole trace, checking every rule. Errors name the line; an I/O
/// error names the line it happened on. A comment may hold any bytes (a
/// recorder writes paths there); every other line is UTF-8 text.
pub fn read_all(mut input: impl BufRead) -> Result<(Vec<Event>, Parser), TraceError> {
    let mut parser = Parser::new();
    let mut events = Vec::new();
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        let next = parser.line() + 1;
        let at = |why: String| TraceError { line: next, why };
        let read = input.read_until(b'\n', &mut bytes).map_err(|e| at(format!("cannot read: {e}")))?;
        if read == 0 {
            break;
        }
        // A file cut short (a recording that stopped mid-write) ends inside
        // a line, which may still parse, as another number: refuse it.
        let Some(line) = bytes.strip_suffix(b"\n") else {
            let text = String::from_utf8_lossy(&bytes);
            return Err(at(format!(
                "the file ends inside this line ({:?}, no newline): is it cut short?",
                clip(&text)
            )));
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = match (next, line.first()) {
            (2.., Some(b'#')) => "#",
            _ => std::str::from_utf8(line)
                .map_err(|_| at("not UTF-8 text: only a # comment may hold other bytes".into()))?,
        };
        if let Some(event) = parser.parse_line(text)? {
            events.push(event);
        }
    }
    parser.finish()?;
    Ok((events, parser))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Event>, TraceError> {
        read_all(text.as_bytes()).map(|(events, _)| events)
    }

    #[test]
    fn each_event_has_its_line_whatever_the_comments_between() {
        let text = "zftrace 1\n# one\nc 5 400\n# two\n# three\na 5 1\nr 1\n# four\n";
        let (events, parser) = read_all(text.as_bytes()).unwrap();
        let lines: Vec<u64> = (1..=events.len() as u64).map(|n| parser.line_of(n)).collect();
        assert_eq!(lines, [3, 6, 7]);
    }

    #[test]
    fn a_valid_trace_gives_dense_codes_and_reused_slots() {
        let events = parse("zftrace 1\n# hi\nc 5 400\nc 9 64\na 9 3\na 5 4\nr 3\na 5 7\nr 4\nr 7\nd 9\ns 2\n").unwrap();
        use Event::*;
        assert_eq!(
            events,
            [
                Create { code: 0, bytes: 400 },
                Create { code: 1, bytes: 64 },
                Acquire { code: 1, slot: 0 },
                Acquire { code: 0, slot: 1 },
                Release { code: 1, slot: 0 },
                Acquire { code: 0, slot: 0 },
                Release { code: 0, slot: 1 },
                Release { code: 0, slot: 0 },
                Destroy { code: 1 },
                Collect { generation: 2 },
            ]
        );
    }

    #[test]
    fn each_broken_rule_names_its_line() {
        let cases = [
            ("", 1, "empty"),
            ("zftrace 2\n", 1, "first line"),
            ("zftrace 1\nq 1\n", 2, "unknown event"),
            ("zftrace 1\nx 1\n", 2, "event x takes 0"),
            ("zftrace 1\n\n", 2, "empty line"),
            ("zftrace 1\nc 1\n", 2, "takes 2"),
            ("zftrace 1\nc 1  400\n", 2, "a space between two fields"),
            ("zftrace 1\nc 1 400 \n", 2, "a space at the end of the line"),
            ("zftrace 1\n  # a comment\n", 2, "a space at the start of the line"),
            ("zftrace 1\n a 1 2\n", 2, "a space at the start of the line"),
            ("zftrace 1\nc 1 -4\n", 2, "not a decimal"),
            ("zftrace 1\nc 1 0\n", 2, "asks for 0 bytes"),
            ("zftrace 1\nc 1 400\nc 1 400\n", 3, "created twice"),
            ("zftrace 1\nc 2 400\nc 1 400\n", 3, "must increase"),
            ("zftrace 1\na 1 1\n", 2, "before its c line"),
            ("zftrace 1\nc 1 400\na 1 5\na 1 5\n", 4, "not new"),
            ("zftrace 1\nc 1 400\na 1 5\nr 5\na 1 2\n", 5, "not new"),
            ("zftrace 1\nc 1 400\nr 0\n", 3, "never acquired"),
            ("zftrace 1\nc 1 400\na 1 0\nr 0\nr 0\n", 5, "released already"),
            ("zftrace 1\nc 1 400\nd 1\na 1 0\n", 4, "destroyed"),
            ("zftrace 1\nc 1 400\nd 1\nd 1\n", 4, "destroyed"),
            ("zftrace 1\ns 2147483648\n", 2, "generation 2147483648 is over 2147483647"),
            ("zftrace 1\ns 99999999999999999999999\n", 2, "99999999999999999999999 is over 18446744073709551615"),
            ("zftrace 1\nc 1 18446744073709551616\n", 2, "is over 18446744073709551615, the largest"),
            ("\u{feff}zftrace 1\n", 1, "a byte-order mark starts the file"),
            ("zftrace 1\nc 1 4\u{e9}0\n", 2, "\"4\u{e9}0\" is not a decimal integer"),
            ("zftrace 1", 1, "ends inside this line (\"zftrace 1\", no newline)"),
            ("zftrace 1\nc 1 400\nc 2 4", 3, "ends inside this line (\"c 2 4\", no newline)"),
            ("zftrace 1\nc 1 400\r\nd 1\r", 3, "ends inside this line (\"d 1\\r\", no newline)"),
        ];
        for (text, line, why) in cases {
            let e = parse(text).expect_err(text);
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.why.contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_code_may_go_before_its_frames_and_any_generation_collect() {
        // What the C API allows and CPython never does: the code freed
        // with a frame live, the frame released after; and collections
        // past CPython's generation 2.
        let events = parse("zftrace 1\nc 1 400\na 1 0\nd 1\nr 0\ns 3\ns 2147483647\nx\n").unwrap();
        use Event::*;
        let collect = |generation| Collect { generation };
        assert_eq!(
            events,
            [
                Create { code: 0, bytes: 400 },
                Acquire { code: 0, slot: 0 },
                Destroy { code: 0 },
                Release { code: 0, slot: 0 },
                collect(3),
                collect(GENERATION_MAX),
                Clear
            ]
        );
    }

    #[test]
    fn a_comment_may_hold_any_bytes_and_nothing_else_may() {
        let text: &[u8] = b"zftrace 1\n# caf\xe9 \xff\r\nc 1 400\n";
        let (events, _) = read_all(text).unwrap();
        assert_eq!(events, [Event::Create { code: 0, bytes: 400 }]);
        for (text, line) in [(&b"zftrace 1\nc 1 4\xe90\n"[..], 2), (b"zftrace 1\xff\n", 1), (b"# \xe9\n", 1)] {
            let e = read_all(text).map(|_| ()).expect_err("not UTF-8");
            assert_eq!((e.line, e.why.as_str()), (line, "not UTF-8 text: only a # comment may hold other bytes"));
        }
        let e = read_all(&b"zftrace 1\n# cut \xe9"[..]).map(|_| ()).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.why.contains("cut short"), "{e}");
    }

    #[test]
    fn frames_live_at_the_end_are_allowed() {
        let (events, p) = read_all("zftrace 1\nc 0 8\na 0 0\na 0 1\n".as_bytes()).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!((p.peak_live, p.slots()), (2, 2));
    }
}
