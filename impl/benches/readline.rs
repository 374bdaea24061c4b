//! readline / readuntil throughput of the reference StreamReader, side by side with
//! `tokio::io::BufReader::read_until` and a plain memchr-per-line loop (the bound).
//!
//! Input: ~100-byte lines (80..=120 bytes, deterministic), 64 MiB, fed in chunks of 1, 64, 4096
//! and 65536 bytes. The 1-byte case uses a 1 MiB input instead (64 MiB one byte at a time would
//! take seconds per iteration); its throughput is still bytes/s, so it compares directly.
//!
//! `owned_bytes_per_line` is a second bound: the least any readline can cost that hands each line
//! out as its own `Bytes`, as ours must (asyncio returns a new `bytes` per call). One owner, no
//! lock, no future: append the chunk, then memchr and `split_to(..).freeze()` per line. It shows
//! what the reference-counted line alone costs, next to `read_until`, which lends its line.
//!
//! `ours_readline_batch` / `ours_readuntil_batch` take every buffered line under one lock
//! (`readline_batch`, exactly a run of readline calls that would not wait) and visit each line.
//!
//! The `_owned` contenders feed with `feed_bytes`, handing over each chunk as a slice of the
//! input, as the transport hands over what it read; lines are then cut out of the chunk without
//! a copy, as the memchr loop reads the input in place. The others feed with `feed_data`, which
//! copies, as asyncio's `bytearray.extend` does.
//!
//! Our reader is driven the way a transport drives it: `feed_data(chunk)`, then poll the pending
//! `readline()` future with a no-op waker until it would block. The pending future is kept
//! across feeds (like a waiting coroutine), so its scan offset survives and a long line costs
//! linear time. `one_long_line` feeds a single 256 KiB / 1 MiB line one byte at a time: equal
//! throughput for both sizes means linear cost.
//!
//! Run: cargo bench -p streamcheck-impl --bench readline -- --warm-up-time 1 --measurement-time 3

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::future::Future;
use std::hint::black_box;
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use bytes::{Bytes, BytesMut};
use streamcheck_impl::stream::{LineBatch, StreamReader};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, ReadBuf};

const BIG: usize = 64 << 20;
const SMALL: usize = 1 << 20;
const CHUNKS: [usize; 4] = [1, 64, 4096, 65536];

/// ~100-byte lines ending in `eol`, about `size` bytes in total (whole lines only).
fn make_lines(size: usize, eol: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(size + 128);
    let mut x: u32 = 0x9E37_79B9;
    while out.len() < size {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let len = 80 + (x % 41) as usize - eol.len();
        out.extend((0..len).map(|i| b'a' + ((i as u32 + x) % 26) as u8));
        out.extend_from_slice(eol);
    }
    out.into()
}

fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// How the reader gets each chunk: `feed_data` copies it in; `feed_bytes` hands over a slice
/// of the input (as a transport hands over what it read), so lines inside it are not copied.
#[derive(Clone, Copy)]
enum Feed {
    Copied,
    Owned,
}

/// Feeds `data` in `chunk`-sized pieces and polls `read` (a readline/readuntil, single or
/// batched) after each until it would wait; `len` counts what each result hands back.
fn drive<'r, F, Fut, T>(r: &'r StreamReader, data: &Bytes, chunk: usize, feed: Feed, read: F, len: impl Fn(T) -> usize) -> usize
where
    F: Fn(&'r StreamReader) -> Fut,
    Fut: Future<Output = Result<T, streamcheck_impl::stream::StreamError>> + 'r,
{
    let mut cx = cx();
    let mut fut = pin!(None);
    let mut total = 0;
    for start in (0..data.len()).step_by(chunk) {
        let piece = start..(start + chunk).min(data.len());
        match feed {
            Feed::Copied => r.feed_data(&data[piece]).unwrap(),
            Feed::Owned => r.feed_bytes(data.slice(piece)).unwrap(),
        }
        loop {
            if fut.is_none() {
                fut.set(Some(read(r)));
            }
            match fut.as_mut().as_pin_mut().unwrap().poll(&mut cx) {
                Poll::Ready(out) => {
                    total += len(out.unwrap());
                    fut.set(None);
                }
                Poll::Pending => break,
            }
        }
    }
    total
}

fn visit_line(line: Bytes) -> usize {
    black_box(line).len()
}

/// Every line of a batch is visited as a slice.
fn visit_batch(batch: LineBatch) -> usize {
    batch.iter().map(|line| black_box(line).len()).sum()
}

fn ours_readline_batch(data: &Bytes, chunk: usize, feed: Feed) -> usize {
    let r = StreamReader::new();
    drive(&r, data, chunk, feed, |r| r.readline_batch(), visit_batch)
}

fn ours_readuntil_batch(data: &Bytes, chunk: usize, sep: &[u8]) -> usize {
    let r = StreamReader::new();
    drive(&r, data, chunk, Feed::Copied, move |r| r.readuntil_batch(sep), visit_batch)
}

fn ours_readline(data: &Bytes, chunk: usize, limit: i64, feed: Feed) -> usize {
    let r = StreamReader::with_limit(limit).unwrap();
    drive(&r, data, chunk, feed, |r| r.readline(), visit_line)
}

fn ours_readuntil(data: &Bytes, chunk: usize, sep: &[u8]) -> usize {
    let r = StreamReader::new();
    drive(&r, data, chunk, Feed::Copied, move |r| r.readuntil(sep), visit_line)
}

/// An in-memory AsyncRead that hands out at most `chunk` bytes per read.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(mut self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let n = self.chunk.min(self.data.len()).min(buf.remaining());
        let (head, tail) = self.data.split_at(n);
        buf.put_slice(head);
        self.data = tail;
        Poll::Ready(Ok(()))
    }
}

/// tokio's BufReader::read_until over the same chunking (buffer capacity = max(chunk, 8 KiB)).
fn tokio_read_until(data: &[u8], chunk: usize) -> usize {
    let mut br = BufReader::with_capacity(chunk.max(8192), Chunked { data, chunk });
    let mut cx = cx();
    let mut line = Vec::with_capacity(256);
    let mut total = 0;
    loop {
        line.clear();
        let fut = pin!(br.read_until(b'\n', &mut line));
        let Poll::Ready(n) = fut.poll(&mut cx) else { unreachable!("in-memory reader is always ready") };
        let n = n.unwrap();
        if n == 0 {
            return total;
        }
        total += black_box(&line).len();
    }
}

/// The bound: one memchr call per line over the same bytes, no buffering at all.
fn memchr_per_line(data: &[u8]) -> usize {
    let mut pos = 0;
    let mut total = 0;
    while let Some(i) = memchr::memchr(b'\n', &data[pos..]) {
        let line = &data[pos..pos + i + 1];
        total += black_box(line).len();
        pos += i + 1;
    }
    total
}

/// The bound for a readline that returns each line as its own `Bytes`: no lock, no waiting.
fn owned_bytes_per_line(data: &[u8], chunk: usize) -> usize {
    let mut buf = BytesMut::new();
    let mut total = 0;
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(i) = memchr::memchr(b'\n', &buf) {
            total += visit_line(buf.split_to(i + 1).freeze());
        }
    }
    total
}

fn lines(c: &mut Criterion) {
    let big_lf = make_lines(BIG, b"\n");
    let big_crlf = make_lines(BIG, b"\r\n");
    let small_lf = make_lines(SMALL, b"\n");
    let small_crlf = make_lines(SMALL, b"\r\n");
    for &chunk in &CHUNKS {
        let (lf, crlf) = if chunk == 1 { (&small_lf, &small_crlf) } else { (&big_lf, &big_crlf) };
        // Sanity: every implementation reads back every byte.
        for feed in [Feed::Copied, Feed::Owned] {
            assert_eq!(ours_readline(lf, chunk.max(4096), 1 << 16, feed), lf.len());
            assert_eq!(ours_readline_batch(lf, chunk.max(4096), feed), lf.len());
        }
        assert_eq!(ours_readuntil(crlf, chunk.max(4096), b"\r\n"), crlf.len());
        assert_eq!(ours_readuntil_batch(crlf, chunk.max(4096), b"\r\n"), crlf.len());
        assert_eq!(tokio_read_until(lf, chunk.max(4096)), lf.len());
        assert_eq!(memchr_per_line(lf), lf.len());
        assert_eq!(owned_bytes_per_line(lf, chunk.max(4096)), lf.len());

        let mut g = c.benchmark_group(format!("lines/chunk={chunk}"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(lf.len() as u64));
        g.bench_function("ours_readline", |b| b.iter(|| ours_readline(lf, chunk, 1 << 16, Feed::Copied)));
        g.bench_function("ours_readline_batch", |b| b.iter(|| ours_readline_batch(lf, chunk, Feed::Copied)));
        g.bench_function("ours_readline_owned", |b| b.iter(|| ours_readline(lf, chunk, 1 << 16, Feed::Owned)));
        g.bench_function("ours_readline_batch_owned", |b| b.iter(|| ours_readline_batch(lf, chunk, Feed::Owned)));
        g.bench_function("tokio_read_until", |b| b.iter(|| tokio_read_until(lf, chunk)));
        g.bench_function("memchr_per_line", |b| b.iter(|| memchr_per_line(lf)));
        g.bench_function("owned_bytes_per_line", |b| b.iter(|| owned_bytes_per_line(lf, chunk)));
        g.throughput(Throughput::Bytes(crlf.len() as u64));
        g.bench_function("ours_readuntil_crlf", |b| b.iter(|| ours_readuntil(crlf, chunk, b"\r\n")));
        g.bench_function("ours_readuntil_batch_crlf", |b| b.iter(|| ours_readuntil_batch(crlf, chunk, b"\r\n")));
        g.finish();
    }
}

fn one_long_line(c: &mut Criterion) {
    let mut g = c.benchmark_group("one_long_line/chunk=1");
    g.sample_size(10);
    for size in [256 << 10, 1 << 20] {
        let mut line = vec![b'x'; size - 1];
        line.push(b'\n');
        let line = Bytes::from(line);
        assert_eq!(ours_readline(&line, 1, 2 << 20, Feed::Copied), size);
        assert_eq!(ours_readline(&line, 1, 2 << 20, Feed::Owned), size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("ours_readline", size), &line, |b, line| {
            b.iter(|| ours_readline(line, 1, 2 << 20, Feed::Copied))
        });
        g.bench_with_input(BenchmarkId::new("ours_readline_owned", size), &line, |b, line| {
            b.iter(|| ours_readline(line, 1, 2 << 20, Feed::Owned))
        });
        g.bench_with_input(BenchmarkId::new("tokio_read_until", size), &line, |b, line| {
            b.iter(|| tokio_read_until(line, 1))
        });
    }
    g.finish();
}

criterion_group!(benches, lines, one_long_line);
criterion_main!(benches);
