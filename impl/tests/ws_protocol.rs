//! Every per-frame and closing rule of the connection state machine, against a raw peer that
//! writes hand-built frames on the other end of an in-memory duplex (RFC 6455 §5, §7, §8).

use std::time::Duration;
use streamcheck_impl::stream::{open_stream, StreamOptions};
use streamcheck_impl::ws::{
    CapacityError, CloseOutcome, Error, Incoming, Initiator, MaskMode, Message, ProtocolError, TimeoutError, WebSocket, WsClient,
    WsConfig, WsServer,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as a peer writes it: first byte (FIN|RSV|opcode) as given, the minimal length
/// encoding, the payload masked when `mask` is set. Written independently of the crate's codec.
fn frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xFFFF => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A client's (masked) frame.
fn cframe(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, Some(MASK))
}

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// Reads one frame from the raw side: (first byte, masked?, unmasked payload). `None` at EOF.
async fn read_frame(raw: &mut DuplexStream) -> Option<(u8, bool, Vec<u8>)> {
    let mut h = [0u8; 2];
    raw.read_exact(&mut h).await.ok()?;
    let len = match h[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            raw.read_exact(&mut b).await.ok()?;
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            raw.read_exact(&mut b).await.ok()?;
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut key = [0u8; 4];
    let masked = h[1] & 0x80 != 0;
    if masked {
        raw.read_exact(&mut key).await.ok()?;
    }
    let mut payload = vec![0u8; len];
    raw.read_exact(&mut payload).await.ok()?;
    if masked {
        payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= key[i % 4]);
    }
    Some((h[0], masked, payload))
}

async fn read_head(raw: &mut DuplexStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if raw.read(&mut b).await.unwrap() == 0 {
            break;
        }
        head.push(b[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Whether the raw side sees EOF next (after any frames it skips).
async fn sees_eof(raw: &mut DuplexStream) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match raw.read(&mut buf).await {
            Ok(0) | Err(_) => return true,
            Ok(_) => continue,
        }
    }
}

const REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Our server, with a raw client on the other end that has completed the handshake.
async fn server(config: WsConfig) -> (WebSocket, DuplexStream) {
    let (ours, mut raw) = tokio::io::duplex(1 << 22);
    let (r, w) = open_stream(ours, StreamOptions::default()).unwrap();
    let accept = tokio::spawn(WsServer::accept(r, w, config));
    raw.write_all(REQUEST.as_bytes()).await.unwrap();
    let head = read_head(&mut raw).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), "{head}");
    (accept.await.unwrap().unwrap(), raw)
}

/// Our client, with a raw server on the other end that has completed the handshake.
async fn client(config: WsConfig) -> (WebSocket, DuplexStream) {
    let (ours, mut raw) = tokio::io::duplex(1 << 22);
    let (r, w) = open_stream(ours, StreamOptions::default()).unwrap();
    let connect = tokio::spawn(WsClient::connect(r, w, "ws://example.com/x", config));
    let head = read_head(&mut raw).await;
    let key = head.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap().to_string();
    let accept = streamcheck_impl::ws::handshake::accept_key(&key);
    raw.write_all(format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    (connect.await.unwrap().unwrap(), raw)
}

/// Sends `bytes` to our server and expects it to fail with `expected`, sending `code`, then
/// closing TCP (§7.1.7, and §7.1.1: the server closes TCP first).
async fn server_fails_on(bytes: &[u8], expected: Error, code: u16) {
    let (ws, mut raw) = server(WsConfig::default()).await;
    raw.write_all(bytes).await.unwrap();
    let err = ws.recv().await.unwrap_err();
    assert_eq!(err, expected);
    assert_eq!(err.close_code_sent().map(|c| c.0), Some(code));
    let (b0, masked, payload) = read_frame(&mut raw).await.expect("a close frame");
    assert_eq!((b0, masked), (0x88, false));
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
    assert!(sees_eof(&mut raw).await);
    // Afterwards the connection reports itself closed.
    assert!(matches!(ws.recv().await, Ok(Incoming::Closed(_))));
    assert!(matches!(ws.send_text("x").await, Err(Error::ConnectionClosed(_))));
}

fn proto(e: ProtocolError) -> Error {
    Error::Protocol(e)
}

#[tokio::test]
async fn server_refuses_unmasked_frames_with_1002() {
    server_fails_on(&frame(0x81, b"hi", None), proto(ProtocolError::UnmaskedFrame), 1002).await;
}

#[tokio::test(start_paused = true)]
async fn client_refuses_masked_frames_with_1002() {
    let (ws, mut raw) = client(WsConfig::default()).await;
    raw.write_all(&frame(0x81, b"hi", Some(MASK))).await.unwrap();
    assert_eq!(ws.recv().await.unwrap_err(), proto(ProtocolError::MaskedFrame));
    let (b0, masked, payload) = read_frame(&mut raw).await.unwrap();
    assert_eq!((b0, masked, &payload[..2]), (0x88, true, &1002u16.to_be_bytes()[..]));
}

#[tokio::test]
async fn reserved_bits_fail_with_1002() {
    for rsv in 1..=7u8 {
        server_fails_on(&cframe(0x81 | rsv << 4, b"x"), proto(ProtocolError::ReservedBits { rsv }), 1002).await;
    }
}

#[tokio::test]
async fn reserved_opcodes_fail_with_1002() {
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        server_fails_on(&cframe(0x80 | op, b""), proto(ProtocolError::ReservedOpcode { opcode: op }), 1002).await;
    }
}

#[tokio::test]
async fn control_frames_over_125_bytes_fail_with_1002() {
    let e = proto(ProtocolError::ControlFrameTooLong { opcode: streamcheck_impl::ws::OpCode::Ping, len: 126 });
    server_fails_on(&cframe(0x89, &[0u8; 126]), e, 1002).await;
}

#[tokio::test]
async fn fragmented_control_frames_fail_with_1002() {
    let e = proto(ProtocolError::FragmentedControlFrame { opcode: streamcheck_impl::ws::OpCode::Ping });
    server_fails_on(&cframe(0x09, b"a"), e, 1002).await;
}

#[tokio::test]
async fn continuation_without_a_message_fails_with_1002() {
    server_fails_on(&cframe(0x80, b"a"), proto(ProtocolError::UnexpectedContinuation), 1002).await;
}

#[tokio::test]
async fn new_message_inside_a_fragmented_one_fails_with_1002() {
    let mut bytes = cframe(0x01, b"a");
    bytes.extend(cframe(0x81, b"b"));
    server_fails_on(&bytes, proto(ProtocolError::ExpectedContinuation { got: streamcheck_impl::ws::OpCode::Text }), 1002).await;
}

#[tokio::test]
async fn one_byte_close_payload_fails_with_1002() {
    server_fails_on(&cframe(0x88, &[0x03]), proto(ProtocolError::OneByteClosePayload), 1002).await;
}

#[tokio::test]
async fn invalid_close_codes_fail_with_1002() {
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
        server_fails_on(&cframe(0x88, &close_payload(code, b"")), proto(ProtocolError::InvalidCloseCode { code }), 1002).await;
    }
}

#[tokio::test]
async fn non_utf8_close_reason_fails_with_1007() {
    server_fails_on(&cframe(0x88, &close_payload(1000, b"\xce\xba\xff")), proto(ProtocolError::InvalidCloseReason), 1007).await;
}

#[tokio::test]
async fn invalid_utf8_text_fails_with_1007() {
    server_fails_on(&cframe(0x81, b"ok\xed\xa0\x80"), proto(ProtocolError::InvalidUtf8 { offset: 3 }), 1007).await;
}

#[tokio::test]
async fn non_minimal_length_fails_with_1002() {
    let mut bytes = vec![0x82, 0x80 | 126, 0, 5];
    bytes.extend_from_slice(&MASK);
    bytes.extend_from_slice(b"hello");
    server_fails_on(&bytes, proto(ProtocolError::NonMinimalLength { len: 5, encoded_in: 2 }), 1002).await;
}

#[tokio::test]
async fn invalid_utf8_fails_fast_in_the_middle_of_a_frame() {
    // Autobahn 6.4.3: the frame header promises 20 bytes; the first piece is valid, the second
    // holds U+110000's first bytes; the rest never comes. We must fail on the second piece.
    let (ws, mut raw) = server(WsConfig::default()).await;
    let payload = b"\xce\xba\xe1\xbd\xb9\xf4\x90\x80\x80-edited-xxxxxxxx";
    let full = cframe(0x81, &payload[..20]);
    let recv = tokio::spawn(async move { ws.recv().await });
    raw.write_all(&full[..2 + 4 + 5]).await.unwrap();
    tokio::task::yield_now().await;
    raw.write_all(&full[11..13]).await.unwrap(); // 0xF4 0x90: already impossible
    let err = tokio::time::timeout(Duration::from_secs(5), recv).await.expect("failed fast").unwrap().unwrap_err();
    assert_eq!(err, proto(ProtocolError::InvalidUtf8 { offset: 6 }));
    let (b0, _, p) = read_frame(&mut raw).await.unwrap();
    assert_eq!((b0, &p[..2]), (0x88, &1007u16.to_be_bytes()[..]));
}

#[tokio::test]
async fn invalid_utf8_fails_fast_across_fragments() {
    // Autobahn 6.4.1: fragment 1 valid, fragment 2 invalid, fragment 3 never sent.
    let (ws, mut raw) = server(WsConfig::default()).await;
    let mut bytes = cframe(0x01, b"\xce\xba\xe1\xbd");
    bytes.extend(cframe(0x00, b"\xb9\xf4\x90\x80\x80"));
    raw.write_all(&bytes).await.unwrap();
    assert_eq!(ws.recv().await.unwrap_err(), proto(ProtocolError::InvalidUtf8 { offset: 6 }));
}

#[tokio::test]
async fn oversized_frame_fails_with_1009_before_its_payload() {
    let config = WsConfig { max_frame_size: 1000, ..WsConfig::default() };
    let (ws, mut raw) = server(config).await;
    // Only the header of a 1 MiB frame: the server must not wait for (or allocate) the payload.
    let full = cframe(0x82, &vec![0u8; 1 << 20]);
    raw.write_all(&full[..14]).await.unwrap();
    assert_eq!(ws.recv().await.unwrap_err(), Error::Capacity(CapacityError::FrameTooLarge { len: 1 << 20, max: 1000 }));
    let (_, _, p) = read_frame(&mut raw).await.unwrap();
    assert_eq!(&p[..2], &1009u16.to_be_bytes());
}

#[tokio::test]
async fn oversized_fragmented_message_fails_with_1009() {
    let config = WsConfig { max_message_size: 10, ..WsConfig::default() };
    let (ws, mut raw) = server(config).await;
    let mut bytes = cframe(0x02, b"123456");
    bytes.extend(cframe(0x80, b"789012"));
    raw.write_all(&bytes).await.unwrap();
    assert_eq!(ws.recv().await.unwrap_err(), Error::Capacity(CapacityError::MessageTooLarge { size: 12, max: 10 }));
}

#[tokio::test]
async fn pings_get_identical_pongs_and_pongs_are_ignored() {
    let (ws, mut raw) = server(WsConfig::default()).await;
    let mut bytes = cframe(0x8A, b"unsolicited");
    bytes.extend(cframe(0x89, b"Hello, world!"));
    bytes.extend(cframe(0x89, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"));
    bytes.extend(cframe(0x81, b"after"));
    raw.write_all(&bytes).await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Incoming::Message(Message::Text("after".into())));
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x8A, false, b"Hello, world!".to_vec()));
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x8A, false, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff".to_vec()));
}

#[tokio::test]
async fn ping_between_fragments_is_answered_before_the_message_completes() {
    // Autobahn 5.19: the pong must arrive while the message is still incomplete.
    let (ws, mut raw) = server(WsConfig::default()).await;
    let mut bytes = cframe(0x01, b"frag1");
    bytes.extend(cframe(0x89, b"ping1"));
    raw.write_all(&bytes).await.unwrap();
    let ws2 = ws.clone();
    let recv = tokio::spawn(async move { ws2.recv().await });
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x8A, false, b"ping1".to_vec()));
    raw.write_all(&cframe(0x80, b"frag2")).await.unwrap();
    assert_eq!(recv.await.unwrap().unwrap(), Incoming::Message(Message::Text("frag1frag2".into())));
}

#[tokio::test]
async fn fragments_and_empty_messages_reassemble() {
    let (ws, mut raw) = server(WsConfig::default()).await;
    let mut bytes = cframe(0x81, b"");
    bytes.extend(cframe(0x02, b""));
    bytes.extend(cframe(0x00, b"\x01\x02"));
    bytes.extend(cframe(0x80, b""));
    raw.write_all(&bytes).await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Incoming::Message(Message::Text(String::new())));
    assert_eq!(ws.recv().await.unwrap(), Incoming::Message(Message::Binary(vec![1, 2].into())));
}

#[tokio::test]
async fn byte_by_byte_delivery_gives_the_same_message() {
    let (ws, mut raw) = server(WsConfig::default()).await;
    let bytes = cframe(0x81, "κόσμε, 125 bytes of ping are fine".as_bytes());
    let recv = tokio::spawn(async move { ws.recv().await });
    for b in bytes {
        raw.write_all(&[b]).await.unwrap();
        tokio::task::yield_now().await;
    }
    assert_eq!(recv.await.unwrap().unwrap(), Incoming::Message(Message::Text("κόσμε, 125 bytes of ping are fine".into())));
}

#[tokio::test]
async fn peer_close_is_echoed_and_the_server_closes_tcp_first() {
    for code in [1000u16, 1001, 1002, 1003, 1007, 1011, 3000, 3999, 4000, 4999] {
        let (ws, mut raw) = server(WsConfig::default()).await;
        raw.write_all(&cframe(0x88, &close_payload(code, b"bye"))).await.unwrap();
        let outcome = ws.recv().await.unwrap();
        assert_eq!(outcome, Incoming::Closed(CloseOutcome { code: Some(code), reason: "bye".into(), clean: true, initiated_by: Initiator::Peer }));
        let (b0, _, p) = read_frame(&mut raw).await.unwrap();
        assert_eq!((b0, p), (0x88, code.to_be_bytes().to_vec()));
        assert!(sees_eof(&mut raw).await, "the server closes TCP");
    }
}

#[tokio::test]
async fn empty_close_is_answered_with_an_empty_close() {
    let (ws, mut raw) = server(WsConfig::default()).await;
    raw.write_all(&cframe(0x88, b"")).await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Incoming::Closed(CloseOutcome { code: None, reason: String::new(), clean: true, initiated_by: Initiator::Peer }));
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x88, false, vec![]));
}

#[tokio::test]
async fn everything_after_a_received_close_is_ignored() {
    // Autobahn 7.1.3–7.1.5: close, then ping / text / the rest of a fragmented message.
    let (ws, mut raw) = server(WsConfig::default()).await;
    let mut bytes = cframe(0x01, b"frag1");
    bytes.extend(cframe(0x88, &close_payload(1000, b"")));
    bytes.extend(cframe(0x89, b"ping"));
    bytes.extend(cframe(0x81, b"text"));
    bytes.extend(cframe(0x80, b"frag2"));
    raw.write_all(&bytes).await.unwrap();
    assert!(matches!(ws.recv().await.unwrap(), Incoming::Closed(CloseOutcome { code: Some(1000), .. })));
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x88, false, 1000u16.to_be_bytes().to_vec()));
    assert_eq!(read_frame(&mut raw).await, None, "no pong, no echo, then EOF");
    assert!(matches!(ws.recv().await.unwrap(), Incoming::Closed(_)));
}

#[tokio::test]
async fn our_close_returns_the_peers_code_and_discards_data_meanwhile() {
    let (ws, mut raw) = server(WsConfig::default()).await;
    let ws2 = ws.clone();
    let closing = tokio::spawn(async move { ws2.close(Some(1001), "going").await });
    let (b0, _, p) = read_frame(&mut raw).await.unwrap();
    assert_eq!((b0, p), (0x88, close_payload(1001, b"going")));
    assert!(matches!(ws.send_text("late").await, Err(Error::ConnectionClosed(_))), "no data after our close (§5.5.1)");
    let mut bytes = cframe(0x81, b"in flight");
    bytes.extend(cframe(0x89, b"no pong for this"));
    bytes.extend(cframe(0x88, &close_payload(1000, b"ok")));
    raw.write_all(&bytes).await.unwrap();
    let outcome = closing.await.unwrap().unwrap();
    assert_eq!(outcome, CloseOutcome { code: Some(1000), reason: "ok".into(), clean: true, initiated_by: Initiator::Us });
    assert_eq!(read_frame(&mut raw).await, None, "no pong after our close; then the server closes TCP");
    assert_eq!(ws.close(Some(1000), "").await.unwrap(), outcome, "closing again returns the outcome");
}

#[tokio::test(start_paused = true)]
async fn closing_handshake_times_out_when_the_peer_never_answers() {
    let config = WsConfig { close_timeout: Duration::from_secs(3), ..WsConfig::default() };
    let (ws, mut raw) = server(config).await;
    let start = tokio::time::Instant::now();
    let outcome = ws.close(Some(1000), "").await.unwrap();
    assert_eq!(outcome, CloseOutcome { code: None, reason: String::new(), clean: false, initiated_by: Initiator::Us });
    assert!(start.elapsed() >= Duration::from_secs(3));
    assert!(read_frame(&mut raw).await.is_some());
    assert!(sees_eof(&mut raw).await);
}

#[tokio::test]
async fn client_masks_every_frame() {
    let config = WsConfig { mask: MaskMode::Seeded(7), ..WsConfig::default() };
    let (ws, mut raw) = client(config).await;
    ws.send_text("masked").await.unwrap();
    ws.send_binary(&[1, 2, 3]).await.unwrap();
    ws.ping(b"p").await.unwrap();
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x81, true, b"masked".to_vec()));
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x82, true, vec![1, 2, 3]));
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x89, true, b"p".to_vec()));
}

#[tokio::test]
async fn fixed_mask_gives_known_wire_bytes() {
    let config = WsConfig { mask: MaskMode::Fixed([0x37, 0xfa, 0x21, 0x3d]), ..WsConfig::default() };
    let (ws, mut raw) = client(config).await;
    ws.send_text("Hello").await.unwrap();
    let mut wire = [0u8; 11];
    raw.read_exact(&mut wire).await.unwrap();
    // RFC 6455 §5.7: "A single-frame masked text message".
    assert_eq!(wire, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
}

#[tokio::test(start_paused = true)]
async fn client_waits_a_bounded_time_for_the_server_to_close_tcp() {
    let config = WsConfig { close_timeout: Duration::from_secs(2), ..WsConfig::default() };
    let (ws, mut raw) = client(config).await;
    raw.write_all(&frame(0x88, &close_payload(1000, b""), None)).await.unwrap();
    let start = tokio::time::Instant::now();
    // The raw server never closes TCP: the client gives up after close_timeout, then closes.
    assert!(matches!(ws.recv().await.unwrap(), Incoming::Closed(CloseOutcome { code: Some(1000), clean: true, .. })));
    assert!(start.elapsed() >= Duration::from_secs(2), "{:?}", start.elapsed());
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x88, true, 1000u16.to_be_bytes().to_vec()));
    assert!(sees_eof(&mut raw).await);
}

#[tokio::test(start_paused = true)]
async fn client_closes_as_soon_as_the_server_drops_tcp() {
    let config = WsConfig { close_timeout: Duration::from_secs(60), ..WsConfig::default() };
    let (ws, mut raw) = client(config).await;
    let ws2 = ws.clone();
    let closing = tokio::spawn(async move { ws2.close(Some(1000), "").await });
    assert_eq!(read_frame(&mut raw).await.unwrap().0, 0x88);
    let start = tokio::time::Instant::now();
    raw.write_all(&frame(0x88, &close_payload(1000, b""), None)).await.unwrap();
    drop(raw);
    let outcome = closing.await.unwrap().unwrap();
    assert!(outcome.clean && outcome.code == Some(1000));
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn tcp_eof_without_close_is_an_unclean_outcome() {
    let (ws, raw) = server(WsConfig::default()).await;
    drop(raw);
    assert_eq!(ws.recv().await.unwrap(), Incoming::Closed(CloseOutcome { code: None, reason: String::new(), clean: false, initiated_by: Initiator::Transport }));
}

#[tokio::test]
async fn eof_inside_a_frame_is_a_transport_error() {
    let (ws, mut raw) = server(WsConfig::default()).await;
    raw.write_all(&cframe(0x82, &[0u8; 100])[..50]).await.unwrap();
    drop(raw);
    let err = ws.recv().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.to_string().contains("1006"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn keepalive_pings_and_fails_with_1011_without_a_pong() {
    let config = WsConfig { ping_interval: Some(Duration::from_secs(5)), ping_timeout: Duration::from_secs(2), ..WsConfig::default() };
    let (ws, mut raw) = server(config).await;
    let recv = tokio::spawn(async move { ws.recv().await });
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x89, false, b"keepalive".to_vec()));
    let err = recv.await.unwrap().unwrap_err();
    assert_eq!(err, Error::Timeout(TimeoutError::Keepalive { after_ms: 2000 }));
    let (b0, _, p) = read_frame(&mut raw).await.unwrap();
    assert_eq!((b0, &p[..2]), (0x88, &1011u16.to_be_bytes()[..]));
}

#[tokio::test(start_paused = true)]
async fn keepalive_is_satisfied_by_a_pong() {
    let config = WsConfig { ping_interval: Some(Duration::from_secs(5)), ping_timeout: Duration::from_secs(2), ..WsConfig::default() };
    let (ws, mut raw) = server(config).await;
    let recv = tokio::spawn(async move { ws.recv().await });
    for _ in 0..3 {
        let (b0, _, p) = read_frame(&mut raw).await.unwrap();
        assert_eq!(b0, 0x89);
        raw.write_all(&cframe(0x8A, &p)).await.unwrap();
    }
    raw.write_all(&cframe(0x81, b"still here")).await.unwrap();
    assert_eq!(recv.await.unwrap().unwrap(), Incoming::Message(Message::Text("still here".into())));
}

#[tokio::test(start_paused = true)]
async fn opening_handshake_is_time_bounded() {
    let (ours, mut raw) = tokio::io::duplex(1 << 16);
    let (r, w) = open_stream(ours, StreamOptions::default()).unwrap();
    let config = WsConfig { open_timeout: Duration::from_secs(4), ..WsConfig::default() };
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap(); // and nothing more
    let err = WsServer::accept(r, w, config).await.unwrap_err();
    assert_eq!(err, Error::Timeout(TimeoutError::OpeningHandshake { after_ms: 4000 }));
    assert!(sees_eof(&mut raw).await);
}

#[tokio::test]
async fn usage_errors_are_refused_before_sending() {
    let (ws, _raw) = server(WsConfig::default()).await;
    assert!(matches!(ws.ping(&[0u8; 126]).await, Err(Error::Usage(_))));
    assert!(matches!(ws.close(Some(1005), "").await, Err(Error::Usage(_))));
    assert!(matches!(ws.close(Some(1000), &"x".repeat(124)).await, Err(Error::Usage(_))));
    assert!(matches!(ws.close(None, "reason without code").await, Err(Error::Usage(_))));
    assert!(ws.is_open());
}

#[tokio::test]
async fn a_cancelled_recv_resumes_mid_frame_without_losing_bytes() {
    let (ws, mut raw) = server(WsConfig::default()).await;
    let mut bytes = cframe(0x01, b"first ");
    bytes.extend(cframe(0x80, b"second half"));
    let cut_points = [1usize, 4, 9, 13, 20, bytes.len()];
    let mut sent = 0;
    for cut in cut_points {
        raw.write_all(&bytes[sent..cut]).await.unwrap();
        sent = cut;
        // A recv that is dropped (as by a timeout) while the frame is incomplete.
        let r = tokio::time::timeout(Duration::from_millis(5), ws.recv()).await;
        if cut < bytes.len() {
            assert!(r.is_err(), "nothing complete yet at {cut}");
        } else {
            assert_eq!(r.unwrap().unwrap(), Incoming::Message(Message::Text("first second half".into())));
        }
    }
}

/// The client-side view of the same rules (Autobahn's fuzzingserver tests clients).
#[tokio::test(start_paused = true)]
async fn client_fails_on_invalid_utf8_with_a_masked_1007_and_waits_for_the_server() {
    let config = WsConfig { close_timeout: Duration::from_secs(2), ..WsConfig::default() };
    let (ws, mut raw) = client(config).await;
    raw.write_all(&frame(0x81, b"\xce\xba\xed\xa0\x80", None)).await.unwrap();
    let ws2 = ws.clone();
    let recv = tokio::spawn(async move { ws2.recv().await });
    let (b0, masked, p) = read_frame(&mut raw).await.unwrap();
    assert_eq!((b0, masked, &p[..2]), (0x88, true, &1007u16.to_be_bytes()[..]));
    // The server (raw) answers and closes TCP: the client returns at once, before its timeout.
    raw.write_all(&frame(0x88, &close_payload(1007, b""), None)).await.unwrap();
    drop(raw);
    let start = tokio::time::Instant::now();
    assert_eq!(recv.await.unwrap().unwrap_err(), proto(ProtocolError::InvalidUtf8 { offset: 3 }));
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn client_answers_pings_with_masked_pongs() {
    let (ws, mut raw) = client(WsConfig::default()).await;
    let mut bytes = frame(0x89, b"ping payload", None);
    bytes.extend(frame(0x82, b"\x00", None));
    raw.write_all(&bytes).await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Incoming::Message(Message::Binary(vec![0].into())));
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x8A, true, b"ping payload".to_vec()));
}

#[tokio::test(start_paused = true)]
async fn client_fails_on_reserved_opcode_and_closes_after_a_bounded_wait() {
    let config = WsConfig { close_timeout: Duration::from_secs(2), ..WsConfig::default() };
    let (ws, mut raw) = client(config).await;
    raw.write_all(&frame(0x83, b"", None)).await.unwrap();
    let start = tokio::time::Instant::now();
    // The raw server never closes TCP: the client gives up after close_timeout.
    assert_eq!(ws.recv().await.unwrap_err(), proto(ProtocolError::ReservedOpcode { opcode: 3 }));
    assert!(start.elapsed() >= Duration::from_secs(2));
    let (b0, _, p) = read_frame(&mut raw).await.unwrap();
    assert_eq!((b0, &p[..2]), (0x88, &1002u16.to_be_bytes()[..]));
    assert!(sees_eof(&mut raw).await);
}

#[tokio::test(start_paused = true)]
async fn close_is_time_bounded_even_when_the_peer_does_not_read() {
    let config = WsConfig { close_timeout: Duration::from_secs(3), ..WsConfig::default() };
    let (ours, mut raw) = tokio::io::duplex(4096);
    let (r, w) = open_stream(ours, StreamOptions::default()).unwrap();
    let accept = tokio::spawn(WsServer::accept(r, w, config));
    raw.write_all(REQUEST.as_bytes()).await.unwrap();
    read_head(&mut raw).await;
    let ws = accept.await.unwrap().unwrap();
    // Fill the pipe and our write buffer past the high-water mark; the raw peer never reads.
    let ws2 = ws.clone();
    let stuck = tokio::spawn(async move { ws2.send_binary(&vec![0u8; 1 << 20]).await });
    tokio::task::yield_now().await;
    let start = tokio::time::Instant::now();
    let outcome = ws.close(Some(1000), "").await.unwrap();
    assert!(!outcome.clean);
    assert!(start.elapsed() >= Duration::from_secs(3) && start.elapsed() < Duration::from_secs(4), "{:?}", start.elapsed());
    stuck.abort();
}

#[tokio::test]
async fn dropping_the_last_handle_closes_tcp() {
    let (ws, mut raw) = server(WsConfig::default()).await;
    let clone = ws.clone();
    drop(ws);
    clone.send_text("still open").await.unwrap();
    drop(clone);
    assert_eq!(read_frame(&mut raw).await.unwrap(), (0x81, false, b"still open".to_vec()));
    assert!(sees_eof(&mut raw).await);
}
