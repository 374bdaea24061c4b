//! Each workaround for a turmoil trap (see run/world/sim.rs) has a test here.

use std::time::Duration;
use streamcheck::run::{run, RunOptions};
use streamcheck::scenario::load::parse;
use streamcheck::verdict::{judge, Strictness, VerdictKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn verdict_of(yaml: &str) -> (VerdictKind, String) {
    let s = parse("inline.yaml".as_ref(), yaml).unwrap_or_else(|e| panic!("{e:?}"));
    let t = run(&s, &RunOptions::default());
    let v = judge(&s, &t, Strictness::Exact);
    (v.kind, format!("{}\n{}", v.explain(), t.to_text()))
}

/// The trap itself: with the receiver's queue full, a FIN is lost and the reader hangs.
#[test]
fn trap_a_fin_into_a_full_queue_is_lost() {
    let mut sim = turmoil::Builder::new().tcp_capacity(2).simulation_duration(Duration::from_secs(5)).build();
    sim.host("writer", || async {
        let l = turmoil::net::TcpListener::bind(("0.0.0.0", 9000)).await?;
        let (mut s, _) = l.accept().await?;
        s.write_all(b"a").await?;
        s.write_all(b"b").await?;
        s.shutdown().await?; // no free credit: this FIN waits in the reorder buffer for good
        std::future::pending::<()>().await;
        Ok(())
    });
    sim.client("reader", async {
        let mut s = turmoil::net::TcpStream::connect(("writer", 9000)).await?;
        tokio::time::sleep(Duration::from_millis(100)).await; // let both segments queue up
        let mut all = Vec::new();
        s.read_to_end(&mut all).await?; // drains "ab", then never sees EOF
        Ok(())
    });
    let err = sim.run().expect_err("the reader should hang: if turmoil fixed this, drop the workaround");
    assert!(err.to_string().contains("Ran for duration"), "{err}");
}

/// The workaround: the peer waits for a free credit before its FIN, so EOF arrives.
#[test]
fn workaround_peer_eof_waits_for_a_free_credit() {
    let (kind, why) = verdict_of(
        r#"
name: eof-after-full-queue
spec: turmoil trap
subject: stream-client
config: {limit: 1}
network: {tcp_capacity: 2}
steps:
  - peer: {send: "ab", chunks: [1]}
  - subject: {read: -1}
    as: all
  - peer: eof
  - await: all
    expect: {ok: "ab"}
"#,
    );
    assert_eq!(kind, VerdictKind::Pass, "{why}");
}

/// A RST needs unread data: with nothing unread, `reset` is an ERROR that says what to do.
#[test]
fn workaround_reset_without_unread_data_is_an_error_that_says_what_to_do() {
    let (kind, why) = verdict_of(
        r#"
name: reset-with-nothing-unread
spec: turmoil trap
subject: stream-client
steps:
  - peer: reset
"#,
    );
    assert_eq!(kind, VerdictKind::Error, "{why}");
    assert!(why.contains("add `peer: stop_reading` before the subject's last write"), "{why}");
}

#[test]
fn workaround_reset_with_unread_data_is_a_rst() {
    let (kind, why) = verdict_of(
        r#"
name: reset-with-unread-data
spec: turmoil trap
subject: stream-client
steps:
  - peer: stop_reading
  - subject: {write: "x"}
  - peer: {sleep: 2ms}
  - peer: reset
  - subject: {read: 10}
    expect: {error: {type: ConnectionReset}}
"#,
    );
    assert_eq!(kind, VerdictKind::Pass, "{why}");
}

/// Stalls use hold/release (partition would drop segments for good): data arrives late, in order.
#[test]
fn workaround_stalls_use_hold_and_release_and_lose_nothing() {
    let (kind, why) = verdict_of(
        r#"
name: stall-then-release
spec: turmoil trap
subject: stream-client
steps:
  - peer: hold
  - peer: {send: "one\n"}
  - peer: {send: "two\n"}
  - subject: readline
    pending_for: 500ms
  - peer: release
  - subject: readline
    expect: {ok: "one\n"}
    within: 5ms
  - subject: readline
    expect: {ok: "two\n"}
"#,
    );
    assert_eq!(kind, VerdictKind::Pass, "{why}");
}

/// Backpressure counts segments, not bytes: two credits, and the third write backs up.
#[test]
fn backpressure_counts_writes_not_bytes() {
    let (kind, why) = verdict_of(
        r#"
name: segments-not-bytes
spec: turmoil trap
subject: stream-client
config: {high_water: 0}
network: {tcp_capacity: 2}
steps:
  - peer: stop_reading
  - subject: {write: {repeat: "a", count: 100000}}
  - subject: {write: "b"}
  - subject: get_write_buffer_size
    expect: {ok: 0}
  - subject: {write: "c"}
  - subject: get_write_buffer_size
    expect: {ok: 1}
  - peer: resume_reading
  - subject: drain
    within: 10ms
"#,
    );
    assert_eq!(kind, VerdictKind::Pass, "{why}");
}

/// A hang is an ERROR that names the step and says what to do, not a stuck test.
#[test]
fn a_hanging_subject_is_an_error_that_names_the_step() {
    let (kind, why) = verdict_of(
        r#"
name: read-that-never-completes
spec: harness deadline
subject: stream-client
steps:
  - subject: readline
"#,
    );
    assert_eq!(kind, VerdictKind::Error, "{why}");
    assert!(why.contains("step 1") && why.contains("give the step `timeout:` or `pending_for:`"), "{why}");
}
