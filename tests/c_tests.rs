//! Runs the C test suite in `c-tests/` against plain glibc and against
//! aio-rs (linked with `-laio_rs` and through `LD_PRELOAD`, under every
//! engine, and once with io_uring forbidden by a seccomp filter).
//!
//! Every `c-tests/*.c` is one test case, reported on its own (a
//! `harness = false` test run by libtest-mimic: `cargo test --test c_tests
//! -- NAME` filters, `--list` lists); the case runs the C test in every
//! selected mode and fails if any mode fails.  Line 1 of each file is
//! `/* DESCRIPTION: ... */`; exit 0 = pass, 77 = skip, anything else (or a
//! signal, or the timeout) = fail.  A `/* GLIBC-XFAIL: reason */` line near
//! the top marks a known glibc bug: in glibc mode the test is then expected
//! to fail.  A table per mode and the slowest runs are printed at the end.
//!
//! Binaries go to `<target>/c-tests/`, never into the source tree.
//!
//! Environment knobs for local debugging:
//!   C_TESTS=name1,name2      only these tests (file names without `.c`)
//!   C_TEST_MODES=glibc,...   only these modes (see `MODES`)
//!   C_TEST_JOBS=N            C tests run in parallel (default 2; the
//!                            modes of one test run one after another)
//!   C_TEST_TIMEOUT=SECS      per-run timeout (default 30)
//!   CC                       the C compiler (default `cc`)
//!
//! Each run gets a private temporary directory, named in its `TMPDIR`
//! (`aio-ctest-run-PID-N` under the runner's own `TMPDIR`, or `/var/tmp`,
//! a disk file system where O_DIRECT works), removed with everything in it
//! when the run ends, whatever it ended with (a timeout, a crash, a test
//! that failed before its cleanup).  Directories left by a runner that was
//! itself killed are removed by the next run.

use std::env;
use std::fs;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use libtest_mimic::{Arguments, Failed, Trial};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bin {
    Glibc,
    Linked,
}

struct Mode {
    name: &'static str,
    bin: Bin,
    preload: bool,
    backend: Option<&'static str>,
    nouring: bool,
}

const fn mode(name: &'static str, bin: Bin, preload: bool, backend: Option<&'static str>, nouring: bool) -> Mode {
    Mode { name, bin, preload, backend, nouring }
}

const MODES: &[Mode] = &[
    mode("glibc", Bin::Glibc, false, None, false),
    mode("linked", Bin::Linked, false, None, false),
    mode("linked-uring", Bin::Linked, false, Some("uring"), false),
    mode("linked-kaio", Bin::Linked, false, Some("kaio"), false),
    mode("linked-threads", Bin::Linked, false, Some("threads"), false),
    mode("preload", Bin::Glibc, true, None, false),
    mode("preload-uring", Bin::Glibc, true, Some("uring"), false),
    mode("preload-kaio", Bin::Glibc, true, Some("kaio"), false),
    mode("preload-threads", Bin::Glibc, true, Some("threads"), false),
    mode("preload-nouring", Bin::Glibc, true, None, true),
];

const CFLAGS: &[&str] = &["-O1", "-g", "-Wall", "-Werror", "-pthread"];

struct TestSrc {
    name: String,
    src: PathBuf,
    /// Problem with the file itself (e.g. no description line).
    defect: Option<String>,
    xfail: Option<String>,
    /// Declares a longer watchdog: schedule it early.
    heavy: bool,
}

#[derive(Clone, PartialEq, Eq)]
enum Outcome {
    Pass,
    Skip,
    /// Failed in glibc mode, as its GLIBC-XFAIL line says.
    XFail,
    /// Passed in glibc mode despite a GLIBC-XFAIL line.
    XPass,
    Fail(String),
}

struct Run {
    mode: usize,
    outcome: Outcome,
    secs: f64,
    log: PathBuf,
}

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The profile directory holding libaio_rs.so: the one this test binary
/// was built into (`<target>/<profile>/deps/c_tests-*`), which follows
/// CARGO_TARGET_DIR and --release.
fn profile_dir() -> PathBuf {
    if let Ok(exe) = env::current_exe() {
        if let Some(deps) = exe.parent() {
            if deps.file_name().is_some_and(|n| n == "deps") {
                if let Some(p) = deps.parent() {
                    return p.to_path_buf();
                }
            }
        }
    }
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { crate_root().join(t) })
        .unwrap_or_else(|| crate_root().join("target"));
    target.join(if cfg!(debug_assertions) { "debug" } else { "release" })
}

fn list_filter(var: &str) -> Option<Vec<String>> {
    let v = env::var(var).ok()?;
    let items: Vec<String> =
        v.split(',').map(|s| s.trim().trim_end_matches(".c").to_string()).filter(|s| !s.is_empty()).collect();
    (!items.is_empty()).then_some(items)
}

fn env_num(var: &str, default: u64) -> u64 {
    env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn discover(dir: &Path, only: &Option<Vec<String>>) -> Vec<TestSrc> {
    let mut tests = Vec::new();
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    entries.sort();
    for src in entries {
        let name = src.file_stem().unwrap().to_string_lossy().into_owned();
        if let Some(only) = only {
            if !only.contains(&name) {
                continue;
            }
        }
        let text = fs::read_to_string(&src).unwrap_or_default();
        let first = text.lines().next().unwrap_or("");
        let defect = (!first.starts_with("/* DESCRIPTION:") || !first.ends_with("*/"))
            .then(|| "line 1 is not a `/* DESCRIPTION: ... */` comment".to_string());
        let xfail = text
            .lines()
            .take(8)
            .find_map(|l| l.trim().strip_prefix("/* GLIBC-XFAIL:"))
            .map(|r| r.trim_end_matches("*/").trim().to_string());
        let heavy = text.lines().take(8).any(|l| l.starts_with("#define TEST_ALARM"));
        tests.push(TestSrc { name, src, defect, xfail, heavy });
    }
    if let Some(only) = only {
        for want in only {
            assert!(tests.iter().any(|t| &t.name == want), "C_TESTS names `{want}`, but there is no c-tests/{want}.c");
        }
    }
    tests
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Is `out` newer than `src`, the support headers and the .c files that
/// `src` includes?  (A change of compiler or flags is caught by `flags_stamp`.)
fn up_to_date(src: &Path, out: &Path) -> bool {
    let Some(built) = mtime(out) else {
        return false;
    };
    let dir = src.parent().unwrap_or(Path::new("."));
    let mut deps = vec![src.to_path_buf()];
    if let Ok(rd) = fs::read_dir(dir.join("support")) {
        deps.extend(rd.filter_map(|e| e.ok().map(|e| e.path())));
    }
    let text = fs::read_to_string(src).unwrap_or_default();
    for l in text.lines() {
        if let Some(inc) = l.trim().strip_prefix("#include \"") {
            deps.push(dir.join(inc.trim_end_matches('"')));
        }
    }
    deps.iter().all(|d| mtime(d).is_some_and(|t| t <= built))
}

/// Compile `src` to `out` (unless `reuse` and it is up to date); on
/// failure return the compiler's output.
fn compile(cc: &str, src: &Path, out: &Path, extra: &[String], reuse: bool) -> Result<(), String> {
    if reuse && up_to_date(src, out) {
        return Ok(());
    }
    // Build under a private name and rename: a concurrent run of this suite
    // in the same target directory never sees a half-written binary.
    let tmp = PathBuf::from(format!("{}.tmp{}", out.display(), std::process::id()));
    let res = Command::new(cc)
        .args(CFLAGS)
        .arg(src)
        .arg("-o")
        .arg(&tmp)
        .args(extra)
        .arg("-lrt")
        .stdin(Stdio::null())
        .output();
    let result = match res {
        Ok(o) if o.status.success() => fs::rename(&tmp, out).map_err(|e| format!("rename to {}: {e}", out.display())),
        Ok(o) => {
            Err(format!("compile failed: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
        }
        Err(e) => Err(format!("cannot run `{cc}`: {e}")),
    };
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn describe_status(st: ExitStatus) -> String {
    if let Some(sig) = st.signal() {
        let name = match sig {
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGABRT => "SIGABRT",
            libc::SIGALRM => "SIGALRM (test watchdog)",
            libc::SIGBUS => "SIGBUS",
            libc::SIGKILL => "SIGKILL",
            libc::SIGILL => "SIGILL",
            libc::SIGFPE => "SIGFPE",
            _ => "",
        };
        format!("killed by signal {sig} {name}")
    } else {
        format!("exit status {}", st.code().unwrap_or(-1))
    }
}

struct Job {
    argv: Vec<PathBuf>,
    env: Vec<(&'static str, String)>,
    log: PathBuf,
    xfail_expected: bool,
    precomputed: Option<Outcome>,
}

/// Where the runs' private temporary directories go: the runner's `TMPDIR`, else `/var/tmp`.
fn tmp_base() -> PathBuf {
    env::var_os("TMPDIR").filter(|d| !d.is_empty()).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/var/tmp"))
}

const RUN_TMP_PREFIX: &str = "aio-ctest-run-";

/// One run's private temporary directory, its `TMPDIR`; removed with its contents when dropped,
/// which `run_job` does after it has killed the run's process group.
struct RunTmp(PathBuf);

impl RunTmp {
    fn new() -> RunTmp {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let base = tmp_base();
        loop {
            let n = SEQ.fetch_add(1, Ordering::Relaxed);
            let dir = base.join(format!("{RUN_TMP_PREFIX}{}-{n}", std::process::id()));
            match fs::create_dir(&dir) {
                Ok(()) => {
                    // Open to all, sticky, as /var/tmp is: tests make files here as nobody (the
                    // nproc tests) and run a copy of themselves as nobody from in here
                    // (env_at_secure).
                    use std::os::unix::fs::PermissionsExt;
                    let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777));
                    return RunTmp(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("mkdir {}: {e}", dir.display()),
            }
        }
    }
}

impl Drop for RunTmp {
    fn drop(&mut self) {
        // A process of the killed group may not be gone yet and create a file meanwhile.
        for _ in 0..20 {
            if fs::remove_dir_all(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        eprintln!("c_tests: could not remove {}", self.0.display());
    }
}

/// Removes the private directories of runners that no longer exist (killed before their runs'
/// directories were removed).
fn sweep_stale_run_dirs() {
    for e in fs::read_dir(tmp_base()).into_iter().flatten().flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(RUN_TMP_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

fn run_job(job: &Job, workdir: &Path, timeout: Duration) -> (Outcome, f64) {
    if let Some(o) = &job.precomputed {
        return (o.clone(), 0.0);
    }
    let log = fs::File::create(&job.log).expect("create log file");
    let tmp = RunTmp::new();
    let mut cmd = Command::new(&job.argv[0]);
    cmd.args(&job.argv[1..])
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().expect("dup log")))
        .stderr(Stdio::from(log))
        .env_remove("LD_PRELOAD")
        .env_remove("AIO_RS_BACKEND")
        .process_group(0);
    for (k, v) in &job.env {
        cmd.env(k, v);
    }
    cmd.env("TMPDIR", &tmp.0);
    // No core files from crashing tests (some crash on purpose in children). And every test
    // starts with descriptors 0-2 only, whatever the shell or CI harness that started this runner
    // left open: a test that counts descriptors (`fork_nofile_inflight` lowers RLIMIT_NOFILE to
    // two above its own) then sees the same table everywhere. Marked close-on-exec, not closed:
    // the standard library's own pipe that reports a failed exec must stay open until the exec.
    // SAFETY: the closure only calls setrlimit and close_range, which are async-signal-safe,
    // between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            libc::setrlimit(libc::RLIMIT_CORE, &lim);
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (Outcome::Fail(format!("cannot start: {e}")), 0.0),
    };
    let pgid = child.id() as libc::pid_t;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() >= timeout => {
                // SAFETY: kill has no memory preconditions; the group is the test's own.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("wait: {e}"),
        }
    };
    // Leftover children of the test (e.g. after fork) go too.
    // SAFETY: kill has no memory preconditions; the group is the test's own (it may be gone).
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let secs = start.elapsed().as_secs_f64();
    drop(tmp);
    let raw = match status {
        None => Err(format!("timed out after {} s", timeout.as_secs())),
        Some(st) if st.code() == Some(0) => Ok(true),
        Some(st) if st.code() == Some(77) => Ok(false),
        Some(st) => Err(describe_status(st)),
    };
    if let Ok(mut f) = fs::OpenOptions::new().append(true).open(&job.log) {
        let what = match &raw {
            Ok(true) => "exit status 0".to_string(),
            Ok(false) => "exit status 77 (skip)".to_string(),
            Err(why) => why.clone(),
        };
        let _ = writeln!(f, "[runner] {what}");
    }
    let outcome = match (raw, job.xfail_expected) {
        (Ok(false), _) => Outcome::Skip,
        (Ok(true), false) => Outcome::Pass,
        (Ok(true), true) => Outcome::XPass,
        (Err(_), true) => Outcome::XFail,
        (Err(why), false) => Outcome::Fail(why),
    };
    (outcome, secs)
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    all[from..].join("\n")
}

/// What the whole run shares: where things are, how to build, which modes.
struct Setup {
    cc: String,
    bin_dir: PathBuf,
    log_dir: PathBuf,
    work_dir: PathBuf,
    lib_abs: PathBuf,
    nouring: PathBuf,
    link_flags: Vec<String>,
    /// Binaries from an earlier run may be reused (built the same way).
    reuse: bool,
    modes: Vec<usize>,
    need_linked: bool,
    timeout: Duration,
}

impl Setup {
    fn bin_path(&self, name: &str, b: Bin) -> PathBuf {
        self.bin_dir.join(format!("{name}.{}", if b == Bin::Glibc { "glibc" } else { "linked" }))
    }

    /// Builds test `t` (both binaries, as the modes need) and runs it in every mode.
    fn run_test(&self, t: &TestSrc) -> Vec<Run> {
        let build_err = |b: Bin| -> Option<String> {
            if b == Bin::Linked && !self.need_linked {
                return None;
            }
            let extra = if b == Bin::Linked { self.link_flags.clone() } else { Vec::new() };
            compile(&self.cc, &t.src, &self.bin_path(&t.name, b), &extra, self.reuse).err()
        };
        let errs = [build_err(Bin::Glibc), build_err(Bin::Linked)];
        let mut runs = Vec::new();
        for &m in &self.modes {
            let md = &MODES[m];
            let log = self.log_dir.join(format!("{}.{}.log", t.name, md.name));
            let mut precomputed = t.defect.clone().map(Outcome::Fail);
            if precomputed.is_none() {
                precomputed = errs[(md.bin == Bin::Linked) as usize].clone().map(Outcome::Fail);
                if let Some(Outcome::Fail(msg)) = &precomputed {
                    let _ = fs::write(&log, msg);
                }
            }
            let mut argv = Vec::new();
            if md.nouring {
                argv.push(self.nouring.clone());
            }
            argv.push(self.bin_path(&t.name, md.bin));
            let mut env = Vec::new();
            if md.preload {
                env.push(("LD_PRELOAD", self.lib_abs.display().to_string()));
            }
            if let Some(b) = md.backend {
                env.push(("AIO_RS_BACKEND", b.to_string()));
            }
            let job = Job {
                argv,
                env,
                log: log.clone(),
                xfail_expected: md.name == "glibc" && t.xfail.is_some(),
                precomputed,
            };
            let (outcome, secs) = run_job(&job, &self.work_dir, self.timeout);
            runs.push(Run { mode: m, outcome, secs, log });
        }
        runs
    }
}

/// The failure message of a test case: each failing mode, and each distinct output once.
fn failure_message(runs: &[Run]) -> Option<String> {
    let failed: Vec<&Run> = runs.iter().filter(|r| matches!(r.outcome, Outcome::Fail(_))).collect();
    if failed.is_empty() {
        return None;
    }
    let mut msg = String::new();
    let mut shown: Vec<String> = Vec::new();
    for r in &failed {
        if let Outcome::Fail(why) = &r.outcome {
            msg.push_str(&format!("{:<18} {}\n", MODES[r.mode].name, why.lines().next().unwrap_or("")));
        }
    }
    for r in &failed {
        let out = tail(&r.log, 12);
        if shown.contains(&out) {
            continue;
        }
        let same: Vec<&str> = failed.iter().filter(|x| tail(&x.log, 12) == out).map(|x| MODES[x.mode].name).collect();
        msg.push_str(&format!("\n--- [{}] ({})\n", same.join(", "), r.log.display()));
        msg.push_str(if out.is_empty() { "(no output)" } else { &out });
        msg.push('\n');
        shown.push(out);
    }
    Some(msg)
}

fn main() {
    let mut args = Arguments::from_args();
    // C_TEST_JOBS C tests at a time (each runs its modes one after another).
    if args.test_threads.is_none() {
        args.test_threads = Some(env_num("C_TEST_JOBS", 2).max(1) as usize);
    }
    let t0 = Instant::now();
    let root = crate_root();
    let cdir = root.join("c-tests");
    let only = list_filter("C_TESTS");
    let mut tests = discover(&cdir, &only);
    assert!(!tests.is_empty(), "no C tests found in {}", cdir.display());
    // Tests with a longer watchdog go first.
    tests.sort_by_key(|t| !t.heavy);
    let modes: Vec<usize> = match list_filter("C_TEST_MODES") {
        None => (0..MODES.len()).collect(),
        Some(want) => want
            .iter()
            .map(|w| {
                MODES.iter().position(|m| m.name == w).unwrap_or_else(|| {
                    let names: Vec<_> = MODES.iter().map(|m| m.name).collect();
                    panic!("C_TEST_MODES: unknown mode `{w}` (known: {})", names.join(","))
                })
            })
            .collect(),
    };
    if args.list {
        let trials = tests.iter().map(|t| Trial::test(t.name.clone(), || Ok(()))).collect();
        libtest_mimic::run(&args, trials).exit();
    }
    let setup = Arc::new(prepare(&root, &cdir, modes.clone()));

    let results: Arc<Mutex<Results>> = Arc::new(Mutex::new(Vec::new()));
    let tests = Arc::new(tests);
    let trials = (0..tests.len())
        .map(|i| {
            let (setup, tests, results) = (setup.clone(), tests.clone(), results.clone());
            Trial::test(tests[i].name.clone(), move || -> Result<(), Failed> {
                let runs = setup.run_test(&tests[i]);
                let msg = failure_message(&runs);
                results.lock().unwrap().push((i, runs));
                match msg {
                    Some(m) => Err(m.into()),
                    None => Ok(()),
                }
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    report(&tests, &modes, &results.lock().unwrap(), &setup.log_dir, t0);
    conclusion.exit();
}

/// Directories, the library's symlinks, the nouring launcher, and whether earlier binaries may
/// be reused.
fn prepare(root: &Path, cdir: &Path, modes: Vec<usize>) -> Setup {
    let profile = profile_dir();
    let target = profile.parent().map(Path::to_path_buf).unwrap_or_else(|| root.join("target"));
    let out_dir = target.join("c-tests");
    let bin_dir = out_dir.join("bin");
    let log_dir = out_dir.join("logs");
    let lib_link_dir = out_dir.join("lib");
    let work_dir = out_dir.join("work");
    for d in [&bin_dir, &log_dir, &lib_link_dir, &work_dir] {
        fs::create_dir_all(d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
    }
    sweep_stale_run_dirs();
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let timeout = Duration::from_secs(env_num("C_TEST_TIMEOUT", 30));
    let need_lib = modes.iter().any(|&m| MODES[m].name != "glibc");
    let need_linked = modes.iter().any(|&m| MODES[m].bin == Bin::Linked);
    let need_nouring = modes.iter().any(|&m| MODES[m].nouring);

    // The library under test.  Linked binaries find it through a private
    // directory of symlinks, which also provides the SONAME (libaio_rs.so.0).
    let lib = profile.join("libaio_rs.so");
    if need_lib {
        assert!(
            lib.is_file(),
            "the library {} does not exist: build it first with `cargo build --release` \
             (or run `cargo test --release`), or select C_TEST_MODES=glibc",
            lib.display()
        );
        for name in ["libaio_rs.so", "libaio_rs.so.0"] {
            let l = lib_link_dir.join(name);
            if fs::read_link(&l).is_ok_and(|t| t == lib) {
                continue;
            }
            let tmp = lib_link_dir.join(format!("{name}.tmp{}", std::process::id()));
            let _ = fs::remove_file(&tmp);
            std::os::unix::fs::symlink(&lib, &tmp)
                .and_then(|_| fs::rename(&tmp, &l))
                .unwrap_or_else(|e| panic!("symlink {}: {e}", l.display()));
        }
    }
    let lib_abs = lib.canonicalize().unwrap_or(lib.clone());

    // The nouring launcher.
    let nouring = bin_dir.join("nouring");
    if need_nouring {
        let tmp = bin_dir.join(format!("nouring.tmp{}", std::process::id()));
        let r = Command::new(&cc)
            .args(["-O1", "-Wall", "-Werror"])
            .arg(cdir.join("support/nouring.c"))
            .arg("-o")
            .arg(&tmp)
            .status()
            .expect("run cc");
        assert!(r.success(), "cannot build c-tests/support/nouring.c");
        fs::rename(&tmp, &nouring).expect("rename nouring");
    }
    let link_flags = vec![
        format!("-L{}", lib_link_dir.display()),
        "-laio_rs".to_string(),
        format!("-Wl,-rpath,{}", lib_link_dir.display()),
    ];
    // Binaries from an earlier run are reused only if built the same way.
    let stamp = bin_dir.join("flags.stamp");
    let flags_sig = format!("{cc} {} | {}\n", CFLAGS.join(" "), link_flags.join(" "));
    let reuse = fs::read_to_string(&stamp).is_ok_and(|s| s == flags_sig);
    if !reuse {
        // Built some other way: none of them may be reused, now or later.
        for e in fs::read_dir(&bin_dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "glibc" || x == "linked") {
                let _ = fs::remove_file(p);
            }
        }
    }
    let _ = fs::write(&stamp, &flags_sig);
    Setup { cc, bin_dir, log_dir, work_dir, lib_abs, nouring, link_flags, reuse, modes, need_linked, timeout }
}

/// Each test's runs, by index into the test list.
type Results = Vec<(usize, Vec<Run>)>;

/// The table per mode, the slowest runs, the XPASS notes and the count line.
fn report(tests: &[TestSrc], modes: &[usize], results: &Results, log_dir: &Path, t0: Instant) {
    let runs: Vec<(usize, &Run)> = results.iter().flat_map(|(t, rs)| rs.iter().map(move |r| (*t, r))).collect();
    if runs.is_empty() {
        return;
    }
    let count = |f: &dyn Fn(&Outcome) -> bool| runs.iter().filter(|(_, r)| f(&r.outcome)).count();
    let passed = count(&|o| matches!(o, Outcome::Pass | Outcome::XPass));
    let failed = count(&|o| matches!(o, Outcome::Fail(_)));
    let skipped = count(&|o| matches!(o, Outcome::Skip));
    let xfailed = count(&|o| matches!(o, Outcome::XFail));
    let mut out = format!(
        "\nC test matrix: {} tests x {} modes, total {:.1} s (logs in {})\n",
        results.len(),
        modes.len(),
        t0.elapsed().as_secs_f64(),
        log_dir.display()
    );
    out += &format!("{:<18} {:>6} {:>6} {:>6} {:>6}\n", "mode", "pass", "fail", "skip", "xfail");
    for &m in modes {
        let of = |f: &dyn Fn(&Outcome) -> bool| runs.iter().filter(|(_, r)| r.mode == m && f(&r.outcome)).count();
        out += &format!(
            "{:<18} {:>6} {:>6} {:>6} {:>6}\n",
            MODES[m].name,
            of(&|o| matches!(o, Outcome::Pass | Outcome::XPass)),
            of(&|o| matches!(o, Outcome::Fail(_))),
            of(&|o| matches!(o, Outcome::Skip)),
            of(&|o| matches!(o, Outcome::XFail)),
        );
    }
    let mut slow: Vec<&(usize, &Run)> = runs.iter().filter(|(_, r)| r.secs >= 3.0).collect();
    slow.sort_by(|a, b| b.1.secs.total_cmp(&a.1.secs));
    if !slow.is_empty() {
        out += "slowest runs:";
        for (t, r) in slow.iter().take(8) {
            out += &format!(" {}[{}] {:.1}s", tests[*t].name, MODES[r.mode].name, r.secs);
        }
        out.push('\n');
    }
    for (t, _) in runs.iter().filter(|(_, r)| r.outcome == Outcome::XPass) {
        out += &format!(
            "note: {} passed on plain glibc although marked GLIBC-XFAIL ({})\n",
            tests[*t].name,
            tests[*t].xfail.as_deref().unwrap_or("")
        );
    }
    if xfailed > 0 {
        out += &format!("C tests: {xfailed} expected glibc failures (GLIBC-XFAIL)\n");
    }
    out += &format!("C tests: {passed} passed, {failed} failed, {skipped} skipped");
    println!("{out}");
}
