//! What the benchmark binaries share: building the C contenders, loading
//! them, the criterion set-up, and the tables printed after a run.
//!
//! Every contender is the same C loop (`benches/c/patterns.h`) compiled
//! with one backend (`benches/c/backend_*.c`) into a shared object that
//! the benchmark `dlopen`s, so criterion calls one C function per
//! iteration and that function makes N acquire/release pairs:
//!
//! - `inline_c`: CPython 3.9's zombie + free list of 200, inline;
//! - `malloc`: glibc malloc/free of the same size;
//! - `zf_static`: the library, `libzombie_frames.a` linked in with its
//!   symbols hidden, so calls are direct, as in an interpreter linked to
//!   the static archive;
//! - `zf_shared`: the library through `libzombie_frames.so` (calls go
//!   through the PLT, as in an interpreter linked to the shared library).
//!
//! The library contenders take a `BenchCfg` (per-code or legacy policy).
#![allow(dead_code)] // each benchmark binary uses part of this module

#[path = "../../tests/common/mod.rs"]
mod common;

use criterion::Criterion;
use std::ffi::{c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// The frame size of the single-code patterns: the median frame of the
/// shared CPython traces (all acquisitions of all five traces), 16 + 368 + 8 * 8.
pub const FRAME_BYTES: usize = 448;
/// Two different real sizes for the two-code patterns: the two most
/// acquired sizes of the traces (424 and 472 bytes).
pub const TWO_SIZES: [usize; 2] = [424, 472];

/// Frame sizes of the shared traces and how many acquisitions each had
/// (all five traces together; sizes with under 0.1% of them are left out).
pub const TRACE_SIZES: &[(usize, u64)] = &[
    (400, 60_499),
    (408, 120_221),
    (416, 192_586),
    (424, 1_215_602),
    (432, 720_443),
    (440, 361_935),
    (448, 579_883),
    (456, 323_740),
    (464, 208_136),
    (472, 838_133),
    (480, 364_760),
    (488, 192_414),
    (496, 429_460),
    (504, 21_528),
    (512, 92_459),
    (520, 21_467),
    (544, 9_779),
    (552, 38_055),
    (576, 148_415),
    (584, 54_895),
    (608, 247_432),
    (640, 35_240),
];

/// `n` frame sizes drawn in proportion to `TRACE_SIZES`, deterministic and
/// interleaved (code i gets the size at quantile (i * golden ratio) mod 1).
pub fn trace_sizes(n: usize) -> Vec<usize> {
    let total: u64 = TRACE_SIZES.iter().map(|s| s.1).sum();
    (0..n)
        .map(|i| {
            let q = ((i as f64 * 0.618_033_988_749_895).fract() * total as f64) as u64;
            let mut acc = 0;
            let at = TRACE_SIZES.iter().position(|s| {
                acc += s.1;
                q < acc
            });
            TRACE_SIZES[at.unwrap_or(TRACE_SIZES.len() - 1)].0
        })
        .collect()
}

/// The library's settings for one contender (bench.h).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct BenchCfg {
    pub policy: u32,
    pub per_code_max: u32,
    pub budget_bytes: usize,
    pub sweep_every: u32,
}

impl BenchCfg {
    /// The library's defaults: the per-code policy.
    pub fn per_code() -> BenchCfg {
        let d = zombie_frames::ZfConfig::default();
        BenchCfg {
            policy: d.policy,
            per_code_max: d.per_code_max,
            budget_bytes: d.budget_bytes,
            sweep_every: d.sweep_every,
        }
    }

    pub fn legacy() -> BenchCfg {
        BenchCfg { policy: zombie_frames::ZF_POLICY_LEGACY, ..BenchCfg::per_code() }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BenchEvent {
    pub op: u32,
    pub a: u32,
    pub b: u32,
}

type Bench = *mut c_void;
type CodeH = *mut c_void;

type NewFn = unsafe extern "C" fn(*const BenchCfg) -> Bench;
type FreeFn = unsafe extern "C" fn(Bench);
type CodeNewFn = unsafe extern "C" fn(Bench, usize) -> CodeH;
type CodeFreeFn = unsafe extern "C" fn(Bench, CodeH);
type CollectFn = unsafe extern "C" fn(Bench, c_int) -> usize;
type HitFn = unsafe extern "C" fn(Bench, CodeH, u64) -> u64;
type RecursionFn = unsafe extern "C" fn(Bench, *const CodeH, usize, usize, u64) -> u64;
type RoundRobinFn = unsafe extern "C" fn(Bench, *const CodeH, usize, u64, *mut usize) -> u64;
type TouchFn = unsafe extern "C" fn(Bench, *const CodeH, usize);
type ReplayFn = unsafe extern "C" fn(*const BenchCfg, *const BenchEvent, usize, usize, usize) -> u64;
type AddressFn = unsafe extern "C" fn() -> *mut c_void;

/// One contender's C functions (see benches/c/bench.h).
#[derive(Clone, Copy)]
pub struct Contender {
    pub name: &'static str,
    new: NewFn,
    free: FreeFn,
    code_new: CodeNewFn,
    code_free: CodeFreeFn,
    collect: CollectFn,
    hit: HitFn,
    recursion: RecursionFn,
    round_robin: RoundRobinFn,
    touch: TouchFn,
    replay: ReplayFn,
}

/// A contender set up with one configuration and some codes.
pub struct Setup {
    pub c: Contender,
    bench: Bench,
    pub codes: Vec<CodeH>,
    cursor: usize,
}

impl Setup {
    pub fn new(c: Contender, cfg: BenchCfg, sizes: &[usize]) -> Setup {
        // SAFETY: the C side aborts rather than return NULL.
        let bench = unsafe { (c.new)(&cfg) };
        let mut s = Setup { c, bench, codes: Vec::new(), cursor: 0 };
        s.add_codes(sizes);
        s
    }

    pub fn add_codes(&mut self, sizes: &[usize]) {
        // SAFETY: `bench` is live; sizes are real frame sizes (nonzero).
        self.codes.extend(sizes.iter().map(|&n| unsafe { (self.c.code_new)(self.bench, n) }));
    }

    pub fn hit(&self, n: u64) -> u64 {
        // SAFETY: live bench and code.
        unsafe { (self.c.hit)(self.bench, self.codes[0], n) }
    }

    pub fn recursion(&self, depth: usize, reps: u64) -> u64 {
        // SAFETY: live bench and codes.
        unsafe { (self.c.recursion)(self.bench, self.codes.as_ptr(), self.codes.len(), depth, reps) }
    }

    /// One recursion of `depth` on each code in turn, `reps` times.
    pub fn recursions_in_turn(&self, depth: usize, reps: u64) -> u64 {
        let mut sum = 0;
        for _ in 0..reps {
            for code in &self.codes {
                // SAFETY: live bench and code.
                sum += unsafe { (self.c.recursion)(self.bench, code, 1, depth, 1) };
            }
        }
        sum
    }

    pub fn round_robin(&mut self, n: u64) -> u64 {
        // SAFETY: live bench and codes; the cursor stays below codes.len().
        unsafe { (self.c.round_robin)(self.bench, self.codes.as_ptr(), self.codes.len(), n, &mut self.cursor) }
    }

    /// One pair on each of `codes[range]`.
    pub fn touch(&self, range: std::ops::Range<usize>) {
        let codes = &self.codes[range];
        // SAFETY: live bench and codes.
        unsafe { (self.c.touch)(self.bench, codes.as_ptr(), codes.len()) }
    }

    pub fn collect(&self, generation: c_int) -> usize {
        // SAFETY: live bench.
        unsafe { (self.c.collect)(self.bench, generation) }
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        // SAFETY: every code and the bench are live and freed once, here.
        unsafe {
            for &code in &self.codes {
                (self.c.code_free)(self.bench, code);
            }
            (self.c.free)(self.bench);
        }
    }
}

impl Contender {
    pub fn replay(&self, cfg: BenchCfg, events: &[BenchEvent], ncodes: usize, nslots: usize) -> u64 {
        // SAFETY: the events obey the trace rules (checked when decoded).
        unsafe { (self.replay)(&cfg, events.as_ptr(), events.len(), ncodes, nslots) }
    }
}

/// The four C contenders, built and loaded.
pub struct Zoo {
    pub inline_c: Contender,
    pub malloc: Contender,
    pub zf_static: Contender,
    pub zf_shared: Contender,
}

impl Zoo {
    pub fn load() -> Zoo {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zf-bench");
        std::fs::create_dir_all(&dir).expect("create the bench build directory");
        let lib = common::lib_dir();
        let libdir = shared_lib_dir(&dir, lib);
        let obj = |backend: &str| compile(&dir, backend);
        let link = |name: &str, obj: &Path, extra: &[String]| {
            let out = dir.join(format!("{name}.so"));
            let mut cmd = compiler();
            cmd.arg("-shared").arg("-o").arg(&out).arg(obj).args(extra).args(["-lpthread", "-ldl", "-lm"]);
            run(cmd);
            out
        };
        let zf_obj = obj("zf");
        let static_args = [lib.join("libzombie_frames.a").display().to_string(), "-Wl,--exclude-libs,ALL".into()];
        let shared_args =
            [format!("-L{}", libdir.display()), "-lzombie_frames".into(), format!("-Wl,-rpath,{}", libdir.display())];
        let zoo = Zoo {
            inline_c: open("inline_c", &link("inline_c", &obj("inline"), &[])),
            malloc: open("malloc", &link("malloc", &obj("malloc"), &[])),
            zf_static: open("zf_static", &link("zf_static", &zf_obj, &static_args)),
            zf_shared: open("zf_shared", &link("zf_shared", &zf_obj, &shared_args)),
        };
        check_binding(&dir.join("zf_static.so"), "zf_static.so");
        check_binding(&dir.join("zf_shared.so"), "libzombie_frames.so");
        zoo
    }
}

fn compiler() -> Command {
    let target = env!("ZF_TARGET");
    cc::Build::new().cargo_metadata(false).opt_level(2).target(target).host(target).get_compiler().to_command()
}

fn run(mut cmd: Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn compile(dir: &Path, backend: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = dir.join(format!("backend_{backend}.o"));
    let mut cmd = compiler();
    cmd.args(["-std=gnu11", "-O2", "-fPIC", "-Wall", "-Wextra", "-Werror", "-c"]);
    cmd.arg("-I").arg(root.join("include")).arg("-I").arg(root.join("benches/c"));
    cmd.arg(root.join(format!("benches/c/backend_{backend}.c"))).arg("-o").arg(&out);
    run(cmd);
    out
}

/// The shared library under its soname, as an installed copy looks.
fn shared_lib_dir(dir: &Path, lib: &Path) -> PathBuf {
    let libdir = dir.join("lib");
    std::fs::create_dir_all(&libdir).expect("create the library directory");
    std::fs::copy(lib.join("libzombie_frames.so"), libdir.join("libzombie_frames.so")).expect("copy the library");
    let soname = libdir.join(common::soname());
    let _ = std::fs::remove_file(&soname);
    std::os::unix::fs::symlink("libzombie_frames.so", &soname).expect("link the soname");
    libdir
}

fn open(name: &'static str, path: &Path) -> Contender {
    let cpath = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string; RTLD_LOCAL keeps each contender's
    // identically named bench_* functions apart.
    let h = unsafe { libc::dlopen(cpath.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!h.is_null(), "dlopen {}: {}", path.display(), dlerror());
    macro_rules! sym {
        ($name:literal, $ty:ty) => {{
            // SAFETY: the symbol has the type bench.h gives it.
            unsafe {
                let p = libc::dlsym(h, concat!($name, "\0").as_ptr().cast());
                assert!(!p.is_null(), "{} has no {}", path.display(), $name);
                std::mem::transmute::<*mut c_void, $ty>(p)
            }
        }};
    }
    Contender {
        name,
        new: sym!("bench_new", NewFn),
        free: sym!("bench_free", FreeFn),
        code_new: sym!("bench_code_new", CodeNewFn),
        code_free: sym!("bench_code_free", CodeFreeFn),
        collect: sym!("bench_collect", CollectFn),
        hit: sym!("bench_hit", HitFn),
        recursion: sym!("bench_recursion", RecursionFn),
        round_robin: sym!("bench_round_robin", RoundRobinFn),
        touch: sym!("bench_touch", TouchFn),
        replay: sym!("bench_replay", ReplayFn),
    }
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a valid C string.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        return "unknown error".into();
    }
    // SAFETY: non-null, NUL-terminated.
    unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
}

/// Checks that the zf_frame_acquire a contender calls lives in `expect`
/// (the contender's own object for the static build, the shared library
/// for the other): otherwise the "static" and "shared" rows would lie.
fn check_binding(path: &Path, expect: &str) {
    let cpath = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: already loaded by `open`: this only takes another reference.
    let h = unsafe { libc::dlopen(cpath.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!h.is_null());
    // SAFETY: the symbol is `void *(void)` (backend_zf.c).
    let f = unsafe { std::mem::transmute::<*mut c_void, AddressFn>(libc::dlsym(h, c"bench_acquire_address".as_ptr())) };
    // SAFETY: Dl_info is plain data: all zeros is a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: `f` takes nothing; `info` is writable; dladdr fills it for a loaded address.
    assert!(unsafe { libc::dladdr(f(), &mut info) } != 0);
    // SAFETY: dladdr set dli_fname to the object's path.
    let file = unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned();
    let name = Path::new(&file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    assert!(name.starts_with(expect), "zf_frame_acquire of {} resolves into {file}", path.display());
}

/// Criterion as every benchmark here uses it: short warm-up and measurement
/// (the suite has many cases; `--quick` shortens it further), results under
/// the usual target/criterion.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .output_directory(&criterion_dir())
        .configure_from_args()
}

pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("criterion")
}

/// One measurement read back from criterion: mean ns per iteration and
/// the half-width of its 95% confidence interval.
#[derive(Clone, Copy)]
pub struct Estimate {
    pub ns: f64,
    pub half_ci: f64,
}

/// The estimate criterion saved for `group/id` in this run (None if the
/// case was filtered out or its result predates this process).
pub fn estimate(group: &str, id: &str, since: SystemTime) -> Option<Estimate> {
    let path = criterion_dir().join(group).join(id).join("new/estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let mean = &text[text.find("\"mean\"")?..];
    let num = |key: &str| -> Option<f64> {
        let at = mean.find(key)? + key.len();
        let rest = mean[at..].trim_start_matches([':', ' ']);
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        rest[..end].trim().parse().ok()
    };
    let (lo, hi, point) = (num("\"lower_bound\"")?, num("\"upper_bound\"")?, num("\"point_estimate\"")?);
    Some(Estimate { ns: point, half_ci: (hi - lo) / 2.0 })
}

/// A printed markdown table: one row per case, one column per contender,
/// in ns per unit (pair, event...), then the asked-for ratios.
pub struct Table<'a> {
    pub title: &'a str,
    pub group: &'a str,
    pub unit: &'a str,
    /// (row label, case id in the group, units per criterion iteration)
    pub rows: Vec<(String, String, f64)>,
    /// (column label, contender id)
    pub cols: Vec<(&'a str, &'a str)>,
    /// (label, numerator column, denominator column)
    pub ratios: Vec<(&'a str, &'a str, &'a str)>,
}

impl Table<'_> {
    pub fn print(&self, since: SystemTime) {
        println!("\n#### {} (ns per {}, mean ± 95% CI half-width)\n", self.title, self.unit);
        let mut head = format!("| {} |", "case");
        let mut rule = String::from("|---|");
        for (label, _) in &self.cols {
            head += &format!(" {label} |");
            rule += "---:|";
        }
        for (label, _, _) in &self.ratios {
            head += &format!(" {label} |");
            rule += "---:|";
        }
        println!("{head}\n{rule}");
        for (label, case, units) in &self.rows {
            let get = |col: &str| estimate(self.group, &format!("{col}/{case}"), since);
            let mut line = format!("| {label} |");
            for (_, col) in &self.cols {
                line += &match get(col) {
                    Some(e) => format!(" {:.2} ± {:.2} |", e.ns / units, e.half_ci / units),
                    None => " - |".into(),
                };
            }
            for (_, num, den) in &self.ratios {
                line += &match (get(num), get(den)) {
                    (Some(n), Some(d)) => format!(" {:.2}x |", n.ns / d.ns),
                    _ => " - |".into(),
                };
            }
            println!("{line}");
        }
    }
}

/// One line of a plot: label, colour, (x, y) points.
pub type Line<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

/// A small log-x line plot as SVG text.
pub fn svg_plot(title: &str, xlabel: &str, ylabel: &str, lines: &[Line]) -> String {
    let (w, h, left, right, top, bottom) = (640.0, 400.0, 60.0, 20.0, 40.0, 110.0);
    let pts = lines.iter().flat_map(|l| l.2.iter());
    let (xmin, xmax) = pts.clone().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let ymax = pts.fold(0.0f64, |m, p| m.max(p.1)) * 1.1;
    let x = |v: f64| left + (v.log10() - xmin.log10()) / (xmax.log10() - xmin.log10()) * (w - left - right);
    let y = |v: f64| h - bottom - v / ymax * (h - top - bottom);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{title}</text>\n",
        w / 2.0
    );
    s += &format!(
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"black\"/>\n<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{0}\" stroke=\"black\"/>\n",
        h - bottom,
        w - right
    );
    for i in 0..=5 {
        let v = ymax / 5.0 * i as f64;
        s += &format!("<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.0}</text>\n", left - 6.0, y(v) + 4.0);
    }
    for (_, _, p) in lines.iter().take(1) {
        for &(vx, _) in p {
            s += &format!("<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{vx}</text>\n", x(vx), h - bottom + 16.0);
        }
    }
    s += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{xlabel} (log scale)</text>\n",
        w / 2.0,
        h - bottom + 34.0
    );
    s += &format!(
        "<text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {0})\" text-anchor=\"middle\">{ylabel}</text>\n",
        (h - bottom + top) / 2.0
    );
    for (i, (label, colour, p)) in lines.iter().enumerate() {
        let path: Vec<String> = p.iter().map(|&(vx, vy)| format!("{:.1},{:.1}", x(vx), y(vy))).collect();
        s += &format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n",
            path.join(" ")
        );
        for &(vx, vy) in p {
            s += &format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>\n", x(vx), y(vy));
        }
        let ly = h - bottom + 52.0 + 14.0 * i as f64;
        s += &format!(
            "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"{colour}\" stroke-width=\"2\"/>\n",
            ly - 4.0,
            left + 24.0
        );
        s += &format!("<text x=\"{}\" y=\"{ly}\">{label}</text>\n", left + 30.0);
    }
    s + "</svg>\n"
}
