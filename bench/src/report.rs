//! The reports: terminal text, results.md and results.json (hand-written JSON: no crates).

use crate::fio::FioGroup;
use crate::instr::{self, InstrRow};
use crate::{
    loadavg, main_aio_rs, ref_glibc, ref_raw, CellResult, ContResult, Kind, Machine, Opts, Outcome, Sample, CONTENDERS,
};
use std::fmt::Write as _;
use std::path::Path;

pub struct Report<'a> {
    pub m: &'a Machine,
    pub o: &'a Opts,
    pub syscall_src: &'a str,
    pub results: &'a [CellResult],
    pub instructions: &'a [InstrRow],
    pub fio: &'a [FioGroup],
    pub total: f64,
}

// ---------------------------------------------------------------------------------------
// Formatting helpers.

pub fn fnum(x: f64, prec: usize) -> String {
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

/// IOPS (or MiB/s for a copy) with the precision that suits it.
fn rate(x: f64, kind: Kind) -> String {
    fnum(x, if kind == Kind::Copy { 1 } else { 0 })
}

/// A table rendered as aligned text or as Markdown.
struct Table {
    head: Vec<String>,
    /// Left-aligned columns (the others are right-aligned numbers).
    left: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(head: &[&str], left: &[usize]) -> Table {
        Table { head: head.iter().map(|s| s.to_string()).collect(), left: (0..head.len()).map(|i| left.contains(&i)).collect(), rows: Vec::new() }
    }

    fn text(&self) -> String {
        let mut w: Vec<usize> = self.head.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let mut s = String::new();
        let line = |s: &mut String, r: &[String]| {
            for (i, c) in r.iter().enumerate() {
                if self.left[i] {
                    let _ = write!(s, "{c:<width$}  ", width = w[i]);
                } else {
                    let _ = write!(s, "{c:>width$}  ", width = w[i]);
                }
            }
            s.truncate(s.trim_end().len());
            s.push('\n');
        };
        line(&mut s, &self.head);
        for r in &self.rows {
            line(&mut s, r);
        }
        s
    }

    fn md(&self) -> String {
        let mut s = format!("| {} |\n|", self.head.join(" | "));
        for l in &self.left {
            s.push_str(if *l { " --- |" } else { " ---: |" });
        }
        s.push('\n');
        for r in &self.rows {
            let _ = writeln!(s, "| {} |", r.iter().map(|c| c.replace('|', "/")).collect::<Vec<_>>().join(" | "));
        }
        s
    }
}

// ---------------------------------------------------------------------------------------
// Per-cell tables.

fn raw_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Std => "raw io_uring",
        Kind::Readv => "raw io_uring readv",
        Kind::Evlat => "raw io_uring + eventfd in epoll",
        Kind::Copy => "cp",
    }
}

fn cell_table(cr: &CellResult) -> Table {
    let unit = cr.cell.unit();
    let per_io = if cr.cell.kind == Kind::Copy { "MiB" } else { "IO" };
    let head = [
        "contender".to_string(),
        unit.to_string(),
        "min..max".into(),
        "p50 us".into(),
        "p99 us".into(),
        format!("usr us/{per_io}"),
        format!("sys us/{per_io}"),
        format!("cpu us/{per_io}"),
        format!("syscalls/{per_io}"),
        "x raw".into(),
        "x glibc".into(),
        "note".into(),
    ];
    let hr: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut t = Table::new(&hr, &[0, 11]);
    let kind = cr.cell.kind;
    let raw = cr.per[ref_raw(kind)].median.as_ref();
    for (i, r) in cr.per.iter().enumerate() {
        if !r.part {
            continue;
        }
        let c = &CONTENDERS[i];
        let glibc = ref_glibc(kind, c.nouring).and_then(|g| cr.per[g].median.as_ref());
        let mut note = Vec::new();
        let st = status(r);
        if st != "ok" {
            note.push(st);
        }
        note.extend(r.notes.iter().cloned());
        let row = match &r.median {
            Some(s) => vec![
                c.label.to_string(),
                rate(s.iops, kind),
                format!("{}..{}", rate(r.min_iops, kind), rate(r.max_iops, kind)),
                flat(s.p50_us),
                flat(s.p99_us),
                flat(s.usr_us),
                flat(s.sys_us),
                flat(s.cpu_us),
                s.syscalls.map(|x| fnum(x, 2)).unwrap_or_else(|| "n/a".into()),
                fnum(ratio(Some(s), raw), 2),
                fnum(ratio(Some(s), glibc), 2),
                note.join("; "),
            ],
            None => {
                let mut v = vec!["-".to_string(); 12];
                v[0] = c.label.to_string();
                v[11] = note.join("; ");
                v
            }
        };
        t.rows.push(row);
    }
    t
}

fn cell_heading(cr: &CellResult) -> String {
    let mut h = cr.cell.title.clone();
    if cr.cell.kind != Kind::Copy && cr.cell.direct && cr.per.iter().any(|r| r.median.as_ref().is_some_and(|s| !s.direct)) {
        h.push_str(" [O_DIRECT rejected by the file system: ran buffered]");
    }
    h
}

fn cell_refs(cr: &CellResult) -> String {
    let k = cr.cell.kind;
    let g = match k {
        Kind::Std => "glibc POSIX AIO in the same mode (rows marked [no io_uring] against glibc under the same filter)",
        Kind::Copy => "aiocp on glibc",
        _ => "none (glibc has no such interface)",
    };
    format!("x raw: against {}; x glibc: against {g}", raw_name(k))
}

// ---------------------------------------------------------------------------------------
// Summary: one line per workload.

fn median_of(cr: &CellResult, i: usize) -> f64 {
    cr.per[i].median.as_ref().map_or(f64::NAN, |s| s.iops)
}

fn summary_table(results: &[CellResult], seccomp: bool) -> Table {
    let mut head = vec!["workload", "unit", "glibc", "aio-rs", "raw kernel", "aio-rs / glibc", "aio-rs / raw"];
    if seccomp {
        head.extend(["glibc, no io_uring", "aio-rs, no io_uring", "aio-rs / glibc, no io_uring"]);
    }
    let mut t = Table::new(&head, &[0, 1]);
    for cr in results {
        let k = cr.cell.kind;
        let g = ref_glibc(k, false).map_or(f64::NAN, |i| median_of(cr, i));
        let a = median_of(cr, main_aio_rs(k, false));
        let raw = median_of(cr, ref_raw(k));
        let mut row = vec![cr.cell.id.clone(), cr.cell.unit().to_string(), rate(g, k), rate(a, k), rate(raw, k), fnum(a / g, 2), fnum(a / raw, 2)];
        if seccomp {
            let gn = ref_glibc(k, true).map_or(f64::NAN, |i| median_of(cr, i));
            let an = median_of(cr, main_aio_rs(k, true));
            row.extend([rate(gn, k), rate(an, k), fnum(an / gn, 2)]);
        }
        t.rows.push(row);
    }
    t
}

const SUMMARY_NOTE: &str = "Medians of interleaved runs. aio-rs is the default engine (LD_PRELOAD); in the evlat-* cells it is \
the completion queue (aio_rs_cq_create), in the copy-* cells examples/aiocp. The raw kernel is liburing io_uring \
(readv for readv-*, an eventfd registered with the ring and waited for in epoll for evlat-*), and cp for copy-*. \
\"no io_uring\": the process runs under bench/nouring, a seccomp filter that makes io_uring_setup/enter/register fail with \
EPERM, as in a container; its glibc column is glibc under the same filter. Copy cells are in MiB/s.";

// ---------------------------------------------------------------------------------------
// Instructions and fio.

fn instr_table(rows: &[InstrRow]) -> Table {
    let head: Vec<String> = std::iter::once("contender".to_string()).chain(instr::DEPTHS.iter().map(|d| format!("depth {d}"))).collect();
    let hr: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut t = Table::new(&hr, &[0]);
    for r in rows {
        let mut row = vec![r.label.to_string()];
        for v in &r.per_depth {
            row.push(match v {
                Ok(x) => format!("{x:.0}"),
                Err(e) => e.clone(),
            });
        }
        t.rows.push(row);
    }
    t
}

fn instr_note(o: &Opts) -> String {
    let (a, b) = instr::lengths(o);
    format!(
        "User-space instructions per request (all threads of the process), counted with valgrind --tool=callgrind: \
page-cached 4 KiB random reads, a loop of aio_read, aio_suspend, aio_error and aio_return (SIGEV_NONE); raw io_uring: \
liburing, one io_uring_submit_and_wait per round. The difference between a run of {a} and one of {b} requests, divided \
by {}, so setup is excluded."
        , b - a
    )
}

fn fio_table(g: &FioGroup) -> Table {
    let mut t = Table::new(&["job", "IOPS", "min..max", "x io_uring", "x glibc", "status"], &[0, 5]);
    for (i, j) in g.jobs.iter().enumerate() {
        t.rows.push(vec![
            j.name.clone(),
            fnum(j.median(), 0),
            if j.oks().is_empty() { "-".into() } else { format!("{}..{}", fnum(j.min(), 0), fnum(j.max(), 0)) },
            fnum(g.ratio(i, g.raw), 2),
            fnum(g.ratio(i, g.glibc), 2),
            j.status(),
        ]);
    }
    t
}

fn fio_note(o: &Opts) -> String {
    format!(
        "fio {} s per run after 1 s of ramp, {} interleaved repetition(s) per group, medians. posixaio + LD_PRELOAD: fio's \
posixaio engine with aio-rs in place of glibc. [no io_uring]: fio runs under bench/nouring. fsync=32: an fsync (aio_fsync \
O_SYNC for posixaio) after every 32 writes.",
        o.fio_seconds, o.reps
    )
}

// ---------------------------------------------------------------------------------------

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl Report<'_> {
    fn machine_lines(&self) -> Vec<(String, String)> {
        let (m, o) = (self.m, self.o);
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
                "io_uring forbidden (seccomp)".into(),
                match (&m.nouring_problem, o.seccomp) {
                    (_, false) => "not run (--no-seccomp)".into(),
                    (None, true) => "bench/nouring: io_uring_setup/enter/register fail with EPERM under it (checked: io_uring blocked, io_submit usable)".into(),
                    (Some(p), true) => format!("unavailable: {p}"),
                },
            ),
            (
                "run settings".into(),
                format!(
                    "{} mode, {} repetition(s), {:.2} s measured after {:.2} s warm-up per run, interleaved, medians reported",
                    if o.quick { "quick" } else { "full" },
                    o.reps,
                    o.seconds,
                    o.warmup
                ),
            ),
            ("syscall count".into(), self.syscall_src.to_string()),
            (
                "load average (1 min)".into(),
                format!("{} at start, {} at end (anything well above 0 means other work skewed the numbers)", m.load_start, loadavg()),
            ),
            (
                "CPU time".into(),
                "per I/O over the measured window, all threads of the worker: usr/sys from getrusage(RUSAGE_SELF) (tick-sampled split), cpu = CLOCK_PROCESS_CPUTIME_ID (exact total); copy cells: the copying program's, per MiB".into(),
            ),
            ("latency".into(), "per request, submit to observed completion, CLOCK_MONOTONIC; log histogram (1.6% buckets)".into()),
        ];
        if let Some(f) = &m.fio {
            v.push(("fio".into(), f.clone()));
        }
        if !self.instructions.is_empty() {
            v.push(("valgrind".into(), m.valgrind.clone().unwrap_or_default()));
        }
        v
    }

    pub fn text(&self, out_dir: &Path) -> String {
        let mut s = String::from("Machine and settings:\n");
        for (k, v) in self.machine_lines() {
            let _ = writeln!(s, "  {k:<30} {v}");
        }
        s.push('\n');
        for cr in self.results {
            let _ = writeln!(s, "== {} [{}]\n   ({})", cell_heading(cr), cr.cell.id, cell_refs(cr));
            s.push_str(&cell_table(cr).text());
            s.push('\n');
        }
        if !self.results.is_empty() {
            s.push_str("== Summary (one line per workload)\n");
            s.push_str(&summary_table(self.results, self.o.seccomp).text());
            s.push('\n');
        }
        if !self.instructions.is_empty() {
            s.push_str("== Instructions per request (callgrind, page-cached 4 KiB reads)\n");
            s.push_str(&instr_table(self.instructions).text());
            s.push('\n');
        }
        for g in self.fio {
            let _ = writeln!(s, "== fio: {}", g.title);
            s.push_str(&fio_table(g).text());
            s.push('\n');
        }
        let _ = writeln!(s, "total time {:.0} s; results in {}", self.total, out_dir.display());
        s
    }

    pub fn markdown(&self) -> String {
        let mut s = String::from("# aio-rs benchmark results\n\n| | |\n| --- | --- |\n");
        for (k, v) in self.machine_lines() {
            let _ = writeln!(s, "| {k} | {} |", v.replace('|', "/"));
        }
        if !self.results.is_empty() {
            let _ = write!(s, "\n## Summary\n\n{SUMMARY_NOTE}\n\n{}", summary_table(self.results, self.o.seccomp).md());
        }
        if !self.instructions.is_empty() {
            let _ = write!(s, "\n## Instructions per request\n\n{}\n\n{}", instr_note(self.o), instr_table(self.instructions).md());
        }
        if !self.fio.is_empty() {
            let _ = write!(s, "\n## fio\n\n{}\n", fio_note(self.o));
            for g in self.fio {
                let _ = write!(s, "\n### {}\n\n`{}`\n\n{}", g.title, g.id, fio_table(g).md());
            }
        }
        if !self.results.is_empty() {
            s.push_str(
                "\n## Cells\n\nEach contender is a separate process; aio-rs rows are the same glibc-linked worker with \
LD_PRELOAD. Raw engines use one ring / one io context per submitting thread. min..max: the spread of the repetitions.\n",
            );
            for cr in self.results {
                let _ = write!(s, "\n### {}\n\n`{}` — {}\n\n{}", cell_heading(cr), cr.cell.id, cell_refs(cr), cell_table(cr).md());
            }
        }
        let _ = writeln!(s, "\nTotal time {:.0} s.\n\n![Every workload: medians and the spread of the repetitions](results.svg)", self.total);
        s
    }

    pub fn json(&self) -> String {
        let (m, o) = (self.m, self.o);
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
            ("nouring_problem", m.nouring_problem.as_deref().map(js).unwrap_or_else(|| "null".into())),
            ("fio", m.fio.as_deref().map(js).unwrap_or_else(|| "null".into())),
            ("valgrind", m.valgrind.as_deref().map(js).unwrap_or_else(|| "null".into())),
            ("loadavg_start", js(&m.load_start)),
            ("loadavg_end", js(&loadavg())),
        ];
        s.push_str(&mach.iter().map(|(k, v)| format!("\n    {}: {}", js(k), v)).collect::<Vec<_>>().join(","));
        let _ = write!(
            s,
            "\n  }},\n  \"settings\": {{\"quick\": {}, \"reps\": {}, \"seconds\": {}, \"warmup\": {}, \"seccomp\": {}, \"fio_seconds\": {}, \"syscall_source\": {}, \"total_seconds\": {:.1}}},\n  \"cells\": [",
            o.quick,
            o.reps,
            o.seconds,
            o.warmup,
            o.seccomp,
            o.fio_seconds,
            js(self.syscall_src),
            self.total
        );
        let mut cells = Vec::new();
        for cr in self.results {
            let kind = cr.cell.kind;
            let raw = cr.per[ref_raw(kind)].median.as_ref();
            let mut conts = Vec::new();
            for (i, r) in cr.per.iter().enumerate() {
                if !r.part {
                    continue;
                }
                let c = &CONTENDERS[i];
                let glibc = ref_glibc(kind, c.nouring).and_then(|g| cr.per[g].median.as_ref());
                let runs: Vec<String> = r
                    .runs
                    .iter()
                    .map(|x| match x {
                        Outcome::Ok(s) => sample_json(s),
                        Outcome::Failed(e) => format!("{{\"failed\":{}}}", js(e)),
                        Outcome::Skipped(e) => format!("{{\"skipped\":{}}}", js(e)),
                    })
                    .collect();
                conts.push(format!(
                    "\n        {{\"key\": {}, \"label\": {}, \"io_uring_forbidden\": {}, \"status\": {}, \"median\": {}, \"iops_min\": {}, \"iops_max\": {}, \"ratio_to_raw\": {}, \"ratio_to_glibc\": {}, \"notes\": [{}], \"runs\": [{}]}}",
                    js(c.key),
                    js(c.label),
                    c.nouring,
                    js(&status(r)),
                    r.median.as_ref().map(sample_json).unwrap_or_else(|| "null".into()),
                    jn(r.min_iops),
                    jn(r.max_iops),
                    jn(ratio(r.median.as_ref(), raw)),
                    jn(ratio(r.median.as_ref(), glibc)),
                    r.notes.iter().map(|n| js(n)).collect::<Vec<_>>().join(","),
                    runs.join(",")
                ));
            }
            cells.push(format!(
                "\n    {{\"id\": {}, \"title\": {}, \"kind\": {}, \"unit\": {}, \"workload\": {}, \"depth\": {}, \"threads\": {}, \"raw_reference\": {}, \"seconds\": {:.1}, \"contenders\": [{}\n    ]}}",
                js(&cr.cell.id),
                js(&cr.cell.title),
                js(&format!("{kind:?}")),
                js(cr.cell.unit()),
                js(cr.cell.workload),
                cr.cell.depth,
                cr.cell.threads,
                js(CONTENDERS[ref_raw(kind)].key),
                cr.secs,
                conts.join(",")
            ));
        }
        s.push_str(&cells.join(","));
        s.push_str("\n  ],\n  \"instructions_per_request\": [");
        let (n1, n2) = instr::lengths(o);
        let rows: Vec<String> = self
            .instructions
            .iter()
            .map(|r| {
                let per: Vec<String> = instr::DEPTHS
                    .iter()
                    .zip(&r.per_depth)
                    .map(|(d, v)| match v {
                        Ok(x) => format!("\"depth_{d}\": {}", jn(*x)),
                        Err(e) => format!("\"depth_{d}\": null, \"depth_{d}_error\": {}", js(e)),
                    })
                    .collect();
                let raw: Vec<String> = r.raw.iter().map(|(d, n, c)| format!("{{\"depth\": {d}, \"requests\": {n}, \"instructions\": {c}}}")).collect();
                format!("\n    {{\"key\": {}, \"label\": {}, {}, \"runs\": [{}]}}", js(r.key), js(r.label), per.join(", "), raw.join(", "))
            })
            .collect();
        s.push_str(&rows.join(","));
        let _ = write!(s, "\n  ],\n  \"instructions_lengths\": [{n1}, {n2}],\n  \"fio\": [");
        let groups: Vec<String> = self
            .fio
            .iter()
            .map(|g| {
                let jobs: Vec<String> = g
                    .jobs
                    .iter()
                    .enumerate()
                    .map(|(i, j)| {
                        let runs: Vec<String> = j
                            .runs
                            .iter()
                            .map(|r| match r {
                                Ok(v) => jn(*v),
                                Err(e) => format!("{{\"failed\":{}}}", js(e)),
                            })
                            .collect();
                        format!(
                            "\n        {{\"name\": {}, \"preload\": {}, \"io_uring_forbidden\": {}, \"iops\": {}, \"iops_min\": {}, \"iops_max\": {}, \"ratio_to_io_uring\": {}, \"ratio_to_glibc\": {}, \"status\": {}, \"verify\": {}, \"runs\": [{}]}}",
                            js(&j.name),
                            j.preload,
                            j.nouring,
                            jn(j.median()),
                            jn(j.min()),
                            jn(j.max()),
                            jn(g.ratio(i, g.raw)),
                            jn(g.ratio(i, g.glibc)),
                            js(&j.status()),
                            if j.verify { (!j.failed() && !j.runs.is_empty()).to_string() } else { "null".into() },
                            runs.join(",")
                        )
                    })
                    .collect();
                format!("\n    {{\"id\": {}, \"title\": {}, \"jobs\": [{}\n    ]}}", js(g.id), js(&g.title), jobs.join(","))
            })
            .collect();
        s.push_str(&groups.join(","));
        s.push_str("\n  ]\n}\n");
        s
    }
}

// ---------------------------------------------------------------------------------------
// JSON helpers.

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
