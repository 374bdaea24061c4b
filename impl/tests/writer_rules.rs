//! StreamWriter rules (docs/glossary.md, the W probes), driven over
//! `tokio::io::duplex(n)`: our side goes through `open_stream`, the peer is the raw other end.
//! A small duplex buffer and a peer that does not read make the writer's buffer back up.
//!
//! The clock is paused (`start_paused`), so `settle()` (a sleep) returns only once every task is
//! idle: a deterministic "let the transport task do all it can".

use std::time::Duration;
use streamcheck_impl::stream::{open_stream, StreamError, StreamOptions, StreamReader, StreamWriter};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::timeout;

const LOST: &str = "Connection lost";

fn open(buffer: usize) -> (StreamReader, StreamWriter, DuplexStream) {
    let (ours, peer) = tokio::io::duplex(buffer);
    let (r, w) = open_stream(ours, StreamOptions::default()).expect("open_stream");
    (r, w, peer)
}

/// Lets the transport task (and any other task) run until everything is idle.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// Reads from the peer until `n` bytes have been read.
async fn peer_read(peer: &mut DuplexStream, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    peer.read_exact(&mut out).await.expect("peer read");
    out
}

fn value_error(msg: &str) -> StreamError {
    StreamError::ValueError(msg.into())
}

// write(): never blocks and never applies flow control itself; the socket takes what it can at
// once (send()) and the rest is buffered.
#[tokio::test(start_paused = true)]
async fn write_never_blocks_and_buffers_what_the_socket_does_not_take() {
    let (_r, w, _peer) = open(64);
    let big = vec![b'x'; 1 << 20];
    w.write(&big).unwrap(); // a plain fn: returning at all is the point
    assert_eq!(w.get_write_buffer_size(), (1 << 20) - 64);
    w.write(&big).unwrap();
    assert_eq!(w.get_write_buffer_size(), (2 << 20) - 64);
    assert!(w.is_writing_paused());
}

// get_write_buffer_size(): 0 when the socket took everything at once.
#[tokio::test(start_paused = true)]
async fn the_write_buffer_is_empty_when_the_socket_takes_everything() {
    let (_r, w, mut peer) = open(1024);
    w.write(b"hello").unwrap();
    assert_eq!(w.get_write_buffer_size(), 0);
    assert_eq!(peer_read(&mut peer, 5).await, b"hello");
}

// write(b'') does nothing.
#[tokio::test(start_paused = true)]
async fn writing_empty_data_does_nothing() {
    let (_r, w, _peer) = open(4);
    w.write(b"abcdefgh").unwrap();
    assert_eq!(w.get_write_buffer_size(), 4);
    w.write(b"").unwrap();
    assert_eq!(w.get_write_buffer_size(), 4);
}

// W01: get_write_buffer_limits() defaults to (16384, 65536).
#[tokio::test(start_paused = true)]
async fn the_default_water_marks_are_16384_and_65536() {
    let (_r, w, _peer) = open(64);
    assert_eq!(w.get_write_buffer_limits(), (16384, 65536));
}

// W01: high alone -> low = high // 4; low alone -> high = 4*low; neither -> defaults.
#[tokio::test(start_paused = true)]
async fn set_write_buffer_limits_derives_the_missing_mark() {
    let (_r, w, _peer) = open(64);
    w.set_write_buffer_limits(Some(100), None).unwrap();
    assert_eq!(w.get_write_buffer_limits(), (25, 100));
    w.set_write_buffer_limits(None, Some(10)).unwrap();
    assert_eq!(w.get_write_buffer_limits(), (10, 40));
    w.set_write_buffer_limits(Some(0), None).unwrap();
    assert_eq!(w.get_write_buffer_limits(), (0, 0));
    w.set_write_buffer_limits(None, Some(0)).unwrap();
    assert_eq!(w.get_write_buffer_limits(), (0, 0));
    w.set_write_buffer_limits(None, None).unwrap();
    assert_eq!(w.get_write_buffer_limits(), (16384, 65536));
}

// W01: high >= low >= 0 is enforced with CPython's message; the old limits stay.
#[tokio::test(start_paused = true)]
async fn set_write_buffer_limits_enforces_high_ge_low_ge_zero() {
    let (_r, w, _peer) = open(64);
    assert_eq!(
        w.set_write_buffer_limits(Some(10), Some(20)).unwrap_err(),
        value_error("high (10) must be >= low (20) must be >= 0")
    );
    assert_eq!(
        w.set_write_buffer_limits(Some(10), Some(-1)).unwrap_err(),
        value_error("high (10) must be >= low (-1) must be >= 0")
    );
    assert_eq!(w.get_write_buffer_limits(), (16384, 65536));
}

// W01: with high < 0 and no low, CPython computes low = high // 4 (floor division: -1 // 4 == -1),
// so the message reads "high (-1) must be >= low (-1) ..." (probed on 3.13.0).
#[tokio::test(start_paused = true)]
async fn set_write_buffer_limits_floors_a_negative_high_like_python() {
    let (_r, w, _peer) = open(64);
    assert_eq!(
        w.set_write_buffer_limits(Some(-1), None).unwrap_err(),
        value_error("high (-1) must be >= low (-1) must be >= 0")
    );
    assert_eq!(
        w.set_write_buffer_limits(Some(-5), None).unwrap_err(),
        value_error("high (-5) must be >= low (-2) must be >= 0")
    );
}

// drain() step (4): returns at once when writing is not paused, even with some data buffered.
#[tokio::test(start_paused = true)]
async fn drain_returns_at_once_when_writing_is_not_paused() {
    let (_r, w, _peer) = open(16);
    w.write(&[b'a'; 1000]).unwrap();
    assert!(w.get_write_buffer_size() > 0);
    assert!(!w.is_writing_paused());
    let mut d = tokio_test::task::spawn(w.drain());
    tokio_test::assert_ready_ok!(d.poll());
}

// drain() step (5): blocks above the high-water mark while the peer does not read, and completes
// once the peer has read the buffer down to <= low.
#[tokio::test(start_paused = true)]
async fn drain_blocks_above_high_water_until_the_peer_reads_down_to_low_water() {
    let (_r, w, mut peer) = open(1024);
    w.set_write_buffer_limits(Some(4096), Some(1024)).unwrap();
    w.write(&[b'z'; 10_000]).unwrap();
    assert_eq!(w.get_write_buffer_size(), 10_000 - 1024);
    assert!(w.is_writing_paused());

    let w2 = w.clone();
    let drain = tokio::spawn(async move { w2.drain().await });
    settle().await;
    assert!(!drain.is_finished(), "drain returned while the peer was not reading");

    // Read some: the buffer shrinks but stays above low, so drain still waits.
    let mut got = peer_read(&mut peer, 4000).await.len();
    settle().await;
    let size = w.get_write_buffer_size();
    assert!(size > 1024, "buffer {size} should still be above low");
    assert!(!drain.is_finished(), "drain returned above the low-water mark ({size} bytes buffered)");

    // Read the rest: at <= low, resume_writing releases the drain.
    got += peer_read(&mut peer, 10_000 - got).await.len();
    assert_eq!(got, 10_000);
    timeout(Duration::from_secs(5), drain).await.expect("drain released").unwrap().unwrap();
    assert!(!w.is_writing_paused());
    assert_eq!(w.get_write_buffer_size(), 0);
}

// drain waits until <= low, not merely until below high.
#[tokio::test(start_paused = true)]
async fn drain_is_still_pending_between_the_low_and_high_marks() {
    let (_r, w, mut peer) = open(100);
    w.set_write_buffer_limits(Some(1000), Some(500)).unwrap();
    w.write(&[b'q'; 1200]).unwrap(); // 1100 buffered > 1000
    assert!(w.is_writing_paused());
    let mut d = tokio_test::task::spawn(w.drain());
    tokio_test::assert_pending!(d.poll());
    // Peer reads 400: 700 buffered, below high but above low.
    let mut read = 0;
    while w.get_write_buffer_size() > 700 {
        read += peer.read(&mut [0u8; 100]).await.unwrap();
        settle().await;
    }
    assert!(w.get_write_buffer_size() > 500);
    tokio_test::assert_pending!(d.poll());
    assert!(w.is_writing_paused());
    while w.get_write_buffer_size() > 500 {
        read += peer.read(&mut [0u8; 100]).await.unwrap();
        settle().await;
    }
    assert!(read > 0);
    assert!(d.is_woken());
    tokio_test::assert_ready_ok!(d.poll());
}

// gh-74116 (test_multiple_drain): any number of drains may wait at once; resume_writing wakes them all.
#[tokio::test(start_paused = true)]
async fn many_concurrent_drains_are_all_released() {
    let (_r, w, mut peer) = open(256);
    w.write(&[b'm'; 100_000]).unwrap();
    assert!(w.is_writing_paused());
    let drains: Vec<_> = (0..10)
        .map(|_| {
            let w = w.clone();
            tokio::spawn(async move { w.drain().await })
        })
        .collect();
    settle().await;
    assert!(drains.iter().all(|d| !d.is_finished()));
    peer_read(&mut peer, 100_000).await;
    for d in drains {
        timeout(Duration::from_secs(5), d).await.expect("drain released").unwrap().unwrap();
    }
}

// W08: drain raises the reader's exception first, even when writing is not paused.
#[tokio::test(start_paused = true)]
async fn drain_raises_the_readers_exception_first() {
    let (r, w, _peer) = open(64);
    let exc = StreamError::ConnectionReset("from the reader".into());
    r.set_exception(exc.clone());
    assert_eq!(w.drain().await.unwrap_err(), exc);
    // ... and before the connection-lost check.
    w.close();
    w.wait_closed().await.unwrap();
    assert_eq!(w.drain().await.unwrap_err(), exc);
}

// W06: after close(), drain raises ConnectionResetError('Connection lost').
#[tokio::test(start_paused = true)]
async fn drain_after_close_raises_connection_lost() {
    let (_r, w, _peer) = open(64);
    w.close();
    w.wait_closed().await.unwrap();
    let e = w.drain().await.unwrap_err();
    assert_eq!(e, StreamError::ConnectionReset(LOST.into()));
    assert_eq!(e.python_class(), "ConnectionResetError");
}

// test_async_writer_api_exception_after_close: close(), write(), drain() -> ConnectionResetError,
// without awaiting wait_closed (drain's sleep(0) lets connection_lost run).
#[tokio::test(start_paused = true)]
async fn close_then_write_then_drain_raises_connection_lost() {
    let (_r, w, _peer) = open(64);
    w.close();
    w.write(b"late").unwrap();
    assert_eq!(w.drain().await.unwrap_err(), StreamError::ConnectionReset(LOST.into()));
}

// W04: write after write_eof -> RuntimeError('Cannot call write() after write_eof()').
#[tokio::test(start_paused = true)]
async fn write_after_write_eof_is_a_runtime_error() {
    let (_r, w, _peer) = open(64);
    w.write_eof();
    let e = w.write(b"x").unwrap_err();
    assert_eq!(e, StreamError::RuntimeError("Cannot call write() after write_eof()".into()));
    assert_eq!(e.python_class(), "RuntimeError");
}

// close(): idempotent; is_closing() true afterwards; wait_closed() completes and can be awaited
// repeatedly.
#[tokio::test(start_paused = true)]
async fn close_is_idempotent_and_wait_closed_can_be_awaited_repeatedly() {
    let (_r, w, _peer) = open(64);
    assert!(!w.is_closing());
    w.close();
    assert!(w.is_closing());
    w.close();
    assert!(w.is_closing());
    timeout(Duration::from_secs(5), w.wait_closed()).await.expect("wait_closed completes").unwrap();
    w.wait_closed().await.unwrap();
    w.wait_closed().await.unwrap();
    w.close();
    assert!(w.is_closing());
}

// wait_closed() may be awaited before close(): it completes once close() has run.
#[tokio::test(start_paused = true)]
async fn wait_closed_before_close_completes_after_close() {
    let (_r, w, _peer) = open(64);
    let w2 = w.clone();
    let waiting = tokio::spawn(async move { w2.wait_closed().await });
    settle().await;
    assert!(!waiting.is_finished());
    w.close();
    timeout(Duration::from_secs(5), waiting).await.expect("wait_closed completes").unwrap().unwrap();
}

// W12: wait_closed awaits the protocol's one close future, so a wait_closed cancelled while it
// waits (wait_for's timeout) cancels that future: a concurrent wait_closed and every later one
// raise CancelledError, even after close() and connection_lost. One that completed first, or
// one dropped before it ever ran, cancels nothing.
#[tokio::test(start_paused = true)]
async fn a_cancelled_wait_closed_cancels_every_other_one() {
    let (_r, w, _peer) = open(64);
    drop(w.wait_closed()); // never polled: nothing happens
    let w2 = w.clone();
    let concurrent = tokio::spawn(async move { w2.wait_closed().await });
    assert!(timeout(Duration::from_millis(100), w.wait_closed()).await.is_err(), "still open: it waits");
    settle().await;
    let cancelled = StreamError::cancelled();
    assert_eq!(concurrent.await.unwrap(), Err(cancelled.clone()));
    w.close();
    settle().await;
    assert_eq!(w.wait_closed().await, Err(cancelled.clone()));
    assert_eq!(cancelled.python_class(), "CancelledError");

    let (_r, w, _peer) = open(64);
    w.close();
    w.wait_closed().await.unwrap();
    assert!(timeout(Duration::from_millis(100), w.wait_closed()).await.is_ok());
    w.wait_closed().await.unwrap();
}

// close(): buffered data is flushed before the close completes, and writes after close() while
// data is still buffered are accepted and appended.
#[tokio::test(start_paused = true)]
async fn close_flushes_buffered_data_including_writes_accepted_after_close() {
    let (_r, w, mut peer) = open(16);
    w.write(&[b'1'; 100]).unwrap();
    assert_eq!(w.get_write_buffer_size(), 84);
    w.close();
    w.write(&[b'2'; 50]).unwrap();
    assert_eq!(w.get_write_buffer_size(), 134);
    let mut all = Vec::new();
    peer.read_to_end(&mut all).await.unwrap();
    let mut want = vec![b'1'; 100];
    want.extend_from_slice(&[b'2'; 50]);
    assert_eq!(all, want);
    timeout(Duration::from_secs(5), w.wait_closed()).await.expect("wait_closed").unwrap();
}

// test_eof_feed_when_closing_writer: after close + wait_closed the reader is at EOF, read() -> b''.
#[tokio::test(start_paused = true)]
async fn after_close_the_reader_sees_eof() {
    let (r, w, _peer) = open(64);
    w.close();
    w.wait_closed().await.unwrap();
    assert!(r.at_eof());
    assert_eq!(r.read(-1).await.unwrap(), bytes::Bytes::new());
}

// Writes after the connection is lost are silently dropped (no error, nothing buffered).
#[tokio::test(start_paused = true)]
async fn writes_after_the_connection_is_lost_are_silently_dropped() {
    let (_r, w, _peer) = open(64);
    w.close();
    w.wait_closed().await.unwrap();
    for _ in 0..10 {
        w.write(b"dropped").unwrap();
    }
    w.writelines([&b"a"[..], &b"b"[..]]).unwrap();
    assert_eq!(w.get_write_buffer_size(), 0);
}

// write_eof(): half-closes (the peer reads EOF after the data) while reading still works;
// is_closing() stays false.
#[tokio::test(start_paused = true)]
async fn write_eof_half_closes_and_reading_still_works() {
    let (r, w, mut peer) = open(64);
    assert!(w.can_write_eof());
    w.write(b"ping").unwrap();
    w.write_eof();
    w.write_eof(); // does nothing the second time
    assert!(!w.is_closing());
    let mut got = Vec::new();
    timeout(Duration::from_secs(5), peer.read_to_end(&mut got)).await.expect("peer sees EOF").unwrap();
    assert_eq!(got, b"ping");
    peer.write_all(b"pong\n").await.unwrap();
    assert_eq!(r.readline().await.unwrap(), bytes::Bytes::from_static(b"pong\n"));
    drop(peer);
    assert_eq!(r.readline().await.unwrap(), bytes::Bytes::new());
    assert!(r.at_eof());
}

// write_eof(): the FIN waits until the buffered data has been flushed.
#[tokio::test(start_paused = true)]
async fn write_eof_waits_for_the_buffer_to_flush() {
    let (_r, w, mut peer) = open(8);
    w.write(&[b'd'; 100]).unwrap();
    w.write_eof();
    let mut got = Vec::new();
    peer.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, vec![b'd'; 100]);
}

// write_eof() does nothing once closing.
#[tokio::test(start_paused = true)]
async fn write_eof_after_close_does_nothing() {
    let (_r, w, _peer) = open(64);
    w.close();
    w.write_eof();
    // Not "Cannot call write() after write_eof()": the write is simply dropped once lost.
    w.wait_closed().await.unwrap();
    assert!(w.write(b"x").is_ok());
}

// W10: after the peer closes, the read gives b'' and is_closing() stays False (half-open); the
// first failing write+drain raises ConnectionResetError('Connection lost'); later drains and
// wait_closed raise the real OSError (BrokenPipeError).
#[tokio::test(start_paused = true)]
async fn after_the_peer_closes_the_first_drain_is_connection_lost_then_broken_pipe() {
    let (r, w, peer) = open(64);
    drop(peer);
    assert_eq!(r.read(10).await.unwrap(), bytes::Bytes::new());
    assert!(!w.is_closing());
    w.write(b"into the void").unwrap();
    assert_eq!(w.drain().await.unwrap_err(), StreamError::ConnectionReset(LOST.into()));
    let later = w.drain().await.unwrap_err();
    assert_eq!(later.python_class(), "BrokenPipeError");
    assert_eq!(w.wait_closed().await.unwrap_err().python_class(), "BrokenPipeError");
}

// W09-like: connection_lost(None) while drains wait (paused) releases them with a normal return.
#[tokio::test(start_paused = true)]
async fn closing_releases_paused_drains_once_the_data_is_flushed() {
    let (_r, w, mut peer) = open(64);
    w.write(&[b'p'; 70_000]).unwrap();
    assert!(w.is_writing_paused());
    let w2 = w.clone();
    let drain = tokio::spawn(async move { w2.drain().await });
    settle().await;
    w.close();
    let mut got = Vec::new();
    peer.read_to_end(&mut got).await.unwrap();
    assert_eq!(got.len(), 70_000);
    timeout(Duration::from_secs(5), drain).await.expect("drain released").unwrap().unwrap();
    w.wait_closed().await.unwrap();
}
