//! The director walks a scenario's steps: it opens the session, plays each peer step through
//! the [`Peer`], starts and awaits the subject's operations (`as:`, `await:`, `pending_for:`,
//! `timeout:`), and records everything in the transcript. It is the same in every world.

use super::peer::{Peer, Played};
use super::subject::host::{Done, Pending, SubjectLink};
use super::world::World;
use super::{RunOptions, SendPlan};
use crate::scenario::{Action, PeerAction, RecvAmount, Scenario, Step};
use crate::transcript::{Event, Side};
use crate::vocab::op::{Connect, Listen, Op, WaterMarks};
use crate::vocab::outcome::{ErrorOutcome, ErrorType, Outcome, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The transcript's events, shared so that a run cut short still keeps what happened.
pub type Log = Arc<Mutex<Vec<Event>>>;

/// An operation in flight, with what the transcript says of it.
struct InFlight {
    pending: Pending,
    started_at: Duration,
    action: String,
}

pub struct Director<'a, W: World> {
    world: &'a W,
    scenario: &'a Scenario,
    options: &'a RunOptions,
    plan: SendPlan,
    subject: SubjectLink,
    log: Log,
    named: BTreeMap<String, InFlight>,
    /// Reads the plan starts early, by step.
    early: BTreeMap<usize, InFlight>,
}

impl<'a, W: World> Director<'a, W> {
    pub fn new(world: &'a W, scenario: &'a Scenario, options: &'a RunOptions, subject: SubjectLink, log: Log) -> Self {
        let plan = options.plan.clone().unwrap_or_else(|| SendPlan::canonical(scenario));
        Director { world, scenario, options, plan, subject, log, named: BTreeMap::new(), early: BTreeMap::new() }
    }

    fn record(&self, step: Option<usize>, side: Side, action: String, outcome: Option<Outcome>) {
        self.push(Event { at: self.world.now(), step, side, action, outcome, took: None, still_pending: None });
    }

    fn push(&self, event: Event) {
        self.log.lock().expect("log lock").push(event);
    }

    fn hang(&self, step: Option<usize>, what: &str) -> String {
        let at = step.map_or(String::new(), |s| format!("step {} ", s + 1));
        let clock = match self.world.kind() {
            super::world::WorldKind::Sim => "simulated time",
            super::world::WorldKind::Loopback => "wall time (--deadline)",
        };
        format!(
            "{at}(`{what}`) did not complete within {}s of {clock}: the subject hangs. If blocking is the expected behaviour, give the step `timeout:` or `pending_for:`",
            self.options.step_deadline.as_secs_f64()
        )
    }

    /// Walks every step. `Err` is a harness error: the run could not go on (the verdict is ERROR).
    pub async fn direct(&mut self) -> Result<(), String> {
        let mut peer = self.open().await?;
        let steps = &self.scenario.steps;
        for (i, step) in steps.iter().enumerate() {
            match &step.action {
                Action::Peer(PeerAction::Send { send, .. }) => self.send(i, send.0.clone(), &mut peer).await?,
                Action::Peer(action) => {
                    let started = self.world.now();
                    let (line, outcome) = self.peer_step(step, action, &mut peer).await.map_err(|e| at_step(Some(i), &e))?;
                    // A recv's outcome is judged like an operation's, `within:` included.
                    let took = outcome.is_some().then(|| self.world.now().saturating_sub(started));
                    self.push(Event { at: self.world.now(), step: Some(i), side: Side::Peer, action: line, outcome, took, still_pending: None });
                    if !matches!(action, PeerAction::Recv(_) | PeerAction::Sleep(_) | PeerAction::StopReading | PeerAction::ResumeReading | PeerAction::Hold | PeerAction::Release) {
                        self.settle(&mut peer).await;
                    }
                }
                Action::Subject(op) => self.subject_step(i, step, op, &mut peer).await?,
                Action::Await(name) => {
                    let op = self.named.remove(name).ok_or_else(|| format!("step {}: `await: {name}` has nothing to await", i + 1))?;
                    self.finish(i, op, &mut peer).await?;
                }
            }
        }
        Ok(())
    }

    /// Opens the session with the vocabulary's session operations: the subject connects to the
    /// peer, or listens and the peer connects; then the scenario's water marks, if any.
    async fn open(&mut self) -> Result<Peer, String> {
        let config = &self.scenario.config;
        let link = if self.scenario.subject.is_client() {
            let (host, port, accept) = self.world.listen().await.map_err(|e| format!("the peer cannot listen: {e}"))?;
            let op = Op::OpenConnection(Connect { host, port, limit: config.limit });
            let opening = self.start(None, op, None, true).await?;
            // The peer accepts while the subject connects (turmoil completes a connect only then);
            // a connect that fails must not leave the peer waiting to accept.
            let (outcome, mut accept) = (self.outcome(None, opening), accept);
            tokio::pin!(outcome);
            let mut accepted = None;
            let opened = loop {
                tokio::select! {
                    biased;
                    out = &mut outcome => break out?,
                    a = &mut accept, if accepted.is_none() => accepted = Some(a),
                }
            };
            self.record(None, Side::Subject, format!("open_connection {}", self.where_to(port)), Some(opened.clone()));
            if !matches!(opened, Outcome::Ok(_)) {
                return Err(format!("open_connection failed: {}", opened.show()));
            }
            let accepted = match accepted {
                Some(a) => a,
                None => tokio::time::timeout(self.options.step_deadline, accept).await.map_err(|_| self.hang(None, "accept"))?,
            };
            accepted.map_err(|e| format!("the peer could not accept the subject's connection: {e}"))?
        } else {
            let op = Op::StartServer(Listen { host: self.world.server_host().into(), limit: config.limit });
            let pending = self.start(None, op, None, true).await?;
            let served = self.outcome(None, pending).await?;
            self.record(None, Side::Subject, "start_server".into(), Some(served.clone()));
            let Outcome::Ok(Value::Port { port }) = served else {
                return Err(format!("start_server failed: {}", served.show()));
            };
            let connected = tokio::time::timeout(self.options.step_deadline, self.world.connect(port)).await.map_err(|_| self.hang(None, "connect"))?;
            let link = connected.map_err(|e| format!("the peer cannot connect to the subject's port {port}: {e}"))?;
            self.record(None, Side::Peer, format!("connect {}", self.where_to(port)), None);
            link
        };
        let mut peer = Peer::new(link);
        if config.high_water.is_some() || config.low_water.is_some() {
            let op = Op::SetWriteBufferLimits(WaterMarks { high: config.high_water, low: config.low_water });
            let action = op.describe();
            let pending = self.start(None, op, None, true).await?;
            let set = peer.drive(self.outcome(None, pending)).await?;
            self.record(None, Side::Subject, action, Some(set.clone()));
            if !matches!(set, Outcome::Ok(_)) {
                return Err(format!("the scenario's water marks were refused: {}", set.show()));
            }
        }
        Ok(peer)
    }

    fn where_to(&self, port: u16) -> String {
        match self.world.kind() {
            super::world::WorldKind::Sim => format!("{}:{port}", if self.scenario.subject.is_client() { "peer" } else { "subject" }),
            super::world::WorldKind::Loopback => "127.0.0.1".into(),
        }
    }

    /// Sends `op` to the subject and waits until it has really started (its first wait).
    /// `waits`: the step takes the outcome at once, so no separate "start" line is written.
    async fn start(&mut self, step: Option<usize>, op: Op, timeout: Option<Duration>, waits: bool) -> Result<InFlight, String> {
        let action = op.describe();
        let mut pending = self.subject.start(op, timeout)?;
        let started_at = self.world.now();
        if !waits {
            self.record(step, Side::Subject, format!("start {action}"), None);
        }
        let started = tokio::time::timeout(self.options.step_deadline, &mut pending.started).await;
        // A dropped sender also means the operation is under way (or already done).
        started.map_err(|_| self.hang(step, &action))?.ok();
        Ok(InFlight { pending, started_at, action })
    }

    /// Waits for an operation's outcome (for the session operations, which have no step).
    async fn outcome(&self, step: Option<usize>, op: InFlight) -> Result<Outcome, String> {
        self.done(step, &op.action, op.pending.reply).await.map(|(o, _)| o)
    }

    async fn done(&self, step: Option<usize>, action: &str, reply: tokio::sync::oneshot::Receiver<Done>) -> Result<(Outcome, Duration), String> {
        match tokio::time::timeout(self.options.step_deadline, reply).await {
            Ok(Ok((Ok(out), took))) => Ok((out, took)),
            Ok(Ok((Err(broken), _))) => Err(at_step(step, &broken.0)),
            Ok(Err(_)) => Err(at_step(step, &format!("the subject dropped `{action}` without an outcome (it crashed)"))),
            Err(_) => Err(self.hang(step, action)),
        }
    }

    async fn subject_step(&mut self, i: usize, step: &Step, op: &Op, peer: &mut Peer) -> Result<(), String> {
        let op_in_flight = match self.early.remove(&i) {
            Some(early) => early,
            None => {
                let waits = step.name.is_none() && step.pending_for.is_none();
                let start = self.start(Some(i), op.clone(), step.timeout.map(|d| d.0), waits);
                peer.drive(start).await?
            }
        };
        match (step.pending_for, &step.name) {
            (Some(wait), name) => self.check_pending(i, wait.0, name.clone(), op_in_flight, peer).await,
            (None, Some(name)) => {
                self.named.insert(name.clone(), op_in_flight);
                Ok(())
            }
            (None, None) => self.finish(i, op_in_flight, peer).await,
        }
    }

    /// `pending_for`: after `wait`, the operation must still be blocked. Named, it stays in flight
    /// for its `await`; unnamed, the user gives up on it (`task.cancel(); await task`).
    async fn check_pending(&mut self, i: usize, wait: Duration, name: Option<String>, mut op: InFlight, peer: &mut Peer) -> Result<(), String> {
        peer.drive(tokio::time::sleep(wait)).await;
        let done = op.pending.reply.try_recv().ok();
        if let Some((Err(broken), _)) = &done {
            return Err(at_step(Some(i), &broken.0));
        }
        let done = done.map(|(o, took)| (o.expect("checked above"), took));
        let still = done.is_none();
        self.push(Event {
            at: self.world.now(),
            step: Some(i),
            side: Side::Subject,
            action: format!("{} (pending_for {})", op.action, humantime::format_duration(wait)),
            outcome: done.as_ref().map(|d| d.0.clone()),
            took: done.as_ref().map(|d| d.1),
            still_pending: Some(still),
        });
        match (name, done) {
            (Some(name), None) => {
                self.named.insert(name, op);
            }
            (None, None) => {
                if let Some(ack) = op.pending.cancel() {
                    let let_go = peer.drive(tokio::time::timeout(self.options.step_deadline, ack)).await;
                    if let Ok(Ok(Err(broken))) = let_go {
                        return Err(at_step(Some(i), &broken.0));
                    }
                }
                self.record(Some(i), Side::Harness, format!("cancel {}", op.action), None);
            }
            (Some(name), Some(done)) => {
                // Completed too early: the verdict fails the pending_for step, and the later
                // `await` still finds the outcome.
                let (tx, rx) = tokio::sync::oneshot::channel();
                let _ = tx.send((Ok(done.0), done.1));
                op.pending.reply = rx;
                self.named.insert(name, op);
            }
            (None, Some(_)) => {}
        }
        Ok(())
    }

    /// Waits for an operation's outcome and records it for step `i`. `took` counts from this
    /// step's start, so `within` on an `await` means "after the await".
    async fn finish(&mut self, i: usize, op: InFlight, peer: &mut Peer) -> Result<(), String> {
        let step_start = self.world.now();
        let (outcome, took) = peer.drive(self.done(Some(i), &op.action, op.pending.reply)).await?;
        self.push(Event {
            at: self.world.now(),
            step: Some(i),
            side: Side::Subject,
            action: op.action,
            outcome: Some(outcome),
            took: Some((op.started_at + took).saturating_sub(step_start.max(op.started_at))),
            still_pending: None,
        });
        Ok(())
    }

    /// Plays a send as the plan cuts it, starting the plan's early reads between the pieces.
    async fn send(&mut self, i: usize, data: bytes::Bytes, peer: &mut Peer) -> Result<(), String> {
        let pieces = self.plan.pieces(i, &self.scenario.steps[i]);
        let mut offset = 0;
        for (k, (len, gap)) in pieces.iter().enumerate() {
            self.start_early_reads(i, k, peer).await?;
            let piece = data.slice(offset..offset + len);
            offset += len;
            let what = format!("send {}", crate::vocab::bytes::show(&piece));
            match tokio::time::timeout(self.options.step_deadline, peer.send_piece(piece)).await {
                Ok(Ok(())) => self.record(Some(i), Side::Peer, what, None),
                Ok(Err(e)) => self.record(Some(i), Side::Peer, format!("{what} failed: {e}"), None),
                Err(_) => {
                    let secs = self.options.step_deadline.as_secs_f64();
                    return Err(format!("step {}: the peer's send blocked for {secs}s: the subject is not reading", i + 1));
                }
            }
            if *gap > 0 {
                peer.drive(tokio::time::sleep(Duration::from_millis(*gap))).await;
            }
        }
        self.start_early_reads(i, pieces.len(), peer).await?;
        self.settle(peer).await;
        Ok(())
    }

    /// Starts the plan's early reads that go before piece `k` of send step `send_step`.
    async fn start_early_reads(&mut self, send_step: usize, k: usize, peer: &mut Peer) -> Result<(), String> {
        let reads: Vec<usize> = self.plan.early_starts.iter().filter(|(_, &(s, before))| s == send_step && before == k).map(|(&r, _)| r).collect();
        for read in reads {
            if let Action::Subject(op) = &self.scenario.steps[read].action {
                let started = peer.drive(self.start(Some(read), op.clone(), None, false)).await?;
                self.early.insert(read, started);
            }
        }
        Ok(())
    }

    /// Plays one peer verb: the transcript's line, and an outcome for `recv`.
    async fn peer_step(&mut self, step: &Step, action: &PeerAction, peer: &mut Peer) -> Result<(String, Option<Outcome>), String> {
        let played: Played = match action {
            PeerAction::Send { .. } => unreachable!("sends are played by `send`"),
            PeerAction::Sleep(d) => {
                peer.drive(tokio::time::sleep(d.0)).await;
                Ok(format!("slept {d}"))
            }
            PeerAction::Eof => peer.eof().await,
            PeerAction::Close => peer.close().await,
            PeerAction::Reset => peer.reset().await,
            PeerAction::StopReading => peer.stop_reading(),
            PeerAction::ResumeReading => peer.resume_reading(),
            PeerAction::Hold => peer.hold(self.world),
            PeerAction::Release => peer.release(self.world).await,
            PeerAction::Recv(amount) => {
                let n = match amount {
                    RecvAmount::Exactly(n) => Some(*n),
                    RecvAmount::All(_) => None,
                };
                let what = n.map_or("recv all".to_string(), |n| format!("recv {n}"));
                // Nothing (more) arriving is what the subject did, not a hang of the harness: a
                // timeout outcome, which the step's `expect` judges.
                let wait = step.timeout.map_or(self.options.step_deadline, |t| t.0.min(self.options.step_deadline));
                return Ok(match tokio::time::timeout(wait, peer.recv(n)).await {
                    Ok(got) => (what, Some(recv_outcome(n, got))),
                    Err(_) => {
                        let (secs, held) = (wait.as_secs_f64(), peer.inbox.data.len());
                        let end = if n.is_some() { "enough bytes" } else { "EOF" };
                        (format!("{what} (no {end} within {secs}s; {held} bytes arrived)"), Some(Outcome::Timeout(true)))
                    }
                });
            }
        };
        played.map(|line| (line, None))
    }

    /// In fuzzed runs, lets what the peer just did reach the subject before the next step, so
    /// steps that follow see what the canonical run saw. Canonical runs are left as written.
    async fn settle(&self, peer: &mut Peer) {
        if let Some(d) = self.plan.settle {
            peer.drive(tokio::time::sleep(d)).await;
        }
    }
}

fn at_step(step: Option<usize>, what: &str) -> String {
    match step {
        Some(s) => format!("step {}: {what}", s + 1),
        None => what.to_string(),
    }
}

/// What a peer `recv` produced, in the vocabulary (an error kind as the reference would name it).
fn recv_outcome(n: Option<usize>, got: Result<bytes::Bytes, (bytes::Bytes, Option<std::io::ErrorKind>)>) -> Outcome {
    match got {
        Ok(data) => Outcome::Ok(Value::Bytes(data.into())),
        Err((partial, None)) => Outcome::Error(ErrorOutcome {
            kind: Some(ErrorType::IncompleteRead),
            partial: Some(partial.into()),
            expected: Some(n.map(|n| n as u64)),
            ..Default::default()
        }),
        Err((_, Some(kind))) => Outcome::Error(ErrorOutcome {
            kind: Some(match kind {
                std::io::ErrorKind::ConnectionReset => ErrorType::ConnectionReset,
                std::io::ErrorKind::BrokenPipe => ErrorType::BrokenPipe,
                _ => ErrorType::Other,
            }),
            message: Some(std::io::Error::from(kind).to_string()),
            ..Default::default()
        }),
    }
}
