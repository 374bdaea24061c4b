//! Our client against our server, end to end: the same exchange over real loopback TCP
//! (`TokioNet`, 127.0.0.1 port 0) and inside turmoil's simulated network (`TurmoilNet`, fixed
//! seed). Also the server's HTTP refusals (400, 426, 431) as a raw TCP client sees them.

use std::sync::mpsc;
use streamcheck_impl::stream::{Network, Server, TokioNet, TurmoilNet};
use streamcheck_impl::ws::{CloseOutcome, Incoming, Initiator, MaskMode, Message, OpCode, WsClient, WsConfig, WsServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An echo server that reports each session's close outcome and subprotocol on `done`.
async fn echo_server<N: Network>(host: &str, port: u16, done: mpsc::Sender<(Option<String>, CloseOutcome)>) -> Server {
    let config = WsConfig::default().with_subprotocols(["echo.v2", "echo.v1"]);
    WsServer::serve::<N, _, _>(host, port, config, move |ws, hs| {
        let done = done.clone();
        async move {
            assert_eq!(hs.path, "/echo?x=1");
            let outcome = ws.echo().await.unwrap();
            let _ = done.send((ws.subprotocol().map(str::to_owned), outcome));
        }
    })
    .await
    .unwrap()
}

async fn next_message(ws: &streamcheck_impl::ws::WebSocket) -> Message {
    match ws.recv().await.unwrap() {
        Incoming::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The client side of the exchange: text, binary (all three length encodings), fragmented
/// text split inside a code point, a ping, then a close that the server echoes.
async fn exchange<N: Network>(url: &str, seed: Option<u64>) {
    let mut config = WsConfig::default().with_subprotocols(["echo.v1", "echo.v2"]);
    if let Some(seed) = seed {
        config.mask = MaskMode::Seeded(seed);
    }
    let ws = WsClient::open::<N>(url, config).await.unwrap();
    assert_eq!(ws.subprotocol(), Some("echo.v2"), "the server's preference wins");
    ws.send_text("hello").await.unwrap();
    assert_eq!(next_message(&ws).await, Message::Text("hello".into()));
    for len in [0usize, 125, 126, 65535, 65536, 1 << 20] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        ws.send_binary(&data).await.unwrap();
        assert_eq!(next_message(&ws).await, Message::Binary(data.into()), "len {len}");
    }
    let text = "κόσμε";
    let b = text.as_bytes();
    ws.send_fragmented(OpCode::Text, &[&b[..1], &b[1..5], &[], &b[5..]]).await.unwrap();
    assert_eq!(next_message(&ws).await, Message::Text(text.into()));
    ws.ping(b"are you there").await.unwrap();
    ws.send_text("after ping").await.unwrap();
    assert_eq!(next_message(&ws).await, Message::Text("after ping".into()));
    let outcome = ws.close(Some(1000), "done").await.unwrap();
    assert_eq!(outcome, CloseOutcome { code: Some(1000), reason: String::new(), clean: true, initiated_by: Initiator::Us });
    assert!(matches!(ws.recv().await.unwrap(), Incoming::Closed(_)));
}

fn check_server_side(rx: &mpsc::Receiver<(Option<String>, CloseOutcome)>) {
    let (proto, outcome) = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(proto.as_deref(), Some("echo.v2"));
    assert_eq!(outcome, CloseOutcome { code: Some(1000), reason: "done".into(), clean: true, initiated_by: Initiator::Peer });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_client_and_server_exchange_and_close() {
    let (tx, rx) = mpsc::channel();
    let server = echo_server::<TokioNet>("127.0.0.1", 0, tx).await;
    let url = format!("ws://127.0.0.1:{}/echo?x=1", server.local_addr().port());
    exchange::<TokioNet>(&url, None).await;
    tokio::task::spawn_blocking(move || check_server_side(&rx)).await.unwrap();
}

#[test]
fn turmoil_client_and_server_exchange_and_close() {
    let mut sim = turmoil::Builder::new().rng_seed(6455).build();
    let (tx, rx) = mpsc::channel();
    sim.host("server", move || {
        let tx = tx.clone();
        async move {
            let _server = echo_server::<TurmoilNet>("0.0.0.0", 9001, tx).await;
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    sim.client("client", async {
        exchange::<TurmoilNet>("ws://server:9001/echo?x=1", Some(42)).await;
        Ok(())
    });
    sim.run().unwrap();
    check_server_side(&rx);
}

/// What a raw HTTP client gets back from our server for `request`.
async fn raw_response(request: &[u8]) -> String {
    let server = WsServer::serve::<TokioNet, _, _>("127.0.0.1", 0, WsConfig { stream_limit: 4096, ..WsConfig::default() }, |_ws, _hs| async {}).await.unwrap();
    let mut s = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn wrong_version_gets_426_with_the_supported_version() {
    let resp = raw_response(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n").await;
    assert!(resp.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{resp}");
    assert!(resp.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{resp}");
}

#[tokio::test]
async fn bad_request_gets_400_and_a_reason() {
    let resp = raw_response(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").await;
    assert!(resp.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{resp}");
    assert!(resp.contains("Upgrade header must contain \"websocket\""), "{resp}");
}

#[tokio::test]
async fn oversized_request_gets_431() {
    let mut req = b"GET / HTTP/1.1\r\nHost: a\r\nX-Padding: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 8192));
    req.extend_from_slice(b"\r\n\r\n");
    let resp = raw_response(&req).await;
    assert!(resp.starts_with("HTTP/1.1 431 "), "{resp}");
}

/// A server that reads the request, answers `response`, and then waits for the client to go.
async fn fake_server(response: &'static [u8]) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        s.write_all(response).await.unwrap();
        let _ = s.read(&mut buf).await;
    });
    port
}

#[tokio::test]
async fn client_refuses_a_server_that_does_not_upgrade() {
    let port = fake_server(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").await;
    let err = WsClient::open::<TokioNet>(&format!("ws://127.0.0.1:{port}/"), WsConfig::default()).await.unwrap_err();
    assert_eq!(err, streamcheck_impl::ws::Error::Handshake(streamcheck_impl::ws::HandshakeError::NotUpgraded { status: 404, reason: "Not Found".into() }));
}

#[tokio::test]
async fn client_refuses_a_wrong_accept_key() {
    let port = fake_server(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n").await;
    let err = WsClient::open::<TokioNet>(&format!("ws://127.0.0.1:{port}/"), WsConfig::default()).await.unwrap_err();
    assert!(matches!(err, streamcheck_impl::ws::Error::Handshake(streamcheck_impl::ws::HandshakeError::BadResponse { .. })), "{err}");
}

/// A large fragmented message (Autobahn 9.3-style: 4 MiB in 64 KiB fragments) and a 16 MiB
/// single frame (9.2.6), over real loopback: exercises the reader's flow control.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_large_messages() {
    let server = WsServer::serve::<TokioNet, _, _>("127.0.0.1", 0, WsConfig::default(), |ws, _| async move {
        let _ = ws.echo().await;
    })
    .await
    .unwrap();
    let ws = WsClient::open::<TokioNet>(&format!("ws://127.0.0.1:{}/", server.local_addr().port()), WsConfig::default()).await.unwrap();
    let big: Vec<u8> = (0..4u32 << 20).map(|i| (i % 253) as u8).collect();
    let frags: Vec<&[u8]> = big.chunks(64 * 1024).collect();
    ws.send_fragmented(OpCode::Binary, &frags).await.unwrap();
    assert_eq!(next_message(&ws).await.as_bytes(), &big[..]);
    let huge = vec![b'x'; 16 << 20];
    ws.send_text(std::str::from_utf8(&huge).unwrap()).await.unwrap();
    assert_eq!(next_message(&ws).await.len(), 16 << 20);
    ws.close(Some(1000), "").await.unwrap();
}

/// In simulated time: our close gets no answer across a partition, so `close` gives up after
/// `close_timeout` with an unclean outcome, and the server's keepalive notices the silence.
#[test]
fn turmoil_close_and_keepalive_time_out_across_a_partition() {
    use std::time::Duration;
    let mut sim = turmoil::Builder::new().rng_seed(7).simulation_duration(Duration::from_secs(120)).build();
    let (tx, rx) = mpsc::channel();
    sim.host("server", move || {
        let tx = tx.clone();
        async move {
            let config = WsConfig { ping_interval: Some(Duration::from_secs(5)), ping_timeout: Duration::from_secs(5), ..WsConfig::default() };
            let _server = WsServer::serve::<TurmoilNet, _, _>("0.0.0.0", 9001, config, move |ws, _| {
                let tx = tx.clone();
                async move {
                    let start = tokio::time::Instant::now();
                    let r = ws.recv().await;
                    let _ = tx.send((r, start.elapsed()));
                }
            })
            .await
            .unwrap();
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    sim.client("client", async {
        let config = WsConfig { close_timeout: Duration::from_secs(3), mask: MaskMode::Seeded(8), ..WsConfig::default() };
        let ws = WsClient::open::<TurmoilNet>("ws://server:9001/", config).await.unwrap();
        turmoil::partition("client", "server");
        let start = tokio::time::Instant::now();
        let outcome = ws.close(Some(1000), "").await.unwrap();
        assert_eq!(outcome, CloseOutcome { code: None, reason: String::new(), clean: false, initiated_by: Initiator::Us });
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(3) && waited < Duration::from_secs(4), "{waited:?}");
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(())
    });
    sim.run().unwrap();
    let (r, after) = rx.try_recv().expect("the server's recv ended");
    assert_eq!(r.unwrap_err(), streamcheck_impl::ws::Error::Timeout(streamcheck_impl::ws::TimeoutError::Keepalive { after_ms: 5000 }));
    assert!(after >= Duration::from_secs(10), "ping after 5 s, then 5 s without a pong: {after:?}");
}
