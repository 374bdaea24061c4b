//! Judging a transcript against its scenario: a pure function, so verdicts can be recomputed
//! from stored transcripts and tested without running anything.

use crate::op::Op;
use crate::outcome::{Outcome, Value};
use crate::scenario::{Action, PeerAction, Scenario};
use crate::transcript::Transcript;
use serde::Serialize;

/// The verdicts of SCENARIO-FORMAT.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum VerdictKind {
    Pass,
    NonStrict,
    Informational,
    Unsupported,
    Fail,
    Error,
}

impl VerdictKind {
    pub fn label(self) -> &'static str {
        match self {
            VerdictKind::Pass => "PASS",
            VerdictKind::NonStrict => "NON-STRICT",
            VerdictKind::Informational => "INFORMATIONAL",
            VerdictKind::Unsupported => "UNSUPPORTED",
            VerdictKind::Fail => "FAIL",
            VerdictKind::Error => "ERROR",
        }
    }

    /// Whether a run with this verdict makes `streamcheck run` exit non-zero.
    pub fn is_failure(self) -> bool {
        matches!(self, VerdictKind::Fail | VerdictKind::Error)
    }
}

/// A verdict that explains itself: the step, what was expected, and what happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub kind: VerdictKind,
    /// 1-based step number of the deciding step, if one decided.
    pub step: Option<usize>,
    /// Every acceptable outcome (canonical first, then `also_accept`).
    pub expected: Vec<String>,
    pub actual: Option<String>,
    /// One line: why this is not a PASS.
    pub reason: Option<String>,
}

impl Verdict {
    fn pass() -> Self {
        Verdict { kind: VerdictKind::Pass, step: None, expected: vec![], actual: None, reason: None }
    }

    fn at(kind: VerdictKind, step: usize, expected: Vec<String>, actual: Option<String>, reason: String) -> Self {
        Verdict { kind, step: Some(step + 1), expected, actual, reason: Some(reason) }
    }

    /// A multi-line explanation for terminals and test failures.
    pub fn explain(&self) -> String {
        let mut out = self.kind.label().to_string();
        if let Some(s) = self.step {
            out.push_str(&format!(" at step {s}"));
        }
        if let Some(r) = &self.reason {
            out.push_str(&format!(": {r}"));
        }
        if !self.expected.is_empty() {
            out.push_str(&format!("\n  expected: {}", self.expected.join("\n        or: ")));
        }
        if let Some(a) = &self.actual {
            out.push_str(&format!("\n  actual:   {a}"));
        }
        out
    }
}

/// How outcomes of chunking-sensitive operations are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    /// Canonical runs: every outcome is compared exactly.
    Exact,
    /// Fuzzed runs: `read(n)` with n > 0 may return any non-empty prefix of the expected bytes,
    /// because it returns what has arrived, and re-chunking changes what has arrived.
    ChunkTolerant,
}

fn prefix_ok(expected: &Outcome, actual: &Outcome) -> bool {
    match (expected, actual) {
        (Outcome::Ok(Value::Bytes(e)), Outcome::Ok(Value::Bytes(a))) => {
            !a.as_slice().is_empty() && e.as_slice().starts_with(a.as_slice())
        }
        _ => false,
    }
}

/// Judges `transcript` against `scenario`.
pub fn judge(scenario: &Scenario, transcript: &Transcript, strictness: Strictness) -> Verdict {
    if let Some(err) = &transcript.harness_error {
        return Verdict { kind: VerdictKind::Error, step: None, expected: vec![], actual: None, reason: Some(err.clone()) };
    }
    let mut non_strict: Option<Verdict> = None;
    let mut ops_by_name = std::collections::BTreeMap::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        if let (Some(name), Action::Subject(op)) = (&step.name, &step.action) {
            ops_by_name.insert(name.clone(), op.clone());
        }
        let op: Option<&Op> = match &step.action {
            Action::Subject(op) => Some(op),
            Action::Await(name) => ops_by_name.get(name),
            Action::Peer(_) => None,
        };
        if let Some(wait) = step.pending_for {
            match transcript.pending_check_of(i) {
                Some(e) if e.still_pending == Some(true) => {}
                Some(e) => {
                    return Verdict::at(
                        VerdictKind::Fail,
                        i,
                        vec![format!("still pending after {wait}")],
                        e.outcome.as_ref().map(Outcome::show),
                        format!("completed before `pending_for: {wait}` elapsed"),
                    )
                }
                None => return Verdict::at(VerdictKind::Error, i, vec![], None, "the run recorded no pending check for this step".into()),
            }
        }
        let judged = step.name.is_none() && !matches!(&step.action, Action::Peer(p) if !matches!(p, PeerAction::Recv(_)));
        if !judged {
            continue;
        }
        if step.pending_for.is_some() && matches!(step.action, Action::Subject(_)) {
            // Checked above; the operation was then cancelled, so there is no outcome to judge.
            continue;
        }
        let Some(event) = transcript.outcome_of(i) else {
            return Verdict::at(VerdictKind::Error, i, vec![], None, "the run ended before this step completed".into());
        };
        let actual = event.outcome.as_ref().expect("outcome_of returns events with outcomes");
        if actual.is_unsupported() {
            return Verdict::at(VerdictKind::Unsupported, i, vec![], Some(actual.show()), "the subject does not implement this operation".into());
        }
        let expected_list: Vec<String> =
            step.expect.iter().chain(step.also_accept.iter()).map(Outcome::show).collect();
        let matched_canonical = match &step.expect {
            Some(e) => {
                e.accepts(actual)
                    || (strictness == Strictness::ChunkTolerant && op.is_some_and(Op::chunking_sensitive) && prefix_ok(e, actual))
            }
            None => matches!(actual, Outcome::Ok(_)),
        };
        if !matched_canonical {
            if step.also_accept.iter().any(|a| a.accepts(actual)) {
                non_strict.get_or_insert_with(|| {
                    Verdict::at(VerdictKind::NonStrict, i, expected_list.clone(), Some(actual.show()), "matched an `also_accept` outcome, not the canonical one".into())
                });
            } else {
                let expected = if expected_list.is_empty() { vec!["ok (any value)".to_string()] } else { expected_list };
                return Verdict::at(VerdictKind::Fail, i, expected, Some(actual.show()), format!("`{}` gave an unexpected outcome", event.action));
            }
        }
        if let (Some(limit), Some(took)) = (step.within, event.took) {
            if took > limit.0 {
                return Verdict::at(
                    VerdictKind::Fail,
                    i,
                    vec![format!("done within {limit}")],
                    Some(format!("took {}ms", took.as_millis())),
                    format!("`{}` was too slow", event.action),
                );
            }
        }
    }
    let verdict = non_strict.unwrap_or_else(Verdict::pass);
    if scenario.informational {
        return Verdict { kind: VerdictKind::Informational, ..verdict };
    }
    verdict
}
