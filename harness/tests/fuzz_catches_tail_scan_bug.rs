//! The chunk fuzzer must catch a reader that scans only newly arrived bytes for the separator.
//!
//! Such a reader passes every run in which the read starts after all the pieces have arrived,
//! however the pieces are cut, because it then scans one contiguous buffer. This test shows
//! all three facts: the canonical run passes, re-splitting alone passes, and re-splitting with
//! reads started between the pieces fails and shrinks to a split inside the separator.

use std::sync::{Arc, Mutex};
use streamcheck::fuzz::chunks::{fuzz, FuzzResult};
use streamcheck::op::{Op, Separator};
use streamcheck::outcome::{ErrorOutcome, ErrorType, Outcome, Value};
use streamcheck::run::subject::{BoxFuture, Reference, ReferenceStreams, Subject, SubjectFactory};
use streamcheck::run::{run_with, RunOptions};
use streamcheck::scenario::{load::parse, SubjectConfig};
use streamcheck::verdict::{judge, Strictness, VerdictKind};

/// Wraps the reference but answers `readuntil` with the classic bug: each wake-up scans only
/// the bytes that just arrived, so a separator cut across two arrivals is never seen.
struct TailScanReaduntil {
    inner: Arc<ReferenceStreams>,
    leftover: Arc<Mutex<Vec<u8>>>,
}

impl Subject for TailScanReaduntil {
    fn as_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }

    fn call(&self, op: Op) -> BoxFuture<Outcome> {
        let Op::Readuntil(Separator::One(sep)) = &op else { return self.inner.call(op) };
        let sep = sep.as_slice().to_vec();
        let inner = self.inner.clone();
        let leftover = self.leftover.clone();
        Box::pin(async move {
            let find = |hay: &[u8]| hay.windows(sep.len()).position(|w| w == sep.as_slice());
            let mut got = std::mem::take(&mut *leftover.lock().unwrap());
            let mut scan_from = 0;
            loop {
                if let Some(pos) = find(&got[scan_from..]) {
                    let end = scan_from + pos + sep.len();
                    *leftover.lock().unwrap() = got.split_off(end);
                    return Outcome::Ok(Value::Bytes(got.as_slice().into()));
                }
                let chunk = match inner.reader.read(65536).await {
                    Ok(c) => c,
                    Err(e) => return Outcome::Error(ErrorOutcome::from(&e)),
                };
                if chunk.is_empty() {
                    return Outcome::Error(ErrorOutcome {
                        kind: Some(ErrorType::IncompleteRead),
                        partial: Some(got.as_slice().into()),
                        expected: Some(None),
                        ..Default::default()
                    });
                }
                scan_from = got.len(); // The bug: the boundary between old and new bytes is never rescanned.
                got.extend_from_slice(&chunk);
            }
        })
    }
}

struct Broken;

impl SubjectFactory for Broken {
    fn connect(&self, host: String, port: u16, config: SubjectConfig) -> BoxFuture<Result<Arc<dyn Subject>, Outcome>> {
        Box::pin(async move {
            let inner = Reference.connect(host, port, config).await?;
            // The reference's connect returns its own streams; rebuild them to wrap.
            let streams = inner_streams(inner);
            Ok(Arc::new(TailScanReaduntil { inner: streams, leftover: Arc::default() }) as Arc<dyn Subject>)
        })
    }
    fn serve(&self, _: u16, _: SubjectConfig) -> BoxFuture<Result<(u16, BoxFuture<Arc<dyn Subject>>), Outcome>> {
        unreachable!("this test's scenario uses stream-client")
    }
}

fn inner_streams(s: Arc<dyn Subject>) -> Arc<ReferenceStreams> {
    let any: Arc<dyn std::any::Any + Send + Sync> = s.as_any();
    any.downcast::<ReferenceStreams>().expect("the reference subject is ReferenceStreams")
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
    let verdict = judge(&s, &run_with(&s, &RunOptions::default(), Arc::new(Broken)), Strictness::Exact);
    assert_eq!(verdict.kind, VerdictKind::Pass, "{}", verdict.explain());
}

#[test]
fn re_splitting_alone_does_not_catch_the_bug() {
    let s = parse("inline.yaml".as_ref(), SCENARIO).unwrap();
    let result = fuzz(&s, Arc::new(Broken), 64, 7, false);
    assert!(matches!(result, FuzzResult::Stable { cases: 64 }), "{result:?}");
}

#[test]
fn starting_the_read_between_pieces_catches_it_and_shrinks_to_a_split_separator() {
    let s = parse("inline.yaml".as_ref(), SCENARIO).unwrap();
    match fuzz(&s, Arc::new(Broken), 256, 7, true) {
        FuzzResult::Changed { canonical, fuzzed, scenario_yaml } => {
            assert_eq!(canonical, VerdictKind::Pass);
            assert!(fuzzed.starts_with("FAIL") || fuzzed.starts_with("ERROR"), "{fuzzed}");
            // The saved case is a valid scenario that still exposes the bug...
            let saved = parse("saved.yaml".as_ref(), &scenario_yaml).unwrap_or_else(|e| panic!("{e:?}\n{scenario_yaml}"));
            let verdict = judge(&saved, &run_with(&saved, &RunOptions::default(), Arc::new(Broken)), Strictness::Exact);
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
    let result = fuzz(&s, Arc::new(Reference), 128, 7, true);
    assert!(matches!(result, FuzzResult::Stable { .. }), "{result:?}");
}
