//! A few threads kept for one trainer that wait for work by spinning, so that the two short
//! phases of every step (hundreds of microseconds each, 1,200 per epoch) start at once. The
//! rayon pool puts its idle workers to sleep, and waking one costs a system call and an
//! inter-processor interrupt, which a virtual machine makes slow enough to eat a large part
//! of a step. Idle members spin for a short while, then park until the next phase. A
//! member that has not joined a phase by the time its jobs are all taken is not waited for,
//! and the caller parks (woken by the last member) when a member holds it up, so a busy
//! machine, where a member may lose its CPU, costs little more than it does rayon.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle member spins before it parks: far longer than the gap between two
/// phases, far shorter than a pause a person would notice on a CPU.
const SPIN: Duration = Duration::from_micros(200);

/// How long the caller spins for the members still at work before it parks.
const WAIT_SPIN: Duration = Duration::from_micros(50);

/// `State::gate`: the phase is open to members joining.
const OPEN: usize = 1;
/// `State::gate`: one member at work (the count sits above the flag).
const ACTIVE: usize = 2;

/// The work of one phase, its lifetime erased (see [`Team::broadcast`]).
type Work = *const (dyn Fn(usize) + Sync + 'static);

struct State {
    /// Bumped for each phase; members run `work` when it moves.
    generation: AtomicUsize,
    /// Whether the current phase is open ([`OPEN`]), plus [`ACTIVE`] per member in it.
    gate: AtomicUsize,
    /// The caller's thread, woken by the last member out of a closed phase.
    caller: Mutex<Option<std::thread::Thread>>,
    stop: AtomicBool,
    work: Mutex<Option<SendWork>>,
    /// The first panic of a member in the current phase, re-raised by the caller.
    panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
}

#[derive(Clone, Copy)]
struct SendWork(Work);

// SAFETY: the pointee is `Sync`, and `broadcast` keeps it alive until every member is done.
unsafe impl Send for SendWork {}

/// `members` threads besides the caller's, for one trainer.
pub(super) struct Team {
    state: Arc<State>,
    threads: Vec<JoinHandle<()>>,
}

impl Team {
    /// Starts `members` threads (the caller makes one more).
    pub(super) fn new(members: usize) -> Self {
        let state = Arc::new(State {
            generation: AtomicUsize::new(0),
            gate: AtomicUsize::new(0),
            caller: Mutex::new(None),
            stop: AtomicBool::new(false),
            work: Mutex::new(None),
            panic: Mutex::new(None),
        });
        let threads = (0..members)
            .map(|k| {
                let state = Arc::clone(&state);
                std::thread::spawn(move || member(&state, k + 1))
            })
            .collect();
        Self { state, threads }
    }

    /// Number of threads besides the caller's.
    pub(super) fn members(&self) -> usize {
        self.threads.len()
    }

    /// Runs `jobs` on the caller's thread and the members', each job once, and returns when
    /// all are done. Job `i` is meant for thread `i % (members + 1)` (the caller is 0): it
    /// takes its own first, so that a job that comes back step after step finds its rows in
    /// the same core's cache, then any left (so a member that lost its CPU holds no one up).
    pub(super) fn run<J: Send>(&self, jobs: Vec<J>, f: fn(J)) {
        let threads = self.threads.len() + 1;
        let slots: Vec<Mutex<Option<J>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
        let work = |me: usize| {
            for own in [true, false] {
                for (i, slot) in slots.iter().enumerate() {
                    if (i % threads == me) != own {
                        continue;
                    }
                    let job = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let Some(job) = job {
                        f(job);
                    }
                }
            }
        };
        self.broadcast(&work);
    }

    /// Runs `work` on every thread of the team, the caller's included, and waits for all.
    fn broadcast(&self, work: &(dyn Fn(usize) + Sync)) {
        let state = &*self.state;
        // SAFETY: only the lifetime is erased; the pointer is withdrawn and every member is
        // waited for below (also when the caller's own call unwinds), before `work` dies.
        let erased: Work = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Work>(work) };
        *state.work.lock().unwrap_or_else(|e| e.into_inner()) = Some(SendWork(erased));
        *state.caller.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::thread::current());
        state.gate.store(OPEN, Ordering::Release);
        state.generation.fetch_add(1, Ordering::Release);
        for t in &self.threads {
            t.thread().unpark();
        }
        /// Closes the phase and waits for the members in it, even if the caller's part
        /// panics.
        struct Wait<'a>(&'a State);
        impl Drop for Wait<'_> {
            fn drop(&mut self) {
                let gate = &self.0.gate;
                gate.fetch_and(!OPEN, Ordering::AcqRel);
                let start = Instant::now();
                while gate.load(Ordering::Acquire) != 0 {
                    if start.elapsed() < WAIT_SPIN {
                        std::hint::spin_loop();
                    } else {
                        // The last member out unparks us; the timeout covers a spurious
                        // token from an earlier phase being used up already.
                        std::thread::park_timeout(Duration::from_millis(1));
                    }
                }
                *self.0.work.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
        }
        let wait = Wait(state);
        work(0);
        drop(wait);
        if let Some(panic) = state.panic.lock().unwrap_or_else(|e| e.into_inner()).take() {
            resume_unwind(panic);
        }
    }
}

/// Joins the open phase, if any: true when the member may run its work.
fn join(gate: &AtomicUsize) -> bool {
    let mut now = gate.load(Ordering::Acquire);
    while now & OPEN != 0 {
        match gate.compare_exchange_weak(now, now + ACTIVE, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(actual) => now = actual,
        }
    }
    false
}

fn member(state: &State, me: usize) {
    let mut seen = 0;
    loop {
        let mut idle_since = None;
        let mut spins = 0u32;
        loop {
            if state.stop.load(Ordering::Acquire) {
                return;
            }
            let now = state.generation.load(Ordering::Acquire);
            if now != seen {
                seen = now;
                break;
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) {
                std::hint::spin_loop();
                continue;
            }
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed() > SPIN {
                // Unparked by the next phase (or by `drop`); a spurious return loops.
                std::thread::park();
            }
        }
        if !join(&state.gate) {
            // The caller took every job already and is not waiting for us.
            continue;
        }
        let work = *state.work.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(SendWork(work)) = work {
            // SAFETY: `broadcast` keeps the work alive until the gate is closed and empty,
            // which it cannot be while we are in it.
            let work = unsafe { &*work };
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| work(me))) {
                state
                    .panic
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(panic);
            }
        }
        if state.gate.fetch_sub(ACTIVE, Ordering::AcqRel) == ACTIVE {
            // Closed, and we were the last one in: the caller may be parked.
            if let Some(caller) = &*state.caller.lock().unwrap_or_else(|e| e.into_inner()) {
                caller.unpark();
            }
        }
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Release);
        for t in &self.threads {
            t.thread().unpark();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Clone for Team {
    /// A new team of as many threads (a team serves one trainer at a time).
    fn clone(&self) -> Self {
        Self::new(self.members())
    }
}

impl std::fmt::Debug for Team {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Team")
            .field("members", &self.members())
            .finish()
    }
}
