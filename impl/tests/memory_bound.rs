//! The reader's memory bound: with limit = 64 KiB, a peer sending 1 GiB with no separator never
//! makes the reader hold more than 2 × limit + one socket read (READ_CHUNK), because the reader
//! pauses its transport above 2 × limit (note §1, flow control F01/F02) and the transport task
//! honours the pause.
//!
//! The source is an `AsyncRead` yielding READ_CHUNK-sized chunks of b'a' until the total is sent,
//! then EOF. It samples the reader's buffer every time it hands out a chunk (the size right after
//! that chunk is fed), so the maximum is exact, not only sampled between reads.
//!
//! Size: `STREAMCHECK_MEMORY_BOUND_BYTES` (default 1 GiB).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;
use streamcheck_impl::stream::transport::READ_CHUNK;
use streamcheck_impl::stream::{open_stream, StreamError, StreamOptions, StreamReader, StreamWriter};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const LIMIT: usize = 64 * 1024;
const BOUND: usize = 2 * LIMIT + READ_CHUNK;
static CHUNK: [u8; READ_CHUNK] = [b'a'; READ_CHUNK];

fn total_bytes() -> u64 {
    std::env::var("STREAMCHECK_MEMORY_BOUND_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(1 << 30)
}

#[derive(Default)]
struct Meter {
    produced: AtomicU64,
    /// The largest buffer the reader held right after a chunk was fed.
    max_buffered: AtomicUsize,
    reader: OnceLock<StreamReader>,
}

/// Endless b'a' (up to `remaining`), then EOF; writes are swallowed.
struct Source {
    remaining: u64,
    meter: Arc<Meter>,
}

impl AsyncRead for Source {
    fn poll_read(mut self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let n = (self.remaining.min(READ_CHUNK as u64) as usize).min(buf.remaining());
        if n > 0 {
            if let Some(r) = self.meter.reader.get() {
                // The transport feeds this chunk right away: buffered + n is the size after the feed.
                self.meter.max_buffered.fetch_max(r.buffered_len() + n, Ordering::Relaxed);
            }
            buf.put_slice(&CHUNK[..n]);
            self.remaining -= n as u64;
            self.meter.produced.fetch_add(n as u64, Ordering::Relaxed);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Source {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(data.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn open(total: u64) -> (StreamReader, StreamWriter, Arc<Meter>) {
    let meter = Arc::new(Meter::default());
    let source = Source { remaining: total, meter: meter.clone() };
    let (r, w) = open_stream(source, StreamOptions { limit: LIMIT as i64, ..StreamOptions::default() }).unwrap();
    assert!(meter.reader.set(r.clone()).is_ok(), "the meter's reader is set once");
    (r, w, meter)
}

/// Tracks the largest buffer seen after each step of the consumer.
struct Sampler {
    max: usize,
    steps: u64,
}

impl Sampler {
    fn sample(&mut self, r: &StreamReader) {
        self.max = self.max.max(r.buffered_len());
        self.steps += 1;
    }
}

fn report(name: &str, total: u64, started: Instant, sampler: &Sampler, meter: &Meter) {
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{name}: {total} bytes in {secs:.2} s ({:.2} GB/s), {} steps, max buffered after a step = {}, \
         max buffered after a feed = {}, bound = {BOUND}",
        total as f64 / secs / 1e9,
        sampler.steps,
        sampler.max,
        meter.max_buffered.load(Ordering::Relaxed),
    );
    assert!(sampler.max <= BOUND, "{name}: buffer reached {} > {BOUND} after a step", sampler.max);
    let fed_max = meter.max_buffered.load(Ordering::Relaxed);
    assert!(fed_max <= BOUND, "{name}: buffer reached {fed_max} > {BOUND} after a feed");
}

// F01/L04: readuntil(b'\n') with no separator fails with LimitOverrunError("not found") as soon
// as the buffer passes the limit; then read(n) drains the whole stream in pieces, and the buffer
// never exceeds 2 × limit + READ_CHUNK.
#[tokio::test]
async fn readuntil_overruns_and_read_consumes_the_whole_stream_within_the_bound() {
    let total = total_bytes();
    let (r, _w, meter) = open(total);
    let started = Instant::now();
    let mut s = Sampler { max: 0, steps: 0 };

    match r.readuntil(b"\n").await {
        Err(StreamError::LimitOverrun { consumed, message }) => {
            assert_eq!(message, "Separator is not found, and chunk exceed the limit");
            assert!(consumed > LIMIT && consumed <= BOUND, "consumed = {consumed}");
        }
        other => panic!("expected LimitOverrun, got {other:?}"),
    }
    s.sample(&r);
    // U04: the buffer is untouched, a second call fails the same way.
    assert!(matches!(r.readuntil(b"\n").await, Err(StreamError::LimitOverrun { .. })));
    s.sample(&r);

    let mut consumed: u64 = 0;
    loop {
        let piece = r.read(LIMIT as isize).await.unwrap();
        s.sample(&r);
        if piece.is_empty() {
            break;
        }
        consumed += piece.len() as u64;
    }
    assert_eq!(consumed, total);
    assert_eq!(meter.produced.load(Ordering::Relaxed), total);
    assert!(r.at_eof());
    report("readuntil+read", total, started, &s, &meter);
}

// readline's not-found overrun clears the buffer (note §1 readline) and resumes the transport:
// repeated readline calls walk through the whole stream, each raising ValueError, within the bound.
#[tokio::test]
async fn repeated_readline_overruns_walk_through_the_stream_within_the_bound() {
    let total = total_bytes();
    let (r, _w, meter) = open(total);
    let started = Instant::now();
    let mut s = Sampler { max: 0, steps: 0 };
    let mut errors = 0u64;
    loop {
        match r.readline().await {
            Err(StreamError::ValueError(m)) => {
                assert_eq!(m, "Separator is not found, and chunk exceed the limit");
                errors += 1;
            }
            Ok(tail) => {
                // L06: the unterminated tail at EOF (at most limit bytes), then b''.
                assert!(tail.len() <= LIMIT);
                s.sample(&r);
                if tail.is_empty() {
                    break;
                }
                continue;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
        s.sample(&r);
    }
    assert!(errors > 0);
    assert_eq!(meter.produced.load(Ordering::Relaxed), total);
    report("readline", total, started, &s, &meter);
}

// readexactly(limit) in a loop keeps the same bound; the last call at EOF is an IncompleteRead.
#[tokio::test]
async fn readexactly_consumes_the_whole_stream_within_the_bound() {
    let total = total_bytes();
    let (r, _w, meter) = open(total);
    let started = Instant::now();
    let mut s = Sampler { max: 0, steps: 0 };
    let mut consumed: u64 = 0;
    loop {
        match r.readexactly(LIMIT as isize).await {
            Ok(piece) => consumed += piece.len() as u64,
            Err(StreamError::IncompleteRead { partial, expected }) => {
                assert_eq!(expected, Some(LIMIT));
                consumed += partial.len() as u64;
                s.sample(&r);
                break;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
        s.sample(&r);
    }
    assert_eq!(consumed, total);
    report("readexactly", total, started, &s, &meter);
}

// X04/F02: readexactly(n > 2 × limit) completes (waiting resumes the paused transport); the buffer
// then holds at most n + READ_CHUNK.
#[tokio::test]
async fn readexactly_larger_than_twice_the_limit_completes_within_n_plus_one_chunk() {
    let n = 5 * LIMIT + 123;
    let total = 8 * n as u64;
    let (r, _w, meter) = open(total);
    for _ in 0..8 {
        assert_eq!(r.readexactly(n as isize).await.unwrap().len(), n);
    }
    let fed_max = meter.max_buffered.load(Ordering::Relaxed);
    assert!(fed_max <= n + READ_CHUNK, "buffer reached {fed_max} > {}", n + READ_CHUNK);
    assert_eq!(r.read(1).await.unwrap().len(), 0);
}
