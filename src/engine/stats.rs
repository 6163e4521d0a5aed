//! `AIO_RS_STATS`: counters per queue, and per engine that served each request, kept in a small
//! shared-memory file named by the process ID, so that they survive however the process ends
//! (`exit`, `_exit`, a crash, SIGKILL) and can be read from outside: by `aio-rs stats PID`, and
//! by `aio-rs --stats`, which prints them for every process of a run. Nothing here exists unless
//! `AIO_RS_STATS` is set (a queue without a row counts nothing: one test of an `Option`).
//!
//! The engine counts at three points, through [`QueueStats`]: a request accepted
//! ([`QueueStats::submitted`]), a request its engine would not take and that went to the workers
//! ([`QueueStats::fell_back`]), and a request finished ([`QueueStats::completed`], with the
//! [`Served`] column it belongs to, which the engine decides).
//!
//! # Where the file is, and its lifetime
//!
//! `DIR/aio-rs-stats.UID.PID` (or `.PID.N` when that name is taken, for instance by the file of
//! the program this process was before an `exec`), where DIR is `AIO_RS_STATS_DIR`, or
//! `/dev/shm`: always a memory file system (counting never writes to a disk), and the same for
//! every process and shell of the machine, whatever their environment (`XDG_RUNTIME_DIR` is unset
//! in services, cron jobs, containers and under sudo, and `/tmp` may be a disk). It is created
//! when the engine starts (the first AIO call), mode 0600, exclusively (so never through a
//! symbolic link), and mapped shared; a fork child that uses AIO makes its own (another PID).
//!
//! * Without `AIO_RS_STATS_DIR`, the exit handler (`exit`, or a return from `main`) prints the
//!   table (to standard error or `AIO_RS_STATS_FILE`) and removes the file. A process that ends
//!   otherwise leaves its file, which `aio-rs stats` prints and then removes.
//! * With `AIO_RS_STATS_DIR` (which the `aio-rs --stats` wrapper sets to a directory of its own),
//!   nothing is printed at exit: the exit handler only marks the file as exited, and whoever set
//!   the directory reads and removes it (the wrapper does, after the program has ended).
//!
//! When the file cannot be created (one warning line says why), the counters are kept in the
//! process's memory and printed at exit only.
//!
//! # Layout, version 1
//!
//! 64-bit words in the machine's byte order. The header is 16 words; the magic is written last.
//!
//! | word | |
//! |---|---|
//! | 0 | magic: the 8 bytes `aiorstat` |
//! | 1 | layout version (1) |
//! | 2 | size of the file in bytes |
//! | 3 | number of queue rows |
//! | 4 | words per row |
//! | 5, 6 | process ID, parent's process ID |
//! | 7 | start time of the process (`/proc/PID/stat` field 22) |
//! | 8 | 1 once the exit handler ran, else 0 |
//! | 9 | `AIO_RS_BACKEND`: 0 auto, 1 uring, 2 kaio, 3 threads |
//! | 10, 11 | the process's name (`comm`), NUL-padded bytes |
//! | 12, 13 | the aio-rs version, NUL-padded bytes |
//! | 14, 15 | reserved (0) |
//!
//! Then one row per queue ([`QueueStats`], 13 words: flags, submitted, completed, the five
//! columns io_uring, kaio, workers, at-submit and unissued, cancelled, fallbacks, in flight, peak,
//! and the column `caller` added at the end), in order. A later version may add header words in
//! the reserved ones and columns at the end of a row (a reader uses word 4); anything else
//! changes the version.

use core::ffi::CStr;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering::*};
use std::ffi::CString;

use crate::sys;

/// The first 8 bytes of a stats file.
pub(crate) const MAGIC: &[u8; 8] = b"aiorstat";
/// The layout version.
pub(crate) const VERSION: u64 = 1;
const HEADER_WORDS: usize = 16;
const ROW_WORDS: usize = core::mem::size_of::<QueueStats>() / 8;
/// How many names `aio-rs-stats.UID.PID[.N]` are tried.
const NAMES: usize = 16;

/// Header words (see the layout above).
mod word {
    pub(super) const MAGIC: usize = 0;
    pub(super) const VERSION: usize = 1;
    pub(super) const SIZE: usize = 2;
    pub(super) const QUEUES: usize = 3;
    pub(super) const ROW_WORDS: usize = 4;
    pub(super) const PID: usize = 5;
    pub(super) const PPID: usize = 6;
    pub(super) const START_TIME: usize = 7;
    pub(super) const EXITED: usize = 8;
    pub(super) const BACKEND: usize = 9;
    pub(super) const NAME: usize = 10;
    pub(super) const LIB_VERSION: usize = 12;
}

/// The column of a finished request: the engine that had it when it completed (after any
/// fallback), or none.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Served {
    Uring = 0,
    Kaio = 1,
    Workers = 2,
    /// The error was found at submission (a bad descriptor, a negative offset, a length over
    /// `SSIZE_MAX`): no engine ran it.
    AtSubmission = 3,
    /// Cancelled while it waited on its descriptor, before any engine had it.
    NotIssued = 4,
    /// A read done on the caller's thread from the page cache (see `engine::inline`): no engine
    /// ran it. Counted in the row's last word (added after the first five columns, see the
    /// layout).
    Caller = 5,
}

/// One queue's row of the file: counters, relaxed (words 0 to 12 of a row).
#[repr(C)]
pub(crate) struct QueueStats {
    /// 1: started; 2: it has an io_uring ring; 4: it has a kernel AIO context.
    flags: AtomicU64,
    submitted: AtomicU64,
    completed: AtomicU64,
    /// Completed requests by [`Served`] column; they add up to `completed`.
    served: [AtomicU64; 5],
    /// Completed with ECANCELED (in whichever column).
    cancelled: AtomicU64,
    /// Requests their engine would not take, which went to the workers.
    fallbacks: AtomicU64,
    in_flight: AtomicU64,
    /// The most in flight at once.
    peak: AtomicU64,
    /// Completed in [`Served::Caller`] (word 12: a column added at the end of the row).
    caller: AtomicU64,
}

const STARTED: u64 = 1;
const HAS_RING: u64 = 2;
const HAS_KAIO: u64 = 4;

impl QueueStats {
    /// The queue started, with or without an io_uring ring.
    pub(crate) fn started(&self, ring: bool) {
        self.flags.fetch_or(STARTED | if ring { HAS_RING } else { 0 }, Relaxed);
    }

    /// The queue's kernel AIO context started.
    pub(crate) fn kaio_started(&self) {
        self.flags.fetch_or(HAS_KAIO, Relaxed);
    }

    pub(crate) fn submitted(&self) {
        self.submitted.fetch_add(1, Relaxed);
        let now = self.in_flight.fetch_add(1, Relaxed) + 1;
        if now > self.peak.load(Relaxed) {
            self.peak.store(now, Relaxed);
        }
    }

    /// A request counted by [`QueueStats::submitted`] was taken back after all (refused by its
    /// batch: `submit::take_back`).
    pub(crate) fn withdrawn(&self) {
        self.submitted.fetch_sub(1, Relaxed);
        self.in_flight.fetch_sub(1, Relaxed);
    }

    /// A request its engine would not take went to the workers.
    pub(crate) fn fell_back(&self) {
        self.fallbacks.fetch_add(1, Relaxed);
    }

    /// A request finished with `res`, in column `by` (async-signal-safe).
    pub(crate) fn completed(&self, by: Served, res: isize) {
        match self.served.get(by as usize) {
            Some(column) => column.fetch_add(1, Relaxed),
            None => self.caller.fetch_add(1, Relaxed),
        };
        self.completed.fetch_add(1, Relaxed);
        self.in_flight.fetch_sub(1, Relaxed);
        if res == -(libc::ECANCELED as isize) {
            self.cancelled.fetch_add(1, Relaxed);
        }
    }

    /// The row's values, in the order of [`COLUMNS`] (from `submitted`), and its flags.
    fn values(&self) -> ([u64; 11], u64) {
        let s = |w: &AtomicU64| w.load(Relaxed);
        let [u, k, w, a, n] = &self.served;
        let v = [
            s(&self.submitted),
            s(&self.completed),
            s(u),
            s(k),
            s(w),
            s(&self.caller),
            s(a),
            s(n),
            s(&self.cancelled),
            s(&self.fallbacks),
            s(&self.peak),
        ];
        (v, s(&self.flags))
    }
}

/// The table's columns and their widths (the `aio-rs` wrapper prints the same table).
const COLUMNS: [(&str, usize); 12] = [
    ("queue", 5),
    ("submitted", 9),
    ("completed", 9),
    ("io_uring", 9),
    ("kaio", 9),
    ("workers", 9),
    ("caller", 9),
    ("at-submit", 9),
    ("unissued", 9),
    ("cancelled", 9),
    ("fallbacks", 9),
    ("peak", 9),
];

/// A process's counters: its stats file, mapped (or anonymous memory when the file could not be
/// made). Never unmapped: queues keep `&'static` rows into it.
pub(crate) struct StatsFile {
    words: NonNull<AtomicU64>,
    queues: usize,
    /// The file; None when the counters are in anonymous memory.
    path: Option<CString>,
    /// `AIO_RS_STATS_DIR` was given: the file is left at exit for whoever reads that directory.
    keep: bool,
}

// SAFETY: `words` points to a mapping that is never unmapped and is only ever accessed through
// atomics, from any thread.
unsafe impl Send for StatsFile {}
// SAFETY: as above.
unsafe impl Sync for StatsFile {}

impl StatsFile {
    /// Creates this process's stats file for `queues` queues, in `dir` (`AIO_RS_STATS_DIR`) or
    /// `/dev/shm`; `backend` is the header's word 9. If no file can be made, says why in one
    /// line and keeps the counters in memory; None only if not even that memory can be had.
    pub(crate) fn create(dir: Option<&[u8]>, queues: usize, backend: u64) -> Option<StatsFile> {
        let words = HEADER_WORDS + queues * ROW_WORDS;
        let len = words * 8;
        let base = match dir {
            Some(d) => d.strip_suffix(b"/").filter(|d| !d.is_empty()).unwrap_or(d),
            None => b"/dev/shm",
        };
        let stem = [base, format!("/aio-rs-stats.{}.{}", sys::getuid(), sys::getpid()).as_bytes()].concat();
        let mut failure = None;
        for n in 0..NAMES {
            let name = if n == 0 { stem.clone() } else { [&stem[..], format!(".{n}").as_bytes()].concat() };
            let Ok(path) = CString::new(name) else { break };
            match sys::create_shared(&path, len) {
                Ok(p) => {
                    let f = StatsFile { words: p.cast(), queues, path: Some(path), keep: dir.is_some() };
                    f.init(len, backend);
                    return Some(f);
                }
                Err(e) if e.0 == libc::EEXIST => failure = Some((path, e)),
                Err(e) => {
                    failure = Some((path, e));
                    break;
                }
            }
        }
        if let Some((path, e)) = failure {
            sys::log_line(format_args!(
                "cannot create the stats file {} ({}): the counters are printed at exit only",
                path.to_string_lossy(),
                sys::strerror(e)
            ));
        }
        let p = sys::map_anonymous(len).ok()?;
        let f = StatsFile { words: p.cast(), queues, path: None, keep: false };
        f.init(len, backend);
        Some(f)
    }

    /// Every word of the mapping.
    fn words(&self) -> &[AtomicU64] {
        // SAFETY: `words` points to a page-aligned mapping of HEADER_WORDS + queues * ROW_WORDS
        // zeroed words that is never unmapped; AtomicU64 has the size and alignment of u64.
        unsafe { core::slice::from_raw_parts(self.words.as_ptr(), HEADER_WORDS + self.queues * ROW_WORDS) }
    }

    fn init(&self, len: usize, backend: u64) {
        let w = self.words();
        let me = sys::self_stat().unwrap_or_default();
        let text = |at: usize, bytes: &[u8]| {
            let mut b = [0u8; 16];
            let n = bytes.len().min(15);
            b[..n].copy_from_slice(&bytes[..n]);
            w[at].store(u64::from_ne_bytes(b[..8].try_into().unwrap()), Relaxed);
            w[at + 1].store(u64::from_ne_bytes(b[8..].try_into().unwrap()), Relaxed);
        };
        w[word::VERSION].store(VERSION, Relaxed);
        w[word::SIZE].store(len as u64, Relaxed);
        w[word::QUEUES].store(self.queues as u64, Relaxed);
        w[word::ROW_WORDS].store(ROW_WORDS as u64, Relaxed);
        w[word::PID].store(sys::getpid() as u64, Relaxed);
        w[word::PPID].store(me.ppid, Relaxed);
        w[word::START_TIME].store(me.start_time, Relaxed);
        w[word::BACKEND].store(backend, Relaxed);
        text(word::NAME, &me.name[..me.name.iter().position(|&c| c == 0).unwrap_or(16)]);
        text(word::LIB_VERSION, env!("CARGO_PKG_VERSION").as_bytes());
        w[word::MAGIC].store(u64::from_ne_bytes(*MAGIC), Release);
    }

    /// Queue `q`'s row.
    pub(crate) fn row(&self, q: usize) -> &QueueStats {
        let w = &self.words()[HEADER_WORDS + q * ROW_WORDS..][..ROW_WORDS];
        // SAFETY: QueueStats is repr(C), ROW_WORDS AtomicU64s, and `w` is that many words of the
        // mapping, which lives as long as `self`.
        unsafe { &*w.as_ptr().cast::<QueueStats>() }
    }

    /// The table, as the `aio-rs` wrapper prints it too.
    pub(crate) fn render(&self, status: &str) -> String {
        let w = self.words();
        let get = |i: usize| w[i].load(Relaxed);
        let text = |at: usize| {
            let b = [get(at).to_ne_bytes(), get(at + 1).to_ne_bytes()].concat();
            String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(16)]).into_owned()
        };
        let backend = ["auto", "uring", "kaio", "threads"].get(get(word::BACKEND) as usize).unwrap_or(&"?");
        let mut s = format!(
            "aio-rs {} stats: pid {} ({}), parent {}, AIO_RS_BACKEND={backend}, {status}\n",
            text(word::LIB_VERSION),
            get(word::PID),
            text(word::NAME),
            get(word::PPID)
        );
        let cell = |s: &mut String, i: usize, v: &dyn core::fmt::Display| {
            *s += &format!("{}{v:>w$}", if i == 0 { "" } else { "  " }, w = COLUMNS[i].1);
        };
        for (i, (name, _)) in COLUMNS.iter().enumerate() {
            cell(&mut s, i, name);
        }
        s += "  engines\n";
        let mut total = [0u64; 11];
        let mut rows = 0;
        for q in 0..self.queues {
            let (v, flags) = self.row(q).values();
            if flags & STARTED == 0 {
                continue;
            }
            rows += 1;
            cell(&mut s, 0, &q);
            for (i, x) in v.iter().enumerate() {
                cell(&mut s, i + 1, x);
                total[i] += x;
            }
            let engines: Vec<&str> = [(HAS_RING, "io_uring"), (HAS_KAIO, "kaio"), (STARTED, "workers")]
                .iter()
                .filter(|(f, _)| flags & f != 0)
                .map(|&(_, n)| n)
                .collect();
            s += &format!("  {}\n", engines.join("+"));
        }
        if rows > 1 {
            cell(&mut s, 0, &"total");
            for (i, x) in total[..10].iter().enumerate() {
                cell(&mut s, i + 1, x);
            }
            cell(&mut s, 11, &"-");
            s += "\n";
        }
        s
    }

    /// The exit handler's part: marks the file exited; unless it is left for a reader
    /// (`AIO_RS_STATS_DIR`), prints the table (to `report`, or standard error) and removes it.
    pub(crate) fn at_exit(&self, report: Option<&CStr>) {
        self.words()[word::EXITED].store(1, Release);
        if self.keep && self.path.is_some() {
            return;
        }
        write(&self.render("exited"), report);
        if let Some(p) = &self.path {
            sys::unlink(p);
        }
    }
}

/// Writes the report to `file` (appended; created if missing, never through a symbolic link), or
/// to standard error. If the file cannot be opened, one line on standard error says so and the
/// report follows there.
fn write(text: &str, file: Option<&CStr>) {
    if let Some(path) = file {
        // Open from the `openat` to the `close`: a fork by another thread in between (the program
        // may still run threads while it exits) would leave the child a descriptor nothing of ours
        // records. One section of the fork gate (system calls only: the open, the writes of a
        // regular file or whatever the program named, the close).
        let written = {
            let _section = sys::fd_section();
            sys::open_append(path, true).map(|fd| {
                let r = sys::write_all(fd, text.as_bytes());
                sys::close(fd);
                r
            })
        };
        match written {
            Ok(Ok(_)) => return,
            Ok(Err(_)) => {}
            Err(e) => sys::log_line(format_args!(
                "cannot open AIO_RS_STATS_FILE={} ({}): the report follows on standard error",
                path.to_string_lossy(),
                sys::strerror(e)
            )),
        }
    }
    let _ = sys::write_all(2, text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let f = StatsFile::create(Some(b"/nonexistent-dir-aio-rs"), 4, 0);
        let f = f.expect("anonymous memory at least");
        assert!(f.path.is_none(), "no such directory: in memory");
        let st = f.row(3);
        st.started(true);
        st.submitted();
        st.submitted();
        st.completed(Served::Uring, 4096);
        st.completed(Served::Workers, -(libc::ECANCELED as isize));
        st.submitted();
        st.fell_back();
        st.submitted();
        st.completed(Served::Caller, 512);
        f.row(1).started(false);
        f.row(1).kaio_started();
        f.row(1).submitted();
        f.row(1).completed(Served::AtSubmission, -(libc::EBADF as isize));
        let text = f.render("exited");
        let mut lines = text.lines();
        let head = lines.next().unwrap();
        assert!(head.starts_with(&format!("aio-rs {} stats: pid {} (", env!("CARGO_PKG_VERSION"), sys::getpid())));
        assert!(head.ends_with(", AIO_RS_BACKEND=auto, exited"), "{head}");
        let names: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(names.len(), 13);
        assert_eq!(names[6], "caller");
        let cols = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            cols(lines.next().unwrap()),
            ["1", "1", "1", "0", "0", "0", "0", "1", "0", "0", "0", "1", "kaio+workers"]
        );
        assert_eq!(
            cols(lines.next().unwrap()),
            ["3", "4", "3", "1", "0", "1", "1", "0", "0", "1", "1", "2", "io_uring+workers"]
        );
        assert_eq!(cols(lines.next().unwrap()), ["total", "5", "4", "1", "0", "1", "1", "1", "0", "1", "1", "-"]);
        assert!(lines.next().is_none());
    }

    #[test]
    fn file_layout() {
        let dir = std::env::temp_dir().join(format!("aio-rs-stats-unit-{}", sys::getpid()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = StatsFile::create(Some(dir.to_str().unwrap().as_bytes()), 2, 3).unwrap();
        let path = f.path.clone().expect("a file in a writable directory");
        let name = format!("{}/aio-rs-stats.{}.{}", dir.display(), sys::getuid(), sys::getpid());
        assert_eq!(path.to_str().unwrap(), name);
        // A second engine in this process (as after an exec) takes the next name.
        let g = StatsFile::create(Some(dir.to_str().unwrap().as_bytes()), 1, 0).unwrap();
        assert_eq!(g.path.as_ref().unwrap().to_str().unwrap(), format!("{name}.1"));
        f.row(1).started(false);
        f.row(1).submitted();
        f.row(1).completed(Served::Kaio, 512);
        let bytes = std::fs::read(&name).unwrap();
        let meta = std::fs::metadata(&name).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let w: Vec<u64> = bytes.chunks(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap())).collect();
        assert_eq!(&bytes[..8], MAGIC);
        assert_eq!(w[1..5], [1, bytes.len() as u64, 2, 13]);
        assert_eq!(w[5], sys::getpid() as u64);
        assert_eq!((w[8], w[9]), (0, 3));
        assert_eq!(&bytes[96..96 + env!("CARGO_PKG_VERSION").len()], env!("CARGO_PKG_VERSION").as_bytes());
        let row = &w[16 + 13..];
        assert_eq!(row[..13], [1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0]);
        f.at_exit(None);
        assert!(std::fs::metadata(&name).is_ok(), "left for the reader of AIO_RS_STATS_DIR");
        assert_eq!(std::fs::read(&name).unwrap()[64], 1, "marked exited");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
