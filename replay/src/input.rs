//! Reading a trace: a file or stdin, gzip'd or plain, with a progress bar.

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::Path;
use std::time::Duration;
use zombie_frames::replay::{lockstep, replay, Contender, Lockstep, Outcome, ReplayError};
use zombie_frames::trace::{read_all, Event, Parser};
use zombie_frames::ZfConfig;

/// A trace's events, checked against every rule of the format.
pub struct Trace {
    pub events: Vec<Event>,
    pub parser: Parser,
}

impl Trace {
    /// `replay::replay` of this trace; a failure names its line.
    pub fn replay(&self, contender: Contender, check_budget: bool) -> Result<Outcome, String> {
        replay(&self.events, self.parser.slots(), contender, check_budget).map_err(|e| self.at_line(e))
    }

    /// `replay::lockstep` of this trace; a failure names its line.
    pub fn lockstep(&self, cfg: &ZfConfig) -> Result<Lockstep, String> {
        lockstep(&self.events, self.parser.slots(), cfg).map_err(|e| self.at_line(e))
    }

    /// A replay's failure at event N as "line L (event N): why".
    fn at_line(&self, e: ReplayError) -> String {
        match e.event {
            Some(n) => format!("line {} (event {n}): {}", self.parser.line_of(n), e.why),
            None => e.why,
        }
    }
}

/// Reads and checks `path` (`-`: stdin). The error is `line N: why`, or
/// why the file cannot be opened.
pub fn load(path: &Path, progress: &Progress) -> Result<Trace, String> {
    let (raw, len): (Box<dyn Read>, _) = match path.to_str() {
        Some("-") => (Box::new(io::stdin()), None),
        _ => {
            let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
            let meta = file.metadata().map_err(|e| format!("cannot open: {e}"))?;
            if meta.is_dir() {
                return Err("a directory, not a trace".into());
            }
            let len = Some(meta.len()).filter(|_| meta.is_file());
            (Box::new(file), len)
        }
    };
    progress.reading(len);
    let mut input = BufReader::with_capacity(1 << 16, Counted { inner: raw, progress });
    // Gzip by its magic bytes, whatever the file is called.
    let gzip = input.fill_buf().map_err(|e| format!("line 1: cannot read: {e}"))?.starts_with(&[0x1f, 0x8b]);
    let mut text: Box<dyn BufRead> = match gzip {
        true => Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(input))),
        false => Box::new(input),
    };
    match read_all(&mut text) {
        Ok((events, parser)) => Ok(Trace { events, parser }),
        // The gzip decoder's own words ("invalid gzip header", "unexpected
        // end of file") say nothing of where they come from.
        Err(e) if gzip && e.why.starts_with(READ_FAILED) => Err(format!(
            "line {}: cannot read the gzip data ({}): is the file cut short or damaged? (`gzip -t` checks it)",
            e.line,
            &e.why[READ_FAILED.len()..]
        )),
        // A damaged gzip file inflates to garbage before its checksum,
        // at its end, says so: a bad line there is the damage's symptom.
        Err(e) if gzip => match io::copy(&mut text, &mut io::sink()) {
            Err(damage) if !e.why.ends_with(&damage.to_string()) => Err(format!(
                "{e}; but the gzip data is damaged further on ({damage}): that line may not be what was written"
            )),
            _ => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    }
}

/// How `read_all` words an I/O error.
const READ_FAILED: &str = "cannot read: ";

/// Counts the bytes read for the progress bar.
struct Counted<'a> {
    inner: Box<dyn Read>,
    progress: &'a Progress,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// One trace's progress bar on stderr: hidden for the first second (most
/// traces are done by then) and whenever stderr is not a terminal.
pub struct Progress {
    bar: ProgressBar,
    shown: Cell<bool>,
    /// `phases` on a stderr that is not a terminal: a plain line per phase.
    plain: bool,
}

impl Progress {
    pub fn new(name: &Path) -> Progress {
        Progress::titled(&name.display().to_string(), false)
    }

    /// The progress of a run of phases (`--advise`, minutes long): a
    /// counter redrawn in place on a terminal; elsewhere, as in a CI log,
    /// one plain line as each phase begins, a few lines in all.
    pub fn phases(title: &str) -> Progress {
        let p = Progress::titled(title, !io::stderr().is_terminal());
        let style = "{prefix}: {msg} {pos}/{len} ({elapsed})";
        p.bar.set_style(ProgressStyle::with_template(style).expect("a valid template"));
        p
    }

    fn titled(title: &str, plain: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_prefix(title.to_string());
        Progress { bar, shown: Cell::new(false), plain }
    }

    /// A phase of `steps` steps (`inc`) begins.
    pub fn phase(&self, what: &str, steps: u64) {
        self.note(what);
        self.bar.set_message(what.to_string());
        self.bar.set_length(steps);
        self.bar.set_position(0);
        self.reveal();
    }

    /// `what`, with the time so far, on a line of its own where there is
    /// no bar (stderr is not a terminal); nothing where there is one.
    pub fn note(&self, what: &str) {
        if self.plain {
            eprintln!("{}, {} s: {what}", self.bar.prefix(), self.bar.elapsed().as_secs());
        }
    }

    /// Runs `f` (which writes to stderr) with the bar out of its way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    fn reading(&self, len: Option<u64>) {
        let style = match len {
            Some(len) => {
                self.bar.set_length(len);
                "{prefix}: reading {bar:30} {bytes}/{total_bytes}"
            }
            None => "{prefix}: reading {spinner} {bytes}",
        };
        self.bar.set_style(ProgressStyle::with_template(style).expect("a valid template"));
    }

    /// From here on the bar counts `passes` replays.
    pub fn replaying(&self, passes: u64) {
        self.bar.set_style(
            ProgressStyle::with_template("{prefix}: {bar:30} {pos}/{len} replays, {msg}").expect("a valid template"),
        );
        self.bar.set_length(passes);
        self.bar.set_position(0);
        self.reveal();
    }

    /// A replay under `name` begins.
    pub fn pass(&self, name: &str) {
        self.bar.set_message(name.to_string());
        self.reveal();
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        self.reveal();
    }

    fn reveal(&self) {
        if !self.shown.get() && self.bar.elapsed() > Duration::from_secs(1) {
            self.shown.set(true);
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
