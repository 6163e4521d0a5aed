//! A request: the caller's `struct aiocb`, with the engine's state in its private fields.
//!
//! Nothing is allocated per request (a SIGEV_THREAD notification's job block is the one
//! exception, see [`Req::start`]). glibc reserves 48 bytes of the structure for its
//! implementation; we use them so (offsets from `offset_of!` on [`Aiocb`], checked below):
//!
//! | glibc field               | our use                                                     |
//! |---------------------------|-------------------------------------------------------------|
//! | `__next_prio`             | link: next request in a [`List`] or a [`ReqStack`]          |
//! | `__abs_prio`              | [`State`]: phase, worker index, cancel flag (atomic)        |
//! | `__policy`                | [`Meta`]: queue, backend, operation and flags               |
//! | `__error_code`            | status (the POSIX field): EINPROGRESS until done (atomic)   |
//! | `__return_value`          | result (the POSIX field), written before the status         |
//! | `__glibc_reserved[0..8]`  | tag: marks the aiocb as in flight in this engine generation |
//! | `__glibc_reserved[8..16]` | the SIGEV_THREAD job block, or its completion queue entry   |
//! | `__glibc_reserved[16..24]`| the lio_listio group it belongs to, or NULL                 |
//! | `__glibc_reserved[24..28]`| a stream write's progress (< 2^31); else the cancel mark    |
//! | `__glibc_reserved[28..32]`| the held file: a duplicate of the fd while not in the kernel |
//!
//! Two types carry a request: [`ReqPtr`] is its address (what lists, stacks and the kernel hold,
//! and what nothing can be read through), and [`Req`] is a view of a live request, made by the one
//! unsafe step [`ReqPtr::get`] whose caller states why the aiocb is live. Every accessor of `Req`
//! is then safe, and the references it hands out cannot outlive the view; [`Req::publish`]
//! consumes it, because once the status leaves EINPROGRESS the program may reuse or free the
//! aiocb at once.

use core::ffi::{c_int, c_void};
use core::marker::PhantomData;
use core::mem::{align_of, offset_of, size_of};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering::*};

mod iov;
mod list;
mod state;

pub(crate) use self::iov::{Span, IOV_MAX, MAX_RW};
pub(crate) use self::list::{List, ReqStack};
pub(crate) use self::state::{Backend, Meta, Op, Phase, State, GEN_BITS, MAX_QUEUES};
use self::state::{BACKEND_MASK, BACKEND_SHIFT, CANCEL_ASKED, COUNTED, GEN_MASK, STREAM};
use crate::abi::{Aiocb, SigEvent};
use crate::notify::ThreadJob;
use crate::sys::{Held, Linked};

const LINK: usize = offset_of!(Aiocb, __next_prio);
const STATE: usize = offset_of!(Aiocb, __abs_prio);
const META: usize = offset_of!(Aiocb, __policy);
/// Where a request's status word is in its aiocb (`Req::status`; the C frame of `aio_suspend`
/// reads it too, `posix::frame`).
pub(crate) const STATUS: usize = offset_of!(Aiocb, __error_code);
const RESULT: usize = offset_of!(Aiocb, __return_value);
const TAG: usize = offset_of!(Aiocb, __glibc_reserved);
const JOB: usize = TAG + 8;
const GROUP: usize = TAG + 16;
const PROGRESS: usize = TAG + 24;
const HELD: usize = TAG + 28;

// Every private field is inside the structure and aligned for its atomic type (an aiocb is
// 8-byte aligned, as the C type is).
const _: () = {
    assert!(align_of::<Aiocb>() == 8);
    assert!(LINK.is_multiple_of(align_of::<AtomicPtr<Aiocb>>()));
    assert!(STATE.is_multiple_of(4) && META.is_multiple_of(4) && STATUS.is_multiple_of(4));
    assert!(RESULT.is_multiple_of(8) && TAG.is_multiple_of(8));
    assert!(PROGRESS.is_multiple_of(4) && HELD.is_multiple_of(4) && HELD == PROGRESS + 4);
    assert!(HELD + 4 <= TAG + size_of::<[u8; 32]>());
    assert!(HELD + 4 <= size_of::<Aiocb>());
};
/// The address of a request: identity only. Lists, stacks and the kernel (`user_data`) hold it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ReqPtr(NonNull<Aiocb>);

// SAFETY: a ReqPtr is only an address; reading through it needs `ReqPtr::get`, whose caller
// states why the request is live and theirs to use, on whichever thread.
unsafe impl Send for ReqPtr {}
// SAFETY: sharing a ReqPtr shares only the address; see Send.
unsafe impl Sync for ReqPtr {}

impl ReqPtr {
    /// `None` for NULL.
    pub(crate) fn new(p: *mut Aiocb) -> Option<ReqPtr> {
        NonNull::new(p).map(ReqPtr)
    }

    pub(crate) fn as_ptr(self) -> *mut Aiocb {
        self.0.as_ptr()
    }

    /// The request as io_uring's or kernel AIO's `user_data`.
    pub(crate) fn user_data(self) -> u64 {
        self.as_ptr() as u64
    }

    /// A view of the request.
    ///
    /// # Safety
    /// The aiocb is live for `'a` (the caller's promise to POSIX: until the status leaves
    /// EINPROGRESS, or for the duration of the C call that passed it), and the caller may do what
    /// it does with the view (it owns the request, or only reads what anyone may read).
    pub(crate) unsafe fn get<'a>(self) -> Req<'a> {
        Req { p: self.0, _life: PhantomData }
    }
}

/// A view of a live request; see the module documentation.
pub(crate) struct Req<'a> {
    p: NonNull<Aiocb>,
    _life: PhantomData<&'a Aiocb>,
}

/// The generation tag: marks an aiocb as in flight in engine generation `epoch`.
const TAG_MAGIC: u64 = 0x0a10_a5e5_0000_0000;

impl<'a> Req<'a> {
    pub(crate) fn ptr(&self) -> ReqPtr {
        ReqPtr(self.p)
    }

    fn field<T>(&self, off: usize) -> &T {
        // SAFETY: the view's maker guaranteed the aiocb is live for 'a (which outlives &self);
        // every offset used is inside the 168-byte structure and aligned for T (asserted at the
        // top of this file), and T is an atomic (or is only read), so shared access is sound.
        unsafe { &*(self.p.as_ptr() as *const u8).add(off).cast::<T>() }
    }

    fn state_word(&self) -> &AtomicU32 {
        self.field(STATE)
    }
    fn meta_word(&self) -> &AtomicU32 {
        self.field(META)
    }
    fn status_word(&self) -> &AtomicI32 {
        self.field(STATUS)
    }
    fn result_word(&self) -> &AtomicU64 {
        self.field(RESULT)
    }
    fn tag_word(&self) -> &AtomicU64 {
        self.field(TAG)
    }
    fn job_word(&self) -> &AtomicPtr<ThreadJob> {
        self.field(JOB)
    }
    fn group_word(&self) -> &AtomicPtr<c_void> {
        self.field(GROUP)
    }
    fn progress_word(&self) -> &AtomicU32 {
        self.field(PROGRESS)
    }
    fn held_word(&self) -> &AtomicU32 {
        self.field(HELD)
    }

    // --- the caller's fields (not modified by the caller while the request is in flight) ----

    fn caller(&self) -> *const Aiocb {
        self.p.as_ptr()
    }

    pub(crate) fn fd(&self) -> c_int {
        // SAFETY: live aiocb (see `field`); a plain read of a field nobody writes meanwhile.
        unsafe { ptr::addr_of!((*self.caller()).aio_fildes).read() }
    }
    pub(crate) fn offset(&self) -> i64 {
        // SAFETY: live aiocb (see `field`); a plain read of a field the caller does not write
        // while the request is in flight or the call that passed it lasts.
        unsafe { ptr::addr_of!((*self.caller()).aio_offset).read() }
    }
    pub(crate) fn buf(&self) -> *mut u8 {
        // SAFETY: live aiocb (see `field`); a plain read of a field the caller does not write
        // while the request is in flight or the call that passed it lasts.
        unsafe { ptr::addr_of!((*self.caller()).aio_buf).read() }.cast()
    }
    pub(crate) fn nbytes(&self) -> usize {
        // SAFETY: live aiocb (see `field`); a plain read of a field the caller does not write
        // while the request is in flight or the call that passed it lasts.
        unsafe { ptr::addr_of!((*self.caller()).aio_nbytes).read() }
    }
    pub(crate) fn sigevent(&self) -> &SigEvent {
        // SAFETY: live aiocb (see `field`); the sigevent is plain data the caller does not write
        // while the request is in flight, and the reference does not outlive this view.
        unsafe { &*ptr::addr_of!((*self.caller()).aio_sigevent) }
    }

    // --- status ------------------------------------------------------------------------------

    /// The POSIX status: EINPROGRESS, 0 or an error number (acquire: a final status comes with
    /// its return value).
    pub(crate) fn status(&self) -> c_int {
        self.status_word().load(Acquire)
    }

    /// The return value (read after `status`, whose acquire orders it).
    pub(crate) fn return_value(&self) -> isize {
        self.result_word().load(Relaxed) as isize
    }

    /// Whether the aiocb is in flight in engine generation `epoch` (not merely left EINPROGRESS by
    /// a parent process or by garbage).
    pub(crate) fn in_flight(&self, epoch: u64) -> bool {
        self.tag_word().load(Acquire) == self.tag_value(epoch)
    }

    fn tag_value(&self, epoch: u64) -> u64 {
        (self.p.as_ptr() as u64) ^ TAG_MAGIC ^ (epoch << 48)
    }

    /// Takes back a request that was started but could not be parked or issued (its submitter
    /// refuses it): no longer in flight, with `err` as its outcome.
    pub(crate) fn refuse(&self, err: c_int) {
        self.tag_word().store(0, Relaxed);
        self.state_word().store(State::of(Phase::Idle).0, Relaxed);
        self.fail(err);
    }

    /// Records a submission error as the request's outcome, as if it had completed with it (a
    /// request that never started; nothing else touches it).
    pub(crate) fn fail(&self, err: c_int) {
        self.result_word().store(-1isize as u64, Relaxed);
        self.status_word().store(err, Release);
    }

    // --- life cycle --------------------------------------------------------------------------

    /// Accepts the request: records what the engine decided, then marks it in flight
    /// (EINPROGRESS, phase `Idle`, tagged with `epoch`). `job` is its SIGEV_THREAD block, its
    /// completion queue entry (`meta.queued()`), or NULL; `group` its lio group or NULL.
    pub(crate) fn start(&self, epoch: u64, meta: Meta, job: *mut ThreadJob, group: *const c_void) {
        self.start_words(meta, job, group, 0);
        self.state_word().store(State::of(Phase::Idle).0, Relaxed);
        self.tag_word().store(self.tag_value(epoch), Release);
    }

    /// The words a started request begins with, before its state and tag (relaxed: the tag's
    /// release store publishes them).
    #[inline(always)]
    fn start_words(&self, meta: Meta, job: *mut ThreadJob, group: *const c_void, held: u32) {
        self.meta_word().store(meta.0, Relaxed);
        self.job_word().store(job, Relaxed);
        self.group_word().store(group as *mut c_void, Relaxed);
        self.result_word().store(0, Relaxed);
        self.progress_word().store(0, Relaxed);
        self.held_word().store(held, Relaxed);
        self.status_word().store(libc::EINPROGRESS, Relaxed);
    }

    /// [`Req::start`] of a request issued at once with no job and no group, holding the
    /// duplicate `held` (a `Held` word, 0: none), followed by [`Req::issue`]: what those three
    /// calls and `set_held` leave in the aiocb, each word written once. The tag is stored with
    /// release ordering and then the state, also with release ordering, as `issue` does after
    /// `start`: whoever sees either sees the words before it. (A deferred read: `engine::deferred`.)
    #[inline(always)]
    pub(crate) fn start_issued(&self, epoch: u64, meta: Meta, held: u32) {
        self.start_words(meta, ptr::null_mut(), ptr::null(), held);
        self.tag_word().store(self.tag_value(epoch), Release);
        self.state_word().store(State::of(Phase::Issued).0, Release);
    }

    /// Publishes the final result `res` (a count, or `-errno`): the return value first, then the
    /// status with release ordering, so whoever sees the status (acquire) sees the value too.
    /// Consumes the view: from here on the program may reuse or free the aiocb.
    pub(crate) fn publish(self, res: isize) {
        self.tag_word().store(0, Relaxed);
        self.state_word().store(State::of(Phase::Done).0, Relaxed);
        let (ret, err) = if res < 0 { (-1isize, (-res) as i32) } else { (res, 0) };
        self.result_word().store(ret as u64, Relaxed);
        self.status_word().store(err, Release);
    }

    /// A request done at submission with nothing to notify and no group: what [`Req::start`]
    /// followed by [`Req::publish`] leaves in the aiocb (meta `meta`, result `res`), the status
    /// stored last with release ordering. Consumes the view, as `publish` does.
    pub(crate) fn done_at_once(self, meta: Meta, res: isize) {
        self.meta_word().store(meta.0, Relaxed);
        self.job_word().store(ptr::null_mut(), Relaxed);
        self.group_word().store(ptr::null_mut(), Relaxed);
        self.progress_word().store(0, Relaxed);
        self.held_word().store(0, Relaxed);
        self.publish(res);
    }

    pub(crate) fn meta(&self) -> Meta {
        Meta(self.meta_word().load(Relaxed))
    }
    pub(crate) fn set_meta(&self, m: Meta) {
        self.meta_word().store(m.0, Relaxed);
    }
    /// Now counted in generation `generation` of its fd (see `Meta::counted`).
    pub(crate) fn set_counted(&self, generation: u32) {
        self.meta_word().fetch_and(!(COUNTED | GEN_MASK), Relaxed);
        self.meta_word().fetch_or(COUNTED | Meta::gen_bits(generation), Relaxed);
    }
    /// Records generation number `generation` without counting the request (see
    /// `Meta::generation`: an fsync waiting for the generations before it).
    pub(crate) fn set_generation(&self, generation: u32) {
        self.meta_word().fetch_and(!GEN_MASK, Relaxed);
        self.meta_word().fetch_or(Meta::gen_bits(generation), Relaxed);
    }
    /// No longer counted (taken out of its fd's lists before it touched the fd).
    pub(crate) fn clear_counted(&self) {
        self.meta_word().fetch_and(!(COUNTED | GEN_MASK), Relaxed);
    }
    /// Moved to another backend (what the first would not take goes to the workers).
    pub(crate) fn set_backend(&self, b: Backend) {
        self.meta_word().fetch_and(!BACKEND_MASK, Relaxed);
        self.meta_word().fetch_or((b as u32) << BACKEND_SHIFT, Relaxed);
    }
    /// The descriptor turned out to be a stream.
    pub(crate) fn set_stream(&self) {
        self.meta_word().fetch_or(STREAM, Relaxed);
    }

    pub(crate) fn job(&self) -> *mut ThreadJob {
        self.job_word().load(Relaxed)
    }

    pub(crate) fn group(&self) -> *const c_void {
        self.group_word().load(Relaxed)
    }
    /// For a request that is not a stream, the word of the progress holds instead the engine's
    /// `fd_cancel_mark` at its submission (see `complete::handle`).
    pub(crate) fn cancel_mark(&self) -> u32 {
        self.progress_word().load(Relaxed)
    }
    pub(crate) fn set_cancel_mark(&self, mark: u32) {
        self.progress_word().store(mark, Relaxed);
    }
    /// Bytes already written by a partial stream write (below `MAX_RW`, so 32 bits are enough).
    pub(crate) fn progress(&self) -> usize {
        self.progress_word().load(Relaxed) as usize
    }
    pub(crate) fn set_progress(&self, n: usize) {
        debug_assert!(n <= u32::MAX as usize);
        self.progress_word().store(n as u32, Relaxed);
    }

    // --- the held file ------------------------------------------------------------------------
    //
    // A request that is not yet in the kernel (parked on its fd, on a work list, polled by a
    // worker) holds the caller's open file, not its number: a duplicate made on the submitter's
    // thread (`FdEntry::hold`), used instead of `aio_fildes` from then on, and given up when the
    // request finishes. Only the request's owner of the moment touches these.

    /// The duplicate this request holds, if any.
    pub(crate) fn held(&self) -> Option<Held> {
        Held::from_word(self.held_word().load(Relaxed))
    }
    /// Records the duplicate the request now holds.
    pub(crate) fn set_held(&self, h: Held) {
        self.held_word().store(h.to_word(), Relaxed);
    }
    /// Forgets the duplicate (the caller gives it up) and returns it.
    pub(crate) fn take_held(&self) -> Option<Held> {
        Held::from_word(self.held_word().swap(0, Relaxed))
    }
    /// The descriptor to use: the held duplicate, else the caller's `aio_fildes`.
    pub(crate) fn target_fd(&self) -> c_int {
        self.held().map_or_else(|| self.fd(), Held::fd)
    }

    // --- state transitions -------------------------------------------------------------------

    pub(crate) fn state(&self) -> State {
        State(self.state_word().load(Acquire))
    }
    fn enter(&self, phase: Phase) {
        self.state_word().store(State::of(phase).0, Release);
    }
    /// Parked on its fd (the fd lock owns it now).
    pub(crate) fn park(&self) {
        self.enter(Phase::Waiting);
    }
    /// Queued for the workers (the work lock owns it now).
    pub(crate) fn queue_for_workers(&self) {
        self.enter(Phase::Queued);
    }
    /// Handed to the kernel or to a worker that runs it.
    pub(crate) fn issue(&self) {
        self.enter(Phase::Issued);
    }
    /// Handed to the queue's helper thread to issue.
    pub(crate) fn defer(&self) {
        self.enter(Phase::Deferred);
    }
    /// Taken by `worker`, which polls for readiness before touching the fd.
    pub(crate) fn start_polling(&self, worker: usize) {
        self.state_word().store(State::polling(worker).0, Release);
    }
    /// `worker` claims the request for one transfer attempt (`Polling` -> `Issued`); false if
    /// `aio_cancel` took it first.
    pub(crate) fn claim_attempt(&self, worker: usize) -> bool {
        self.state_word()
            .compare_exchange(State::polling(worker).0, State::of(Phase::Issued).0, AcqRel, Acquire)
            .is_ok()
    }
    /// The attempt moved nothing: cancellable again while it waits.
    pub(crate) fn resume_polling(&self, worker: usize) {
        self.state_word().store(State::polling(worker).0, Release);
    }
    /// `aio_cancel` takes a polled request from its worker (`seen`, in `Polling`, ->
    /// `Cancelling`); false if the state moved meanwhile.
    pub(crate) fn take_from_poller(&self, seen: State) -> bool {
        debug_assert_eq!(seen.phase(), Phase::Polling);
        self.state_word().compare_exchange(seen.0, seen.with_phase(Phase::Cancelling).0, AcqRel, Acquire).is_ok()
    }
    /// Marks that `aio_cancel` asks io_uring to cancel the request.
    pub(crate) fn mark_cancel_asked(&self) {
        self.state_word().fetch_or(CANCEL_ASKED, AcqRel);
    }
}
// SAFETY: `link` always returns the `__next_prio` field, which is private to the implementation
// (the caller never touches it while the request is in flight) and used only as this link, by the
// one list or stack the request is in.
unsafe impl Linked for Aiocb {
    unsafe fn link<'a>(node: *mut Aiocb) -> &'a AtomicPtr<Aiocb> {
        // SAFETY: the caller guarantees `node` is live for 'a; LINK is aligned for the pointer.
        unsafe { &*(node as *const u8).add(LINK).cast::<AtomicPtr<Aiocb>>() }
    }
}
/// A backend's report of a finished request: the one way completions travel up to the engine
/// (`engine::complete`). Ring and kernel AIO completions are handed to a callback by the reaper;
/// the workers hand theirs to a [`Completions`] sink.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Completion {
    /// A request ended with `res` (a count, or `-errno`). The receiver owns the request.
    Request(ReqPtr, isize),
    /// An internal operation (an io_uring cancel) finished; its waiter must be woken.
    Internal,
}

/// Where a backend's own threads report completions (implemented by the engine).
pub(crate) trait Completions: Sync {
    fn complete(&self, c: Completion);
    /// A request a worker ran ended with `res`; the receiver owns it. The file it held may be
    /// kept for the next request on its descriptor until the worker calls [`Completions::idle`].
    /// Without `wake`, threads asleep on the event counters are not woken for it: the worker
    /// calls [`Completions::wake_waiters`] soon (see `Pool::hold_wake`).
    fn worker_done(&self, r: ReqPtr, res: isize, wake: bool);
    /// Wakes the threads asleep waiting for completions of the engine or of queue `queue`.
    fn wake_waiters(&self, queue: usize);
    /// The calling worker is about to sleep: let go of whatever its requests left kept.
    fn idle(&self);
}

/// A new SIGEV_THREAD job block for a request (freed by [`free_job`] when the notifier is done).
pub(crate) fn new_job() -> *mut ThreadJob {
    Box::into_raw(Box::new(ThreadJob::new()))
}

/// The notifier's `on_done` for a request's job block: frees it.
///
/// # Safety
/// `job` was made by [`new_job`] and the notifier is done with it.
pub(crate) unsafe fn free_job(job: *mut ThreadJob) {
    // SAFETY: made by Box::into_raw in new_job; the notifier hands it back exactly once.
    drop(unsafe { Box::from_raw(job) });
}
#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::vec_box)] // boxes: each aiocb keeps its address
    fn blocks(n: usize) -> Vec<Box<Aiocb>> {
        // SAFETY: an all-zero aiocb is a valid value of the structure.
        (0..n).map(|_| Box::new(unsafe { core::mem::zeroed::<Aiocb>() })).collect()
    }

    fn ptrs(v: &mut [Box<Aiocb>]) -> Vec<ReqPtr> {
        v.iter_mut().map(|b| ReqPtr::new(&mut **b).unwrap()).collect()
    }

    #[test]
    fn list_keeps_order_and_removes() {
        let mut v = blocks(5);
        let rs = ptrs(&mut v);
        let mut l = List::new();
        for &r in &rs {
            // SAFETY: each block is live for the test and in no list.
            unsafe { l.push_back(r) };
        }
        assert!(l.remove(rs[2]));
        assert!(!l.remove(rs[2]));
        let odd = l.drain_filter(|r| r == rs[1] || r == rs[3]);
        assert_eq!(odd.len(), 2);
        assert_eq!(l.pop_front(), Some(rs[0]));
        assert_eq!(l.pop_front(), Some(rs[4]));
        assert_eq!(l.pop_front(), None);
        assert!(l.is_empty());
    }

    #[test]
    fn stack_gives_back_in_push_order() {
        let mut v = blocks(3);
        let rs = ptrs(&mut v);
        let st = ReqStack::new();
        for &r in &rs {
            // SAFETY: live for the test, in no list.
            unsafe { st.push(r) };
        }
        let mut l = st.take_all();
        assert!(st.is_empty());
        assert_eq!(
            (l.pop_front(), l.pop_front(), l.pop_front(), l.pop_front()),
            (Some(rs[0]), Some(rs[1]), Some(rs[2]), None)
        );
    }

    #[test]
    fn meta_round_trips() {
        for (q, b, op) in
            [(0, Backend::Uring, Op::Read), (63, Backend::Kaio, Op::Fdatasync), (7, Backend::Threads, Op::Write)]
        {
            let m = Meta::new(q, b, op).with_ordered(true).with_stream(q == 7);
            assert_eq!((m.queue(), m.backend(), m.op()), (q, b, op));
            assert!(m.ordered() && !m.barrier() && !m.watched() && !m.counted());
            assert_eq!(m.stream(), q == 7);
            assert!(m.with_counted(37).counted());
            assert_eq!(m.with_counted(37).generation(), 37 & 31);
            assert_eq!(m.with_counted(37).with_counted(2).generation(), 2, "a new count replaces the old");
            assert_eq!(m.with_counted(31).queue(), q, "the generation stays in its bits");
            assert_eq!(m.with_counted(31).op(), op);
            assert_eq!(Meta::new(q, b, Op::Read).target(), Meta::new(q, b, Op::Write).with_barrier(true).target());
            assert_ne!(Meta::new(q, Backend::Uring, op).target(), Meta::new(q, Backend::Threads, op).target());
        }
    }

    /// The life of a request through its named transitions, as each owner would drive it.
    #[test]
    fn state_transitions() {
        let mut v = blocks(1);
        let r = ptrs(&mut v)[0];
        // SAFETY: the block is live for the whole test and only this test uses it.
        let req = unsafe { r.get() };
        assert!(!req.in_flight(1));
        req.start(1, Meta::new(3, Backend::Threads, Op::Read).with_stream(true), ptr::null_mut(), ptr::null());
        assert!(req.in_flight(1) && !req.in_flight(2));
        assert_eq!((req.status(), req.state().phase()), (libc::EINPROGRESS, Phase::Idle));
        req.park();
        assert_eq!(req.state().phase(), Phase::Waiting);
        req.queue_for_workers();
        assert_eq!(req.state().phase(), Phase::Queued);
        // A worker polls, claims an attempt, gives it back; a canceller then takes it.
        req.start_polling(5);
        let seen = req.state();
        assert_eq!((seen.phase(), seen.worker()), (Phase::Polling, 5));
        assert!(!req.claim_attempt(4), "another worker's claim fails");
        assert!(req.claim_attempt(5));
        assert_eq!(req.state().phase(), Phase::Issued);
        assert!(!req.take_from_poller(seen), "not cancellable while a transfer is under way");
        req.resume_polling(5);
        assert!(req.take_from_poller(seen));
        assert_eq!((req.state().phase(), req.state().worker()), (Phase::Cancelling, 5));
        assert!(!req.claim_attempt(5), "the worker sees the cancel");
        // io_uring cancel flag.
        req.issue();
        assert!(!req.state().cancel_asked());
        req.mark_cancel_asked();
        assert!(req.state().cancel_asked() && req.state().phase() == Phase::Issued);
        req.defer();
        assert_eq!(req.state().phase(), Phase::Deferred);
        // Fallback to the workers and a stale stream class.
        req.set_backend(Backend::Uring);
        req.set_generation(40);
        assert_eq!((req.meta().generation(), req.meta().counted()), (40 & 31, false));
        req.set_counted(9);
        assert_eq!(req.meta().generation(), 9);
        req.clear_counted();
        assert!(!req.meta().counted());
        req.set_counted(9);
        let m = req.meta();
        assert_eq!(
            (m.backend(), m.queue(), m.op(), m.counted(), m.stream()),
            (Backend::Uring, 3, Op::Read, true, true)
        );
        req.set_progress(4096);
        assert_eq!(req.progress(), 4096);
        req.publish(-(libc::ECANCELED as isize));
        // SAFETY: the block is live for the whole test and only this test uses it.
        let again = unsafe { r.get() };
        assert_eq!((again.status(), again.return_value()), (libc::ECANCELED, -1));
        assert_eq!(again.state().phase(), Phase::Done);
        assert!(!again.in_flight(1));
        again.fail(libc::EBADF);
        assert_eq!((again.status(), again.return_value()), (libc::EBADF, -1));
    }
}
