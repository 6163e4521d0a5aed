//! The typed words of a request: what it asks for ([`Op`]), where it runs ([`Backend`]), where it
//! is in its life ([`State`], [`Phase`]) and what the engine decided about it ([`Meta`]). Their bit
//! layouts are private to this module and `super`; everyone else uses the named accessors and the
//! transitions on `super::Req`.

/// What a request asks for. `Readv` and `Writev` transfer through an iovec array (the aiocb's
/// `aio_buf`, with its count in `aio_nbytes`; see `super::IoVecs`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    Read = 0,
    Write = 1,
    Fsync = 2,
    Fdatasync = 3,
    Readv = 4,
    Writev = 5,
}

impl Op {
    pub(crate) fn is_sync(self) -> bool {
        matches!(self, Op::Fsync | Op::Fdatasync)
    }

    /// A write, plain or vectored.
    pub(crate) fn is_write(self) -> bool {
        matches!(self, Op::Write | Op::Writev)
    }

    /// A read, plain or vectored.
    pub(crate) fn is_read(self) -> bool {
        matches!(self, Op::Read | Op::Readv)
    }

    /// Transfers through an iovec array.
    pub(crate) fn is_vector(self) -> bool {
        matches!(self, Op::Readv | Op::Writev)
    }

    /// The ordering direction: reads and writes are ordered separately on a stream.
    pub(crate) fn dir(self) -> usize {
        self.is_write() as usize
    }
}

/// The three ways a request can be run. A queue's kernel completion sources are the first two.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Backend {
    Uring = 1,
    Kaio = 2,
    Threads = 3,
}

/// Where a request is, as a phase of its life. Each phase has one owner, who alone may move the
/// request on (named in each variant).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    /// Not in flight (never submitted, or being accepted by its submitter).
    Idle = 0,
    /// Parked in one of its fd's lists (ordering chain, an fsync waiting for its predecessors, held
    /// by a drain); owned by the fd's lock.
    Waiting = 1,
    /// In a worker pool's work list; owned by the pool's work lock.
    Queued = 2,
    /// A worker waits for the descriptor to become ready and has not touched it; `aio_cancel` may
    /// take it back by moving it to `Cancelling`.
    Polling = 3,
    /// `aio_cancel` took it from the worker polling for it; the worker finishes it as cancelled.
    Cancelling = 4,
    /// In the kernel, or being executed by a worker.
    Issued = 5,
    /// Waiting for the queue's helper thread to issue it (a context that could not).
    Deferred = 6,
    /// Finished: the status is published, or about to be.
    Done = 7,
}

/// A request's state word: the phase, the index of the worker polling for it, and whether
/// `aio_cancel` asked io_uring to cancel it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct State(pub(super) u32);

const PHASE_MASK: u32 = 0xff;
const WORKER_SHIFT: u32 = 8;
/// Set while an ECANCELED completion from io_uring answers `aio_cancel`, not the kernel.
pub(super) const CANCEL_ASKED: u32 = 1 << 16;

impl State {
    pub(super) fn of(phase: Phase) -> State {
        State(phase as u32)
    }

    pub(super) fn polling(worker: usize) -> State {
        State(Phase::Polling as u32 | (worker as u32) << WORKER_SHIFT)
    }

    pub(crate) fn phase(self) -> Phase {
        match self.0 & PHASE_MASK {
            0 => Phase::Idle,
            1 => Phase::Waiting,
            2 => Phase::Queued,
            3 => Phase::Polling,
            4 => Phase::Cancelling,
            5 => Phase::Issued,
            6 => Phase::Deferred,
            _ => Phase::Done,
        }
    }

    /// The worker polling for the request (meaningful in `Polling` and `Cancelling`).
    pub(crate) fn worker(self) -> usize {
        ((self.0 >> WORKER_SHIFT) & 0xff) as usize
    }

    /// Whether `aio_cancel` asked io_uring to cancel the request.
    pub(crate) fn cancel_asked(self) -> bool {
        self.0 & CANCEL_ASKED != 0
    }

    /// The same state (worker, flag) in another phase.
    pub(super) fn with_phase(self, phase: Phase) -> State {
        State(self.0 & !PHASE_MASK | phase as u32)
    }
}

/// What the engine decided about a request at submission: its queue, backend and operation, and
/// flags. Written by the submitter before the request is shared; read by everyone after.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Meta(pub(super) u32);

// Layout: queue in bits 0-7 (at most 64 queues, one per CPU: `Engine`), backend 8-9, operation
// 10-13 (room for new opcodes), flags 14-20, and in bits 27-31 the fd generation the request is
// counted in (see `Meta::generation`).
const QUEUE_MASK: u32 = 0xff;
pub(super) const BACKEND_SHIFT: u32 = 8;
pub(super) const BACKEND_MASK: u32 = 3 << BACKEND_SHIFT;
const OP_SHIFT: u32 = 10;
const OP_MASK: u32 = 0xf << OP_SHIFT;
const ORDERED: u32 = 1 << 14;
const BARRIER: u32 = 1 << 15;
const WATCHED: u32 = 1 << 16;
pub(super) const STREAM: u32 = 1 << 17;
pub(super) const COUNTED: u32 = 1 << 18;
const FILE_POS: u32 = 1 << 19;
const QUEUED: u32 = 1 << 20;
const NOWAIT: u32 = 1 << 21;
const GEN_SHIFT: u32 = 27;
/// The bits of the generation number a request is counted in (its low 5 bits).
pub(crate) const GEN_BITS: u32 = 0x1f;
pub(super) const GEN_MASK: u32 = GEN_BITS << GEN_SHIFT;
/// The number of queues a request can name.
pub(crate) const MAX_QUEUES: usize = QUEUE_MASK as usize + 1;

impl Meta {
    pub(crate) fn new(queue: usize, backend: Backend, op: Op) -> Meta {
        Meta(queue as u32 & QUEUE_MASK | (backend as u32) << BACKEND_SHIFT | (op as u32) << OP_SHIFT)
    }

    pub(crate) fn queue(self) -> usize {
        (self.0 & QUEUE_MASK) as usize
    }

    pub(crate) fn backend(self) -> Backend {
        match (self.0 & BACKEND_MASK) >> BACKEND_SHIFT {
            1 => Backend::Uring,
            2 => Backend::Kaio,
            _ => Backend::Threads,
        }
    }

    /// Queue and backend: requests with the same target are issued together.
    pub(crate) fn target(self) -> u32 {
        self.0 & (QUEUE_MASK | BACKEND_MASK)
    }

    pub(crate) fn op(self) -> Op {
        match (self.0 & OP_MASK) >> OP_SHIFT {
            0 => Op::Read,
            1 => Op::Write,
            2 => Op::Fsync,
            3 => Op::Fdatasync,
            4 => Op::Readv,
            _ => Op::Writev,
        }
    }

    /// The ordering direction of the request on its fd: its operation's, except that requests
    /// at the file position ([`Meta::file_pos`]) share one chain, since reads and writes both
    /// move the position.
    pub(crate) fn dir(self) -> usize {
        if self.file_pos() {
            1
        } else {
            self.op().dir()
        }
    }

    fn flag(self, f: u32, on: bool) -> Meta {
        // Without a branch: the submission path sets several flags per request.
        Meta(self.0 | (f * on as u32))
    }

    /// Neither ordered nor a barrier: its fd's bookkeeping is the generation count alone.
    pub(crate) fn plain(self) -> bool {
        self.0 & (ORDERED | BARRIER) == 0
    }

    /// Keeps submission order with the other requests of its direction on the fd.
    pub(crate) fn ordered(self) -> bool {
        self.0 & ORDERED != 0
    }
    pub(crate) fn with_ordered(self, on: bool) -> Meta {
        self.flag(ORDERED, on)
    }

    /// An `aio_fsync`: a barrier on its fd.
    pub(crate) fn barrier(self) -> bool {
        self.0 & BARRIER != 0
    }
    pub(crate) fn with_barrier(self, on: bool) -> Meta {
        self.flag(BARRIER, on)
    }

    /// Counted in its queue's `watch`: its completion must be reaped promptly by someone.
    pub(crate) fn watched(self) -> bool {
        self.0 & WATCHED != 0
    }
    pub(crate) fn with_watched(self, on: bool) -> Meta {
        self.flag(WATCHED, on)
    }

    /// The descriptor is not seekable: the offset is ignored.
    pub(crate) fn stream(self) -> bool {
        self.0 & STREAM != 0
    }
    pub(crate) fn with_stream(self, on: bool) -> Meta {
        self.flag(STREAM, on)
    }

    /// Transfers at the descriptor's file position, which it advances (`AIO_OP2_FOFFSET`),
    /// instead of at `aio_offset`.
    pub(crate) fn file_pos(self) -> bool {
        self.0 & FILE_POS != 0
    }
    pub(crate) fn with_file_pos(self, on: bool) -> Meta {
        self.flag(FILE_POS, on)
    }

    /// Its completion goes to a completion queue (`AIO_RS_SIGEV_QUEUE`): the job slot of the
    /// aiocb holds its queue entry (`notify::cq::Node`) instead of a SIGEV_THREAD job.
    pub(crate) fn queued(self) -> bool {
        self.0 & QUEUED != 0
    }
    pub(crate) fn with_queued(self, on: bool) -> Meta {
        self.flag(QUEUED, on)
    }

    /// A deferred buffered read (`engine::deferred`): issued to kernel AIO with `RWF_NOWAIT`, so
    /// the kernel completes a page-cache hit inside `io_submit` and answers a miss with EAGAIN
    /// (or a short count), which sends the request on to the workers (`complete::handle`).
    pub(crate) fn nowait(self) -> bool {
        self.0 & NOWAIT != 0
    }
    pub(crate) fn with_nowait(self, on: bool) -> Meta {
        self.flag(NOWAIT, on)
    }
    /// The same meta without [`Meta::nowait`] (a miss goes on to the workers).
    pub(crate) fn without_nowait(self) -> Meta {
        Meta(self.0 & !NOWAIT)
    }

    /// Counted on its fd (see `engine::fd::ordering`): a read or write in one of the fd's
    /// generations, from its admission on the fd (issued, or chained) until it completes; an
    /// fsync from its issue until it completes.
    pub(crate) fn counted(self) -> bool {
        self.0 & COUNTED != 0
    }
    /// Counted, in generation `generation` (only its low 5 bits are kept).
    pub(crate) fn with_counted(self, generation: u32) -> Meta {
        Meta(self.0 & !GEN_MASK | COUNTED | Self::gen_bits(generation))
    }
    /// The low 5 bits of a generation number: for a read or write, the generation it is counted
    /// in; for an fsync, the generation before which every one must drain before it is issued.
    pub(crate) fn generation(self) -> u32 {
        (self.0 & GEN_MASK) >> GEN_SHIFT
    }
    /// The meta word bits of generation number `generation`.
    pub(super) fn gen_bits(generation: u32) -> u32 {
        (generation & GEN_BITS) << GEN_SHIFT
    }
}
