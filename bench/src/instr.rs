//! Instructions per request (issue 14), counted with callgrind.
//!
//! The worker's `count` command does a fixed number of page-cached 4 KiB random reads at a
//! fixed depth: for the POSIX contenders a loop of aio_read, aio_suspend, aio_error and
//! aio_return (SIGEV_NONE), for the raw kernel liburing with one submit_and_wait per round.
//! Each is run twice under `valgrind --tool=callgrind`, with N1 and N2 requests; the
//! difference of the two totals divided by N2 - N1 is the cost of one request in user
//! space (every thread of the process, helper threads included), without the setup.
//! Hardware counters would be cheaper but are not available in most VMs
//! (`perf stat -e instructions` says "not supported"), so callgrind is the one method.

use crate::{contender_cmd, describe_failure, exec, interrupted, kv, Contender, Machine, Opts, CONTENDERS};
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

pub const DEPTHS: [u32; 2] = [1, 64];

/// Request counts of the two runs.
pub fn lengths(o: &Opts) -> (u64, u64) {
    if o.quick { (4_000, 12_000) } else { (20_000, 60_000) }
}

pub struct InstrRow {
    pub key: &'static str,
    pub label: &'static str,
    /// Per depth (in DEPTHS order): instructions per request, or why there is none.
    pub per_depth: Vec<Result<f64, String>>,
    /// Total instructions of each run: (depth, n, count).
    pub raw: Vec<(u32, u64, u64)>,
}

impl InstrRow {
    pub fn failed(&self) -> bool {
        self.per_depth.iter().any(|r| matches!(r, Err(e) if !e.starts_with("skipped")))
    }
}

/// The rows: (contender key, worker engine of the count loop).
const ROWS: [(&str, &str); 4] = [("glibc", "posix"), ("aio-rs", "posix"), ("aio-rs:nouring", "posix"), ("raw-uring", "uring")];

fn count_once(o: &Opts, dir: &Path, c: &Contender, engine: &str, n: u64, depth: u32) -> Result<u64, String> {
    let mut cmd = contender_cmd(o, c, Path::new("valgrind"));
    cmd.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"]).arg(&o.worker).args([
        "count".to_string(),
        "--dir".into(),
        dir.display().to_string(),
        "--engine".into(),
        engine.into(),
        "--n".into(),
        n.to_string(),
        "--depth".into(),
        depth.to_string(),
        "--timeout".into(),
        "300".into(),
    ]);
    let e = exec(cmd, Duration::from_secs(330)).map_err(|e| format!("cannot start valgrind: {e}"))?;
    if e.code != Some(0) || e.timed_out {
        return Err(describe_failure(&e));
    }
    let line = e.stdout.lines().find(|l| l.starts_with("count ")).ok_or("no result line")?;
    let m = kv(line);
    if c.nouring && m.get("uring_blocked").map(String::as_str) != Some("1") {
        return Err("io_uring was usable: the seccomp filter did not apply".into());
    }
    if c.preload && matches!(m.get("aio_rs").map(String::as_str), None | Some("none")) {
        return Err("aio-rs not loaded in the process".into());
    }
    // callgrind's summary on stderr: "==PID== Collected : N"
    e.stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1).and_then(|v| v.trim().parse::<u64>().ok()))
        .ok_or_else(|| "no 'Collected' line from callgrind".to_string())
}

pub fn run(o: &Opts, dir: &Path, lib_ok: bool, m: &Machine) -> Vec<InstrRow> {
    let (n1, n2) = lengths(o);
    let t0 = Instant::now();
    let mut rows = Vec::new();
    for (key, engine) in ROWS {
        if interrupted() {
            break;
        }
        let c = &CONTENDERS[crate::cidx(key)];
        if !o.seccomp && c.nouring {
            continue;
        }
        if o.contenders.as_ref().is_some_and(|l| !l.iter().any(|k| k == key)) {
            continue;
        }
        eprint!("bench: instructions per request, {:<30} ", c.label);
        let _ = std::io::stderr().flush();
        let skip = if c.preload && !lib_ok {
            Some("skipped (library missing)".to_string())
        } else if engine == "uring" && !m.uring_ok {
            Some("skipped (io_uring unavailable)".to_string())
        } else if c.nouring && m.nouring_problem.is_some() {
            Some("skipped (cannot forbid io_uring)".to_string())
        } else {
            None
        };
        let mut row = InstrRow { key, label: c.label, per_depth: Vec::new(), raw: Vec::new() };
        for d in DEPTHS {
            let r = match &skip {
                Some(s) => Err(s.clone()),
                None => count_once(o, dir, c, engine, n1, d).and_then(|a| {
                    let b = count_once(o, dir, c, engine, n2, d)?;
                    row.raw.push((d, n1, a));
                    row.raw.push((d, n2, b));
                    Ok((b as f64 - a as f64) / (n2 - n1) as f64)
                }),
            };
            match &r {
                Ok(v) => eprint!(" depth {d}: {v:.0}"),
                Err(e) => eprint!(" depth {d}: {e}"),
            }
            let _ = std::io::stderr().flush();
            row.per_depth.push(r);
        }
        eprintln!();
        rows.push(row);
    }
    eprintln!("bench: instruction counts took {:.0} s", t0.elapsed().as_secs_f64());
    rows
}
