//! Property tests on the codec: encode→decode round trips; arbitrary bytes never panic and
//! never reserve beyond the frame limit; any cutting of a valid frame stream gives the same
//! messages (in memory and through the stream-based connection); invalid UTF-8 is caught at
//! its first offending byte wherever fragment and chunk boundaries fall.

use bytes::BytesMut;
use proptest::prelude::*;
use streamcheck_impl::ws::frame::header::FrameHeader;
use streamcheck_impl::ws::frame::{encode, FrameDecoder};
use streamcheck_impl::ws::message::{Assembler, Utf8Validator};
use streamcheck_impl::ws::{Error, Message, OpCode, ProtocolError};

/// The first index at which `bytes[..=i]` can no longer be extended to valid UTF-8.
fn utf8_oracle(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find(|&i| matches!(std::str::from_utf8(&bytes[..=i]), Err(e) if e.error_len().is_some()))
}

/// Cuts `len` bytes into pieces at the given points (taken modulo len + 1); at least one piece.
fn cuts(len: usize, points: &[usize]) -> Vec<(usize, usize)> {
    let mut pts: Vec<usize> = points.iter().map(|p| p % (len + 1)).collect();
    pts.push(0);
    pts.push(len);
    pts.sort_unstable();
    pts.dedup();
    if pts.len() == 1 {
        return vec![(0, 0)];
    }
    pts.windows(2).map(|w| (w[0], w[1])).collect()
}

fn any_opcode() -> impl Strategy<Value = OpCode> {
    (0u8..16).prop_map(OpCode::from_u8)
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => (65530usize..65540).prop_map(|n| vec![0x5A; n]),
    ]
}

/// A message split into fragments: (is_text, fragments).
fn fragmented_message() -> impl Strategy<Value = (bool, Vec<Vec<u8>>)> {
    (any::<bool>(), "\\PC{0,40}", proptest::collection::vec(any::<u8>(), 0..60), proptest::collection::vec(any::<usize>(), 0..4)).prop_map(
        |(text, s, bin, points)| {
            let data = if text { s.into_bytes() } else { bin };
            let frags = cuts(data.len(), &points).into_iter().map(|(a, b)| data[a..b].to_vec()).collect();
            (text, frags)
        },
    )
}

fn encode_message(text: bool, frags: &[Vec<u8>], mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
    for (i, f) in frags.iter().enumerate() {
        let op = match (i, text) {
            (0, true) => OpCode::Text,
            (0, false) => OpCode::Binary,
            _ => OpCode::Continuation,
        };
        encode(&FrameHeader::new(op, i + 1 == frags.len(), f.len() as u64, mask), f, out);
    }
}

fn expected(text: bool, frags: &[Vec<u8>]) -> Message {
    let all = frags.concat();
    if text {
        Message::Text(String::from_utf8(all).unwrap())
    } else {
        Message::Binary(all.into())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_round_trips(fin: bool, rsv in 0u8..8, opcode in any_opcode(), mask in proptest::option::of(any::<[u8; 4]>()), payload in payload()) {
        let header = FrameHeader { fin, rsv, opcode, mask, payload_len: payload.len() as u64 };
        let mut wire = Vec::new();
        encode(&header, &payload, &mut wire);
        let mut buf = BytesMut::from(&wire[..]);
        let frame = FrameDecoder::new(1 << 20).decode(&mut buf).unwrap().unwrap();
        prop_assert_eq!(frame.header, header);
        prop_assert_eq!(&frame.payload[..], &payload[..]);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic_nor_overallocate(bytes in proptest::collection::vec(any::<u8>(), 0..2048), points in proptest::collection::vec(any::<usize>(), 0..8)) {
        let max = 512usize;
        let mut dec = FrameDecoder::new(max);
        let mut asm = Assembler::new(max);
        let mut buf = BytesMut::new();
        'outer: for (a, b) in cuts(bytes.len(), &points) {
            buf.extend_from_slice(&bytes[a..b]);
            loop {
                match dec.decode(&mut buf) {
                    Ok(Some(f)) => {
                        prop_assert!(f.payload.len() <= max);
                        let data = !f.header.opcode.is_control() && !f.header.opcode.is_reserved();
                        if data && asm.push_frame(f.header.opcode, f.header.fin, &f.payload).is_err() {
                            break 'outer;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => break 'outer,
                }
            }
            // Never more than the input plus one maximal frame, with the allocator's doubling.
            prop_assert!(buf.capacity() <= 2 * (bytes.len() + max + 14) + 64, "capacity {}", buf.capacity());
        }
    }

    #[test]
    fn any_cutting_of_a_frame_stream_gives_the_same_messages(
        messages in proptest::collection::vec(fragmented_message(), 1..6),
        mask in proptest::option::of(any::<[u8; 4]>()),
        points in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut wire = Vec::new();
        for (text, frags) in &messages {
            encode_message(*text, frags, mask, &mut wire);
        }
        let mut dec = FrameDecoder::new(1 << 20);
        let mut asm = Assembler::new(1 << 20);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for (a, b) in cuts(wire.len(), &points) {
            buf.extend_from_slice(&wire[a..b]);
            while let Some(f) = dec.decode(&mut buf).unwrap() {
                if let Some(m) = asm.push_frame(f.header.opcode, f.header.fin, &f.payload).unwrap() {
                    got.push(m);
                }
            }
        }
        let want: Vec<Message> = messages.iter().map(|(t, f)| expected(*t, f)).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn validator_finds_the_first_offending_byte_at_any_chunking(bytes in proptest::collection::vec(any::<u8>(), 0..64), points in proptest::collection::vec(any::<usize>(), 0..8)) {
        let mut v = Utf8Validator::default();
        let mut found = None;
        for (a, b) in cuts(bytes.len(), &points) {
            if let Err(i) = v.feed(&bytes[a..b]) {
                found = Some(a + i);
                break;
            }
        }
        prop_assert_eq!(found, utf8_oracle(&bytes));
        if found.is_none() {
            prop_assert_eq!(v.is_complete(), std::str::from_utf8(&bytes).is_ok());
        }
    }

    #[test]
    fn invalid_text_fails_at_the_first_offending_byte_across_fragments_and_chunks(
        prefix in "\\PC{0,20}",
        bad in prop_oneof![
            Just(vec![0xFFu8]), Just(vec![0x80]), Just(vec![0xC0, 0xAF]), Just(vec![0xED, 0xA0, 0x80]),
            Just(vec![0xF4, 0x90, 0x80, 0x80]), Just(vec![0xE1, 0x80, b'a']), Just(vec![0xF0, 0x80, 0x80, 0xAF]),
        ],
        suffix in "\\PC{0,20}",
        frag_points in proptest::collection::vec(any::<usize>(), 0..4),
        chunk_points in proptest::collection::vec(any::<usize>(), 0..6),
        mask in any::<[u8; 4]>(),
    ) {
        let mut text = prefix.into_bytes();
        text.extend_from_slice(&bad);
        text.extend_from_slice(suffix.as_bytes());
        let first_bad = utf8_oracle(&text).expect("contains an invalid sequence");
        let mut asm = Assembler::new(1 << 20);
        let frags = cuts(text.len(), &frag_points);
        let mut err = None;
        'frames: for (i, &(a, b)) in frags.iter().enumerate() {
            let op = if i == 0 { OpCode::Text } else { OpCode::Continuation };
            asm.begin_frame(op, (b - a) as u64).unwrap();
            // The frame's payload as the wire carries it (masked), delivered in chunks.
            let mut masked = text[a..b].to_vec();
            masked.iter_mut().enumerate().for_each(|(j, x)| *x ^= mask[j % 4]);
            for (ca, cb) in cuts(b - a, &chunk_points) {
                if let Err(e) = asm.push(&masked[ca..cb], Some(mask), ca) {
                    err = Some((e, a + cb));
                    break 'frames;
                }
            }
            if let Err(e) = asm.end_frame(i + 1 == frags.len()) {
                err = Some((e, b));
                break;
            }
        }
        let (e, delivered) = err.expect("invalid text must fail");
        prop_assert_eq!(e, ProtocolError::InvalidUtf8 { offset: first_bad });
        // Fail fast: the error came with the very chunk that holds the offending byte.
        let holding = frags
            .iter()
            .flat_map(|&(a, b)| cuts(b - a, &chunk_points).into_iter().map(move |(ca, cb)| (a + ca, a + cb)))
            .find(|&(start, end)| start <= first_bad && first_bad < end)
            .expect("some chunk holds the byte");
        prop_assert_eq!(delivered, holding.1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The same property through the real, stream-based server: the frame stream is written
    /// to a duplex in arbitrary pieces.
    #[test]
    fn stream_connection_is_chop_agnostic(
        messages in proptest::collection::vec(fragmented_message(), 1..5),
        points in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        use streamcheck_impl::stream::{open_stream, StreamOptions};
        use streamcheck_impl::ws::{Incoming, WsConfig, WsServer};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let got = rt.block_on(async {
            let (ours, mut raw) = tokio::io::duplex(1 << 20);
            let (r, w) = open_stream(ours, StreamOptions::default()).unwrap();
            let accept = tokio::spawn(WsServer::accept(r, w, WsConfig::default()));
            raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").await.unwrap();
            let mut head = [0u8; 129];
            raw.read_exact(&mut head).await.unwrap();
            let ws = accept.await.unwrap().unwrap();
            let mut wire = Vec::new();
            for (text, frags) in &messages {
                encode_message(*text, frags, Some([1, 2, 3, 4]), &mut wire);
            }
            let n = messages.len();
            let reader = tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..n {
                    match ws.recv().await.unwrap() {
                        Incoming::Message(m) => got.push(m),
                        other => panic!("{other:?}"),
                    }
                }
                got
            });
            for (a, b) in cuts(wire.len(), &points) {
                raw.write_all(&wire[a..b]).await.unwrap();
                tokio::task::yield_now().await;
            }
            reader.await.unwrap()
        });
        let want: Vec<Message> = messages.iter().map(|(t, f)| expected(*t, f)).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn huge_declared_lengths_are_refused_without_allocating() {
    for len in [513u64, 1 << 20, 1 << 40, (1 << 63) - 1] {
        let mut wire = Vec::new();
        FrameHeader::new(OpCode::Binary, true, len, Some([0; 4])).format(&mut wire);
        let mut buf = BytesMut::from(&wire[..]);
        let err = FrameDecoder::new(512).decode(&mut buf).unwrap_err();
        assert!(matches!(err, Error::Capacity(_)), "{err:?}");
        assert!(buf.capacity() < 1024);
    }
}
