//! `readline_batch` / `readuntil_batch` against runs of single `readline` / `readuntil` calls.
//!
//! A batch claims to be exactly the calls that would complete without waiting, so the property
//! drives two readers through the same feeds and compares, after every feed: the results
//! (values and errors, in order), the buffer left behind, and the flow-control state. Single
//! calls are checked against CPython by the differential test; this one ties batches to them.

use bytes::Bytes;
use proptest::prelude::*;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use streamcheck_impl::stream::reader::ReadControl;
use streamcheck_impl::stream::{LineBatch, StreamError, StreamReader};

/// A transport that can always pause, counting the calls.
#[derive(Default)]
struct CountingTransport {
    pauses: AtomicUsize,
    resumes: AtomicUsize,
}

impl ReadControl for CountingTransport {
    fn pause_reading(&self) -> bool {
        self.pauses.fetch_add(1, Ordering::Relaxed);
        true
    }
    fn resume_reading(&self) {
        self.resumes.fetch_add(1, Ordering::Relaxed);
    }
}

/// Polls a future once; `None` means it would wait (the future is then dropped: a cancel,
/// which leaves the buffer as it was).
fn poll_once<T>(fut: impl Future<Output = T>) -> Option<T> {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

type Outcome = Result<Bytes, String>;

fn describe(e: &StreamError) -> String {
    format!("{}: {e}", e.python_class())
}

/// Single calls until one would wait or EOF ends the stream of lines.
fn drain_single(r: &StreamReader, sep: Option<&[u8]>, out: &mut Vec<Outcome>) {
    loop {
        let next = match sep {
            None => poll_once(r.readline()),
            Some(sep) => poll_once(r.readuntil(sep)),
        };
        match next {
            None => return,
            Some(Ok(line)) if line.is_empty() => return,
            Some(Ok(line)) => out.push(Ok(line)),
            Some(Err(e)) => {
                out.push(Err(describe(&e)));
                if sep.is_some() {
                    return; // readuntil leaves the buffer intact, so it would raise again forever
                }
            }
        }
    }
}

/// Batches until one would wait or EOF ends the stream of lines.
fn drain_batched(r: &StreamReader, sep: Option<&[u8]>, out: &mut Vec<Outcome>, batches: &mut usize) {
    loop {
        let next: Option<Result<LineBatch, StreamError>> = match sep {
            None => poll_once(r.readline_batch()),
            Some(sep) => poll_once(r.readuntil_batch(sep)),
        };
        match next {
            None => return,
            Some(Ok(batch)) if batch.is_empty() => return,
            Some(Ok(batch)) => {
                *batches += 1;
                let joined: Vec<u8> = batch.iter().flatten().copied().collect();
                assert_eq!(&joined[..], &batch.as_bytes()[..], "iter() covers the batch exactly");
                for i in 0..batch.len() {
                    let line = batch.line(i).expect("in range");
                    assert!(!line.is_empty(), "a batch never holds an empty line");
                    out.push(Ok(line));
                }
            }
            Some(Err(e)) => {
                out.push(Err(describe(&e)));
                if sep.is_some() {
                    return;
                }
            }
        }
    }
}

fn reader(limit: i64) -> (StreamReader, Arc<CountingTransport>) {
    let r = StreamReader::with_limit(limit).unwrap();
    let t = Arc::new(CountingTransport::default());
    r.set_transport(t.clone()).unwrap();
    (r, t)
}

/// How a reader is fed: `feed_data` (copied), or `feed_bytes` (kept as chunks, lines cut out of
/// them, only a line across chunks copied).
fn feed(r: &StreamReader, piece: &[u8], owned: bool) {
    if owned {
        r.feed_bytes(Bytes::copy_from_slice(piece)).unwrap();
    } else {
        r.feed_data(piece).unwrap();
    }
}

/// Runs both readers over the same feeds, each fed copied or owned as `owned` says; returns
/// how many multi-call batches happened.
fn compare(data: &[u8], cuts: &[usize], limit: i64, sep: Option<&[u8]>, owned: (bool, bool)) -> Result<usize, TestCaseError> {
    let (single, single_t) = reader(limit);
    let (batched, batched_t) = reader(limit);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut batches = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.push(data.len());
    points.sort_unstable();
    let mut from = 0;
    let mut step = |piece: Option<&[u8]>| -> Result<(), TestCaseError> {
        match piece {
            Some(p) => {
                feed(&single, p, owned.0);
                feed(&batched, p, owned.1);
            }
            None => {
                single.feed_eof();
                batched.feed_eof();
            }
        }
        drain_single(&single, sep, &mut a);
        drain_batched(&batched, sep, &mut b, &mut batches);
        prop_assert_eq!(&a, &b, "results differ");
        prop_assert_eq!(single.buffer(), batched.buffer(), "buffers differ");
        prop_assert_eq!(single.is_paused(), batched.is_paused(), "pause state differs");
        prop_assert_eq!(single.at_eof(), batched.at_eof());
        Ok(())
    };
    for &to in &points {
        step(Some(&data[from..to]))?;
        from = to;
    }
    step(None)?;
    prop_assert_eq!(single_t.pauses.load(Ordering::Relaxed), batched_t.pauses.load(Ordering::Relaxed));
    // A batch resumes once where single calls might resume once each; both end resumed.
    prop_assert_eq!(single_t.resumes.load(Ordering::Relaxed) > 0, batched_t.resumes.load(Ordering::Relaxed) > 0);
    Ok(batches)
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![6 => Just(b'a'), 2 => Just(b'\n'), 1 => Just(b'\r')], 0..200)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn readline_batch_is_a_run_of_readline_calls(data in text(), cuts in proptest::collection::vec(any::<usize>(), 0..6), limit in 1i64..24, owned in any::<(bool, bool)>()) {
        compare(&data, &cuts, limit, None, owned)?;
    }

    #[test]
    fn readuntil_batch_is_a_run_of_readuntil_calls(data in text(), cuts in proptest::collection::vec(any::<usize>(), 0..6), limit in 1i64..24, owned in any::<(bool, bool)>()) {
        compare(&data, &cuts, limit, Some(b"\r\n"), owned)?;
    }

    #[test]
    fn readuntil_batch_with_a_self_overlapping_separator(data in text(), cuts in proptest::collection::vec(any::<usize>(), 0..6), limit in 1i64..24, owned in any::<(bool, bool)>()) {
        // "\na\n" overlaps itself: in "\na\na\n" the second match shares the first one's end.
        compare(&data, &cuts, limit, Some(b"\na\n"), owned)?;
    }
}

#[test]
fn a_batch_takes_every_buffered_line_and_leaves_the_partial_one() {
    let r = StreamReader::new();
    r.feed_data(b"one\ntwo\nthree\npart").unwrap();
    let batch = poll_once(r.readline_batch()).unwrap().unwrap();
    let lines: Vec<&[u8]> = batch.iter().collect();
    assert_eq!(lines, vec![&b"one\n"[..], b"two\n", b"three\n"]);
    assert_eq!((batch.len(), batch.line(2), batch.line(3)), (3, Some(Bytes::from_static(b"three\n")), None));
    assert_eq!(r.buffer(), Bytes::from_static(b"part"));
    r.feed_eof();
    let last = poll_once(r.readline_batch()).unwrap().unwrap();
    assert_eq!(last.line(0), Some(Bytes::from_static(b"part")));
    assert_eq!(last.len(), 1);
    assert!(poll_once(r.readline_batch()).unwrap().unwrap().is_empty(), "EOF is an empty batch");
}

#[test]
fn a_batch_stops_before_a_line_over_the_limit() {
    let r = StreamReader::with_limit(4).unwrap();
    r.feed_data(b"ab\ncdefgh\nij\n").unwrap();
    let batch = poll_once(r.readline_batch()).unwrap().unwrap();
    assert_eq!(batch.len(), 1, "the long line is the next call's error");
    let err = poll_once(r.readline_batch()).unwrap().unwrap_err();
    assert_eq!(err.to_string(), "Separator is found, but chunk is longer than limit");
    assert_eq!(r.buffer(), Bytes::from_static(b"ij\n"));
}

#[test]
fn the_property_exercises_multi_line_batches() {
    // Guards the property above from passing vacuously with one line per batch.
    let data = b"a\nb\nc\nd\n".repeat(4);
    assert!(compare(&data, &[], 64, None, (false, false)).unwrap() >= 1);
    assert!(compare(&data, &[5, 9], 64, None, (false, true)).unwrap() >= 1);
    let (r, _) = reader(64);
    r.feed_data(&data).unwrap();
    assert_eq!(poll_once(r.readline_batch()).unwrap().unwrap().len(), 16);
}

#[test]
fn lines_inside_a_chunk_fed_as_bytes_share_its_memory() {
    let (r, _) = reader(64);
    let chunk = Bytes::from_static(b"x\nab\ncd\nef");
    r.feed_bytes(Bytes::from_static(b"w")).unwrap();
    r.feed_bytes(chunk.clone()).unwrap();
    // The first line spans both chunks, so it is copied and comes alone.
    let first = poll_once(r.readline_batch()).unwrap().unwrap();
    assert_eq!(first.as_bytes(), &Bytes::from_static(b"wx\n"));
    let rest = poll_once(r.readline_batch()).unwrap().unwrap();
    assert_eq!(rest.iter().collect::<Vec<_>>(), vec![&b"ab\n"[..], b"cd\n"]);
    assert_eq!(rest.as_bytes().as_ptr(), chunk[2..].as_ptr(), "the batch should be a slice of the chunk");
    assert!(poll_once(r.readline()).is_none(), "the partial line waits");
    r.feed_eof();
    assert_eq!(poll_once(r.readline()).unwrap().unwrap(), Bytes::from_static(b"ef"));
}
