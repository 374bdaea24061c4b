//! Judging a transcript against its scenario: a pure function, so verdicts can be recomputed
//! from stored transcripts and tested without running anything.

use crate::vocab::op::Op;
use crate::vocab::outcome::{Outcome, Value};
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

/// Judges `transcript` against `scenario`. An informational scenario records what happened
/// without judging it: a FAIL or NON-STRICT becomes INFORMATIONAL (keeping its explanation);
/// ERROR and UNSUPPORTED stay, because then nothing was recorded.
pub fn judge(scenario: &Scenario, transcript: &Transcript, strictness: Strictness) -> Verdict {
    let verdict = judge_steps(scenario, transcript, strictness);
    match verdict.kind {
        VerdictKind::Pass | VerdictKind::NonStrict | VerdictKind::Fail if scenario.informational => {
            Verdict { kind: VerdictKind::Informational, ..verdict }
        }
        _ => verdict,
    }
}

fn judge_steps(scenario: &Scenario, transcript: &Transcript, strictness: Strictness) -> Verdict {
    if let Some(err) = &transcript.harness_error {
        return Verdict { kind: VerdictKind::Error, step: None, expected: vec![], actual: None, reason: Some(err.clone()) };
    }
    if let Some(why) = &transcript.unsupported {
        return Verdict { kind: VerdictKind::Unsupported, step: None, expected: vec![], actual: None, reason: Some(why.clone()) };
    }
    let tolerance = transcript.world.tolerance();
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
            let at_once = step.version_outcome(transcript.cpython.as_deref());
            match (transcript.pending_check_of(i), at_once) {
                (Some(e), None) if e.still_pending == Some(true) => {}
                // On this version the operation does not block: it completes with this outcome.
                (Some(e), Some(o)) if e.still_pending == Some(false) && e.outcome.as_ref().is_some_and(|a| o.accepts(a)) => {}
                (Some(e), at_once) => {
                    let (expected, reason) = match at_once {
                        None => (format!("still pending after {wait}"), format!("completed before `pending_for: {wait}` elapsed")),
                        Some(o) => (format!("{} at once (this CPython version)", o.show()), "on this CPython version it must complete at once".to_string()),
                    };
                    return Verdict::at(VerdictKind::Fail, i, vec![expected], e.outcome.as_ref().map(Outcome::show).or(Some("still pending".into())), reason);
                }
                (None, _) => return Verdict::at(VerdictKind::Error, i, vec![], None, "the run recorded no pending check for this step".into()),
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
        let expect = step.expect_for(transcript.cpython.as_deref());
        let expected_list: Vec<String> = expect.into_iter().chain(step.also_accept.iter()).map(Outcome::show).collect();
        let matched_canonical = match expect {
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
                let reason = format!("`{}` gave {}, expected {}", event.action, actual.show(), expected.join(" or "));
                return Verdict::at(VerdictKind::Fail, i, expected, Some(actual.show()), reason);
            }
        }
        if let (Some(limit), Some(took)) = (step.within, event.took) {
            if took > limit.0 + tolerance {
                let allowance = if tolerance.is_zero() { String::new() } else { format!(" (+{}ms tolerance in wall time)", tolerance.as_millis()) };
                return Verdict::at(
                    VerdictKind::Fail,
                    i,
                    vec![format!("done within {limit}{allowance}")],
                    Some(format!("took {}ms", took.as_millis())),
                    format!("`{}` was too slow", event.action),
                );
            }
        }
    }
    non_strict.unwrap_or_else(Verdict::pass)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load::parse;
    use crate::transcript::{Event, Side};
    use std::time::Duration;

    fn scenario(steps: &str) -> Scenario {
        let text = format!("name: t\nspec: test clause\nsubject: stream-client\nsteps:\n{steps}");
        parse("t.yaml".as_ref(), &text).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn outcome(yaml: &str) -> Outcome {
        crate::scenario::load::from_yaml(yaml).unwrap()
    }

    fn done(step: usize, o: &str, took_ms: u64) -> Event {
        Event { at: Duration::ZERO, step: Some(step), side: Side::Subject, action: "op".into(), outcome: Some(outcome(o)), took: Some(Duration::from_millis(took_ms)), still_pending: None }
    }

    fn transcript(events: Vec<Event>) -> Transcript {
        Transcript { seed: 0, events, ..Transcript::default() }
    }

    #[test]
    fn the_canonical_outcome_passes_and_another_fails_with_both_shown() {
        let s = scenario("  - subject: readline\n    expect: {ok: \"a\\n\"}\n");
        assert_eq!(judge(&s, &transcript(vec![done(0, "{ok: \"a\\n\"}", 0)]), Strictness::Exact).kind, VerdictKind::Pass);
        let v = judge(&s, &transcript(vec![done(0, "{ok: \"b\\n\"}", 0)]), Strictness::Exact);
        assert_eq!(v.kind, VerdictKind::Fail);
        assert_eq!(v.step, Some(1));
        assert_eq!(v.expected, vec!["ok \"a\\n\"".to_string()]);
        assert_eq!(v.actual.as_deref(), Some("ok \"b\\n\""));
    }

    #[test]
    fn also_accept_gives_non_strict() {
        let s = scenario("  - subject: drain\n    expect: {ok: null}\n    also_accept: [{error: {type: ConnectionReset}}]\n");
        let v = judge(&s, &transcript(vec![done(0, "{error: {type: ConnectionReset, message: x}}", 0)]), Strictness::Exact);
        assert_eq!(v.kind, VerdictKind::NonStrict);
    }

    #[test]
    fn fields_left_out_are_not_compared_but_given_ones_are() {
        let s = scenario("  - subject: {readexactly: 4}\n    expect: {error: {type: IncompleteRead, expected: 4}}\n");
        let ok = "{error: {type: IncompleteRead, partial: ab, expected: 4, message: m}}";
        assert_eq!(judge(&s, &transcript(vec![done(0, ok, 0)]), Strictness::Exact).kind, VerdictKind::Pass);
        let wrong = "{error: {type: IncompleteRead, partial: ab, expected: 5}}";
        assert_eq!(judge(&s, &transcript(vec![done(0, wrong, 0)]), Strictness::Exact).kind, VerdictKind::Fail);
    }

    #[test]
    fn expected_null_is_compared_when_written() {
        let s = scenario("  - subject: {readuntil: x}\n    expect: {error: {type: IncompleteRead, expected: null}}\n");
        let with_n = "{error: {type: IncompleteRead, expected: 3}}";
        assert_eq!(judge(&s, &transcript(vec![done(0, with_n, 0)]), Strictness::Exact).kind, VerdictKind::Fail);
    }

    #[test]
    fn within_fails_a_slow_step_and_no_expect_requires_success() {
        let s = scenario("  - subject: drain\n    within: 5ms\n");
        assert_eq!(judge(&s, &transcript(vec![done(0, "{ok: null}", 5)]), Strictness::Exact).kind, VerdictKind::Pass);
        assert_eq!(judge(&s, &transcript(vec![done(0, "{ok: null}", 6)]), Strictness::Exact).kind, VerdictKind::Fail);
        assert_eq!(judge(&s, &transcript(vec![done(0, "{error: {type: BrokenPipe}}", 0)]), Strictness::Exact).kind, VerdictKind::Fail);
    }

    #[test]
    fn unsupported_errors_and_informational() {
        let s = scenario("  - subject: drain\n");
        let unsupported = "{error: {type: Unsupported, op: drain}}";
        assert_eq!(judge(&s, &transcript(vec![done(0, unsupported, 0)]), Strictness::Exact).kind, VerdictKind::Unsupported);
        let hung = Transcript { harness_error: Some("hung".into()), ..Transcript::default() };
        assert_eq!(judge(&s, &hung, Strictness::Exact).kind, VerdictKind::Error);
        assert_eq!(judge(&s, &transcript(vec![]), Strictness::Exact).kind, VerdictKind::Error);
        let mut info = s.clone();
        info.informational = true;
        assert_eq!(judge(&info, &transcript(vec![done(0, "{error: {type: BrokenPipe}}", 0)]), Strictness::Exact).kind, VerdictKind::Informational);
    }

    #[test]
    fn chunk_tolerance_accepts_a_prefix_only_for_read_n() {
        let s = scenario("  - subject: {read: 5}\n    expect: {ok: hello}\n");
        let prefix = transcript(vec![done(0, "{ok: he}", 0)]);
        assert_eq!(judge(&s, &prefix, Strictness::Exact).kind, VerdictKind::Fail);
        assert_eq!(judge(&s, &prefix, Strictness::ChunkTolerant).kind, VerdictKind::Pass);
        assert_eq!(judge(&s, &transcript(vec![done(0, "{ok: \"\"}", 0)]), Strictness::ChunkTolerant).kind, VerdictKind::Fail);
        let s = scenario("  - subject: {readexactly: 5}\n    expect: {ok: hello}\n");
        assert_eq!(judge(&s, &prefix, Strictness::ChunkTolerant).kind, VerdictKind::Fail);
    }

    #[test]
    fn a_version_specific_outcome_judges_that_version_only() {
        let s = scenario("  - subject: {readuntil: {any: [a, b]}}\n    expect: {ok: xa}\n    cpython: {\"<3.13\": {error: {type: Other, class: TypeError}}}\n");
        let type_error = "{error: {type: Other, class: TypeError, message: m}}";
        let on = |v: Option<&str>, o: &str| {
            let mut t = transcript(vec![done(0, o, 0)]);
            t.cpython = v.map(str::to_string);
            judge(&s, &t, Strictness::Exact).kind
        };
        assert_eq!(on(Some("3.11.7"), type_error), VerdictKind::Pass);
        assert_eq!(on(Some("3.11.7"), "{ok: xa}"), VerdictKind::Fail);
        assert_eq!(on(Some("3.13.0"), type_error), VerdictKind::Fail);
        assert_eq!(on(None, "{ok: xa}"), VerdictKind::Pass);
    }

    #[test]
    fn wall_time_gets_its_tolerance_and_simulated_time_none() {
        let s = scenario("  - subject: drain\n    within: 5ms\n");
        let mut t = transcript(vec![done(0, "{ok: null}", 30)]);
        assert_eq!(judge(&s, &t, Strictness::Exact).kind, VerdictKind::Fail);
        t.world = crate::run::world::WorldKind::Loopback;
        assert_eq!(judge(&s, &t, Strictness::Exact).kind, VerdictKind::Pass);
        let mut slow = transcript(vec![done(0, "{ok: null}", 5 + 51)]);
        slow.world = crate::run::world::WorldKind::Loopback;
        assert_eq!(judge(&s, &slow, Strictness::Exact).kind, VerdictKind::Fail);
    }

    #[test]
    fn a_run_that_never_started_is_unsupported_with_its_reason() {
        let s = scenario("  - subject: drain\n");
        let t = Transcript::unsupported(0, crate::run::world::WorldKind::Loopback, "sim only".into());
        let v = judge(&s, &t, Strictness::Exact);
        assert_eq!((v.kind, v.reason.as_deref()), (VerdictKind::Unsupported, Some("sim only")));
    }

    #[test]
    fn a_version_that_does_not_block_is_judged_by_its_outcome_at_once() {
        let s = scenario("  - subject: drain\n    as: d\n    pending_for: 10ms\n    cpython: {\"<3.10\": {error: {type: Other, class: AssertionError}}}\n  - await: d\n    expect: {ok: null}\n");
        let check = |pending: bool, o: &str| Event { still_pending: Some(pending), outcome: (!pending).then(|| outcome(o)), ..done(0, o, 0) };
        let on = |v: &str, events: Vec<Event>| {
            let mut t = transcript(events);
            t.cpython = Some(v.into());
            judge(&s, &t, Strictness::Exact).kind
        };
        let assertion = "{error: {type: Other, class: AssertionError, message: \"\"}}";
        assert_eq!(on("3.9.18", vec![check(false, assertion), done(1, assertion, 0)]), VerdictKind::Fail, "the await still expects ok on 3.9");
        assert_eq!(on("3.9.18", vec![check(true, "{ok: null}"), done(1, "{ok: null}", 0)]), VerdictKind::Fail, "3.9 must not block");
        assert_eq!(on("3.13.0", vec![check(false, assertion), done(1, assertion, 0)]), VerdictKind::Fail);
        assert_eq!(on("3.13.0", vec![check(true, "{ok: null}"), done(1, "{ok: null}", 0)]), VerdictKind::Pass);
    }
}
