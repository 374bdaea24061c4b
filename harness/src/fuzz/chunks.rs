//! Chunk-boundary fuzzing: the verdict of a stream scenario must not change when the peer's
//! sends are cut at other points, with small gaps between the pieces, and when a read starts
//! before, between or after the pieces instead of after all of them.
//!
//! Why both: a read that starts after every piece has arrived sees one contiguous buffer, so
//! re-splitting alone cannot catch a reader that scans only newly arrived bytes. Moving the
//! read's start into the middle of the pieces can (harness/tests/fuzz_catches_tail_scan_bug.rs).
//!
//! Scenarios that expect a limit overrun are not re-chunked at all, for the same reason; nor are
//! scenarios that set `latency` (they are about data in flight, which settling would change).
//! Reads expected to fail are never moved: an overrun legitimately depends on when bytes arrive.
//! Fuzzed runs also let every peer action land (latency + 1 ms) before the next step, so a
//! state query such as `at_eof` after `peer: eof` does not race the network.
//!
//! The weaker rule (verdict::Strictness::ChunkTolerant): `read(n)` with n > 0 returns what has
//! arrived, so in fuzzed runs it may return any non-empty prefix of the expected bytes. Sends
//! made while such a read is pending are not re-split, and scenarios that set `tcp_capacity`
//! are not re-split at all (re-splitting changes the segment count that backpressure counts).

use crate::run::world::sim::{self, SubjectMaker};
use crate::run::{RunOptions, SendPlan};
use crate::vocab::op::Op;
use crate::scenario::{Action, Dur, PeerAction, Scenario, Step};
use crate::verdict::{judge, Strictness, VerdictKind};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::collections::BTreeSet;
use std::time::Duration;

/// What may be perturbed in one scenario.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Send steps that may be re-split, with their lengths.
    pub sends: Vec<(usize, usize)>,
    /// Subject read steps that may start early, with the send step just before them.
    pub reads: Vec<(usize, usize)>,
}

fn is_read(op: &Op) -> bool {
    matches!(op, Op::Readline | Op::Readuntil(_) | Op::Readexactly(_)) || matches!(op, Op::Read(n) if *n < 0)
}

/// Whether any step expects a limit overrun (LimitOverrun, or readline's ValueError from one).
/// Such outcomes depend on arrival: CPython raises "not found" as soon as the buffer passes the
/// limit (L04), and a reader paused at 2 × limit leaves later bytes in the socket.
fn expects_overrun(s: &Scenario) -> bool {
    use crate::vocab::outcome::{ErrorType, Outcome};
    // CPython's two overrun messages, which readline turns into ValueError.
    const SEP_FOUND_TOO_LONG: &str = "Separator is found, but chunk is longer than limit";
    const SEP_NOT_FOUND: &str = "Separator is not found, and chunk exceed the limit";
    s.steps.iter().flat_map(|st| st.expect.iter().chain(&st.also_accept)).any(|o| match o {
        Outcome::Error(e) => {
            e.kind == Some(ErrorType::LimitOverrun)
                || (e.kind == Some(ErrorType::ValueError)
                    && e.message.as_deref().is_none_or(|m| m == SEP_FOUND_TOO_LONG || m == SEP_NOT_FOUND))
        }
        _ => false,
    })
}

/// Sends longer than this are played as written: their cuts would cost more than they find
/// (the megabyte scenarios are about volume, not boundaries).
const MAX_FUZZED_SEND: usize = 4096;

/// Finds the sends and reads the fuzzer may touch.
pub fn plan(s: &Scenario) -> Plan {
    let mut plan = Plan::default();
    if !s.subject.is_stream() || s.network.tcp_capacity.is_some() || s.network.latency.is_some() || expects_overrun(s) {
        return plan;
    }
    let mut pending: BTreeSet<String> = BTreeSet::new();
    let mut pending_sensitive: BTreeSet<String> = BTreeSet::new();
    let mut held = false;
    for (i, step) in s.steps.iter().enumerate() {
        match &step.action {
            Action::Peer(PeerAction::Send { send, .. }) if pending_sensitive.is_empty() && !held && (2..=MAX_FUZZED_SEND).contains(&send.0.len()) => {
                plan.sends.push((i, send.0.len()));
            }
            Action::Peer(PeerAction::Hold) => held = true,
            Action::Peer(PeerAction::Release) => held = false,
            Action::Subject(op) => {
                let plain = step.name.is_none() && step.pending_for.is_none() && step.timeout.is_none() && step.within.is_none();
                // Only reads expected to succeed may start early: an overrun legitimately depends on
                // arrival (CPython raises "not found" as soon as the buffer passes the limit, L04).
                let succeeds = step.expect.as_ref().is_none_or(|e| matches!(e, crate::vocab::outcome::Outcome::Ok(_)));
                let after_send = i > 0 && plan.sends.last().is_some_and(|&(s, _)| s == i - 1);
                if plain && succeeds && is_read(op) && after_send && pending.is_empty() {
                    plan.reads.push((i, i - 1));
                }
                if let Some(name) = &step.name {
                    pending.insert(name.clone());
                    if op.chunking_sensitive() {
                        pending_sensitive.insert(name.clone());
                    }
                }
            }
            Action::Await(name) => {
                pending.remove(name);
                pending_sensitive.remove(name);
            }
            Action::Peer(_) => {}
        }
    }
    plan
}

/// How long a fuzzed run lets each peer action land before the next step: the simulation's
/// 1 ms latency and 1 ms more (scenarios that set another latency are not fuzzed).
const SETTLE: Duration = Duration::from_millis(2);

/// A strategy for perturbations of `plan`: cut points, gaps of 0–2 ms, and read starts.
pub fn perturbations(plan: &Plan, move_reads: bool) -> BoxedStrategy<SendPlan> {
    type Pieces = (usize, Vec<(usize, u64)>);
    let sends: Vec<BoxedStrategy<Pieces>> = plan
        .sends
        .iter()
        .map(|&(step, len)| {
            // A set of cut points shrinks by dropping cuts, down to the one split that matters.
            let cuts = proptest::collection::btree_set(1..len, 0..len.min(64)).prop_map(|s| s.into_iter().collect::<Vec<usize>>());
            // Gaps are indexed by the byte offset a piece ends at, so dropping another cut while
            // shrinking leaves the gap at the cut that matters unchanged.
            (cuts, proptest::collection::vec(0u64..=2, len + 1))
                .prop_map(move |(cuts, gaps): (Vec<usize>, Vec<u64>)| {
                    let mut pieces = Vec::new();
                    let mut prev = 0;
                    for c in cuts.iter().copied().chain(std::iter::once(len)) {
                        pieces.push((c - prev, gaps[c]));
                        prev = c;
                    }
                    (step, pieces)
                })
                .boxed()
        })
        .collect();
    let reads: Vec<BoxedStrategy<Option<(usize, usize, usize)>>> = plan
        .reads
        .iter()
        .map(|&(read, send)| {
            let len = plan.sends.iter().find(|&&(s, _)| s == send).map_or(1, |&(_, l)| l);
            if move_reads {
                // A byte offset: the read starts before the first piece that begins at or after it.
                proptest::option::of((0usize..=len).prop_map(move |b| (read, send, b))).boxed()
            } else {
                Just(None).boxed()
            }
        })
        .collect();
    (sends, reads)
        .prop_map(|(sends, reads)| {
            let mut p = SendPlan { settle: Some(SETTLE), ..SendPlan::default() };
            for (step, pieces) in sends {
                p.splits.insert(step, pieces);
            }
            for (read, send, at) in reads.into_iter().flatten() {
                let mut start = 0;
                let mut before = 0;
                for &(len, _) in p.splits.get(&send).map_or(&[][..], Vec::as_slice) {
                    if start >= at {
                        break;
                    }
                    start += len;
                    before += 1;
                }
                p.early_starts.insert(read, (send, before));
            }
            p
        })
        .boxed()
}

/// How a fuzzing session ended for one scenario.
#[derive(Debug)]
pub enum FuzzResult {
    /// Nothing the fuzzer may touch.
    NothingToFuzz,
    /// `cases` perturbations, all with the canonical verdict.
    Stable { cases: u32 },
    /// A perturbation changed the verdict; shrunk, and written out as a scenario.
    Changed { canonical: VerdictKind, fuzzed: String, scenario_yaml: String },
}

/// Fuzzes one scenario with `cases` perturbations from a fixed seed (reproducible).
pub fn fuzz(scenario: &Scenario, make: SubjectMaker, cases: u32, seed: u64, move_reads: bool) -> FuzzResult {
    let plan = plan(scenario);
    if plan.sends.is_empty() {
        return FuzzResult::NothingToFuzz;
    }
    let base = RunOptions { seed, step_deadline: Duration::from_secs(5), plan: None };
    let canonical = judge(scenario, &sim::run(scenario, &base, make.clone()), Strictness::Exact).kind;
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 256, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let result = runner.run(&perturbations(&plan, move_reads), |p| {
        let options = RunOptions { plan: Some(p), ..base.clone() };
        let verdict = judge(scenario, &sim::run(scenario, &options, make.clone()), Strictness::ChunkTolerant);
        if verdict.kind == canonical {
            Ok(())
        } else {
            Err(TestCaseError::fail(verdict.explain()))
        }
    });
    match result {
        Ok(()) => FuzzResult::Stable { cases },
        Err(TestError::Fail(why, p)) => FuzzResult::Changed { canonical, fuzzed: why.to_string(), scenario_yaml: as_scenario(scenario, &p) },
        Err(TestError::Abort(why)) => FuzzResult::Changed { canonical, fuzzed: format!("aborted: {why}"), scenario_yaml: String::new() },
    }
}

/// Writes a perturbation out as an ordinary scenario: each piece its own send, gaps as sleeps,
/// early reads as `as:` / `await:`. Save it under scenarios/ to keep the case.
pub fn as_scenario(s: &Scenario, p: &SendPlan) -> String {
    let mut out = s.clone();
    out.name = format!("{}-fuzzed", s.name);
    out.description = Some(format!("Found by chunk fuzzing of `{}`: the same steps with the sends re-split and reads started early.", s.name));
    let mut steps = Vec::new();
    let blank = |action| Step { action, name: None, expect: None, also_accept: vec![], within: None, pending_for: None, timeout: None, cpython: Default::default() };
    for (i, step) in s.steps.iter().enumerate() {
        match &step.action {
            Action::Peer(PeerAction::Send { send, .. }) => {
                let pieces = p.pieces(i, step);
                let mut offset = 0;
                for (k, (len, gap)) in pieces.iter().enumerate() {
                    early(&mut steps, s, p, i, k);
                    let piece = send.0.slice(offset..offset + len);
                    offset += len;
                    steps.push(blank(Action::Peer(PeerAction::Send { send: piece.into(), chunks: None, gap: None })));
                    if *gap > 0 {
                        steps.push(blank(Action::Peer(PeerAction::Sleep(Dur(Duration::from_millis(*gap))))));
                    }
                }
                early(&mut steps, s, p, i, pieces.len());
            }
            Action::Subject(_) if p.early_starts.contains_key(&i) => {
                let mut awaited = step.clone();
                awaited.action = Action::Await(format!("early{}", i + 1));
                steps.push(awaited);
            }
            _ => steps.push(step.clone()),
        }
    }
    out.steps = steps;
    let value = readable_bytes(serde_json::to_value(&out).expect("scenarios serialize"));
    let yaml = crate::scenario::load::to_yaml(&value).unwrap_or_else(|e| format!("# could not write the scenario: {e}\n"));
    format!("# yaml-language-server: $schema=../../scenario.schema.json\n{yaml}")
}

/// Turns `{b64: ..}` back into a plain string where the bytes are printable text, for people.
/// Nulls stay: `{ok: null}` and `expected: null` mean something.
pub fn readable_bytes(v: serde_json::Value) -> serde_json::Value {
    use base64::Engine;
    use serde_json::Value as J;
    match v {
        J::Object(m) if m.len() == 1 && m.contains_key("b64") => {
            let raw = m["b64"].as_str().and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
            match raw.as_deref().map(std::str::from_utf8) {
                Some(Ok(text)) if !text.chars().any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t')) => J::String(text.to_string()),
                _ => J::Object(m),
            }
        }
        J::Object(m) => J::Object(m.into_iter().map(|(k, v)| (k, readable_bytes(v))).collect()),
        J::Array(a) => J::Array(a.into_iter().map(readable_bytes).collect()),
        other => other,
    }
}

fn early(steps: &mut Vec<Step>, s: &Scenario, p: &SendPlan, send: usize, k: usize) {
    for (&read, &(sstep, before)) in &p.early_starts {
        if sstep == send && before == k {
            let mut started = s.steps[read].clone();
            started.name = Some(format!("early{}", read + 1));
            started.expect = None;
            started.also_accept = vec![];
            steps.push(started);
        }
    }
}
