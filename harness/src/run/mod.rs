//! Running a scenario: scenario → run (world: sim | loopback; subject: reference | process) →
//! transcript.
//!
//! - [`director`] walks the steps; [`peer`] plays the peer's verbs;
//! - [`world`] is the network, the clock and the faults: [`world::sim`] or [`world::loopback`];
//! - [`subject`] is the implementation under test: in process or behind an adapter.

pub mod director;
pub mod peer;
pub mod subject;
pub mod world;

use crate::scenario::{Action, PeerAction, Scenario, Step};
use crate::transcript::Transcript;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use streamcheck_impl::stream::TurmoilNet;
use subject::reference::Reference;

/// How one run is set up.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub seed: u64,
    /// How long any one step may take before the run is an ERROR (a hang): simulated time in
    /// the simulation, wall time on loopback.
    pub step_deadline: Duration,
    /// How the peer's sends are cut and when reads start; `None` plays the scenario as written.
    pub plan: Option<SendPlan>,
}

/// The step deadline in the simulation (simulated time costs nothing).
pub const SIM_DEADLINE: Duration = Duration::from_secs(30);
/// The default step deadline on loopback, in wall time (`--deadline`).
pub const LOOPBACK_DEADLINE: Duration = Duration::from_secs(5);

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { seed: 0, step_deadline: SIM_DEADLINE, plan: None }
    }
}

/// How the peer's sends are cut into writes and where reads start: the scenario's own plan, or
/// one a fuzzer made. The director only follows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SendPlan {
    /// Send step → its pieces: (length, gap in ms before the next piece). Steps not listed are
    /// cut as the scenario says.
    pub splits: BTreeMap<usize, Vec<(usize, u64)>>,
    /// Read step → (the send step it overlaps, the piece it starts before; `pieces.len()` means
    /// after the last piece).
    pub early_starts: BTreeMap<usize, (usize, usize)>,
    /// Time to let each peer action land before the next step.
    pub settle: Option<Duration>,
}

impl SendPlan {
    /// The scenario as written.
    pub fn canonical(_: &Scenario) -> SendPlan {
        SendPlan::default()
    }

    /// The pieces of send step `i`: the plan's re-split, or the scenario's `chunks` and `gap`.
    pub fn pieces(&self, i: usize, step: &Step) -> Vec<(usize, u64)> {
        if let Some(split) = self.splits.get(&i) {
            return split.clone();
        }
        let Action::Peer(PeerAction::Send { send, chunks, gap }) = &step.action else { return vec![] };
        let gap = gap.map_or(0, |g| g.0.as_millis() as u64);
        cut(send.0.len(), chunks.as_deref()).into_iter().map(|len| (len, gap)).collect()
    }
}

/// Cuts `len` bytes by the given chunk sizes; the last piece takes whatever is left.
pub fn cut(len: usize, chunks: Option<&[usize]>) -> Vec<usize> {
    let Some(chunks) = chunks else { return vec![len] };
    let mut out = Vec::new();
    let mut left = len;
    for &c in chunks {
        if left == 0 {
            break;
        }
        let c = c.min(left);
        out.push(c);
        left -= c;
    }
    if left > 0 || out.is_empty() {
        out.push(left);
    }
    out
}

/// Runs `scenario` against the reference implementation in the simulation.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Transcript {
    world::sim::run(scenario, options, Arc::new(|| Arc::new(Reference::<TurmoilNet>::new())))
}
