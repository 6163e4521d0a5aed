//! Orchestrator of the aio-rs benchmark.
//!
//! Makes the data files (through the worker's `prep`), then for every workload cell runs
//! each contender as a separate worker process, interleaved (A B C ... A B C ...), takes
//! medians, and writes a terminal table plus results.json, results.md and results.svg.
//! Optionally counts instructions per request under callgrind (`instr`) and runs fio
//! (`fio`).  See bench/README.md.  No dependencies beyond std.

mod fio;
mod instr;
mod report;
mod svg;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------------
// The little libc we need (no crates: the bench builds offline).

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
    fn signal(sig: i32, handler: extern "C" fn(i32)) -> usize;
}
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;
const SIGKILL: i32 = 9;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: i32) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

// ---------------------------------------------------------------------------------------
// Options.

pub struct Opts {
    pub quick: bool,
    pub dir: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub fio: bool,
    pub fio_seconds: f64,
    pub reps: usize,
    pub seconds: f64,
    pub warmup: f64,
    pub syscalls: bool,
    pub strict: bool,
    pub only: Option<String>,
    pub contenders: Option<Vec<String>>,
    /// Run the contenders that have io_uring forbidden by the seccomp launcher.
    pub seccomp: bool,
    /// Some(true): --instructions; Some(false): --no-instructions; None: the default
    /// (on for a full run without --only, off otherwise).
    pub instructions: Option<bool>,
    pub worker: PathBuf,
    pub lib: PathBuf,
    pub nouring: PathBuf,
    pub aiocp: Option<PathBuf>,
    pub results_base: PathBuf,
}

const USAGE: &str = "usage: bench/run [--quick] [--dir D] [--out D] [--reps N] [--seconds S] [--warmup S]
                 [--only SUBSTRING] [--contenders KEY,KEY...] [--no-seccomp]
                 [--instructions | --no-instructions] [--fio] [--fio-seconds S]
                 [--syscalls] [--strict]
  --quick            smoke mode: small files, short runs, 1 repetition (seconds in all)
  --dir D            where the data files go (default $TMPDIR or /var/tmp; not tmpfs)
  --out D            results directory (default bench/results/<UTC timestamp>)
  --reps N           repetitions per contender and cell (default 3, quick 1)
  --seconds S        measured seconds per run (default 0.5, quick 0.05)
  --warmup S         unmeasured seconds before each measurement (default 0.1, quick 0.02)
  --only X           run only the cells whose id contains X (e.g. randread-d32, pipe, copy)
  --contenders L     run only these contenders (keys, comma-separated; see bench/README.md)
  --no-seccomp       leave out the contenders run with io_uring forbidden (\"[no io_uring]\")
  --instructions     count instructions per request under callgrind (default: on in a full
                     run without --only, off otherwise); --no-instructions turns it off
  --fio              also run the fio comparisons (needs fio)
  --fio-seconds S    measured seconds per fio run (default 5, quick 1)
  --syscalls         when the perf tracepoint is unavailable, count syscalls in an extra
                     pass under strace -c -f
  --strict           exit with status 1 if any run that was not skipped failed";

fn parse_opts() -> Opts {
    let mut o = Opts {
        quick: false,
        dir: None,
        out: None,
        fio: false,
        fio_seconds: 0.0,
        reps: 0,
        seconds: 0.0,
        warmup: -1.0,
        syscalls: false,
        strict: false,
        only: None,
        contenders: None,
        seccomp: true,
        instructions: None,
        worker: PathBuf::new(),
        lib: PathBuf::new(),
        nouring: PathBuf::new(),
        aiocp: None,
        results_base: PathBuf::from("bench/results"),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    let val = |i: &mut usize| -> String {
        *i += 1;
        match args.get(*i) {
            Some(v) => v.clone(),
            None => fatal(&format!("option {} needs a value\n{USAGE}", args[*i - 1])),
        }
    };
    let num = |s: String| -> f64 { s.parse().unwrap_or_else(|_| fatal(&format!("not a number: {s}"))) };
    while i < args.len() {
        match args[i].as_str() {
            "--quick" => o.quick = true,
            "--fio" => o.fio = true,
            "--syscalls" => o.syscalls = true,
            "--strict" => o.strict = true,
            "--no-seccomp" => o.seccomp = false,
            "--instructions" => o.instructions = Some(true),
            "--no-instructions" => o.instructions = Some(false),
            "--dir" => o.dir = Some(PathBuf::from(val(&mut i))),
            "--out" => o.out = Some(PathBuf::from(val(&mut i))),
            "--reps" => o.reps = num(val(&mut i)) as usize,
            "--seconds" => o.seconds = num(val(&mut i)),
            "--warmup" => o.warmup = num(val(&mut i)),
            "--fio-seconds" => o.fio_seconds = num(val(&mut i)),
            "--only" => o.only = Some(val(&mut i)),
            "--contenders" => {
                let v: Vec<String> = val(&mut i).split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
                for k in &v {
                    if !CONTENDERS.iter().any(|c| c.key == k) {
                        let keys: Vec<&str> = CONTENDERS.iter().map(|c| c.key).collect();
                        fatal(&format!("unknown contender {k}; the keys are: {}", keys.join(", ")));
                    }
                }
                o.contenders = Some(v);
            }
            "--worker" => o.worker = PathBuf::from(val(&mut i)),
            "--lib" => o.lib = PathBuf::from(val(&mut i)),
            "--nouring" => o.nouring = PathBuf::from(val(&mut i)),
            "--aiocp" => o.aiocp = Some(PathBuf::from(val(&mut i))).filter(|p| !p.as_os_str().is_empty()),
            "--results-base" => o.results_base = PathBuf::from(val(&mut i)),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            a => fatal(&format!("unknown argument {a}\n{USAGE}")),
        }
        i += 1;
    }
    if o.reps == 0 {
        o.reps = if o.quick { 1 } else { 3 };
    }
    if o.seconds <= 0.0 {
        o.seconds = if o.quick { 0.05 } else { 0.5 };
    }
    if o.warmup < 0.0 {
        o.warmup = if o.quick { 0.02 } else { 0.1 };
    }
    if o.fio_seconds <= 0.0 {
        o.fio_seconds = if o.quick { 1.0 } else { 5.0 };
    }
    if o.worker.as_os_str().is_empty() {
        fatal("--worker PATH is required (bench/run passes it)");
    }
    o
}

fn fatal(msg: &str) -> ! {
    eprintln!("bench: {msg}");
    std::process::exit(2);
}

// ---------------------------------------------------------------------------------------
// Contenders and cells.

/// What a cell measures, which decides who takes part and who the references are.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// The POSIX AIO workloads: glibc, aio-rs and the raw kernel interfaces.
    Std,
    /// Vectored reads (aio_readv, issue 13) against raw io_uring readv.
    Readv,
    /// Completion latency when the waiter sleeps in epoll (issue 13).
    Evlat,
    /// A file copy: aiocp (issue 13) against cp and dd; "IOPS" are MiB/s.
    Copy,
}

pub struct Contender {
    pub key: &'static str,
    pub label: &'static str,
    /// The worker's engine, or "copy:<program>" for the copy cells.
    pub engine: &'static str,
    /// Run with LD_PRELOAD of libaio_rs.so.
    pub preload: bool,
    /// AIO_RS_BACKEND value; None leaves it unset.
    pub backend: Option<&'static str>,
    /// Run under bench/nouring: io_uring forbidden by a seccomp filter ("in a container").
    pub nouring: bool,
    /// The kinds of cell it takes part in.
    pub kinds: &'static [Kind],
    pub color: &'static str,
}

macro_rules! contender {
    ($key:expr, $label:expr, $engine:expr, preload $p:expr, $backend:expr, nouring $n:expr, $kinds:expr, $color:expr) => {
        Contender { key: $key, label: $label, engine: $engine, preload: $p, backend: $backend, nouring: $n, kinds: $kinds, color: $color }
    };
}

use Kind::{Copy as KCopy, Evlat, Readv, Std};

pub const CONTENDERS: &[Contender] = &[
    contender!("glibc", "glibc POSIX AIO", "posix", preload false, None, nouring false, &[Std], "#d62728"),
    contender!("aio-rs", "aio-rs (default)", "posix", preload true, None, nouring false, &[Std, Readv, Evlat], "#1f77b4"),
    contender!("aio-rs:uring", "aio-rs uring", "posix", preload true, Some("uring"), nouring false, &[Std], "#17becf"),
    contender!("aio-rs:kaio", "aio-rs kaio", "posix", preload true, Some("kaio"), nouring false, &[Std], "#9467bd"),
    contender!("aio-rs:threads", "aio-rs threads", "posix", preload true, Some("threads"), nouring false, &[Std], "#8c564b"),
    contender!("raw-uring", "raw io_uring", "uring", preload false, None, nouring false, &[Std, Readv, Evlat], "#2ca02c"),
    contender!("raw-uring-nodrain", "raw io_uring, fsync not draining", "uring-nodrain", preload false, None, nouring false, &[Std], "#98df8a"),
    contender!("raw-kaio", "raw io_submit", "kaio", preload false, None, nouring false, &[Std, Readv], "#ff7f0e"),
    contender!("sync", "pread/pwrite", "sync", preload false, None, nouring false, &[Std, Readv], "#7f7f7f"),
    contender!("raw-uring-efd", "raw io_uring + eventfd", "uring-efd", preload false, None, nouring false, &[Evlat], "#bcbd22"),
    contender!("aio-rs:cq", "aio-rs completion queue", "posix-cq", preload true, None, nouring false, &[Evlat], "#aec7e8"),
    contender!("glibc:nouring", "glibc POSIX AIO [no io_uring]", "posix", preload false, None, nouring true, &[Std], "#ff9896"),
    contender!("aio-rs:nouring", "aio-rs (default) [no io_uring]", "posix", preload true, None, nouring true, &[Std, Readv], "#6baed6"),
    contender!("aio-rs:cq:nouring", "aio-rs cq [no io_uring]", "posix-cq", preload true, None, nouring true, &[Evlat], "#c5b0d5"),
    contender!("cp", "cp", "copy:cp", preload false, None, nouring false, &[KCopy], "#7f7f7f"),
    contender!("dd", "dd bs=1M", "copy:dd", preload false, None, nouring false, &[KCopy], "#c7c7c7"),
    contender!("dd-direct", "dd bs=1M O_DIRECT", "copy:dd-direct", preload false, None, nouring false, &[KCopy], "#393b79"),
    contender!("aiocp-glibc", "aiocp on glibc", "copy:aiocp", preload false, None, nouring false, &[KCopy], "#e377c2"),
    contender!("aiocp", "aiocp on aio-rs", "copy:aiocp", preload true, None, nouring false, &[KCopy], "#1f77b4"),
    contender!("aiocp:nouring", "aiocp on aio-rs [no io_uring]", "copy:aiocp", preload true, None, nouring true, &[KCopy], "#6baed6"),
];

/// Index of a contender by key (the table is static: a wrong key is a bug).
pub fn cidx(key: &str) -> usize {
    CONTENDERS.iter().position(|c| c.key == key).unwrap_or_else(|| panic!("no contender {key}"))
}

/// The "raw kernel" reference of a cell kind (the `x raw` column).
pub fn ref_raw(kind: Kind) -> usize {
    cidx(match kind {
        Std | Readv => "raw-uring",
        Evlat => "raw-uring-efd",
        KCopy => "cp",
    })
}

/// The glibc reference for a row (the `x glibc` column): the glibc contender of the same
/// mode, so that rows with io_uring forbidden are compared with glibc under the same filter.
pub fn ref_glibc(kind: Kind, nouring: bool) -> Option<usize> {
    match kind {
        Std => Some(cidx(if nouring { "glibc:nouring" } else { "glibc" })),
        KCopy => Some(cidx("aiocp-glibc")),
        Readv | Evlat => None,
    }
}

/// The aio-rs contender a cell is about (for the summary).
pub fn main_aio_rs(kind: Kind, nouring: bool) -> usize {
    cidx(match (kind, nouring) {
        (Std | Readv, false) => "aio-rs",
        (Std | Readv, true) => "aio-rs:nouring",
        (Evlat, false) => "aio-rs:cq",
        (Evlat, true) => "aio-rs:cq:nouring",
        (KCopy, false) => "aiocp",
        (KCopy, true) => "aiocp:nouring",
    })
}

#[derive(Clone)]
pub struct Cell {
    pub id: String,
    pub title: String,
    pub workload: &'static str,
    pub depth: u32,
    pub threads: u32,
    /// Whether pread/pwrite takes part (it is depth 1 by nature: it joins the depth-1 cell
    /// of a depth sweep and the single cells, not every depth).
    pub with_sync: bool,
    /// Whether this workload wants O_DIRECT (copy cells: the source is not in the page
    /// cache, and the contenders that can use O_DIRECT do).
    pub direct: bool,
    pub kind: Kind,
}

impl Cell {
    /// The unit of the "IOPS" figures.
    pub fn unit(&self) -> &'static str {
        if self.kind == KCopy { "MiB/s" } else { "IOPS" }
    }
}

/// Whether a contender takes part in a cell at all (rows that do not are left out of the
/// tables; rows that take part but cannot run say why in their note).
pub fn takes_part(cell: &Cell, c: &Contender) -> bool {
    c.kinds.contains(&cell.kind)
        && match c.engine {
            "sync" => cell.with_sync,
            "uring-nodrain" => cell.workload == "write",
            "copy:dd-direct" => cell.direct,
            _ => true,
        }
}

pub const SWEEP_DEPTHS: [u32; 5] = [1, 8, 32, 128, 256];

fn cells(sz: &Sizes) -> Vec<Cell> {
    let mut v = Vec::new();
    let cell = |id: String, title: String, workload: &'static str, depth: u32, threads: u32, with_sync: bool, direct: bool, kind: Kind| Cell {
        id,
        title,
        workload,
        depth,
        threads,
        with_sync,
        direct,
        kind,
    };
    for t in [1u32, 2] {
        for d in SWEEP_DEPTHS {
            v.push(cell(
                format!("randread-d{d}-t{t}"),
                format!(
                    "O_DIRECT 4 KiB random read, depth {d}{}, {t} submitting thread{}",
                    if t > 1 { " per thread" } else { "" },
                    if t > 1 { "s" } else { "" }
                ),
                "randread",
                d,
                t,
                d == 1,
                true,
                Std,
            ));
        }
    }
    // Depth 1 with two submitting threads shows whether anything is shared between threads
    // (target: at least 1.8 times one thread).
    for (d, t) in [(1u32, 1u32), (32, 1), (1, 2)] {
        v.push(cell(
            if t == 1 { format!("cached-d{d}") } else { format!("cached-d{d}-t{t}") },
            format!(
                "page-cached 4 KiB random read, depth {d}{}",
                if t > 1 { format!(" per thread, {t} submitting threads") } else { String::new() }
            ),
            "cached",
            d,
            t,
            d == 1,
            false,
            Std,
        ));
    }
    let single = |id: &str, title: &str, workload: &'static str, depth: u32, threads: u32, direct: bool| {
        cell(id.into(), title.into(), workload, depth, threads, true, direct, Std)
    };
    v.push(single("write-fsync", "O_DIRECT 4 KiB random write, depth 32, fsync after every 32 writes", "write", 32, 1, true));
    v.push(single("lio-64", "lio_listio batches of 64 O_DIRECT 4 KiB random reads (LIO_WAIT)", "lio", 64, 1, true));
    v.push(single("manyfd", "O_DIRECT 4 KiB random read over 1,000 open files, depth 32", "manyfd", 32, 1, true));
    v.push(single("pipe", "pipe ping-pong of 64-byte messages between two threads (op = round trip)", "pipe", 1, 2, false));
    // Issue 13 (prepared: the aio-rs sides are hooks that skip until the library has them).
    for d in [1u32, 32] {
        v.push(cell(
            format!("readv-d{d}"),
            format!("page-cached 4 KiB random read as 4 x 1 KiB pieces into 4 separate buffers (vectored), depth {d}"),
            "readv",
            d,
            1,
            d == 1,
            false,
            Readv,
        ));
    }
    v.push(cell(
        "evlat-direct".into(),
        "completion latency, waiter asleep in epoll_wait: O_DIRECT 4 KiB random read, depth 1 (see p50/p99)".into(),
        "randread",
        1,
        1,
        false,
        true,
        Evlat,
    ));
    v.push(cell(
        "evlat-pipe".into(),
        "completion latency, waiter asleep in epoll_wait: pipe ping-pong of 64-byte messages (op = round trip)".into(),
        "pipe",
        1,
        2,
        false,
        false,
        Evlat,
    ));
    let mib = sz.data >> 20;
    v.push(cell(
        "copy-cached".into(),
        format!("copy of a {mib} MiB file, source in the page cache, fsync of the copy included (MiB/s)"),
        "copy",
        0,
        1,
        false,
        false,
        KCopy,
    ));
    v.push(cell(
        "copy-direct".into(),
        format!("copy of a {mib} MiB file, source not in the page cache, O_DIRECT where the program can, fsync included (MiB/s)"),
        "copy",
        0,
        1,
        false,
        true,
        KCopy,
    ));
    v
}

// ---------------------------------------------------------------------------------------
// Running a worker.

#[derive(Clone, Default)]
pub struct Sample {
    pub iops: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub usr_us: f64,            // per I/O
    pub sys_us: f64,            // per I/O
    pub cpu_us: f64,            // per I/O, CLOCK_PROCESS_CPUTIME_ID (exact; getrusage's split is tick-sampled)
    pub syscalls: Option<f64>, // per I/O
    pub direct: bool,
    pub aio_rs: String,
}

pub enum Outcome {
    Ok(Sample),
    Failed(String),
    /// The engine cannot do this workload here (e.g. a library function that does not exist yet).
    Skipped(String),
}

pub struct Exec {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// Runs a command with a deadline; on expiry the child is killed (SIGKILL).
pub fn exec(mut cmd: Command, timeout: Duration) -> std::io::Result<Exec> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn()?;
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let (res, timed_out) = match rx.recv_timeout(timeout) {
        Ok(r) => (r, false),
        Err(_) => {
            // SAFETY: kill(2) takes plain integers; the waiting thread has not reaped the
            // child yet (it sends only after wait returns), so the pid is still our child's.
            unsafe { kill(pid, SIGKILL) };
            (rx.recv().expect("waiter thread"), true)
        }
    };
    let out = res?;
    use std::os::unix::process::ExitStatusExt;
    Ok(Exec {
        code: out.status.code(),
        signal: out.status.signal(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        timed_out,
    })
}

pub fn kv(line: &str) -> BTreeMap<String, String> {
    line.split_whitespace()
        .filter_map(|t| t.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// A command for `program` as contender `c` runs it: under bench/nouring if io_uring is to
/// be forbidden, with LD_PRELOAD / AIO_RS_BACKEND as the contender says (and nothing
/// inherited from the caller's environment).
pub fn contender_cmd(o: &Opts, c: &Contender, program: &Path) -> Command {
    let mut cmd = if c.nouring {
        let mut x = Command::new(&o.nouring);
        x.arg(program);
        x
    } else {
        Command::new(program)
    };
    cmd.env_remove("LD_PRELOAD").env_remove("AIO_RS_BACKEND");
    if c.preload {
        cmd.env("LD_PRELOAD", &o.lib);
        if let Some(b) = c.backend {
            cmd.env("AIO_RS_BACKEND", b);
        }
    }
    cmd
}

/// The command line of examples/aiocp, which bench/run compiles (against glibc's <aio.h>; the
/// aio-rs rows preload the library) and passes with --aiocp: `aiocp [-d] SRC DST`, -d for
/// O_DIRECT; it keeps several requests in flight and ends with an aio_fsync of the copy.
fn aiocp_cmd(bin: &Path, direct: bool, src: &Path, dst: &Path) -> Vec<String> {
    let mut v = vec![bin.display().to_string()];
    if direct {
        v.push("-d".into());
    }
    v.push(src.display().to_string());
    v.push(dst.display().to_string());
    v
}

fn copy_args(o: &Opts, cell: &Cell, dir: &Path, c: &Contender, timeout: u32) -> Vec<String> {
    let src = dir.join("data.bin");
    let dst = dir.join("copy.dst");
    let (s, d) = (src.display().to_string(), dst.display().to_string());
    let mut v = vec![
        "copy".to_string(),
        "--src".into(),
        s.clone(),
        "--dst".into(),
        d.clone(),
        "--cold".into(),
        (cell.direct as u32).to_string(),
        "--timeout".into(),
        timeout.to_string(),
        "--".into(),
    ];
    match c.engine {
        "copy:cp" => v.extend(["cp".to_string(), s, d]),
        "copy:dd" | "copy:dd-direct" => {
            v.extend(["dd".to_string(), format!("if={s}"), format!("of={d}"), "bs=1M".into(), "status=none".into()]);
            if c.engine == "copy:dd-direct" {
                v.extend(["iflag=direct".to_string(), "oflag=direct".into()]);
            }
        }
        "copy:aiocp" => v.extend(aiocp_cmd(o.aiocp.as_deref().unwrap_or(Path::new("aiocp")), cell.direct, &src, &dst)),
        e => panic!("unknown copy engine {e}"),
    }
    v
}

fn run_args(cell: &Cell, dir: &Path, c: &Contender, seconds: f64, warmup: f64) -> Vec<String> {
    let alarm = (warmup + seconds + WATCHDOG_MARGIN).ceil() as u32;
    vec![
        "run".into(),
        "--dir".into(),
        dir.display().to_string(),
        "--engine".into(),
        c.engine.into(),
        "--workload".into(),
        cell.workload.into(),
        "--depth".into(),
        cell.depth.to_string(),
        "--threads".into(),
        cell.threads.to_string(),
        "--warmup".into(),
        format!("{warmup}"),
        "--seconds".into(),
        format!("{seconds}"),
        "--timeout".into(),
        alarm.to_string(),
        "--nfiles".into(),
        NFILES.to_string(),
    ]
}

/// Seconds a worker may need beyond warm-up + measurement (setup, draining the queue)
/// before its own alarm() ends it; the orchestrator's SIGKILL comes 5 s later.
const WATCHDOG_MARGIN: f64 = 12.0;

fn run_timeout(o: &Opts) -> Duration {
    Duration::from_secs_f64(o.warmup + o.seconds + WATCHDOG_MARGIN + 5.0)
}

/// A copy may take as long as a slow disk needs: 30 s plus 4 s per 16 MiB (4 MiB/s).
fn copy_alarm(sz: &Sizes) -> u32 {
    30 + (sz.data >> 22) as u32
}

const SIGALRM: i32 = 14;

pub fn describe_failure(e: &Exec) -> String {
    // SIGALRM: the worker's own watchdog (alarm) fired.
    if e.timed_out || e.signal == Some(SIGALRM) {
        return "timeout".into();
    }
    let last = e.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let code = match (e.code, e.signal) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(sig)) => format!("crashed: {}", signal_name(sig)),
        (None, None) => "ended abnormally".into(),
    };
    if last.is_empty() { code } else { format!("{code}: {last}") }
}

fn signal_name(sig: i32) -> String {
    let name = match sig {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "",
    };
    if name.is_empty() { format!("signal {sig}") } else { format!("signal {sig} ({name})") }
}

/// The worker's exit status for "this engine cannot do this workload here".
const EXIT_SKIP: i32 = 4;

fn run_one(o: &Opts, cell: &Cell, dir: &Path, c: &Contender, sz: &Sizes) -> Outcome {
    let mut cmd = contender_cmd(o, c, &o.worker);
    let timeout = if cell.kind == KCopy {
        let alarm = copy_alarm(sz);
        cmd.args(copy_args(o, cell, dir, c, alarm));
        Duration::from_secs(alarm as u64 + 5)
    } else {
        cmd.args(run_args(cell, dir, c, o.seconds, o.warmup));
        run_timeout(o)
    };
    let e = match exec(cmd, timeout) {
        Ok(e) => e,
        Err(err) => return Outcome::Failed(format!("cannot start worker: {err}")),
    };
    if e.code == Some(EXIT_SKIP) {
        if let Some(l) = e.stdout.lines().find(|l| l.starts_with("skip ")) {
            return Outcome::Skipped(l["skip ".len()..].trim().to_string());
        }
    }
    let line = e.stdout.lines().find(|l| l.starts_with("result "));
    match (e.code, line) {
        (Some(0), Some(line)) if !e.timed_out => {
            let m = kv(line);
            let f = |k: &str| m.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
            if c.nouring && f("uring_blocked") != 1.0 {
                return Outcome::Failed("io_uring was usable: the seccomp filter did not apply".into());
            }
            let ops = f("ops").max(1e-9);
            let sc = f("syscalls");
            let lat = |k: &str| if f(k) >= 0.0 { f(k) / 1e3 } else { f64::NAN };
            Outcome::Ok(Sample {
                iops: f("iops"),
                p50_us: lat("p50_ns"),
                p99_us: lat("p99_ns"),
                usr_us: f("utime_us") / ops,
                sys_us: f("stime_us") / ops,
                cpu_us: f("cpu_us") / ops,
                syscalls: if sc >= 0.0 { Some(sc / ops) } else { None },
                direct: f("direct") == 1.0,
                aio_rs: m.get("aio_rs").cloned().unwrap_or_default(),
            })
        }
        _ => Outcome::Failed(describe_failure(&e)),
    }
}

/// Syscalls per I/O from two strace -c -f runs (a full one and an empty one whose count,
/// the setup, is subtracted).  Only used with --syscalls when perf is unavailable.
fn strace_syscalls(o: &Opts, cell: &Cell, dir: &Path, c: &Contender) -> Option<f64> {
    if cell.kind == KCopy {
        return None;
    }
    let mut totals = Vec::new();
    let mut ops = 0.0;
    for (secs, warm) in [(o.seconds, o.warmup), (0.0, 0.0)] {
        let log = dir.join("strace.out");
        let mut cmd = contender_cmd(o, c, Path::new("strace"));
        // strace itself must not be preloaded: the tracee gets the environment through -E.
        cmd.env_remove("LD_PRELOAD").env_remove("AIO_RS_BACKEND");
        cmd.args(["-f", "-c", "-q", "-o"]).arg(&log);
        if c.preload {
            cmd.arg("-E").arg(format!("LD_PRELOAD={}", o.lib.display()));
            if let Some(b) = c.backend {
                cmd.arg("-E").arg(format!("AIO_RS_BACKEND={b}"));
            }
        }
        cmd.arg(&o.worker).args(run_args(cell, dir, c, secs, warm));
        let e = exec(cmd, run_timeout(o) * 4).ok()?;
        if e.code != Some(0) {
            return None;
        }
        if secs > 0.0 {
            let m = kv(e.stdout.lines().find(|l| l.starts_with("result "))?);
            ops = m.get("ops")?.parse::<f64>().ok()?;
        }
        let text = std::fs::read_to_string(&log).ok()?;
        let total = text.lines().rev().find(|l| l.trim_end().ends_with("total"))?;
        let calls: f64 = total.split_whitespace().nth(3)?.parse().ok()?;
        totals.push(calls);
    }
    if ops <= 0.0 {
        return None;
    }
    Some(((totals[0] - totals[1]) / ops).max(0.0))
}

// ---------------------------------------------------------------------------------------
// Aggregation.

pub struct ContResult {
    /// Whether the contender takes part in this cell (rows that do not are not shown).
    pub part: bool,
    pub skipped: Option<String>,
    /// Sits out the remaining repetitions of this cell (after a timeout).
    pub sit_out: bool,
    pub runs: Vec<Outcome>,
    pub median: Option<Sample>,
    /// Smallest and largest IOPS of the successful repetitions (the spread).
    pub min_iops: f64,
    pub max_iops: f64,
    pub notes: Vec<String>,
}

pub struct CellResult {
    pub cell: Cell,
    pub per: Vec<ContResult>,
    pub secs: f64,
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn oks(runs: &[Outcome]) -> Vec<&Sample> {
    runs.iter().filter_map(|r| if let Outcome::Ok(s) = r { Some(s) } else { None }).collect()
}

fn aggregate(runs: &[Outcome]) -> Option<Sample> {
    let ok = oks(runs);
    if ok.is_empty() {
        return None;
    }
    let m = |f: &dyn Fn(&Sample) -> f64| median(ok.iter().map(|s| f(s)).collect());
    let sc: Vec<f64> = ok.iter().filter_map(|s| s.syscalls).collect();
    Some(Sample {
        iops: m(&|s| s.iops),
        p50_us: m(&|s| s.p50_us),
        p99_us: m(&|s| s.p99_us),
        usr_us: m(&|s| s.usr_us),
        sys_us: m(&|s| s.sys_us),
        cpu_us: m(&|s| s.cpu_us),
        syscalls: if sc.is_empty() { None } else { Some(median(sc)) },
        direct: ok.iter().all(|s| s.direct),
        aio_rs: ok[0].aio_rs.clone(),
    })
}

fn spread(runs: &[Outcome]) -> (f64, f64) {
    let v: Vec<f64> = oks(runs).iter().map(|s| s.iops).filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    (v.iter().cloned().fold(f64::INFINITY, f64::min), v.iter().cloned().fold(f64::NEG_INFINITY, f64::max))
}

// ---------------------------------------------------------------------------------------
// Machine description.

pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub mem_gib: f64,
    pub dir: PathBuf,
    pub fstype: String,
    pub glibc: String,
    pub liburing: String,
    pub uring_ok: bool,
    pub kaio_ok: bool,
    pub perf_syscalls: bool,
    pub lib: String,
    pub aio_rs_version: String,
    pub fio: Option<String>,
    /// Why the io_uring-forbidden contenders cannot run, if they cannot.
    pub nouring_problem: Option<String>,
    pub valgrind: Option<String>,
    pub load_start: String,
}

/// The 1-minute load average: other work on the machine skews every number.
pub fn loadavg() -> String {
    read("/proc/loadavg").split_whitespace().next().unwrap_or("?").to_string()
}

fn read(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn worker_info(o: &Opts, dir: Option<&Path>, c: &Contender) -> BTreeMap<String, String> {
    let mut cmd = contender_cmd(o, c, &o.worker);
    cmd.arg("info");
    if let Some(d) = dir {
        cmd.arg("--dir").arg(d);
    }
    match exec(cmd, Duration::from_secs(30)) {
        Ok(e) if e.code == Some(0) => e.stdout.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect(),
        Ok(e) => BTreeMap::from([("error".to_string(), describe_failure(&e))]),
        Err(e) => BTreeMap::from([("error".to_string(), e.to_string())]),
    }
}

/// Picks the data directory: --dir, else $TMPDIR, else /var/tmp; tmpfs is avoided for the
/// default (O_DIRECT needs a real file system).
fn choose_dir(o: &Opts) -> (PathBuf, BTreeMap<String, String>) {
    let glibc = &CONTENDERS[cidx("glibc")];
    if let Some(d) = &o.dir {
        let info = worker_info(o, Some(d), glibc);
        if info.get("fstype").map(String::as_str) == Some("tmpfs") {
            eprintln!("bench: warning: {} is tmpfs; results will not reflect a disk (O_DIRECT falls back to buffered where refused)", d.display());
        }
        return (d.clone(), info);
    }
    let mut cands: Vec<PathBuf> = Vec::new();
    if let Some(t) = std::env::var_os("TMPDIR").filter(|t| !t.is_empty()) {
        cands.push(PathBuf::from(t));
    }
    cands.push(PathBuf::from("/var/tmp"));
    cands.push(PathBuf::from("/tmp"));
    let mut first = None;
    for c in cands {
        let info = worker_info(o, Some(&c), glibc);
        match info.get("fstype").map(String::as_str) {
            None | Some("") => continue,
            Some(t) if t.starts_with("error") => continue,
            Some("tmpfs") | Some("ramfs") => {
                eprintln!("bench: {} is {}, looking further (O_DIRECT needs a real file system)", c.display(), info["fstype"]);
                first.get_or_insert((c, info));
            }
            Some(_) => return (c, info),
        }
    }
    match first {
        Some((c, i)) => {
            eprintln!("bench: warning: only tmpfs found; using {} (O_DIRECT workloads will run buffered)", c.display());
            (c, i)
        }
        None => fatal("no usable directory for the data files; give --dir"),
    }
}

fn tool_version(prog: &str, arg: &str) -> Option<String> {
    let out = Command::new(prog).arg(arg).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_string())
}

fn machine(o: &Opts, dir: &Path, info: &BTreeMap<String, String>) -> Machine {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let cores = cpuinfo.lines().filter(|l| l.starts_with("processor")).count().max(1);
    let mem_kib: f64 = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let g = |k: &str| info.get(k).cloned().unwrap_or_else(|| "?".into());
    let lib_exists = o.lib.is_file();
    let aio_rs_version = if lib_exists {
        let pi = worker_info(o, None, &CONTENDERS[cidx("aio-rs")]);
        match (pi.get("aio_rs"), pi.get("error")) {
            (_, Some(e)) => format!("library fails to load ({e})"),
            (Some(v), _) if v != "none" => v.clone(),
            _ => "loaded, but aio_rs_version() not found".into(),
        }
    } else {
        "missing".into()
    };
    // The seccomp launcher must really take io_uring away (and nothing else).
    let nouring_problem = if !o.nouring.is_file() {
        Some(format!("launcher {} missing", o.nouring.display()))
    } else {
        let ni = worker_info(o, None, &CONTENDERS[cidx("glibc:nouring")]);
        match (ni.get("error"), ni.get("uring_blocked").map(String::as_str), ni.get("kaio_ok").map(String::as_str)) {
            (Some(e), _, _) => Some(format!("launcher fails: {e}")),
            (None, Some("1"), Some("1")) => None,
            (None, Some("1"), _) => Some("io_submit is unavailable too under the launcher".into()),
            _ => Some("the seccomp filter did not block io_uring".into()),
        }
    };
    Machine {
        cpu,
        cores,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        mem_gib: mem_kib / 1048576.0,
        dir: dir.to_path_buf(),
        fstype: g("fstype"),
        glibc: g("glibc"),
        liburing: match info.get("liburing_so") {
            Some(p) => format!("present ({})", p),
            None => g("liburing"),
        },
        uring_ok: g("uring_ok") == "1",
        kaio_ok: g("kaio_ok") == "1",
        perf_syscalls: g("perf_syscalls") == "1",
        lib: if lib_exists { o.lib.display().to_string() } else { format!("{} (missing)", o.lib.display()) },
        aio_rs_version,
        fio: if o.fio { tool_version("fio", "--version") } else { None },
        nouring_problem,
        valgrind: tool_version("valgrind", "--version"),
        load_start: loadavg(),
    }
}

// ---------------------------------------------------------------------------------------
// Data files.

pub const NFILES: u32 = 1000;

pub struct Sizes {
    pub data: u64,
    pub write: u64,
    pub cached: u64,
    pub file: u64,
}

fn sizes(quick: bool) -> Sizes {
    const MIB: u64 = 1 << 20;
    if quick {
        Sizes { data: 64 * MIB, write: 16 * MIB, cached: 16 * MIB, file: 16 << 10 }
    } else {
        Sizes { data: 1024 * MIB, write: 256 * MIB, cached: 128 * MIB, file: 256 << 10 }
    }
}

/// Removes the work directory however the run ends.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------
// Time stamps (UTC, civil calendar from days since 1970).

fn utc_stamp() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = ((secs / 86400) as i64, secs % 86400);
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!("{year:04}{month:02}{day:02}-{:02}{:02}{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}

pub fn kfmt(x: f64) -> String {
    if x >= 1e6 {
        format!("{}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{}k", x / 1e3)
    } else {
        format!("{x}")
    }
}

// ---------------------------------------------------------------------------------------

fn main() {
    let o = parse_opts();
    // SAFETY: on_signal only stores to an atomic, which is async-signal-safe.
    unsafe {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
    let started = Instant::now();
    if !o.worker.is_file() {
        fatal(&format!("worker {} not found (build it with bench/run)", o.worker.display()));
    }
    let (base_dir, info) = choose_dir(&o);
    let m = machine(&o, &base_dir, &info);
    let lib_ok = o.lib.is_file();
    let out_dir = o.out.clone().unwrap_or_else(|| o.results_base.join(utc_stamp()));
    std::fs::create_dir_all(&out_dir).unwrap_or_else(|e| fatal(&format!("cannot create {}: {e}", out_dir.display())));

    let syscall_src = if m.perf_syscalls {
        "perf tracepoint raw_syscalls:sys_enter opened by the worker on all its threads (inherited by new ones), measured window only".to_string()
    } else if o.syscalls && Command::new("strace").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok() {
        "strace -c -f: a separate pass per cell and contender, minus an empty run's count (setup)".to_string()
    } else {
        "n/a (perf tracepoint unavailable: needs perf_event_paranoid <= -1 or CAP_PERFMON and readable tracefs; --syscalls adds an strace pass)".to_string()
    };
    let use_strace = !m.perf_syscalls && syscall_src.starts_with("strace");

    let sz = sizes(o.quick);
    let mut all_cells = cells(&sz);
    if let Some(f) = &o.only {
        all_cells.retain(|c| c.id.contains(f.as_str()));
    }
    let want_instr = o.instructions.unwrap_or(!o.quick && o.only.is_none());

    eprintln!("bench: machine: {} ({} cores), kernel {}, glibc {}", m.cpu, m.cores, m.kernel, m.glibc);
    eprintln!("bench: data in {} ({}), results to {}", base_dir.display(), m.fstype, out_dir.display());
    eprintln!("bench: aio-rs: {} [{}]", m.lib, m.aio_rs_version);
    if let Some(p) = &m.nouring_problem {
        if o.seccomp {
            eprintln!("bench: warning: the [no io_uring] contenders cannot run: {p}");
        }
    }
    if m.load_start.parse::<f64>().is_ok_and(|l| l > 0.5 * m.cores as f64) {
        eprintln!("bench: warning: load average {} on {} cores: other work will skew the results", m.load_start, m.cores);
    }

    let need = sz.data + sz.write + sz.cached + sz.file * NFILES as u64;
    let copy_need = if all_cells.iter().any(|c| c.kind == KCopy) { sz.data } else { 0 };
    if let Some(free) = info.get("free_bytes").and_then(|v| v.parse::<u64>().ok()) {
        let need = need + copy_need;
        if free < need + need / 5 {
            fatal(&format!("{} has {} MiB free; the data files need {} MiB", base_dir.display(), free >> 20, need >> 20));
        }
    }
    let work = WorkDir(base_dir.join(format!("aio-rs-bench.{}", std::process::id())));
    std::fs::create_dir_all(&work.0).unwrap_or_else(|e| fatal(&format!("cannot create {}: {e}", work.0.display())));
    let needs_files = !all_cells.is_empty() || o.fio || want_instr;
    if needs_files {
        eprint!("bench: writing {} MiB of data files ... ", need >> 20);
        let _ = std::io::stderr().flush();
        let mut cmd = Command::new(&o.worker);
        cmd.env_remove("LD_PRELOAD").arg("prep").arg("--dir").arg(&work.0).args([
            "--data-size".to_string(),
            sz.data.to_string(),
            "--write-size".into(),
            sz.write.to_string(),
            "--cached-size".into(),
            sz.cached.to_string(),
            "--nfiles".into(),
            NFILES.to_string(),
            "--file-size".into(),
            sz.file.to_string(),
        ]);
        match exec(cmd, Duration::from_secs(900)) {
            Ok(e) if e.code == Some(0) => eprintln!("{}", e.stdout.trim()),
            Ok(e) => fatal(&format!("prep failed: {}", describe_failure(&e))),
            Err(e) => fatal(&format!("prep failed: {e}")),
        }
    }

    // Which contenders can run at all.
    let skip_reason = |c: &Contender| -> Option<String> {
        if c.preload && !lib_ok {
            Some("library missing".into())
        } else if c.engine.starts_with("uring") && !m.uring_ok {
            Some("io_uring unavailable".into())
        } else if c.engine == "kaio" && !m.kaio_ok {
            Some("io_submit unavailable".into())
        } else if c.nouring && m.nouring_problem.is_some() {
            Some(format!("cannot forbid io_uring: {}", m.nouring_problem.as_deref().unwrap_or("")))
        } else if c.engine == "copy:aiocp" && o.aiocp.is_none() {
            Some("examples/aiocp.c did not build (see bench/run)".into())
        } else {
            None
        }
    };
    let selected = |c: &Contender| -> bool {
        (o.seccomp || !c.nouring) && match &o.contenders {
            None => true,
            Some(l) => l.iter().any(|k| k == c.key),
        }
    };
    let mut timeouts = vec![0usize; CONTENDERS.len()];
    const MAX_TIMEOUTS: usize = 3;

    let mut results: Vec<CellResult> = Vec::new();
    let ncells = all_cells.len();
    for (ci, cell) in all_cells.iter().enumerate() {
        if interrupted() {
            break;
        }
        let t0 = Instant::now();
        eprint!("bench: [{:>2}/{ncells}] {:<18} ", ci + 1, cell.id);
        let _ = std::io::stderr().flush();
        let mut per: Vec<ContResult> = CONTENDERS
            .iter()
            .map(|c| ContResult {
                part: takes_part(cell, c) && selected(c),
                skipped: skip_reason(c),
                sit_out: false,
                runs: Vec::new(),
                median: None,
                min_iops: f64::NAN,
                max_iops: f64::NAN,
                notes: Vec::new(),
            })
            .collect();
        // Interleaved: A B C ... A B C ...
        for _rep in 0..o.reps {
            for (i, c) in CONTENDERS.iter().enumerate() {
                if !per[i].part || per[i].skipped.is_some() || per[i].sit_out || interrupted() {
                    continue;
                }
                if timeouts[i] >= MAX_TIMEOUTS {
                    if per[i].runs.is_empty() {
                        per[i].skipped = Some(format!("disabled after {MAX_TIMEOUTS} timeouts"));
                    }
                    continue;
                }
                let r = run_one(&o, cell, &work.0, c, &sz);
                let mark = match &r {
                    Outcome::Ok(_) => '.',
                    Outcome::Skipped(_) => 's',
                    Outcome::Failed(e) if e == "timeout" => {
                        timeouts[i] += 1;
                        'T'
                    }
                    Outcome::Failed(_) => 'F',
                };
                eprint!("{mark}");
                let _ = std::io::stderr().flush();
                if let Outcome::Skipped(why) = r {
                    per[i].skipped = Some(why);
                    continue;
                }
                per[i].runs.push(r);
                if mark == 'T' && o.reps > 1 {
                    per[i].notes.push("sat out the remaining repetitions after a timeout".into());
                    per[i].sit_out = true;
                }
            }
        }
        for (i, r) in per.iter_mut().enumerate() {
            if !r.part {
                continue;
            }
            r.median = aggregate(&r.runs);
            (r.min_iops, r.max_iops) = spread(&r.runs);
            if CONTENDERS[i].preload {
                if let Some(s) = &r.median {
                    if s.aio_rs == "none" {
                        r.notes.push("aio_rs_version() not visible in the process: is the preload active?".into());
                    }
                }
            }
            if use_strace && r.median.is_some() && !interrupted() {
                let sc = strace_syscalls(&o, cell, &work.0, &CONTENDERS[i]);
                if let Some(s) = r.median.as_mut() {
                    s.syscalls = sc;
                }
                eprint!("s");
            }
        }
        let cr = CellResult { cell: cell.clone(), per, secs: t0.elapsed().as_secs_f64() };
        // One summary line per cell.
        let mut summary = String::new();
        for (i, r) in cr.per.iter().enumerate() {
            if !r.part {
                continue;
            }
            if let Some(s) = &r.median {
                let v = if cell.kind == KCopy { s.iops.round() } else { (s.iops / 100.0).round() * 100.0 };
                let _ = write!(summary, " {}={}", CONTENDERS[i].key, kfmt(v));
            } else if !r.runs.is_empty() {
                let _ = write!(summary, " {}=FAILED", CONTENDERS[i].key);
            }
        }
        eprintln!(" {:.0}s{summary}", cr.secs);
        results.push(cr);
    }

    let instructions = if want_instr && !interrupted() {
        if m.valgrind.is_some() {
            instr::run(&o, &work.0, lib_ok, &m)
        } else {
            eprintln!("bench: instruction counts need valgrind (callgrind), which is not installed; skipped");
            Vec::new()
        }
    } else {
        Vec::new()
    };

    let fio = if o.fio && !interrupted() {
        if m.fio.is_some() {
            fio::run(&o, &work.0, &sz, lib_ok, &m)
        } else {
            eprintln!("bench: --fio given but fio is not installed; skipped");
            Vec::new()
        }
    } else {
        Vec::new()
    };
    drop(work); // remove the data files before writing the report
    let total = started.elapsed().as_secs_f64();

    let rep = report::Report { m: &m, o: &o, syscall_src: &syscall_src, results: &results, instructions: &instructions, fio: &fio, total };
    let text = rep.text(&out_dir);
    print!("{text}");
    let write = |name: &str, body: &str| {
        if let Err(e) = std::fs::write(out_dir.join(name), body) {
            eprintln!("bench: cannot write {name}: {e}");
        }
    };
    write("results.md", &rep.markdown());
    write("results.json", &rep.json());
    write("results.svg", &svg::chart(&results, &m));
    write("results.txt", &text);
    if interrupted() {
        eprintln!("bench: interrupted; partial results written");
        std::process::exit(130);
    }
    let failed_runs = results
        .iter()
        .flat_map(|cr| cr.per.iter())
        .flat_map(|r| r.runs.iter())
        .filter(|x| matches!(x, Outcome::Failed(_)))
        .count();
    let failed_fio = fio.iter().flat_map(|g| g.jobs.iter()).filter(|j| j.failed()).count();
    let failed_instr = instructions.iter().filter(|r| r.failed()).count();
    if failed_runs + failed_fio + failed_instr > 0 {
        eprintln!(
            "bench: {failed_runs} run(s), {failed_fio} fio job(s) and {failed_instr} instruction count(s) failed (see the notes)"
        );
        if o.strict {
            std::process::exit(1);
        }
    }
}
