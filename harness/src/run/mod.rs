//! Running a scenario inside turmoil's simulated network, in simulated time.
//!
//! Two hosts: `peer` runs the director, which walks the steps and plays the scripted peer;
//! `subject` runs the implementation under test and answers the director's operations, each
//! as its own task so that `as:` operations can stay pending while others run.

pub mod peer;
pub mod subject;

use crate::bytes::show;
use crate::op::Op;
use crate::outcome::{ErrorOutcome, ErrorType, Outcome, Value};
use crate::scenario::{Action, PeerAction, RecvAmount, Scenario, SubjectConfig, SubjectKind};
use crate::transcript::{Event, Side, Transcript};
use peer::{PeerReader, PeerWriter};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use subject::{BoxFuture, Subject, SubjectFactory};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

const PEER_PORT: u16 = 9000;
const SUBJECT_PORT: u16 = 9001;
const DEFAULT_LATENCY: Duration = Duration::from_millis(1);

/// How one run is set up.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub seed: u64,
    /// How long (simulated) any one step may take before the run is an ERROR (a hang).
    pub step_deadline: Duration,
    /// Chunk-fuzzing changes; `None` for the canonical run.
    pub perturbation: Option<Perturbation>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { seed: 0, step_deadline: Duration::from_secs(30), perturbation: None }
    }
}

/// A re-split of the peer's sends and earlier starts for subject reads (chunk fuzzing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Perturbation {
    /// Step index of a `send` → its pieces: (length, gap in ms before the next piece).
    pub splits: BTreeMap<usize, Vec<(usize, u64)>>,
    /// Step index of a subject read → (the `send` step it overlaps, the piece it starts before;
    /// `pieces.len()` means after the last piece).
    pub early_starts: BTreeMap<usize, (usize, usize)>,
}

/// A subject operation in flight, as the director holds it.
struct Pending {
    reply: oneshot::Receiver<(Outcome, Duration)>,
    /// Simulated time the operation started.
    started_at: Duration,
    cancel: Option<oneshot::Sender<oneshot::Sender<()>>>,
    action: String,
}

enum Command {
    Connect { host: String, port: u16, config: SubjectConfig, reply: oneshot::Sender<Outcome> },
    Serve { port: u16, config: SubjectConfig, reply: oneshot::Sender<Outcome> },
    Call { op: Op, timeout: Option<Duration>, started: oneshot::Sender<()>, cancel: oneshot::Receiver<oneshot::Sender<()>>, reply: oneshot::Sender<(Outcome, Duration)> },
}

type Log = Arc<Mutex<Vec<Event>>>;

fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

fn log(events: &Log, step: Option<usize>, side: Side, action: String, outcome: Option<Outcome>) {
    events.lock().expect("log lock").push(Event { at: now(), step, side, action, outcome, took: None, still_pending: None });
}

/// Runs `scenario` against the reference implementation.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Transcript {
    run_with(scenario, options, Arc::new(subject::Reference))
}

/// Runs `scenario` against any in-process subject.
pub fn run_with(scenario: &Scenario, options: &RunOptions, factory: Arc<dyn SubjectFactory>) -> Transcript {
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
    let (tx, rx) = mpsc::unbounded_channel::<Command>();
    let rx = Arc::new(Mutex::new(Some(rx)));
    sim.host("subject", move || {
        let rx = rx.lock().expect("rx lock").take();
        let factory = factory.clone();
        async move {
            if let Some(rx) = rx {
                serve_commands(rx, factory).await;
            }
            Ok(())
        }
    });
    let harness_error: Arc<Mutex<Option<String>>> = Arc::default();
    {
        let scenario = scenario.clone();
        let events = events.clone();
        let harness_error = harness_error.clone();
        let options = options.clone();
        sim.client("peer", async move {
            let mut director = Director { tx, events, options, pending: BTreeMap::new(), scenario };
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
    Transcript { seed: options.seed, events, harness_error: error }
}

/// The subject host: opens the session when told, then runs each operation as its own task.
async fn serve_commands(mut rx: mpsc::UnboundedReceiver<Command>, factory: Arc<dyn SubjectFactory>) {
    let (session_tx, session_rx) = watch::channel::<Option<Arc<dyn Subject>>>(None);
    let session_tx = Arc::new(session_tx);
    while let Some(cmd) = rx.recv().await {
        match cmd {
            Command::Connect { host, port, config, reply } => match factory.connect(host, port, config).await {
                Ok(s) => {
                    session_tx.send_replace(Some(s));
                    let _ = reply.send(Outcome::Ok(Value::Null));
                }
                Err(o) => {
                    let _ = reply.send(o);
                }
            },
            Command::Serve { port, config, reply } => match factory.serve(port, config).await {
                Ok((port, first)) => {
                    let session_tx = session_tx.clone();
                    tokio::spawn(async move {
                        session_tx.send_replace(Some(first.await));
                    });
                    let _ = reply.send(Outcome::Ok(Value::Port { port }));
                }
                Err(o) => {
                    let _ = reply.send(o);
                }
            },
            Command::Call { op, timeout, started, cancel, reply } => {
                let mut session_rx = session_rx.clone();
                tokio::spawn(async move {
                    let Ok(session) = session_rx.wait_for(Option::is_some).await.map(|s| s.clone().expect("waited for Some")) else { return };
                    let t0 = Instant::now();
                    let call = FirstPoll { inner: session.call(op), started: Some(started) };
                    let bounded = async {
                        match timeout {
                            Some(t) => tokio::time::timeout(t, call).await.unwrap_or(Outcome::Timeout(true)),
                            None => call.await,
                        }
                    };
                    let done = tokio::select! {
                        biased;
                        Ok(ack) = cancel => Err(ack),
                        out = bounded => Ok(out),
                    };
                    // The operation's future is dropped by now, so a cancelled read has let go.
                    match done {
                        Ok(out) => {
                            let _ = reply.send((out, t0.elapsed()));
                        }
                        Err(ack) => {
                            let _ = ack.send(());
                        }
                    }
                });
            }
        }
    }
}

/// Signals once the operation has been polled, i.e. has really started (a read is waiting).
struct FirstPoll {
    inner: BoxFuture<Outcome>,
    started: Option<oneshot::Sender<()>>,
}

impl Future for FirstPoll {
    type Output = Outcome;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let out = self.inner.as_mut().poll(cx);
        if let Some(s) = self.started.take() {
            let _ = s.send(());
        }
        out
    }
}

struct Director {
    tx: mpsc::UnboundedSender<Command>,
    events: Log,
    options: RunOptions,
    pending: BTreeMap<String, Pending>,
    scenario: Scenario,
}

impl Director {
    fn hang(&self, step: Option<usize>, what: &str) -> String {
        let at = step.map_or(String::new(), |s| format!("step {} ", s + 1));
        format!(
            "{at}(`{what}`) did not complete within {}s of simulated time: the subject hangs. If blocking is the expected behaviour, give the step `timeout:` or `pending_for:`",
            self.options.step_deadline.as_secs()
        )
    }

    async fn direct(&mut self) -> Result<(), String> {
        let (mut reader, mut writer) = self.open().await?;
        let steps = self.scenario.steps.clone();
        for (i, step) in steps.iter().enumerate() {
            match &step.action {
                Action::Peer(p) => self.peer_step(i, p, &mut reader, &mut writer).await?,
                Action::Subject(op) => {
                    let internal = format!("#early{i}");
                    let pending = match self.pending.remove(&internal) {
                        Some(p) => p,
                        None => {
                            let waits = step.name.is_none() && step.pending_for.is_none();
                            self.start(Some(i), op, step.timeout.map(|d| d.0), waits, &mut reader).await?
                        }
                    };
                    if let Some(wait) = step.pending_for {
                        let mut pending = pending;
                        reader.drive(tokio::time::sleep(wait.0)).await;
                        let done = pending.reply.try_recv().ok();
                        let still = done.is_none();
                        self.events.lock().expect("log").push(Event {
                            at: now(),
                            step: Some(i),
                            side: Side::Subject,
                            action: format!("{} (pending_for {wait})", pending.action),
                            outcome: done.as_ref().map(|d| d.0.clone()),
                            took: done.as_ref().map(|d| d.1),
                            still_pending: Some(still),
                        });
                        match (&step.name, still) {
                            (Some(name), true) => {
                                self.pending.insert(name.clone(), pending);
                            }
                            (_, true) => {
                                // Not named: the user gives up on it, like `task.cancel(); await task`.
                                if let Some(c) = pending.cancel.take() {
                                    let (ack_tx, ack_rx) = oneshot::channel();
                                    if c.send(ack_tx).is_ok() {
                                        let deadline = self.options.step_deadline;
                                        let _ = reader.drive(tokio::time::timeout(deadline, ack_rx)).await;
                                    }
                                }
                                log(&self.events, Some(i), Side::Harness, format!("cancel {}", pending.action), None);
                            }
                            (Some(name), false) => {
                                // Completed too early: the verdict fails the pending_for step, and the
                                // later `await` still finds the outcome.
                                let (tx, rx) = oneshot::channel();
                                let _ = tx.send(done.expect("not pending means done"));
                                pending.reply = rx;
                                self.pending.insert(name.clone(), pending);
                            }
                            (None, false) => {}
                        }
                    } else if let Some(name) = &step.name {
                        self.pending.insert(name.clone(), pending);
                    } else {
                        self.finish(i, pending, &mut reader).await?;
                    }
                }
                Action::Await(name) => {
                    let pending = self.pending.remove(name).ok_or_else(|| format!("step {}: `await: {name}` has nothing to await", i + 1))?;
                    self.finish(i, pending, &mut reader).await?;
                }
            }
        }
        Ok(())
    }

    /// Opens the session: the subject connects to the peer, or the peer to the subject.
    async fn open(&mut self) -> Result<(PeerReader, PeerWriter), String> {
        let config = self.scenario.config.clone();
        let deadline = self.options.step_deadline;
        let stream = match self.scenario.subject {
            SubjectKind::StreamClient | SubjectKind::WsClient => {
                let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PEER_PORT)).await.map_err(|e| format!("the peer cannot listen: {e}"))?;
                let (reply, rx) = oneshot::channel();
                self.send_cmd(Command::Connect { host: "peer".into(), port: PEER_PORT, config, reply })?;
                let accept = async { listener.accept().await.map(|(s, _)| s) };
                let (accepted, opened) = tokio::time::timeout(deadline, async { tokio::join!(accept, rx) }).await.map_err(|_| self.hang(None, "open_connection"))?;
                let opened = opened.map_err(|_| "the subject host stopped while connecting".to_string())?;
                log(&self.events, None, Side::Subject, format!("open_connection peer:{PEER_PORT}"), Some(opened));
                accepted.map_err(|e| format!("the peer could not accept: {e}"))?
            }
            SubjectKind::StreamServer | SubjectKind::WsServer => {
                let (reply, rx) = oneshot::channel();
                self.send_cmd(Command::Serve { port: SUBJECT_PORT, config, reply })?;
                let served = tokio::time::timeout(deadline, rx).await.map_err(|_| self.hang(None, "start_server"))?.map_err(|_| "the subject host stopped".to_string())?;
                let port = match &served {
                    Outcome::Ok(Value::Port { port }) => *port,
                    _ => {
                        log(&self.events, None, Side::Subject, "start_server".into(), Some(served.clone()));
                        return Err(format!("start_server failed: {}", served.show()));
                    }
                };
                log(&self.events, None, Side::Subject, "start_server".into(), Some(served));
                let stream = turmoil::net::TcpStream::connect(("subject", port)).await.map_err(|e| format!("the peer cannot connect: {e}"))?;
                log(&self.events, None, Side::Peer, format!("connect subject:{port}"), None);
                stream
            }
        };
        Ok(peer::split(stream))
    }

    fn send_cmd(&self, cmd: Command) -> Result<(), String> {
        self.tx.send(cmd).map_err(|_| "the subject host is gone".to_string())
    }

    /// Starts an operation on the subject and waits until it has really started.
    /// `waits`: the step waits for the outcome at once (no separate "start" line then).
    async fn start(&mut self, step: Option<usize>, op: &Op, timeout: Option<Duration>, waits: bool, reader: &mut PeerReader) -> Result<Pending, String> {
        let (started_tx, started_rx) = oneshot::channel();
        let (cancel_tx, cancel_rx) = oneshot::channel();
        let (reply_tx, reply_rx) = oneshot::channel();
        self.send_cmd(Command::Call { op: op.clone(), timeout, started: started_tx, cancel: cancel_rx, reply: reply_tx })?;
        let action = op.describe();
        let started_at = now();
        if !waits {
            log(&self.events, step, Side::Subject, format!("start {action}"), None);
        }
        let deadline = self.options.step_deadline;
        match reader.drive(tokio::time::timeout(deadline, started_rx)).await {
            Ok(_) => Ok(Pending { reply: reply_rx, started_at, cancel: Some(cancel_tx), action }),
            Err(_) => Err(self.hang(step, &action)),
        }
    }

    /// Waits for an operation's outcome and records it for step `i`.
    /// `took` counts from this step's start, so `within` on an `await` means "after the await".
    async fn finish(&mut self, i: usize, pending: Pending, reader: &mut PeerReader) -> Result<(), String> {
        let step_start = now();
        let started_at = pending.started_at;
        let deadline = self.options.step_deadline;
        let action = pending.action.clone();
        let (outcome, took) = match reader.drive(tokio::time::timeout(deadline, pending.reply)).await {
            Ok(Ok(done)) => done,
            Ok(Err(_)) => return Err(format!("step {}: the subject dropped `{action}` without an outcome (it crashed)", i + 1)),
            Err(_) => return Err(self.hang(Some(i), &action)),
        };
        self.events.lock().expect("log").push(Event {
            at: now(),
            step: Some(i),
            side: Side::Subject,
            action,
            outcome: Some(outcome),
            took: Some((started_at + took).saturating_sub(step_start.max(started_at))),
            still_pending: None,
        });
        Ok(())
    }

    async fn peer_step(&mut self, i: usize, action: &PeerAction, reader: &mut PeerReader, writer: &mut PeerWriter) -> Result<(), String> {
        let ev = |s: String| (Some(i), s);
        match action {
            PeerAction::Send { send, chunks, gap } => {
                let pieces = self.pieces(i, send.as_slice(), chunks.as_deref(), gap.map(|g| g.0));
                let mut offset = 0;
                for (k, (len, gap)) in pieces.iter().enumerate() {
                    self.start_early_reads(i, k, reader).await?;
                    let piece = &send.as_slice()[offset..offset + len];
                    offset += len;
                    let (step, what) = ev(format!("send {}", show(piece)));
                    match reader.drive(tokio::time::timeout(self.options.step_deadline, writer.send(piece))).await {
                        Ok(Ok(())) => log(&self.events, step, Side::Peer, what, None),
                        Ok(Err(e)) => log(&self.events, step, Side::Peer, format!("{what} failed: {e}"), None),
                        Err(_) => return Err(format!("step {}: the peer's send blocked for {}s: the subject is not reading", i + 1, self.options.step_deadline.as_secs())),
                    }
                    if *gap > 0 {
                        reader.drive(tokio::time::sleep(Duration::from_millis(*gap))).await;
                    }
                }
                self.start_early_reads(i, pieces.len(), reader).await?;
                self.settle(reader).await;
            }
            PeerAction::Sleep(d) => {
                reader.drive(tokio::time::sleep(d.0)).await;
                log(&self.events, Some(i), Side::Peer, format!("slept {d}"), None);
            }
            PeerAction::Eof => {
                let r = peer::eof(reader, writer).await;
                log(&self.events, Some(i), Side::Peer, describe_io("eof", r), None);
                self.settle(reader).await;
            }
            PeerAction::Close => {
                let r = peer::close(reader, writer).await;
                log(&self.events, Some(i), Side::Peer, describe_io("close", r), None);
                self.settle(reader).await;
            }
            PeerAction::Reset => {
                peer::reset(reader, writer).await.map_err(|e| format!("step {}: {e}", i + 1))?;
                log(&self.events, Some(i), Side::Peer, "reset".into(), None);
                self.settle(reader).await;
            }
            PeerAction::StopReading => {
                reader.reading = false;
                log(&self.events, Some(i), Side::Peer, "stop_reading".into(), None);
            }
            PeerAction::ResumeReading => {
                reader.reading = true;
                log(&self.events, Some(i), Side::Peer, "resume_reading".into(), None);
            }
            PeerAction::Hold => {
                turmoil::hold("peer", "subject");
                log(&self.events, Some(i), Side::Peer, "hold".into(), None);
            }
            PeerAction::Release => {
                turmoil::release("peer", "subject");
                log(&self.events, Some(i), Side::Peer, "release".into(), None);
            }
            PeerAction::Recv(amount) => {
                let n = match amount {
                    RecvAmount::Exactly(n) => Some(*n),
                    RecvAmount::All(_) => None,
                };
                let what = n.map_or("recv all".to_string(), |n| format!("recv {n}"));
                let got = tokio::time::timeout(self.options.step_deadline, reader.recv(n)).await.map_err(|_| self.hang(Some(i), &what))?;
                let outcome = match got {
                    Ok(data) => Outcome::Ok(Value::Bytes(data.as_slice().into())),
                    Err((partial, None)) => Outcome::Error(ErrorOutcome {
                        kind: Some(ErrorType::IncompleteRead),
                        partial: Some(partial.as_slice().into()),
                        expected: Some(n.map(|n| n as u64)),
                        ..Default::default()
                    }),
                    Err((_, Some(kind))) => {
                        let e: streamcheck_impl::stream::StreamError = std::io::Error::from(kind).into();
                        Outcome::Error(ErrorOutcome::from(&e))
                    }
                };
                log(&self.events, Some(i), Side::Peer, what, Some(outcome));
            }
        }
        Ok(())
    }

    /// In fuzzed runs, lets what the peer just did reach the subject before the next step, so
    /// steps that follow see what the canonical run saw. Canonical runs are left as written.
    async fn settle(&self, reader: &mut PeerReader) {
        if self.options.perturbation.is_some() {
            let latency = self.scenario.network.latency.map_or(DEFAULT_LATENCY, |d| d.0);
            reader.drive(tokio::time::sleep(latency + Duration::from_millis(1))).await;
        }
    }

    /// The pieces of a send: the scenario's chunks, or the fuzzer's re-split.
    fn pieces(&self, step: usize, data: &[u8], chunks: Option<&[usize]>, gap: Option<Duration>) -> Vec<(usize, u64)> {
        if let Some(split) = self.options.perturbation.as_ref().and_then(|p| p.splits.get(&step)) {
            return split.clone();
        }
        let gap = gap.map_or(0, |g| g.as_millis() as u64);
        cut(data.len(), chunks).into_iter().map(|len| (len, gap)).collect()
    }

    /// Starts the fuzzer's early reads that go before piece `k` of send step `send_step`.
    async fn start_early_reads(&mut self, send_step: usize, k: usize, reader: &mut PeerReader) -> Result<(), String> {
        let Some(p) = self.options.perturbation.clone() else { return Ok(()) };
        for (&read_step, &(s, before)) in &p.early_starts {
            if s == send_step && before == k {
                if let Action::Subject(op) = &self.scenario.steps[read_step].action {
                    let op = op.clone();
                    let pending = self.start(Some(read_step), &op, None, false, reader).await?;
                    self.pending.insert(format!("#early{read_step}"), pending);
                }
            }
        }
        Ok(())
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
    if left > 0 {
        out.push(left);
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}

fn describe_io(what: &str, r: std::io::Result<()>) -> String {
    match r {
        Ok(()) => what.to_string(),
        Err(e) => format!("{what} failed: {e}"),
    }
}
