//! The simulated world: turmoil's network in simulated time, seeded, byte for byte repeatable.
//!
//! Two hosts: `peer` runs the director and the scripted peer; `subject` runs the implementation
//! under test, which answers the director's operations (docs/scenario-format.md, "Worlds").
//! Each peer verb works around a turmoil trap where it must, and each workaround has a test in
//! harness/tests/turmoil_traps.rs: a FIN sent into a full queue is lost (so `ready_for_fin`
//! waits for a credit); a RST is sent only by dropping a stream that holds unread data; and
//! `partition` and `fail_rate` stall streams for good, so stalls use `hold` / `release`.

use super::{Accept, Link, World, WorldKind};
use crate::run::director::{Director, Log};
use crate::run::subject::{host, BoxFuture, Subject};
use crate::run::RunOptions;
use crate::scenario::Scenario;
use crate::transcript::Transcript;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const PEER_PORT: u16 = 9000;
const DEFAULT_LATENCY: Duration = Duration::from_millis(1);

/// Makes the subject inside the `subject` host (the reference must open turmoil's sockets there).
pub type SubjectMaker = Arc<dyn Fn() -> Arc<dyn Subject> + Send + Sync>;

/// turmoil, seen from inside the `peer` host.
pub struct Sim;

impl World for Sim {
    fn kind(&self) -> WorldKind {
        WorldKind::Sim
    }

    fn now(&self) -> Duration {
        turmoil::sim_elapsed().unwrap_or_default()
    }

    fn server_host(&self) -> &'static str {
        "0.0.0.0"
    }

    async fn listen(&self) -> io::Result<(String, u16, Accept)> {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PEER_PORT)).await?;
        let accept: Accept = Box::pin(async move { listener.accept().await.map(|(s, _)| Box::new(s) as Box<dyn Link>) });
        Ok(("peer".into(), PEER_PORT, accept))
    }

    async fn connect(&self, port: u16) -> io::Result<Box<dyn Link>> {
        let stream = turmoil::net::TcpStream::connect(("subject", port)).await?;
        Ok(Box::new(stream))
    }

    fn hold(&self) -> bool {
        turmoil::hold("peer", "subject");
        true
    }

    fn release(&self) {
        turmoil::release("peer", "subject");
    }
}

/// Runs `scenario` in a fresh simulation against the subject `make` builds.
pub fn run(scenario: &Scenario, options: &RunOptions, make: SubjectMaker) -> Transcript {
    let latency = scenario.network.latency.map_or(DEFAULT_LATENCY, |d| d.0);
    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(options.seed)
        .min_message_latency(latency)
        .max_message_latency(latency)
        .simulation_duration(options.step_deadline * (scenario.steps.len() as u32 + 2));
    if let Some(c) = scenario.network.tcp_capacity {
        builder.tcp_capacity(c);
    }
    let mut sim = builder.build();
    let events: Log = Arc::default();
    let (tx, rx) = mpsc::unbounded_channel();
    let rx = Arc::new(Mutex::new(Some(rx)));
    sim.host("subject", move || {
        let rx = rx.lock().expect("rx lock").take();
        let make = make.clone();
        async move {
            if let Some(rx) = rx {
                host::serve(rx, make()).await;
            }
            Ok(())
        }
    });
    let harness_error: Arc<Mutex<Option<String>>> = Arc::default();
    {
        let (scenario, options, events, harness_error) = (scenario.clone(), options.clone(), events.clone(), harness_error.clone());
        sim.client("peer", async move {
            let mut director = Director::new(&Sim, &scenario, &options, host::SubjectLink::new(tx), events);
            if let Err(e) = director.direct().await {
                *harness_error.lock().expect("error lock") = Some(e);
            }
            Ok(())
        });
    }
    let sim_result = sim.run();
    let mut events = std::mem::take(&mut *events.lock().expect("log lock"));
    events.sort_by_key(|e| e.at);
    let mut error = harness_error.lock().expect("error lock").take();
    if let (None, Err(e)) = (&error, sim_result) {
        error = Some(format!("the simulation failed: {e}"));
    }
    Transcript { seed: options.seed, events, harness_error: error, ..Transcript::default() }
}

/// A turmoil stream is the peer's link as it is.
impl Link for turmoil::net::TcpStream {
    fn delivered(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn ready_for_fin(&mut self) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(self.writable())
    }

    fn arm_reset(&mut self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async {
            let mut one = [0u8; 1];
            match tokio::time::timeout(Duration::ZERO, self.peek(&mut one)).await {
                Ok(Ok(n)) if n > 0 => Ok(()),
                _ => Err("turmoil can send a RST only by dropping a stream that holds unread data, and the peer has read \
                          everything: add `peer: stop_reading` before the subject's last write, then `peer: reset`"
                    .into()),
            }
        })
    }
}
