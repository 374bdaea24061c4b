//! WebSocket benchmarks, ours against tungstenite on the same inputs:
//! 1. parse + unmask of one 1 MiB masked frame, in memory;
//! 2. echo round trips (16 B and 4 KiB binary messages) over `tokio::io::duplex` on a
//!    current_thread runtime: our client and server (on this crate's streams) against
//!    tokio-tungstenite's client and server.
//!
//! `cargo bench -p streamcheck-impl --bench ws -- --warm-up-time 1 --measurement-time 3`

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::{SinkExt, StreamExt};
use std::hint::black_box;
use std::io::Cursor;
use std::time::{Duration, Instant};
use streamcheck_impl::stream::{open_stream, StreamOptions};
use streamcheck_impl::ws::frame::header::FrameHeader;
use streamcheck_impl::ws::frame::mask::{apply_mask, apply_mask_bytewise};
use streamcheck_impl::ws::frame::{encode, FrameDecoder};
use streamcheck_impl::ws::{Incoming, OpCode, WsClient, WsConfig, WsServer};
use tokio_tungstenite::tungstenite;

const MIB: usize = 1 << 20;

/// An in-memory socket for tungstenite: reads the given bytes, discards writes.
struct MemStream<'a>(Cursor<&'a [u8]>);

impl std::io::Read for MemStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl std::io::Write for MemStream<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn masked_frame(len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..len).map(|i| (i * 31) as u8).collect();
    let mut wire = Vec::new();
    encode(&FrameHeader::new(OpCode::Binary, true, len as u64, Some([0x12, 0x34, 0x56, 0x78])), &payload, &mut wire);
    wire
}

fn parse_unmask(c: &mut Criterion) {
    let wire = masked_frame(MIB);
    let mut g = c.benchmark_group("parse_unmask_1MiB");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("ours", |b| {
        b.iter(|| {
            // From the same &[u8]: parse, then copy the payload out unmasking it on the way.
            let (frame, _) = FrameDecoder::new(16 * MIB).decode_slice(black_box(&wire[..])).unwrap().unwrap();
            black_box(frame.payload);
        })
    });
    g.bench_function("ours_copy_then_unmask", |b| {
        b.iter(|| {
            // The two-pass alternative: copy into a BytesMut, then decode (unmask in place).
            let mut buf = BytesMut::from(black_box(&wire[..]));
            let frame = FrameDecoder::new(16 * MIB).decode(&mut buf).unwrap().unwrap();
            black_box(frame.payload);
        })
    });
    g.bench_function("tungstenite", |b| {
        let config = tungstenite::protocol::WebSocketConfig::default().max_frame_size(Some(16 * MIB)).max_message_size(Some(64 * MIB));
        b.iter(|| {
            // Its smallest public path that unmasks: WebSocket::read over an in-memory reader.
            let mut ws = tungstenite::WebSocket::from_raw_socket(MemStream(Cursor::new(black_box(&wire[..]))), tungstenite::protocol::Role::Server, Some(config));
            black_box(ws.read().unwrap());
        })
    });
    g.bench_function("ours_in_place", |b| {
        // The codec alone, on a buffer that already holds the frame (as after a socket read).
        b.iter_batched_ref(
            || BytesMut::from(&wire[..]),
            |buf| black_box(FrameDecoder::new(16 * MIB).decode(buf).unwrap().unwrap().payload.len()),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
    let mut g = c.benchmark_group("unmask_1MiB");
    g.throughput(Throughput::Bytes(MIB as u64));
    let mut data = vec![7u8; MIB];
    g.bench_function("word", |b| b.iter(|| apply_mask(black_box(&mut data), [1, 2, 3, 4], 1)));
    g.bench_function("bytewise", |b| b.iter(|| apply_mask_bytewise(black_box(&mut data), [1, 2, 3, 4], 1)));
    g.finish();
}

const SIZES: [usize; 2] = [16, 4096];

fn echo_roundtrip(c: &mut Criterion) {
    let mut g = c.benchmark_group("echo_roundtrip");
    for size in SIZES {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = rt.block_on(async {
            let (a, b) = tokio::io::duplex(64 * 1024);
            let (sr, sw) = open_stream(b, StreamOptions::default()).unwrap();
            tokio::spawn(async move {
                let ws = WsServer::accept(sr, sw, WsConfig::default()).await.unwrap();
                let _ = ws.echo().await;
            });
            let (cr, cw) = open_stream(a, StreamOptions::default()).unwrap();
            WsClient::connect(cr, cw, "ws://localhost/", WsConfig::default()).await.unwrap()
        });
        let msg = vec![0xA5u8; size];
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("ours", size), &size, |b, _| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        client.send_binary(&msg).await.unwrap();
                        match client.recv().await.unwrap() {
                            Incoming::Message(m) => debug_assert_eq!(m.len(), size),
                            other => panic!("{other:?}"),
                        }
                    }
                    start.elapsed()
                })
            })
        });
        let tclient = rt.block_on(async {
            let (a, b) = tokio::io::duplex(64 * 1024);
            tokio::spawn(async move {
                let mut ws = tokio_tungstenite::accept_async(b).await.unwrap();
                while let Some(Ok(m)) = ws.next().await {
                    if m.is_binary() || m.is_text() {
                        ws.send(m).await.unwrap();
                    }
                }
            });
            tokio_tungstenite::client_async("ws://localhost/", a).await.unwrap().0
        });
        let tclient = std::cell::RefCell::new(tclient);
        let payload = bytes::Bytes::from(vec![0xA5u8; size]);
        g.bench_with_input(BenchmarkId::new("tungstenite", size), &size, |b, _| {
            b.iter_custom(|iters| {
                let mut ws = tclient.borrow_mut();
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        ws.send(tungstenite::Message::Binary(payload.clone())).await.unwrap();
                        let m = ws.next().await.unwrap().unwrap();
                        debug_assert_eq!(m.len(), size);
                    }
                    start.elapsed()
                })
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = parse_unmask, echo_roundtrip
}
criterion_main!(benches);
