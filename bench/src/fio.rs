//! The fio comparisons (`--fio`).
//!
//! Groups of fio jobs that differ only in the I/O engine, or in whether aio-rs is preloaded
//! under fio's `posixaio` engine.  The jobs of a group are run interleaved (A B C A B C ...)
//! `--reps` times and their medians compared: with fio's io_uring engine (the raw kernel) and
//! with posixaio on glibc.  The groups marked [no io_uring] run fio itself under
//! bench/nouring, so io_uring is forbidden as in a container (issue 12).

use crate::{describe_failure, exec, interrupted, median, Machine, Opts, Sizes};
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub struct FioJob {
    pub name: String,
    args: Vec<String>,
    pub preload: bool,
    pub nouring: bool,
    /// The section of fio's JSON output that holds the IOPS ("read" or "write").
    section: &'static str,
    /// A verify job: passes or fails, runs once.
    pub verify: bool,
    pub runs: Vec<Result<f64, String>>,
    pub skipped: Option<String>,
    sit_out: bool,
}

impl FioJob {
    pub fn oks(&self) -> Vec<f64> {
        self.runs.iter().filter_map(|r| r.as_ref().ok().copied()).filter(|x| x.is_finite()).collect()
    }
    pub fn median(&self) -> f64 {
        median(self.oks())
    }
    pub fn min(&self) -> f64 {
        self.oks().into_iter().fold(f64::NAN, f64::min)
    }
    pub fn max(&self) -> f64 {
        self.oks().into_iter().fold(f64::NAN, f64::max)
    }
    pub fn failed(&self) -> bool {
        self.runs.iter().any(|r| r.is_err())
    }
    pub fn status(&self) -> String {
        if let Some(s) = &self.skipped {
            return format!("skipped ({s})");
        }
        let fails: Vec<&String> = self.runs.iter().filter_map(|r| r.as_ref().err()).collect();
        if fails.is_empty() {
            if self.verify { "ok, verify passed".into() } else { "ok".into() }
        } else if fails.len() == self.runs.len() {
            format!("FAILED: {}", fails[0])
        } else {
            format!("{}/{} runs failed: {}", fails.len(), self.runs.len(), fails[0])
        }
    }
}

pub struct FioGroup {
    pub id: &'static str,
    pub title: String,
    pub jobs: Vec<FioJob>,
    /// Index in `jobs` of fio's io_uring engine and of posixaio on glibc, where present.
    pub raw: Option<usize>,
    pub glibc: Option<usize>,
}

impl FioGroup {
    pub fn ratio(&self, i: usize, reference: Option<usize>) -> f64 {
        match reference {
            Some(r) if r != i => self.jobs[i].median() / self.jobs[r].median(),
            Some(_) => 1.0,
            None => f64::NAN,
        }
    }
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

/// Reads a file once so that it is in the page cache.
fn warm(path: &Path) {
    use std::io::Read as _;
    if let Ok(mut f) = std::fs::File::open(path) {
        let mut b = vec![0u8; 1 << 20];
        while matches!(f.read(&mut b), Ok(n) if n > 0) {}
    }
}

struct Spec<'a> {
    file: &'a Path,
    size: u64,
    rw: &'a str,
    direct: bool,
    iodepth: u32,
    fsync: u32,
}

fn args(s: &Spec, engine: &str, runtime: f64) -> Vec<String> {
    let mut v = vec![
        "--name=bench".to_string(),
        format!("--filename={}", s.file.display()),
        format!("--size={}", s.size),
        format!("--rw={}", s.rw),
        "--bs=4k".into(),
        format!("--direct={}", s.direct as u32),
        format!("--iodepth={}", s.iodepth),
        format!("--ioengine={engine}"),
        format!("--runtime={runtime}"),
        "--time_based".into(),
        "--ramp_time=1".into(),
        "--output-format=json".into(),
    ];
    if !s.direct {
        // fio drops the file's pages from the cache before a job unless told not to.
        v.push("--invalidate=0".into());
    }
    if s.fsync > 0 {
        v.push(format!("--fsync={}", s.fsync));
    }
    v
}

fn job(name: &str, args: Vec<String>, preload: bool, nouring: bool, section: &'static str) -> FioJob {
    FioJob { name: name.into(), args, preload, nouring, section, verify: false, runs: Vec::new(), skipped: None, sit_out: false }
}

fn groups(o: &Opts, dir: &Path, sz: &Sizes) -> Vec<FioGroup> {
    let rt = o.fio_seconds;
    let data = dir.join("data.bin");
    let cached = dir.join("cached.bin");
    let write = dir.join("write.bin");
    let bufw = dir.join("fio-bufwrite.dat");
    let mut g = Vec::new();

    let read128 = Spec { file: &data, size: sz.data, rw: "randread", direct: true, iodepth: 128, fsync: 0 };
    g.push(FioGroup {
        id: "direct-randread-qd128",
        title: "O_DIRECT 4 KiB random read, iodepth 128".into(),
        jobs: vec![
            job("posixaio (glibc)", args(&read128, "posixaio", rt), false, false, "read"),
            job("posixaio + LD_PRELOAD aio-rs", args(&read128, "posixaio", rt), true, false, "read"),
            job("io_uring", args(&read128, "io_uring", rt), false, false, "read"),
            job("libaio", args(&read128, "libaio", rt), false, false, "read"),
        ],
        raw: Some(2),
        glibc: Some(0),
    });
    // Issue 11: fio's posixaio calls aio_fsync(O_SYNC) after every 32 writes.
    let wfs = Spec { file: &write, size: sz.write, rw: "randwrite", direct: true, iodepth: 32, fsync: 32 };
    g.push(FioGroup {
        id: "direct-randwrite-qd32-fsync32",
        title: "O_DIRECT 4 KiB random write, iodepth 32, fsync=32".into(),
        jobs: vec![
            job("posixaio (glibc)", args(&wfs, "posixaio", rt), false, false, "write"),
            job("posixaio + LD_PRELOAD aio-rs", args(&wfs, "posixaio", rt), true, false, "write"),
            job("io_uring", args(&wfs, "io_uring", rt), false, false, "write"),
        ],
        raw: Some(2),
        glibc: Some(0),
    });
    // Issue 12: the same program in a container (io_uring forbidden), glibc vs aio-rs.
    if o.seccomp {
        let specs: [(&'static str, &str, Spec); 5] = [
            ("nouring-cached-randread-qd1", "page-cached 4 KiB random read, iodepth 1", Spec { file: &cached, size: sz.cached, rw: "randread", direct: false, iodepth: 1, fsync: 0 }),
            ("nouring-cached-randread-qd32", "page-cached 4 KiB random read, iodepth 32", Spec { file: &cached, size: sz.cached, rw: "randread", direct: false, iodepth: 32, fsync: 0 }),
            ("nouring-buffered-randwrite-qd32", "buffered 4 KiB random write, iodepth 32", Spec { file: &bufw, size: sz.cached, rw: "randwrite", direct: false, iodepth: 32, fsync: 0 }),
            ("nouring-direct-randread-qd32", "O_DIRECT 4 KiB random read, iodepth 32", Spec { file: &data, size: sz.data, rw: "randread", direct: true, iodepth: 32, fsync: 0 }),
            ("nouring-direct-randwrite-qd32-fsync32", "O_DIRECT 4 KiB random write, iodepth 32, fsync=32", Spec { file: &write, size: sz.write, rw: "randwrite", direct: true, iodepth: 32, fsync: 32 }),
        ];
        for (id, title, s) in specs {
            let section = if s.rw.contains("write") { "write" } else { "read" };
            g.push(FioGroup {
                id,
                title: format!("[no io_uring] {title}"),
                jobs: vec![
                    job("posixaio (glibc) [no io_uring]", args(&s, "posixaio", rt), false, true, section),
                    job("posixaio + LD_PRELOAD aio-rs [no io_uring]", args(&s, "posixaio", rt), true, true, section),
                ],
                raw: None,
                glibc: Some(0),
            });
        }
    }
    let verify_size = if o.quick { 16u64 << 20 } else { 256u64 << 20 };
    let mut v = job(
        "posixaio + LD_PRELOAD aio-rs, randwrite + verify=crc32c",
        vec![
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
        ],
        true,
        false,
        "write",
    );
    v.verify = true;
    g.push(FioGroup { id: "verify", title: "posixaio + aio-rs: random write, then verify (crc32c)".into(), jobs: vec![v], raw: None, glibc: None });
    g
}

pub fn run(o: &Opts, dir: &Path, sz: &Sizes, lib_ok: bool, m: &Machine) -> Vec<FioGroup> {
    let mut gs = groups(o, dir, sz);
    let timeout = Duration::from_secs_f64(o.fio_seconds + 1.0 + 90.0);
    for g in gs.iter_mut() {
        for j in g.jobs.iter_mut() {
            if j.preload && !lib_ok {
                j.skipped = Some("library missing".into());
            } else if j.nouring && m.nouring_problem.is_some() {
                j.skipped = Some("cannot forbid io_uring".into());
            }
        }
        let reps = if g.jobs.iter().any(|j| j.verify) { 1 } else { o.reps };
        eprint!("bench: fio {:<40} ", g.id);
        let _ = std::io::stderr().flush();
        if g.id.contains("cached") {
            warm(&dir.join("cached.bin"));
        }
        for _ in 0..reps {
            for j in g.jobs.iter_mut() {
                if j.skipped.is_some() || j.sit_out || interrupted() {
                    continue;
                }
                let mut cmd = if j.nouring {
                    let mut c = Command::new(&o.nouring);
                    c.arg("fio");
                    c
                } else {
                    Command::new("fio")
                };
                cmd.env_remove("LD_PRELOAD").env_remove("AIO_RS_BACKEND").args(&j.args);
                if j.preload {
                    cmd.env("LD_PRELOAD", &o.lib);
                }
                let r = match exec(cmd, timeout) {
                    Err(e) => Err(format!("cannot start fio: {e}")),
                    Ok(e) => {
                        let ok = e.code == Some(0) && !e.timed_out && fio_error(&e.stdout) == Some(0);
                        if ok {
                            fio_iops(&e.stdout, j.section).ok_or_else(|| "no IOPS in fio's output".to_string())
                        } else if j.verify && e.code.is_some() && !e.timed_out {
                            Err(format!("verify FAILED: {}", describe_failure(&e)))
                        } else {
                            Err(describe_failure(&e))
                        }
                    }
                };
                eprint!("{}", match &r {
                    Ok(_) => '.',
                    Err(e) if e == "timeout" => 'T',
                    Err(_) => 'F',
                });
                let _ = std::io::stderr().flush();
                if matches!(&r, Err(e) if e == "timeout") {
                    j.sit_out = true;
                }
                j.runs.push(r);
            }
        }
        let mut line = String::new();
        for j in &g.jobs {
            let v = j.median();
            line.push_str(&format!(" | {} {}", j.name, if v.is_finite() { format!("{v:.0}") } else { j.status() }));
        }
        eprintln!("{line}");
    }
    let _ = std::fs::remove_file(dir.join("fio-verify.dat"));
    let _ = std::fs::remove_file(dir.join("fio-bufwrite.dat"));
    gs
}
