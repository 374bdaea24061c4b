//! Differential fuzzing: random stream scenarios played on real loopback TCP against two
//! implementations until their outcomes differ; the first difference is shrunk (fewer steps,
//! shorter data) and written out as a scenario expecting the second one's outcomes (the oracle).
//!
//! The scenarios are generated so that no outcome depends on scheduling:
//! - the peer sends at most 2 × limit bytes in all, so no reader pauses its transport (bytes
//!   left in the kernel would arrive when neither side decides);
//! - a read starts before its data (`as:`) exactly when the model of CPython's buffer says it
//!   would wait, and is awaited right after the send or EOF that completes it, before any other
//!   subject op; a pending read at the end is completed by EOF; `read(-1)` comes only after EOF;
//! - with a small limit, or for `read(n)`, one send completes the read by itself (a subject may
//!   see two quick sends as one arrival, and an overrun or `read(n)` depends on that); with the
//!   default limit other reads cannot overrun and may gather several sends;
//! - each write is followed by the peer's `recv` of exactly those bytes, `write_eof` by
//!   `recv: all`, and nothing is written after `write_eof`.
//!
//! The model is exact until a read may overrun the limit; then it forgets the buffer, and later
//! reads are completed by data that guarantees it. Consecutive sends stand in for `chunks`.

use crate::fuzz::chunks::as_scenario;
use crate::run::subject::process::{AdapterSpec, ProcessSubject};
use crate::run::subject::reference::Reference;
use crate::run::subject::Subject;
use crate::run::world::{loopback, WorldKind};
use crate::run::{RunOptions, SendPlan};
use crate::scenario::load::{from_yaml, to_yaml};
use crate::scenario::{Action, AllWord, PeerAction, RecvAmount, Scenario, Step, SubjectConfig, SubjectKind, VersionRange};
use crate::suite::unsupported_by;
use crate::transcript::Transcript;
use crate::vocab::bytes::ByteString;
use crate::vocab::op::{Op, Separator};
use crate::vocab::outcome::{Outcome, Value};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::Duration;
use streamcheck_impl::stream::TokioNet;

/// One implementation in a differential run.
#[derive(Clone, Debug)]
pub enum Side {
    /// The reference implementation, in process (a fresh one per scenario).
    Reference,
    /// An adapter process speaking the driver protocol, serving scenario after scenario.
    Adapter(AdapterSpec),
}

impl Side {
    pub fn label(&self) -> String {
        match self {
            Side::Reference => "the reference implementation (in process)".into(),
            Side::Adapter(spec) => format!("the adapter `{}`", spec.command),
        }
    }
}

/// How a differential run goes.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    pub cases: u32,
    /// The same seed gives the same cases.
    pub seed: u64,
    /// How long any one step may take (wall time) before that side's run is broken.
    pub deadline: Duration,
}

impl Default for DiffOptions {
    fn default() -> Self {
        // Every generated step takes milliseconds; a short deadline keeps shrinking a hang quick.
        DiffOptions { cases: 1000, seed: 0, deadline: Duration::from_secs(1) }
    }
}

/// How a differential run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum DiffResult {
    Agreed { cases: u32 },
    /// The first disagreement, shrunk: `step` (1-based) of `scenario_yaml`, where `a` and `b`
    /// are what each side did; the scenario expects `b`'s outcomes. `cases_run` counts the
    /// cases up to the one that found it.
    Disagreed { cases_run: u32, step: usize, a: String, b: String, scenario_yaml: String },
}

/// Runs `options.cases` random scenarios on both sides and returns the first disagreement,
/// shrunk. `progress` hears the number of cases run every 100 cases. `Err`: a side could not
/// start at all (its command does not run, or speaks another protocol).
pub fn differential(a: &Side, b: &Side, options: &DiffOptions, progress: &mut dyn FnMut(u32)) -> Result<DiffResult, String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("cannot make a tokio runtime: {e}"))?;
    let first = rt.block_on(Running::start(a, options.deadline))?;
    let second = rt.block_on(Running::start(b, options.deadline)).inspect_err(|_| rt.block_on(first.stop()))?;
    let result = search(&rt, [&first, &second], options, progress);
    rt.block_on(async {
        first.stop().await;
        second.stop().await;
    });
    result
}

/// One side, started: an adapter process runs from start to end; the reference is made per run.
struct Running {
    label: String,
    adapter: Option<Arc<ProcessSubject>>,
    /// The CPython version the adapter says it runs, if any.
    cpython: Option<String>,
}

/// One run of one scenario on one side, and the adapter's last requests and stderr if it broke.
struct Ran {
    transcript: Transcript,
    evidence: String,
}

impl From<Transcript> for Ran {
    fn from(transcript: Transcript) -> Ran {
        Ran { transcript, evidence: String::new() }
    }
}

impl Running {
    async fn start(side: &Side, deadline: Duration) -> Result<Running, String> {
        let Side::Adapter(spec) = side else { return Ok(Running { label: side.label(), adapter: None, cpython: None }) };
        let subject = Arc::new(ProcessSubject::new(AdapterSpec { deadline, ..spec.clone() }));
        match subject.ready().await {
            Ok(hello) => Ok(Running { label: format!("{} {} (`{}`)", hello.name, hello.version, spec.command), adapter: Some(subject), cpython: hello.cpython }),
            Err(e) => {
                subject.stop().await;
                Err(format!("{} could not start: {}", side.label(), e.message()))
            }
        }
    }

    async fn stop(&self) {
        if let Some(a) = &self.adapter {
            a.stop().await;
        }
    }

    /// Whether it runs CPython 3.13's semantics (or is no CPython at all): tuple separators.
    fn has_tuple_separators(&self) -> bool {
        let older = VersionRange::new("<3.13").expect("a literal range");
        self.cpython.as_deref().is_none_or(|v| !older.contains(v))
    }

    /// Runs `scenario` as the suite does (harness/src/suite.rs, `run_one`), keeping the adapter's
    /// evidence apart so that the same harness error on both sides compares equal.
    async fn run(&self, scenario: &Scenario, options: &RunOptions) -> Ran {
        let Some(subject) = &self.adapter else {
            return loopback::run(scenario, options, Arc::new(Reference::<TokioNet>::new())).await.into();
        };
        let hello = match subject.ready().await {
            Ok(h) => h,
            Err(e) => return Transcript { harness_error: Some(format!("the adapter could not start: {}", e.message())), world: WorldKind::Loopback, ..Transcript::default() }.into(),
        };
        if let Some(why) = unsupported_by(&hello, scenario) {
            return Transcript::unsupported(options.seed, WorldKind::Loopback, why).into();
        }
        let mut transcript = loopback::run(scenario, options, subject.clone()).await;
        let evidence = if transcript.harness_error.is_some() { subject.evidence() } else { String::new() };
        if let Err(why) = subject.end_scenario(transcript.harness_error.is_none()).await {
            transcript.harness_error.get_or_insert(why);
        }
        Ran { transcript, evidence }
    }
}

/// Where two runs first differ: the step (0-based) and what each side did there.
#[derive(Clone, Debug)]
struct Difference {
    step: usize,
    a: String,
    b: String,
}

/// The last failing case: after shrinking, the smallest.
struct Found {
    scenario: Scenario,
    difference: Difference,
    oracle: Transcript,
}

fn search(rt: &tokio::runtime::Runtime, sides: [&Running; 2], options: &DiffOptions, progress: &mut dyn FnMut(u32)) -> Result<DiffResult, String> {
    let run_options = RunOptions { seed: options.seed, step_deadline: options.deadline, plan: None };
    let strategy = scenarios(sides.iter().all(|s| s.has_tuple_separators()));
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&options.seed.to_le_bytes());
    let config = Config { cases: options.cases, failure_persistence: None, max_shrink_iters: 1024, max_shrink_time: 120_000, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let (cases, found_at, last) = (Cell::new(0u32), Cell::new(None::<u32>), RefCell::new(None::<Found>));
    let progress = RefCell::new(progress);
    let outcome = runner.run(&strategy, |scenario| {
        if found_at.get().is_none() {
            cases.set(cases.get() + 1);
            if cases.get() % 100 == 0 {
                (progress.borrow_mut())(cases.get());
            }
        }
        let (a, b) = rt.block_on(async { (sides[0].run(&scenario, &run_options).await, sides[1].run(&scenario, &run_options).await) });
        let Some(difference) = first_difference(&scenario, &a, &b) else { return Ok(()) };
        found_at.set(found_at.get().or(Some(cases.get())));
        let why = format!("step {}: {} / {}", difference.step + 1, difference.a, difference.b);
        *last.borrow_mut() = Some(Found { scenario, difference, oracle: b.transcript });
        Err(TestCaseError::fail(why))
    });
    match outcome {
        Ok(()) => Ok(DiffResult::Agreed { cases: cases.get() }),
        Err(TestError::Fail(_, _)) => {
            let found = last.into_inner().expect("a failing case was recorded");
            let case = found_at.get().unwrap_or(cases.get());
            let labels = [sides[0].label.as_str(), sides[1].label.as_str()];
            let scenario_yaml = saved_yaml(&found, labels, options.seed, case);
            let Difference { step, a, b } = found.difference;
            Ok(DiffResult::Disagreed { cases_run: case, step: step + 1, a, b, scenario_yaml })
        }
        Err(TestError::Abort(why)) => Err(format!("the fuzzer stopped: {why}")),
    }
}

/// What each step produced on one side (its outcome, if any).
fn outcomes<'t>(scenario: &Scenario, t: &'t Transcript) -> Vec<Option<&'t Outcome>> {
    (0..scenario.steps.len()).map(|i| t.outcome_of(i).and_then(|e| e.outcome.as_ref())).collect()
}

/// The first step whose outcomes differ (exactly, every field); a run that broke differs from
/// one that did not, and from one that broke otherwise.
fn first_difference(scenario: &Scenario, a: &Ran, b: &Ran) -> Option<Difference> {
    let (oa, ob) = (outcomes(scenario, &a.transcript), outcomes(scenario, &b.transcript));
    if let Some(step) = (0..oa.len()).find(|&i| oa[i] != ob[i]) {
        return Some(Difference { step, a: shown(oa[step], a), b: shown(ob[step], b) });
    }
    let ended = |r: &Ran| (r.transcript.harness_error.clone(), r.transcript.unsupported.clone());
    if ended(a) == ended(b) {
        return None;
    }
    let last_event = |r: &Ran| r.transcript.events.iter().filter_map(|e| e.step).max();
    let step = last_event(a).max(last_event(b)).map_or(0, |s| (s + 1).min(scenario.steps.len().saturating_sub(1)));
    Some(Difference { step, a: shown(None, a), b: shown(None, b) })
}

fn shown(outcome: Option<&Outcome>, ran: &Ran) -> String {
    match (outcome, &ran.transcript.harness_error, &ran.transcript.unsupported) {
        (Some(o), _, _) => o.show(),
        (None, Some(error), _) => format!("no outcome: the run broke: {error}{}", ran.evidence),
        (None, None, Some(why)) => format!("no outcome: unsupported: {why}"),
        (None, None, None) => "no outcome".into(),
    }
}

/// The smallest case as a scenario file: the oracle's outcomes as `expect`s, named and described.
fn saved_yaml(found: &Found, [a, b]: [&str; 2], seed: u64, case: u32) -> String {
    let mut s = found.scenario.clone();
    for (i, step) in s.steps.iter_mut().enumerate() {
        if let Some(o) = found.oracle.outcome_of(i).and_then(|e| e.outcome.clone()) {
            step.expect = Some(o);
        }
    }
    let d = &found.difference;
    let (step, b_did, a_did) = (d.step + 1, &d.b, &d.a);
    let description = format!("Found by differential fuzzing (seed {seed}, case {case}). A: {a}. B, whose outcomes are expected here: {b}. At step {step}, B gives {b_did}; A gave {a_did} instead.");
    // chunks::as_scenario writes the bytes readably; with no plan it changes nothing else.
    let written = as_scenario(&s, &SendPlan::default());
    let mut value: serde_json::Value = match from_yaml(&written) {
        Ok(v) => v,
        Err(e) => return format!("# could not write the scenario: {e}\n{written}"),
    };
    value["name"] = format!("fuzz-diff-{seed}-{case}").into();
    value["description"] = description.into();
    // as_scenario drops null values, `{ok: null}` too: put those back.
    for (i, step) in s.steps.iter().enumerate() {
        if step.expect == Some(Outcome::Ok(Value::Null)) {
            value["steps"][i]["expect"] = serde_json::json!({"ok": null});
        }
    }
    match to_yaml(&value) {
        Ok(yaml) => format!("# yaml-language-server: $schema=../../scenario.schema.json\n{yaml}"),
        Err(e) => format!("# could not write the scenario: {e}\n{written}"),
    }
}

/// A move the generator draws. The [`Builder`] turns any list of moves (so any shrunk list) into
/// a valid scenario, dropping or adjusting the moves that would break the rules at the top.
/// `Write` of one piece is `write`, of several `writelines`.
#[derive(Clone, Debug)]
enum Move {
    Send(Vec<u8>),
    Eof,
    Read(Op),
    AtEof,
    Write(Vec<Vec<u8>>),
    Drain,
    WriteEof,
}

const SEPARATORS: [&[u8]; 6] = [b"\n", b"\r\n", b"ab", b"a", b"b\n", b"aba"];

fn data(max: usize) -> impl Strategy<Value = Vec<u8>> {
    // Mostly letters, so that lines run past small limits.
    vec(prop::sample::select(b"aaabb\r\n".to_vec()), 0..=max)
}

fn read_op(tuples: bool) -> BoxedStrategy<Op> {
    let sep = prop::sample::select(SEPARATORS.to_vec()).prop_map(ByteString::from);
    let mut ops = vec![
        (3, Just(Op::Readline).boxed()),
        (2, (-1i64..=6).prop_map(Op::Read).boxed()),
        (2, (0i64..=8).prop_map(Op::Readexactly).boxed()),
        (2, sep.clone().prop_map(|s| Op::Readuntil(Separator::One(s))).boxed()),
    ];
    if tuples {
        ops.push((1, vec(sep, 1..=3).prop_map(|any| Op::Readuntil(Separator::Any { any })).boxed()));
    }
    Union::new_weighted(ops).boxed()
}

fn a_move(tuples: bool) -> BoxedStrategy<Move> {
    prop_oneof![
        6 => data(12).prop_map(Move::Send),
        1 => Just(Move::Eof),
        6 => read_op(tuples).prop_map(Move::Read),
        1 => Just(Move::AtEof),
        1 => vec(data(6), 1..=2).prop_map(Move::Write),
        1 => Just(Move::Drain),
        1 => Just(Move::WriteEof),
    ]
    .boxed()
}

/// Random stream-client (and some stream-server) scenarios that are deterministic on loopback.
/// `tuples`: whether `readuntil` may take several separators (CPython 3.13).
pub fn scenarios(tuples: bool) -> BoxedStrategy<Scenario> {
    let limit = prop_oneof![3 => (1i64..=16).prop_map(Some), 1 => Just(None)];
    let kind = prop_oneof![4 => Just(SubjectKind::StreamClient), 1 => Just(SubjectKind::StreamServer)];
    (limit, kind, vec(a_move(tuples), 1..=20)).prop_map(|(limit, kind, moves)| Builder::new(limit).build(kind, &moves)).boxed()
}

/// What a read does to the model's buffer: it waits (or may: the buffer is unknown), or completes
/// and takes bytes, empties the buffer, or leaves one the model cannot tell (a possible overrun).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Effect {
    Waits,
    Takes(usize),
    Clears,
    Forgets,
}

/// A read started early that has not been awaited yet.
struct Pending {
    name: String,
    op: Op,
}

struct Builder {
    limit: Option<i64>,
    /// Bytes the peer may still send.
    budget: usize,
    /// CPython's read buffer; `None` once the model lost track of it.
    buffer: Option<Vec<u8>>,
    eof: bool,
    wrote_eof: bool,
    pending: Option<Pending>,
    started: usize,
    steps: Vec<Step>,
}

fn step(action: Action) -> Step {
    Step { action, name: None, expect: None, also_accept: vec![], within: None, pending_for: None, timeout: None, cpython: Default::default() }
}

fn match_end(buf: &[u8], seps: &[&[u8]]) -> Option<usize> {
    seps.iter().filter_map(|s| buf.windows(s.len()).position(|w| w == *s).map(|p| p + s.len())).min()
}

fn separators(op: &Op) -> Option<Vec<&[u8]>> {
    match op {
        Op::Readline => Some(vec![b"\n"]),
        Op::Readuntil(Separator::One(s)) => Some(vec![s.as_slice()]),
        Op::Readuntil(Separator::Any { any }) => Some(any.iter().map(|s| s.as_slice()).collect()),
        _ => None,
    }
}

impl Builder {
    fn new(limit: Option<i64>) -> Builder {
        let budget = limit.map_or(64, |l| 2 * l as usize);
        Builder { limit, budget, buffer: Some(vec![]), eof: false, wrote_eof: false, pending: None, started: 0, steps: vec![] }
    }

    fn build(mut self, kind: SubjectKind, moves: &[Move]) -> Scenario {
        for m in moves {
            self.play(m);
        }
        if self.pending.is_some() {
            self.peer_eof();
        }
        if self.steps.is_empty() {
            self.steps.push(step(Action::Subject(Op::AtEof)));
        }
        Scenario {
            name: "fuzz-diff".into(),
            spec: "asyncio StreamReader / StreamWriter (differential)".into(),
            description: None,
            tags: vec!["differential".into()],
            subject: kind,
            config: SubjectConfig { limit: self.limit, ..SubjectConfig::default() },
            network: Default::default(),
            informational: false,
            cpython: None,
            sim_only: None,
            steps: self.steps,
        }
    }

    fn play(&mut self, m: &Move) {
        match m {
            Move::Send(data) => self.send(data),
            Move::Eof => self.peer_eof(),
            // A pending read is awaited before the next subject operation.
            _ if self.pending.is_some() => {}
            Move::Read(op) => self.read(op),
            Move::AtEof => self.steps.push(step(Action::Subject(Op::AtEof))),
            Move::Write(pieces) => self.write(pieces),
            Move::Drain => self.steps.push(step(Action::Subject(Op::Drain))),
            Move::WriteEof => self.write_eof(),
        }
    }

    /// Whether the read's outcome depends on how its data arrives: then one send completes it.
    fn arrival_sensitive(&self, op: &Op) -> bool {
        self.limit.is_some() || matches!(op, Op::Read(_))
    }

    fn send(&mut self, data: &[u8]) {
        if self.eof {
            return;
        }
        let completing = self.pending.as_ref().filter(|p| self.arrival_sensitive(&p.op)).map(|p| p.op.clone());
        let mut data = data.to_vec();
        if let Some(op) = &completing {
            complete(op, &mut data);
        }
        if data.len() > self.budget {
            if completing.is_some() {
                return self.peer_eof();
            }
            data.truncate(self.budget);
        }
        if data.is_empty() {
            return;
        }
        self.budget -= data.len();
        if let Some(buffer) = &mut self.buffer {
            buffer.extend_from_slice(&data);
        }
        self.steps.push(step(Action::Peer(PeerAction::Send { send: data.as_slice().into(), chunks: None, gap: None })));
        self.await_pending(completing.is_some());
    }

    fn peer_eof(&mut self) {
        if self.eof {
            return;
        }
        self.eof = true;
        self.steps.push(step(Action::Peer(PeerAction::Eof)));
        self.await_pending(true);
    }

    /// Awaits the pending read once it has completed (`surely`: the last peer step made sure).
    fn await_pending(&mut self, surely: bool) {
        let Some(p) = &self.pending else { return };
        let effect = self.effect(&p.op);
        if surely || effect != Effect::Waits {
            let name = self.pending.take().expect("checked").name;
            self.apply(if effect == Effect::Waits { Effect::Forgets } else { effect });
            self.steps.push(step(Action::Await(name)));
        }
    }

    fn read(&mut self, op: &Op) {
        if matches!(op, Op::Read(n) if *n < 0) && !self.eof {
            return; // read(-1) waits for EOF, so it comes only after one.
        }
        let effect = self.effect(op);
        if effect != Effect::Waits {
            self.apply(effect);
            self.steps.push(step(Action::Subject(op.clone())));
            return;
        }
        self.started += 1;
        let name = format!("r{}", self.started);
        self.steps.push(Step { name: Some(name.clone()), ..step(Action::Subject(op.clone())) });
        self.pending = Some(Pending { name, op: op.clone() });
    }

    fn write(&mut self, pieces: &[Vec<u8>]) {
        if self.wrote_eof {
            return;
        }
        // A known difference, reported: CPython 3.12 to 3.13.0 keep an empty `writelines` item in
        // the transport's buffer forever (cpython#155888), so a `write_eof` after it never reaches
        // the peer; the reference sends it. Empty items are left out to search past it.
        let pieces: Vec<ByteString> = pieces.iter().filter(|p| !p.is_empty()).map(|p| p.as_slice().into()).collect();
        let written: Vec<u8> = pieces.iter().flat_map(|p| p.as_slice().to_vec()).collect();
        let op = if pieces.len() > 1 { Op::Writelines(pieces) } else { Op::Write(pieces.into_iter().next().unwrap_or_default()) };
        self.steps.push(step(Action::Subject(op)));
        if !written.is_empty() {
            self.recv(RecvAmount::Exactly(written.len()), &written);
        }
    }

    fn write_eof(&mut self) {
        if !self.wrote_eof {
            self.wrote_eof = true;
            self.steps.push(step(Action::Subject(Op::WriteEof)));
            self.recv(RecvAmount::All(AllWord::All), b"");
        }
    }

    fn recv(&mut self, amount: RecvAmount, expect: &[u8]) {
        let expect = Some(Outcome::Ok(Value::Bytes(expect.into())));
        self.steps.push(Step { expect, ..step(Action::Peer(PeerAction::Recv(amount))) });
    }

    /// What `op` would do now, by CPython's rules.
    fn effect(&self, op: &Op) -> Effect {
        let done = |taken| if taken { Effect::Forgets } else { Effect::Waits };
        match op {
            Op::Read(0) | Op::Readexactly(0) => return Effect::Takes(0),
            Op::Read(n) if *n < 0 && self.eof => return Effect::Clears,
            _ => {}
        }
        let Some(buf) = &self.buffer else { return done(self.eof) };
        let limit = self.limit.map_or(usize::MAX, |l| l as usize);
        match op {
            Op::Read(n) if !buf.is_empty() => Effect::Takes((*n as usize).min(buf.len())),
            Op::Read(_) => if self.eof { Effect::Takes(0) } else { Effect::Waits },
            Op::Readexactly(n) if buf.len() >= *n as usize => Effect::Takes(*n as usize),
            Op::Readexactly(_) => if self.eof { Effect::Clears } else { Effect::Waits },
            op => {
                let seps = separators(op).unwrap_or_default();
                let end = match_end(buf, &seps);
                if buf.len() > limit {
                    return done(self.eof || end.is_some());
                }
                match end {
                    Some(end) => Effect::Takes(end),
                    None if self.eof => Effect::Clears,
                    None => Effect::Waits,
                }
            }
        }
    }

    fn apply(&mut self, effect: Effect) {
        match (effect, &mut self.buffer) {
            (Effect::Takes(n), Some(b)) => drop(b.drain(..n)),
            (Effect::Clears, Some(b)) => b.clear(),
            (Effect::Forgets, _) => self.buffer = None,
            _ => {}
        }
    }
}

/// Extends `data` so that, arriving at once, it completes `op` whatever is buffered before it.
fn complete(op: &Op, data: &mut Vec<u8>) {
    match op {
        Op::Read(_) if data.is_empty() => data.push(b'a'),
        Op::Readexactly(n) if data.len() < *n as usize => data.resize(*n as usize, b'a'),
        op => {
            let Some(seps) = separators(op) else { return };
            if match_end(data, &seps).is_none() {
                data.extend_from_slice(seps[0]);
            }
        }
    }
}
