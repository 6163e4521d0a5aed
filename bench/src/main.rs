//! Orchestrator of the aio-rs benchmark.
//!
//! Makes the data files (through the worker's `prep`), then for every workload cell runs
//! each contender as a separate worker process, interleaved (A B C ... A B C ...), takes
//! medians, and writes a terminal table plus results.json, results.md and results.svg.
//! See bench/README.md.  No dependencies beyond std.

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

// ---------------------------------------------------------------------------------------
// Options.

struct Opts {
    quick: bool,
    dir: Option<PathBuf>,
    out: Option<PathBuf>,
    fio: bool,
    reps: usize,
    seconds: f64,
    warmup: f64,
    syscalls: bool,
    strict: bool,
    only: Option<String>,
    worker: PathBuf,
    lib: PathBuf,
    results_base: PathBuf,
}

const USAGE: &str = "usage: bench/run [--quick] [--dir D] [--out D] [--fio] [--reps N]
                 [--seconds S] [--warmup S] [--syscalls] [--only SUBSTRING] [--strict]
  --quick      smoke mode: small files, short runs, 1 repetition (seconds in all)
  --dir D      where the data files go (default $TMPDIR or /var/tmp; not tmpfs)
  --out D      results directory (default bench/results/<UTC timestamp>)
  --fio        also run the fio comparison (needs fio)
  --reps N     repetitions per contender and cell (default 3, quick 1)
  --seconds S  measured seconds per run (default 0.5, quick 0.05)
  --warmup S   unmeasured seconds before each measurement (default 0.1, quick 0.02)
  --syscalls   when the perf tracepoint is unavailable, count syscalls in an extra
               pass under strace -c -f
  --only X     run only the cells whose id contains X (e.g. randread-d32, pipe)
  --strict     exit with status 1 if any run that was not skipped failed";

fn parse_opts() -> Opts {
    let mut o = Opts {
        quick: false,
        dir: None,
        out: None,
        fio: false,
        reps: 0,
        seconds: 0.0,
        warmup: -1.0,
        syscalls: false,
        strict: false,
        only: None,
        worker: PathBuf::new(),
        lib: PathBuf::new(),
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
            "--dir" => o.dir = Some(PathBuf::from(val(&mut i))),
            "--out" => o.out = Some(PathBuf::from(val(&mut i))),
            "--reps" => o.reps = num(val(&mut i)) as usize,
            "--seconds" => o.seconds = num(val(&mut i)),
            "--warmup" => o.warmup = num(val(&mut i)),
            "--only" => o.only = Some(val(&mut i)),
            "--worker" => o.worker = PathBuf::from(val(&mut i)),
            "--lib" => o.lib = PathBuf::from(val(&mut i)),
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

struct Contender {
    key: &'static str,
    label: &'static str,
    engine: &'static str,
    /// Run with LD_PRELOAD of libaio_rs.so.
    preload: bool,
    /// AIO_RS_BACKEND value; None leaves it unset.
    backend: Option<&'static str>,
    color: &'static str,
}

const CONTENDERS: &[Contender] = &[
    Contender { key: "glibc", label: "glibc POSIX AIO", engine: "posix", preload: false, backend: None, color: "#d62728" },
    Contender { key: "aio-rs", label: "aio-rs (default)", engine: "posix", preload: true, backend: None, color: "#1f77b4" },
    Contender { key: "aio-rs:uring", label: "aio-rs uring", engine: "posix", preload: true, backend: Some("uring"), color: "#17becf" },
    Contender { key: "aio-rs:kaio", label: "aio-rs kaio", engine: "posix", preload: true, backend: Some("kaio"), color: "#9467bd" },
    Contender { key: "aio-rs:threads", label: "aio-rs threads", engine: "posix", preload: true, backend: Some("threads"), color: "#8c564b" },
    Contender { key: "raw-uring", label: "raw io_uring", engine: "uring", preload: false, backend: None, color: "#2ca02c" },
    Contender { key: "raw-kaio", label: "raw io_submit", engine: "kaio", preload: false, backend: None, color: "#ff7f0e" },
    Contender { key: "sync", label: "pread/pwrite", engine: "sync", preload: false, backend: None, color: "#7f7f7f" },
];

const REF_URING: usize = 5;
const REF_GLIBC: usize = 0;
const SYNC: usize = 7;

#[derive(Clone)]
struct Cell {
    id: String,
    title: String,
    workload: &'static str,
    depth: u32,
    threads: u32,
    /// Whether pread/pwrite takes part (it is depth 1 by nature: it joins the depth-1 cell
    /// of a depth sweep and the single cells, not every depth).
    with_sync: bool,
    /// Whether this workload wants O_DIRECT.
    direct: bool,
}

const SWEEP_DEPTHS: [u32; 5] = [1, 8, 32, 128, 256];

fn cells() -> Vec<Cell> {
    let mut v = Vec::new();
    for t in [1u32, 2] {
        for d in SWEEP_DEPTHS {
            v.push(Cell {
                id: format!("randread-d{d}-t{t}"),
                title: format!(
                    "O_DIRECT 4 KiB random read, depth {d}{}, {t} submitting thread{}",
                    if t > 1 { " per thread" } else { "" },
                    if t > 1 { "s" } else { "" }
                ),
                workload: "randread",
                depth: d,
                threads: t,
                with_sync: d == 1,
                direct: true,
            });
        }
    }
    // Depth 1 with two submitting threads shows whether anything is shared between threads
    // (target: at least 1.8 times one thread).
    for (d, t) in [(1u32, 1u32), (32, 1), (1, 2)] {
        v.push(Cell {
            id: if t == 1 { format!("cached-d{d}") } else { format!("cached-d{d}-t{t}") },
            title: format!(
                "page-cached 4 KiB random read, depth {d}{}",
                if t > 1 { format!(" per thread, {t} submitting threads") } else { String::new() }
            ),
            workload: "cached",
            depth: d,
            threads: t,
            with_sync: d == 1,
            direct: false,
        });
    }
    let single = |id: &str, title: &str, workload: &'static str, depth: u32, threads: u32, direct: bool| Cell {
        id: id.to_string(),
        title: title.to_string(),
        workload,
        depth,
        threads,
        with_sync: true,
        direct,
    };
    v.push(single("write-fsync", "O_DIRECT 4 KiB random write, depth 32, fsync after every 32 writes", "write", 32, 1, true));
    v.push(single("lio-64", "lio_listio batches of 64 O_DIRECT 4 KiB random reads (LIO_WAIT)", "lio", 64, 1, true));
    v.push(single("manyfd", "O_DIRECT 4 KiB random read over 1,000 open files, depth 32", "manyfd", 32, 1, true));
    v.push(single("pipe", "pipe ping-pong of 64-byte messages between two threads (op = round trip)", "pipe", 1, 2, false));
    v
}

// ---------------------------------------------------------------------------------------
// Running a worker.

#[derive(Clone, Default)]
struct Sample {
    iops: f64,
    p50_us: f64,
    p99_us: f64,
    usr_us: f64, // per I/O
    sys_us: f64, // per I/O
    cpu_us: f64, // per I/O, CLOCK_PROCESS_CPUTIME_ID (exact; getrusage's split is tick-sampled)
    syscalls: Option<f64>, // per I/O
    direct: bool,
    aio_rs: String,
}

enum Outcome {
    Ok(Sample),
    Failed(String),
}

struct Exec {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

/// Runs a command with a deadline; on expiry the child is killed (SIGKILL).
fn exec(mut cmd: Command, timeout: Duration) -> std::io::Result<Exec> {
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
            // The waiting thread has not reaped the child yet, so the pid is still ours.
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

fn kv(line: &str) -> BTreeMap<String, String> {
    line.split_whitespace()
        .filter_map(|t| t.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

fn worker_cmd(o: &Opts, c: &Contender) -> Command {
    let mut cmd = Command::new(&o.worker);
    cmd.env_remove("LD_PRELOAD").env_remove("AIO_RS_BACKEND");
    if c.preload {
        cmd.env("LD_PRELOAD", &o.lib);
        if let Some(b) = c.backend {
            cmd.env("AIO_RS_BACKEND", b);
        }
    }
    cmd
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

const SIGALRM: i32 = 14;

fn describe_failure(e: &Exec) -> String {
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

fn run_one(o: &Opts, cell: &Cell, dir: &Path, c: &Contender) -> Outcome {
    let mut cmd = worker_cmd(o, c);
    cmd.args(run_args(cell, dir, c, o.seconds, o.warmup));
    let e = match exec(cmd, run_timeout(o)) {
        Ok(e) => e,
        Err(err) => return Outcome::Failed(format!("cannot start worker: {err}")),
    };
    let line = e.stdout.lines().find(|l| l.starts_with("result "));
    match (e.code, line) {
        (Some(0), Some(line)) if !e.timed_out => {
            let m = kv(line);
            let f = |k: &str| m.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
            let ops = f("ops").max(1.0);
            let sc = f("syscalls");
            Outcome::Ok(Sample {
                iops: f("iops"),
                p50_us: f("p50_ns") / 1e3,
                p99_us: f("p99_ns") / 1e3,
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
    let mut totals = Vec::new();
    let mut ops = 0.0;
    for (secs, warm) in [(o.seconds, o.warmup), (0.0, 0.0)] {
        let log = dir.join("strace.out");
        let mut cmd = Command::new("strace");
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

struct ContResult {
    skipped: Option<String>,
    /// Sits out the remaining repetitions of this cell (after a timeout).
    sit_out: bool,
    runs: Vec<Outcome>,
    median: Option<Sample>,
    notes: Vec<String>,
}

struct CellResult {
    cell: Cell,
    per: Vec<ContResult>,
    secs: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn aggregate(runs: &[Outcome]) -> Option<Sample> {
    let ok: Vec<&Sample> = runs.iter().filter_map(|r| if let Outcome::Ok(s) = r { Some(s) } else { None }).collect();
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

// ---------------------------------------------------------------------------------------
// Machine description.

struct Machine {
    cpu: String,
    cores: usize,
    kernel: String,
    mem_gib: f64,
    dir: PathBuf,
    fstype: String,
    glibc: String,
    liburing: String,
    uring_ok: bool,
    kaio_ok: bool,
    perf_syscalls: bool,
    lib: String,
    aio_rs_version: String,
    fio: Option<String>,
    load_start: String,
}

/// The 1-minute load average: other work on the machine skews every number.
fn loadavg() -> String {
    read("/proc/loadavg").split_whitespace().next().unwrap_or("?").to_string()
}

fn read(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn worker_info(o: &Opts, dir: Option<&Path>, preload: bool) -> BTreeMap<String, String> {
    let mut cmd = worker_cmd(o, &CONTENDERS[if preload { 1 } else { 0 }]);
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
    if let Some(d) = &o.dir {
        let info = worker_info(o, Some(d), false);
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
        let info = worker_info(o, Some(&c), false);
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
        let pi = worker_info(o, None, true);
        match (pi.get("aio_rs"), pi.get("error")) {
            (_, Some(e)) => format!("library fails to load ({e})"),
            (Some(v), _) if v != "none" => v.clone(),
            _ => "loaded, but aio_rs_version() not found".into(),
        }
    } else {
        "missing".into()
    };
    let fio = if o.fio {
        Command::new("fio").arg("--version").output().ok().map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        None
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
        fio,
        load_start: loadavg(),
    }
}

// ---------------------------------------------------------------------------------------
// Data files.

const NFILES: u32 = 1000;

struct Sizes {
    data: u64,
    write: u64,
    cached: u64,
    file: u64,
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
// Formatting helpers.

fn fnum(x: f64, prec: usize) -> String {
    if x.is_finite() { format!("{x:.prec$}") } else { "-".into() }
}

fn flat(us: f64) -> String {
    if !us.is_finite() {
        "-".into()
    } else if us < 10.0 {
        format!("{us:.2}")
    } else if us < 1000.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}

fn ratio(a: Option<&Sample>, b: Option<&Sample>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) if b.iops > 0.0 => a.iops / b.iops,
        _ => f64::NAN,
    }
}

fn status(r: &ContResult) -> String {
    if let Some(s) = &r.skipped {
        return format!("skipped ({s})");
    }
    let fails: Vec<&str> = r.runs.iter().filter_map(|x| if let Outcome::Failed(m) = x { Some(m.as_str()) } else { None }).collect();
    if fails.is_empty() {
        "ok".into()
    } else if r.median.is_none() {
        format!("FAILED: {}", fails[0])
    } else {
        format!("{}/{} runs failed: {}", fails.len(), r.runs.len(), fails[0])
    }
}

const NCOL: usize = 11;
const HEAD: [&str; NCOL] =
    ["contender", "IOPS", "p50 us", "p99 us", "usr us/IO", "sys us/IO", "cpu us/IO", "syscalls/IO", "x raw uring", "x glibc", "note"];

fn rows(cr: &CellResult) -> Vec<[String; NCOL]> {
    let uring = cr.per[REF_URING].median.as_ref();
    let glibc = cr.per[REF_GLIBC].median.as_ref();
    let mut out = Vec::new();
    for (i, r) in cr.per.iter().enumerate() {
        if i == SYNC && !cr.cell.with_sync {
            continue;
        }
        let c = &CONTENDERS[i];
        let mut note = Vec::new();
        let st = status(r);
        if st != "ok" {
            note.push(st);
        }
        note.extend(r.notes.iter().cloned());
        let row = match &r.median {
            Some(s) => [
                c.label.to_string(),
                fnum(s.iops, 0),
                flat(s.p50_us),
                flat(s.p99_us),
                flat(s.usr_us),
                flat(s.sys_us),
                flat(s.cpu_us),
                s.syscalls.map(|x| fnum(x, 2)).unwrap_or_else(|| "n/a".into()),
                fnum(ratio(Some(s), uring), 2),
                fnum(ratio(Some(s), glibc), 2),
                note.join("; "),
            ],
            None => {
                let mut r: [String; NCOL] = Default::default();
                r[0] = c.label.to_string();
                for x in r.iter_mut().take(NCOL - 1).skip(1) {
                    *x = "-".into();
                }
                r[NCOL - 1] = note.join("; ");
                r
            }
        };
        out.push(row);
    }
    out
}

fn cell_heading(cr: &CellResult) -> String {
    let mut h = cr.cell.title.clone();
    if cr.cell.direct && cr.per.iter().any(|r| r.median.as_ref().map_or(false, |s| !s.direct)) {
        h.push_str(" [O_DIRECT rejected by the file system: ran buffered]");
    }
    h
}

fn text_table(cr: &CellResult) -> String {
    let body = rows(cr);
    let mut w = HEAD.map(|h| h.len());
    for r in &body {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut s = String::new();
    let line = |s: &mut String, r: &[String]| {
        for (i, c) in r.iter().enumerate() {
            if i == 0 || i == NCOL - 1 {
                let _ = write!(s, "{c:<width$}  ", width = w[i]);
            } else {
                let _ = write!(s, "{c:>width$}  ", width = w[i]);
            }
        }
        s.truncate(s.trim_end().len());
        s.push('\n');
    };
    let _ = writeln!(s, "== {} [{}]", cell_heading(cr), cr.cell.id);
    line(&mut s, &HEAD.map(String::from));
    for r in &body {
        line(&mut s, r);
    }
    s
}

fn md_table(cr: &CellResult) -> String {
    let mut s = format!("### {}\n\n`{}`\n\n| {} |\n|", cell_heading(cr), cr.cell.id, HEAD.join(" | "));
    for i in 0..HEAD.len() {
        s.push_str(if i == 0 || i == NCOL - 1 { " --- |" } else { " ---: |" });
    }
    s.push('\n');
    for r in rows(cr) {
        let _ = writeln!(s, "| {} |", r.iter().map(|c| c.replace('|', "/")).collect::<Vec<_>>().join(" | "));
    }
    s.push('\n');
    s
}

fn machine_lines(m: &Machine, o: &Opts, syscall_src: &str) -> Vec<(String, String)> {
    let mut v = vec![
        ("CPU".to_string(), format!("{} ({} logical cores)", m.cpu, m.cores)),
        ("memory".into(), format!("{:.1} GiB", m.mem_gib)),
        ("kernel".into(), m.kernel.clone()),
        ("data directory".into(), format!("{} ({})", m.dir.display(), m.fstype)),
        ("glibc".into(), m.glibc.clone()),
        ("liburing".into(), m.liburing.clone()),
        ("io_uring / io_submit usable".into(), format!("{} / {}", yes(m.uring_ok), yes(m.kaio_ok))),
        ("aio-rs library".into(), format!("{} (version: {})", m.lib, m.aio_rs_version)),
        (
            "run settings".into(),
            format!(
                "{} mode, {} repetition(s), {:.2} s measured after {:.2} s warm-up per run, medians reported",
                if o.quick { "quick" } else { "full" },
                o.reps,
                o.seconds,
                o.warmup
            ),
        ),
        ("syscall count".into(), syscall_src.to_string()),
        (
            "load average (1 min)".into(),
            format!("{} at start, {} at end (anything well above 0 means other work skewed the numbers)", m.load_start, loadavg()),
        ),
        (
            "CPU time".into(),
            "per I/O over the measured window, all threads of the worker: usr/sys from getrusage(RUSAGE_SELF) (tick-sampled split), cpu = CLOCK_PROCESS_CPUTIME_ID (exact total)".into(),
        ),
        ("latency".into(), "per request, submit to observed completion, CLOCK_MONOTONIC; log histogram (1.6% buckets)".into()),
    ];
    if let Some(f) = &m.fio {
        v.push(("fio".into(), f.clone()));
    }
    v
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

// ---------------------------------------------------------------------------------------
// JSON (hand written: no crates).

fn js(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn jn(x: f64) -> String {
    if x.is_finite() { format!("{x}") } else { "null".into() }
}

fn sample_json(s: &Sample) -> String {
    format!(
        "{{\"iops\":{},\"p50_us\":{},\"p99_us\":{},\"user_us_per_io\":{},\"sys_us_per_io\":{},\"cpu_us_per_io\":{},\"syscalls_per_io\":{},\"direct\":{}}}",
        jn(s.iops),
        jn(s.p50_us),
        jn(s.p99_us),
        jn(s.usr_us),
        jn(s.sys_us),
        jn(s.cpu_us),
        s.syscalls.map(jn).unwrap_or_else(|| "null".into()),
        s.direct
    )
}

fn results_json(m: &Machine, o: &Opts, syscall_src: &str, res: &[CellResult], fio: &[FioResult], total_secs: f64) -> String {
    let mut s = String::from("{\n  \"machine\": {");
    let mach = [
        ("cpu", js(&m.cpu)),
        ("cores", m.cores.to_string()),
        ("mem_gib", format!("{:.1}", m.mem_gib)),
        ("kernel", js(&m.kernel)),
        ("dir", js(&m.dir.display().to_string())),
        ("fstype", js(&m.fstype)),
        ("glibc", js(&m.glibc)),
        ("liburing", js(&m.liburing)),
        ("io_uring_usable", m.uring_ok.to_string()),
        ("io_submit_usable", m.kaio_ok.to_string()),
        ("aio_rs_library", js(&m.lib)),
        ("aio_rs_version", js(&m.aio_rs_version)),
        ("fio", m.fio.as_deref().map(js).unwrap_or_else(|| "null".into())),
        ("loadavg_start", js(&m.load_start)),
        ("loadavg_end", js(&loadavg())),
    ];
    s.push_str(&mach.iter().map(|(k, v)| format!("\n    {}: {}", js(k), v)).collect::<Vec<_>>().join(","));
    let _ = write!(
        s,
        "\n  }},\n  \"settings\": {{\"quick\": {}, \"reps\": {}, \"seconds\": {}, \"warmup\": {}, \"syscall_source\": {}, \"total_seconds\": {:.1}}},\n  \"cells\": [",
        o.quick,
        o.reps,
        o.seconds,
        o.warmup,
        js(syscall_src),
        total_secs
    );
    let mut cells = Vec::new();
    for cr in res {
        let uring = cr.per[REF_URING].median.as_ref();
        let glibc = cr.per[REF_GLIBC].median.as_ref();
        let mut conts = Vec::new();
        for (i, r) in cr.per.iter().enumerate() {
            if i == SYNC && !cr.cell.with_sync {
                continue;
            }
            let runs: Vec<String> = r
                .runs
                .iter()
                .map(|x| match x {
                    Outcome::Ok(s) => sample_json(s),
                    Outcome::Failed(e) => format!("{{\"failed\":{}}}", js(e)),
                })
                .collect();
            conts.push(format!(
                "\n        {{\"key\": {}, \"label\": {}, \"status\": {}, \"median\": {}, \"ratio_to_raw_uring\": {}, \"ratio_to_glibc\": {}, \"notes\": [{}], \"runs\": [{}]}}",
                js(CONTENDERS[i].key),
                js(CONTENDERS[i].label),
                js(&status(r)),
                r.median.as_ref().map(sample_json).unwrap_or_else(|| "null".into()),
                jn(ratio(r.median.as_ref(), uring)),
                jn(ratio(r.median.as_ref(), glibc)),
                r.notes.iter().map(|n| js(n)).collect::<Vec<_>>().join(","),
                runs.join(",")
            ));
        }
        cells.push(format!(
            "\n    {{\"id\": {}, \"title\": {}, \"workload\": {}, \"depth\": {}, \"threads\": {}, \"seconds\": {:.1}, \"contenders\": [{}\n    ]}}",
            js(&cr.cell.id),
            js(&cr.cell.title),
            js(cr.cell.workload),
            cr.cell.depth,
            cr.cell.threads,
            cr.secs,
            conts.join(",")
        ));
    }
    s.push_str(&cells.join(","));
    s.push_str("\n  ],\n  \"fio\": [");
    let f: Vec<String> = fio
        .iter()
        .map(|r| {
            format!(
                "\n    {{\"name\": {}, \"iops\": {}, \"status\": {}, \"verify\": {}}}",
                js(&r.name),
                jn(r.iops),
                js(&r.status),
                r.verify.map(|v| v.to_string()).unwrap_or_else(|| "null".into())
            )
        })
        .collect();
    s.push_str(&f.join(","));
    s.push_str("\n  ]\n}\n");
    s
}

// ---------------------------------------------------------------------------------------
// SVG chart: IOPS by queue depth for the O_DIRECT random read cells, one panel per thread
// count, one line per contender.

fn nice_max(x: f64) -> f64 {
    if !(x > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    for m in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if m * p >= x {
            return m * p;
        }
    }
    10.0 * p
}

fn kfmt(x: f64) -> String {
    if x >= 1e6 {
        format!("{}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{}k", x / 1e3)
    } else {
        format!("{x}")
    }
}

fn svg(res: &[CellResult], m: &Machine) -> String {
    let (pw, ph) = (400.0, 300.0); // plot area of one panel
    let (ml, mt, gap) = (70.0, 78.0, 90.0);
    let legend_w = 190.0;
    let width = ml + 2.0 * pw + gap + 40.0 + legend_w + 10.0;
    let height = mt + ph + 70.0;
    let mut ymax: f64 = 0.0;
    for cr in res.iter().filter(|c| c.cell.workload == "randread") {
        for r in &cr.per {
            if let Some(s) = &r.median {
                ymax = ymax.max(s.iops);
            }
        }
    }
    let ymax = nice_max(ymax * 1.05);
    let xpos = |d: u32| (d as f64).log2() / 256f64.log2() * pw;
    let ypos = |v: f64| ph - v / ymax * ph;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"24\" font-size=\"15\" font-weight=\"bold\">O_DIRECT 4 KiB random read: IOPS by queue depth</text>",
        ml
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"42\" font-size=\"11\" fill=\"#555\">{} | {} cores | kernel {} | {} | glibc {}</text>",
        ml,
        xml(&m.cpu),
        m.cores,
        xml(&m.kernel),
        xml(&m.fstype),
        xml(&m.glibc)
    );
    for (pi, threads) in [1u32, 2].iter().enumerate() {
        let ox = ml + pi as f64 * (pw + gap);
        let _ = writeln!(s, "<g transform=\"translate({ox},{mt})\">");
        // Grid and y axis.
        for k in 0..=5 {
            let v = ymax * k as f64 / 5.0;
            let y = ypos(v);
            let _ = writeln!(s, "<line x1=\"0\" y1=\"{y:.1}\" x2=\"{pw}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>");
            let _ = writeln!(s, "<text x=\"-8\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", y + 4.0, kfmt(v));
        }
        for d in SWEEP_DEPTHS {
            let x = xpos(d);
            let _ = writeln!(s, "<line x1=\"{x:.1}\" y1=\"{ph}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#333\"/>", ph + 5.0);
            let _ = writeln!(s, "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{d}</text>", ph + 19.0);
        }
        let _ = writeln!(s, "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"{ph}\" stroke=\"#333\"/>");
        let _ = writeln!(s, "<line x1=\"0\" y1=\"{ph}\" x2=\"{pw}\" y2=\"{ph}\" stroke=\"#333\"/>");
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">queue depth{} (log scale)</text>",
            pw / 2.0,
            ph + 38.0,
            if *threads > 1 { " per thread" } else { "" }
        );
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"-12\" text-anchor=\"middle\" font-weight=\"bold\">{} submitting thread{}</text>",
            pw / 2.0,
            threads,
            if *threads > 1 { "s" } else { "" }
        );
        if pi == 0 {
            let _ = writeln!(
                s,
                "<text transform=\"translate(-55,{}) rotate(-90)\" text-anchor=\"middle\">IOPS</text>",
                ph / 2.0
            );
        }
        for (ci, c) in CONTENDERS.iter().enumerate() {
            let pts: Vec<(f64, f64)> = res
                .iter()
                .filter(|cr| cr.cell.workload == "randread" && cr.cell.threads == *threads)
                .filter_map(|cr| cr.per[ci].median.as_ref().map(|sm| (xpos(cr.cell.depth), ypos(sm.iops))))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let dash = if c.preload && c.backend.is_some() { " stroke-dasharray=\"5,3\"" } else { "" };
            if pts.len() > 1 {
                let p: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = writeln!(
                    s,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{dash}/>",
                    p.join(" "),
                    c.color
                );
            }
            for (x, y) in pts {
                let _ = writeln!(s, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{}\"/>", c.color);
            }
        }
        let _ = writeln!(s, "</g>");
    }
    // Legend.
    let lx = ml + 2.0 * pw + gap + 48.0;
    let _ = writeln!(s, "<g transform=\"translate({lx},{mt})\">");
    let _ = writeln!(s, "<rect x=\"-8\" y=\"-14\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#ccc\"/>", legend_w, CONTENDERS.len() as f64 * 20.0 + 30.0);
    for (i, c) in CONTENDERS.iter().enumerate() {
        let y = i as f64 * 20.0;
        let dash = if c.preload && c.backend.is_some() { " stroke-dasharray=\"5,3\"" } else { "" };
        let present = res.iter().any(|cr| cr.cell.workload == "randread" && cr.per[i].median.is_some());
        let _ = writeln!(s, "<line x1=\"0\" y1=\"{y}\" x2=\"24\" y2=\"{y}\" stroke=\"{}\" stroke-width=\"2\"{dash}/>", c.color);
        let _ = writeln!(
            s,
            "<text x=\"30\" y=\"{}\"{}>{}{}</text>",
            y + 4.0,
            if present { "" } else { " fill=\"#999\"" },
            xml(c.label),
            if present { "" } else { " (no data)" }
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"0\" y=\"{}\" font-size=\"10\" fill=\"#555\">pread: depth 1 only</text>",
        CONTENDERS.len() as f64 * 20.0 + 6.0
    );
    let _ = writeln!(s, "</g>\n</svg>");
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

// ---------------------------------------------------------------------------------------
// fio comparison (--fio).

struct FioResult {
    name: String,
    iops: f64,
    status: String,
    verify: Option<bool>,
}

/// Finds `"section" : { ... "iops" : N` in fio's JSON output (first job).
fn fio_iops(json: &str, section: &str) -> Option<f64> {
    let at = json.find(&format!("\"{section}\" : {{"))?;
    let rest = &json[at..];
    let i = rest.find("\"iops\" : ")? + "\"iops\" : ".len();
    let num: String = rest[i..].chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '+' || *c == '-').collect();
    num.parse().ok()
}

fn fio_error(json: &str) -> Option<i64> {
    let i = json.find("\"error\" : ")? + "\"error\" : ".len();
    json[i..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().ok()
}

fn run_fio(o: &Opts, dir: &Path, sz: &Sizes, lib_ok: bool) -> Vec<FioResult> {
    let runtime = if o.quick { 2 } else { 10 };
    let data = dir.join("data.bin");
    let base = |engine: &str| -> Vec<String> {
        vec![
            "--name=randread".into(),
            format!("--filename={}", data.display()),
            format!("--size={}", sz.data),
            "--rw=randread".into(),
            "--bs=4k".into(),
            "--direct=1".into(),
            "--iodepth=128".into(),
            format!("--ioengine={engine}"),
            format!("--runtime={runtime}"),
            "--time_based".into(),
            "--ramp_time=1".into(),
            "--output-format=json".into(),
        ]
    };
    let verify_size = if o.quick { 16u64 << 20 } else { 256u64 << 20 };
    let verify = vec![
        "--name=verify".to_string(),
        format!("--filename={}", dir.join("fio-verify.dat").display()),
        format!("--size={verify_size}"),
        "--rw=randwrite".into(),
        "--bs=4k".into(),
        "--direct=1".into(),
        "--iodepth=128".into(),
        "--ioengine=posixaio".into(),
        "--verify=crc32c".into(),
        "--do_verify=1".into(),
        "--output-format=json".into(),
    ];
    struct Job {
        name: &'static str,
        args: Vec<String>,
        preload: bool,
        section: &'static str,
        verify: bool,
    }
    let jobs = vec![
        Job { name: "posixaio (glibc)", args: base("posixaio"), preload: false, section: "read", verify: false },
        Job { name: "posixaio + LD_PRELOAD aio-rs", args: base("posixaio"), preload: true, section: "read", verify: false },
        Job { name: "io_uring", args: base("io_uring"), preload: false, section: "read", verify: false },
        Job { name: "libaio", args: base("libaio"), preload: false, section: "read", verify: false },
        Job { name: "posixaio + LD_PRELOAD aio-rs, randwrite + verify=crc32c", args: verify, preload: true, section: "write", verify: true },
    ];
    let mut out = Vec::new();
    for j in jobs {
        if INTERRUPTED.load(Ordering::SeqCst) {
            break;
        }
        eprint!("bench: fio {} ... ", j.name);
        let _ = std::io::stderr().flush();
        let mut r = FioResult { name: j.name.into(), iops: f64::NAN, status: String::new(), verify: None };
        if j.preload && !lib_ok {
            r.status = "skipped (library missing)".into();
        } else {
            let mut cmd = Command::new("fio");
            cmd.env_remove("LD_PRELOAD").env_remove("AIO_RS_BACKEND").args(&j.args);
            if j.preload {
                cmd.env("LD_PRELOAD", &o.lib);
            }
            match exec(cmd, Duration::from_secs(runtime + 180)) {
                Err(e) => r.status = format!("FAILED: cannot start fio: {e}"),
                Ok(e) => {
                    r.iops = fio_iops(&e.stdout, j.section).unwrap_or(f64::NAN);
                    let ok = e.code == Some(0) && !e.timed_out && fio_error(&e.stdout) == Some(0);
                    if j.verify {
                        r.verify = Some(ok);
                    }
                    r.status = if ok { "ok".into() } else { format!("FAILED: {}", describe_failure(&e)) };
                }
            }
        }
        eprintln!("{} {}", fnum(r.iops, 0), r.status);
        out.push(r);
    }
    let _ = std::fs::remove_file(dir.join("fio-verify.dat"));
    out
}

fn fio_table(fio: &[FioResult], md: bool) -> String {
    let mut s = String::new();
    if fio.is_empty() {
        return s;
    }
    if md {
        s.push_str("### fio: O_DIRECT 4 KiB random read, iodepth 128\n\n| job | IOPS | status | verify |\n| --- | ---: | --- | --- |\n");
    } else {
        s.push_str("== fio: O_DIRECT 4 KiB random read, iodepth 128\n");
    }
    for r in fio {
        let v = match r.verify {
            Some(true) => "passed",
            Some(false) => "FAILED",
            None => "",
        };
        if md {
            let _ = writeln!(s, "| {} | {} | {} | {} |", r.name, fnum(r.iops, 0), r.status, v);
        } else {
            let _ = writeln!(s, "{:<58} {:>10}  {}{}", r.name, fnum(r.iops, 0), r.status, if v.is_empty() { String::new() } else { format!(", verify {v}") });
        }
    }
    s
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

// ---------------------------------------------------------------------------------------

fn main() {
    let o = parse_opts();
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

    let mut all_cells = cells();
    if let Some(f) = &o.only {
        all_cells.retain(|c| c.id.contains(f.as_str()));
    }

    eprintln!("bench: machine: {} ({} cores), kernel {}, glibc {}", m.cpu, m.cores, m.kernel, m.glibc);
    eprintln!("bench: data in {} ({}), results to {}", base_dir.display(), m.fstype, out_dir.display());
    eprintln!("bench: aio-rs: {} [{}]", m.lib, m.aio_rs_version);
    if m.load_start.parse::<f64>().map_or(false, |l| l > 0.5 * m.cores as f64) {
        eprintln!("bench: warning: load average {} on {} cores: other work will skew the results", m.load_start, m.cores);
    }

    let sz = sizes(o.quick);
    let need = sz.data + sz.write + sz.cached + sz.file * NFILES as u64;
    if let Some(free) = info.get("free_bytes").and_then(|v| v.parse::<u64>().ok()) {
        if free < need + need / 5 {
            fatal(&format!("{} has {} MiB free; the data files need {} MiB", base_dir.display(), free >> 20, need >> 20));
        }
    }
    let work = WorkDir(base_dir.join(format!("aio-rs-bench.{}", std::process::id())));
    std::fs::create_dir_all(&work.0).unwrap_or_else(|e| fatal(&format!("cannot create {}: {e}", work.0.display())));
    let needs_files = !all_cells.is_empty() || o.fio;
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
        } else if c.engine == "uring" && !m.uring_ok {
            Some("io_uring unavailable".into())
        } else if c.engine == "kaio" && !m.kaio_ok {
            Some("io_submit unavailable".into())
        } else {
            None
        }
    };
    let mut timeouts = vec![0usize; CONTENDERS.len()];
    const MAX_TIMEOUTS: usize = 3;

    let mut results: Vec<CellResult> = Vec::new();
    let ncells = all_cells.len();
    for (ci, cell) in all_cells.iter().enumerate() {
        if INTERRUPTED.load(Ordering::SeqCst) {
            break;
        }
        let t0 = Instant::now();
        eprint!("bench: [{:>2}/{ncells}] {:<18} ", ci + 1, cell.id);
        let _ = std::io::stderr().flush();
        let mut per: Vec<ContResult> = CONTENDERS
            .iter()
            .enumerate()
            .map(|(i, c)| ContResult {
                skipped: if i == SYNC && !cell.with_sync {
                    Some("depth 1 only".into())
                } else {
                    skip_reason(c)
                },
                sit_out: false,
                runs: Vec::new(),
                median: None,
                notes: Vec::new(),
            })
            .collect();
        // Interleaved: A B C ... A B C ...
        for _rep in 0..o.reps {
            for (i, c) in CONTENDERS.iter().enumerate() {
                if per[i].skipped.is_some() || per[i].sit_out || INTERRUPTED.load(Ordering::SeqCst) {
                    continue;
                }
                if timeouts[i] >= MAX_TIMEOUTS {
                    if per[i].runs.is_empty() {
                        per[i].skipped = Some(format!("disabled after {MAX_TIMEOUTS} timeouts"));
                    }
                    continue;
                }
                let r = run_one(&o, cell, &work.0, c);
                let mark = match &r {
                    Outcome::Ok(_) => '.',
                    Outcome::Failed(e) if e == "timeout" => {
                        timeouts[i] += 1;
                        'T'
                    }
                    Outcome::Failed(_) => 'F',
                };
                eprint!("{mark}");
                let _ = std::io::stderr().flush();
                per[i].runs.push(r);
                if mark == 'T' && o.reps > 1 {
                    per[i].notes.push("sat out the remaining repetitions after a timeout".into());
                    per[i].sit_out = true;
                }
            }
        }
        for (i, r) in per.iter_mut().enumerate() {
            r.median = aggregate(&r.runs);
            if CONTENDERS[i].preload {
                if let Some(s) = &r.median {
                    if s.aio_rs == "none" {
                        r.notes.push("aio_rs_version() not visible in the process: is the preload active?".into());
                    }
                }
            }
            if use_strace && r.median.is_some() && !INTERRUPTED.load(Ordering::SeqCst) {
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
            if let Some(s) = &r.median {
                let _ = write!(summary, " {}={}", CONTENDERS[i].key, kfmt((s.iops / 100.0).round() * 100.0));
            } else if r.skipped.is_none() || !r.runs.is_empty() {
                let _ = write!(summary, " {}=FAILED", CONTENDERS[i].key);
            }
        }
        eprintln!(" {:.0}s{summary}", cr.secs);
        results.push(cr);
    }

    let fio = if o.fio && !INTERRUPTED.load(Ordering::SeqCst) {
        if m.fio.is_some() {
            run_fio(&o, &work.0, &sz, lib_ok)
        } else {
            eprintln!("bench: --fio given but fio is not installed; skipped");
            Vec::new()
        }
    } else {
        Vec::new()
    };
    drop(work); // remove the data files before writing the report
    let total = started.elapsed().as_secs_f64();

    // Reports.
    let mut text = String::new();
    let mut md = String::from("# aio-rs benchmark results\n\n| | |\n| --- | --- |\n");
    text.push_str("Machine and settings:\n");
    for (k, v) in machine_lines(&m, &o, &syscall_src) {
        let _ = writeln!(text, "  {k:<28} {v}");
        let _ = writeln!(md, "| {k} | {} |", v.replace('|', "/"));
    }
    let _ = writeln!(
        md,
        "\nIOPS ratios: `x raw uring` = IOPS / raw io_uring IOPS in the same cell, `x glibc` = IOPS / glibc POSIX AIO IOPS. \
         Each contender is a separate process; aio-rs rows are the same glibc-linked worker with LD_PRELOAD. \
         Raw engines use one ring / one io context per submitting thread.\n"
    );
    text.push('\n');
    for cr in &results {
        text.push_str(&text_table(cr));
        text.push('\n');
        md.push_str(&md_table(cr));
    }
    text.push_str(&fio_table(&fio, false));
    md.push_str(&fio_table(&fio, true));
    let _ = writeln!(text, "\ntotal time {:.0} s; results in {}", total, out_dir.display());
    let _ = writeln!(md, "\nTotal time {:.0} s.\n\n![IOPS by queue depth](results.svg)", total);
    print!("{text}");
    let write = |name: &str, body: &str| {
        if let Err(e) = std::fs::write(out_dir.join(name), body) {
            eprintln!("bench: cannot write {name}: {e}");
        }
    };
    write("results.md", &md);
    write("results.json", &results_json(&m, &o, &syscall_src, &results, &fio, total));
    write("results.svg", &svg(&results, &m));
    write("results.txt", &text);
    if INTERRUPTED.load(Ordering::SeqCst) {
        eprintln!("bench: interrupted; partial results written");
        std::process::exit(130);
    }
    let failed_runs = results
        .iter()
        .flat_map(|cr| cr.per.iter())
        .flat_map(|r| r.runs.iter())
        .filter(|x| matches!(x, Outcome::Failed(_)))
        .count();
    let failed_fio = fio.iter().filter(|f| f.status.starts_with("FAILED")).count();
    if failed_runs + failed_fio > 0 {
        eprintln!("bench: {failed_runs} run(s) and {failed_fio} fio job(s) failed (see the notes)");
        if o.strict {
            std::process::exit(1);
        }
    }
}
