//! The world a scenario runs in: the network under the peer, the clock, and the faults it can
//! make. The director, the peer's verbs, the transcript and the verdict are the same in every
//! world; only what is behind these two traits differs.
//!
//! - [`sim`]: turmoil's simulated network in simulated time. Deterministic, byte for byte.
//! - [`loopback`]: real TCP on 127.0.0.1 in wall time, for subjects outside the harness.

pub mod loopback;
pub mod sim;

use crate::run::subject::BoxFuture;
use crate::scenario::Scenario;
use serde::Serialize;
use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Which world a run happened in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorldKind {
    #[default]
    Sim,
    Loopback,
}

impl WorldKind {
    /// How much longer than its `within:` a step may take here: wall time jitters (scheduling,
    /// the adapter's own round trip); simulated time does not.
    pub fn tolerance(self) -> Duration {
        match self {
            WorldKind::Sim => Duration::ZERO,
            WorldKind::Loopback => LOOPBACK_TOLERANCE,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WorldKind::Sim => "sim",
            WorldKind::Loopback => "loopback",
        }
    }
}

/// The `within:` tolerance on loopback (docs/driver-protocol.md, "Timing").
pub const LOOPBACK_TOLERANCE: Duration = Duration::from_millis(50);

/// Why `scenario` cannot be told truthfully outside the simulation, if it cannot: declared with
/// `sim_only:`, or derived from what it asks of the network (unless it says `portable: true`).
/// Reads after "this scenario".
pub fn sim_only_reason(scenario: &Scenario) -> Option<String> {
    if let Some(reason) = &scenario.sim_only {
        return Some(reason.clone());
    }
    if scenario.network.portable {
        return None;
    }
    if let Some(c) = scenario.network.tcp_capacity {
        return Some(format!(
            "sets `tcp_capacity: {c}`: backpressure counted in segments exists only in the simulation (real TCP counts bytes in kernel buffers)"
        ));
    }
    if let Some(l) = scenario.network.latency {
        return Some(format!("pins every segment's latency to {l}, which only the simulation can do"));
    }
    None
}

/// The network as the peer sees it.
pub trait World {
    fn kind(&self) -> WorldKind;
    /// Time since the run began, on this world's clock.
    fn now(&self) -> Duration;
    /// The host a subject server binds (`start_server`).
    fn server_host(&self) -> &'static str;
    /// Listens for the subject's connection: the (host, port) the subject connects to.
    fn listen(&self) -> impl Future<Output = io::Result<(String, u16, Accept)>>;
    /// Connects the peer to a subject server.
    fn connect(&self, port: u16) -> impl Future<Output = io::Result<Box<dyn Link>>>;
    /// Stalls the network in both directions; `false` if this world cannot, and the peer then
    /// withholds its own sends instead (docs/scenario-format.md, "hold on loopback").
    fn hold(&self) -> bool;
    /// Ends a stall started by `hold`.
    fn release(&self);
}

/// The peer's pending accept of the subject's connection.
pub type Accept = std::pin::Pin<Box<dyn Future<Output = io::Result<Box<dyn Link>>>>>;

/// One connection of the peer, with what each world does for the faults that differ.
pub trait Link: AsyncRead + AsyncWrite + Send + Unpin + 'static {
    /// Waits until what the peer wrote has reached the subject's host. On loopback: until the
    /// kernel has sent it into the subject's receive queue (or it stops making progress: the
    /// subject is not reading). In the simulation it returns at once: scenarios pace arrival
    /// themselves.
    fn delivered(&mut self) -> BoxFuture<'_, ()>;
    /// Waits until a FIN sent now cannot be lost (turmoil loses one sent into a full queue).
    fn ready_for_fin(&mut self) -> BoxFuture<'_, io::Result<()>>;
    /// Makes dropping this link an abort (RST). `Err` says why this world cannot, and what to do.
    fn arm_reset(&mut self) -> BoxFuture<'_, Result<(), String>>;
}
