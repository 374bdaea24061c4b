//! The chunk fuzzer must catch a reader that scans only newly arrived bytes for the separator.
//!
//! Such a reader passes every run in which the read starts after all the pieces have arrived,
//! however the pieces are cut, because it then scans one contiguous buffer. This test shows
//! all three facts: the canonical run passes, re-splitting alone passes, and re-splitting with
//! reads started between the pieces fails and shrinks to a split inside the separator.

use std::sync::{Arc, Mutex};
use streamcheck::fuzz::chunks::{fuzz, FuzzResult};
use streamcheck::run::subject::reference::{error_outcome, Reference};
use streamcheck::run::subject::{BoxFuture, Broken, Started, Subject};
use streamcheck::run::world::sim::{self, SubjectMaker};
use streamcheck::run::RunOptions;
use streamcheck::scenario::load::parse;
use streamcheck::verdict::{judge, Strictness, VerdictKind};
use streamcheck::vocab::op::{Op, Separator};
use streamcheck::vocab::outcome::{ErrorOutcome, ErrorType, Outcome, Value};
use streamcheck_impl::stream::TurmoilNet;

/// Wraps the reference but answers `readuntil` with the classic bug: each wake-up scans only
/// the bytes that just arrived, so a separator cut across two arrivals is never seen.
struct TailScanReaduntil {
    inner: Arc<Reference<TurmoilNet>>,
    leftover: Arc<Mutex<Vec<u8>>>,
}

impl Subject for TailScanReaduntil {
    fn call(&self, op: Op, started: Started) -> BoxFuture<'static, Result<Outcome, Broken>> {
        let Op::Readuntil(Separator::One(sep)) = &op else { return self.inner.call(op, started) };
        let sep = sep.as_slice().to_vec();
        let inner = self.inner.clone();
        let leftover = self.leftover.clone();
        Box::pin(async move {
            let _ = started.send(());
            let reader = inner.streams().await.reader;
            let find = |hay: &[u8]| hay.windows(sep.len()).position(|w| w == sep.as_slice());
            let mut got = std::mem::take(&mut *leftover.lock().unwrap());
            let mut scan_from = 0;
            loop {
                if let Some(pos) = find(&got[scan_from..]) {
                    let end = scan_from + pos + sep.len();
                    *leftover.lock().unwrap() = got.split_off(end);
                    return Ok(Outcome::Ok(Value::Bytes(got.as_slice().into())));
                }
                let chunk = match reader.read(65536).await {
                    Ok(c) => c,
                    Err(e) => return Ok(Outcome::Error(error_outcome(&e))),
                };
                if chunk.is_empty() {
                    return Ok(Outcome::Error(ErrorOutcome {
                        kind: Some(ErrorType::IncompleteRead),
                        partial: Some(got.as_slice().into()),
                        expected: Some(None),
                        ..Default::default()
                    }));
                }
                scan_from = got.len(); // The bug: the boundary between old and new bytes is never rescanned.
                got.extend_from_slice(&chunk);
            }
        })
    }
}

fn broken() -> SubjectMaker {
    Arc::new(|| Arc::new(TailScanReaduntil { inner: Arc::new(Reference::new()), leftover: Arc::default() }) as Arc<dyn Subject>)
}

fn reference() -> SubjectMaker {
    Arc::new(|| Arc::new(Reference::<TurmoilNet>::new()) as Arc<dyn Subject>)
}

const SCENARIO: &str = r#"
name: request-line-then-eof
spec: asyncio StreamReader.readuntil
subject: stream-client
steps:
  - peer: {send: "GET /index.html HTTP/1.1\r\n"}
  - subject: {readuntil: "\r\n"}
    expect: {ok: "GET /index.html HTTP/1.1\r\n"}
  - peer: eof
  - subject: {read: -1}
    expect: {ok: ""}
"#;

#[test]
fn the_canonical_run_does_not_catch_the_bug() {
    let s = parse("inline.yaml".as_ref(), SCENARIO).unwrap();
    let verdict = judge(&s, &sim::run(&s, &RunOptions::default(), broken()), Strictness::Exact);
    assert_eq!(verdict.kind, VerdictKind::Pass, "{}", verdict.explain());
}

#[test]
fn re_splitting_alone_does_not_catch_the_bug() {
    let s = parse("inline.yaml".as_ref(), SCENARIO).unwrap();
    let result = fuzz(&s, broken(), 64, 7, false);
    assert!(matches!(result, FuzzResult::Stable { cases: 64 }), "{result:?}");
}

#[test]
fn starting_the_read_between_pieces_catches_it_and_shrinks_to_a_split_separator() {
    let s = parse("inline.yaml".as_ref(), SCENARIO).unwrap();
    match fuzz(&s, broken(), 256, 7, true) {
        FuzzResult::Changed { canonical, fuzzed, scenario_yaml } => {
            assert_eq!(canonical, VerdictKind::Pass);
            assert!(fuzzed.starts_with("FAIL") || fuzzed.starts_with("ERROR"), "{fuzzed}");
            // The saved case is a valid scenario that still exposes the bug...
            let saved = parse("saved.yaml".as_ref(), &scenario_yaml).unwrap_or_else(|e| panic!("{e:?}\n{scenario_yaml}"));
            let verdict = judge(&saved, &sim::run(&saved, &RunOptions::default(), broken()), Strictness::Exact);
            assert!(verdict.kind.is_failure(), "{}\n{scenario_yaml}", verdict.explain());
            // ...shrunk to one cut inside the separator, with the read started between the halves...
            use streamcheck::scenario::{Action, PeerAction};
            let sends: Vec<&[u8]> = saved
                .steps
                .iter()
                .filter_map(|st| match &st.action {
                    Action::Peer(PeerAction::Send { send, .. }) => Some(send.as_slice()),
                    _ => None,
                })
                .collect();
            assert_eq!(sends, [&b"GET /index.html HTTP/1.1\r"[..], b"\n"], "{scenario_yaml}");
            let read_at = saved.steps.iter().position(|st| st.name.is_some()).expect("an early read");
            assert!(matches!(&saved.steps[read_at - 1].action, Action::Peer(PeerAction::Send { .. })), "{scenario_yaml}");
            // ...and passes against the reference.
            let verdict = judge(&saved, &streamcheck::run::run(&saved, &RunOptions::default()), Strictness::Exact);
            assert_eq!(verdict.kind, VerdictKind::Pass, "{}\n{scenario_yaml}", verdict.explain());
            println!("{scenario_yaml}");
        }
        other => panic!("the fuzzer missed the tail-scan bug: {other:?}"),
    }
}

#[test]
fn the_reference_is_stable_under_the_same_fuzzing() {
    let s = parse("inline.yaml".as_ref(), SCENARIO).unwrap();
    let result = fuzz(&s, reference(), 128, 7, true);
    assert!(matches!(result, FuzzResult::Stable { .. }), "{result:?}");
}
