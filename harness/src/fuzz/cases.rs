//! Random stream scenarios whose outcomes do not depend on scheduling, for differential fuzzing
//! ([`super::differential`]): each is valid, and each step's outcome is decided by the bytes, not
//! by when they arrive.
//!
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
//! The model follows CPython 3.13's readline / readuntil / readexactly / read to the byte,
//! overruns included, so that a read it says completes at once really does (started early, it
//! would race the next send). Consecutive sends stand in for `chunks`.

use crate::scenario::{Action, AllWord, PeerAction, RecvAmount, Scenario, Step, SubjectConfig, SubjectKind};
use crate::vocab::bytes::ByteString;
use crate::vocab::op::{Op, Separator};
use crate::vocab::outcome::{Outcome, Value};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;

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

/// What a read does to the model's buffer: it waits, or completes and takes bytes or all of them.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Effect {
    Waits,
    Takes(usize),
    Clears,
}

/// What readuntil's search finds, by CPython 3.13's rules: the match that ends first (the shorter
/// separator on a tie), an overrun without a match, or nothing yet.
enum Scan {
    Found { start: usize, end: usize },
    NotFoundOverrun,
    NotFound,
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
    /// CPython's read buffer.
    buffer: Vec<u8>,
    eof: bool,
    wrote_eof: bool,
    pending: Option<Pending>,
    started: usize,
    steps: Vec<Step>,
}

fn step(action: Action) -> Step {
    Step { action, name: None, expect: None, also_accept: vec![], within: None, pending_for: None, timeout: None, cpython: Default::default() }
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
        Builder { limit, budget, buffer: vec![], eof: false, wrote_eof: false, pending: None, started: 0, steps: vec![] }
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
        self.buffer.extend_from_slice(&data);
        self.steps.push(step(Action::Peer(PeerAction::Send { send: data.as_slice().into(), chunks: None, gap: None })));
        self.await_pending();
    }

    fn peer_eof(&mut self) {
        if self.eof {
            return;
        }
        self.eof = true;
        self.steps.push(step(Action::Peer(PeerAction::Eof)));
        self.await_pending();
    }

    /// Awaits the pending read once it has completed.
    fn await_pending(&mut self) {
        let Some(p) = &self.pending else { return };
        let effect = self.effect(&p.op);
        if effect != Effect::Waits {
            let name = self.pending.take().expect("checked").name;
            self.apply(effect);
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
        // Found and kept as scenarios (W14): CPython 3.12.1 and 3.13.0 keep an empty `writelines`
        // item in the buffer for good (cpython#155888). Empty items are left out to search past it.
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

    /// What `op` would do now, by CPython 3.13's rules.
    fn effect(&self, op: &Op) -> Effect {
        let (buf, eof) = (&self.buffer, self.eof);
        let at_eof = |then| if eof { then } else { Effect::Waits };
        match op {
            Op::Read(0) | Op::Readexactly(0) => Effect::Takes(0),
            Op::Read(n) if *n < 0 => at_eof(Effect::Clears),
            Op::Read(n) if !buf.is_empty() => Effect::Takes((*n as usize).min(buf.len())),
            Op::Read(_) => at_eof(Effect::Takes(0)),
            Op::Readexactly(n) if buf.len() >= *n as usize => Effect::Takes(*n as usize),
            Op::Readexactly(_) => at_eof(Effect::Clears),
            // An overrun leaves readuntil's buffer as it was; readline drops the line, or all.
            op => match (self.scan(op), op) {
                (Scan::Found { start, .. }, Op::Readuntil(_)) if start > self.limit() => Effect::Takes(0),
                (Scan::Found { end, .. }, _) => Effect::Takes(end),
                (Scan::NotFoundOverrun, Op::Readuntil(_)) => Effect::Takes(0),
                (Scan::NotFoundOverrun, _) => Effect::Clears,
                (Scan::NotFound, _) => at_eof(Effect::Clears),
            },
        }
    }

    fn limit(&self) -> usize {
        self.limit.map_or(usize::MAX, |l| l as usize)
    }

    fn scan(&self, op: &Op) -> Scan {
        let seps = separators(op).unwrap_or_default();
        let (min, max) = (seps.iter().map(|s| s.len()).min().unwrap_or(1), seps.iter().map(|s| s.len()).max().unwrap_or(1));
        let buf = &self.buffer;
        if buf.len() < min {
            return Scan::NotFound;
        }
        let matches = seps.iter().filter_map(|s| buf.windows(s.len()).position(|w| w == *s).map(|p| (p, p + s.len())));
        match matches.min_by_key(|&(start, end)| (end, std::cmp::Reverse(start))) {
            Some((start, end)) => Scan::Found { start, end },
            None if (buf.len() + 1).saturating_sub(max) > self.limit() => Scan::NotFoundOverrun,
            None => Scan::NotFound,
        }
    }

    fn apply(&mut self, effect: Effect) {
        match effect {
            Effect::Takes(n) => drop(self.buffer.drain(..n)),
            Effect::Clears => self.buffer.clear(),
            Effect::Waits => {}
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
            if !seps.iter().any(|s| data.windows(s.len()).any(|w| w == *s)) {
                data.extend_from_slice(seps[0]);
            }
        }
    }
}
