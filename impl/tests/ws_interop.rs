//! Interop with tokio-tungstenite 0.30, in process over loopback TCP: our client against its
//! server and its client against our server, with text, binary, fragmented, ping and close
//! exchanges in both directions. Its side gets a tokio `TcpStream`; ours runs `open_stream`
//! on the other `TcpStream`.

use futures_util::{SinkExt, StreamExt};
use streamcheck_impl::stream::{open_stream, StreamOptions};
use streamcheck_impl::ws::{CloseOutcome, Incoming, Initiator, Message, OpCode, WebSocket, WsClient, WsConfig, WsServer};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode as TCloseCode, Data, OpCode as TOpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Frame};
use tokio_tungstenite::tungstenite::Message as TMessage;

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), server.unwrap().0)
}

fn ours(tcp: TcpStream) -> (streamcheck_impl::stream::StreamReader, streamcheck_impl::stream::StreamWriter) {
    open_stream(tcp, StreamOptions::default()).unwrap()
}

async fn message(ws: &WebSocket) -> Message {
    match ws.recv().await.unwrap() {
        Incoming::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Fragments as tungstenite sends them: raw frames, the first with `opcode`.
fn t_fragments(opcode: Data, parts: &[&[u8]]) -> Vec<TMessage> {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let op = if i == 0 { opcode } else { Data::Continue };
            TMessage::Frame(Frame::message(p.to_vec(), TOpCode::Data(op), i + 1 == parts.len()))
        })
        .collect()
}

#[tokio::test]
async fn our_client_against_tungstenite_server() {
    let (c, s) = tcp_pair().await;
    let server = tokio::spawn(async move {
        let mut ws = tokio_tungstenite::accept_async(s).await.unwrap();
        // Echo until the first binary message, then play its own part.
        while let Some(msg) = ws.next().await {
            match msg.unwrap() {
                m @ TMessage::Text(_) => ws.send(m).await.unwrap(),
                m @ TMessage::Binary(_) => {
                    ws.send(m).await.unwrap();
                    break;
                }
                _ => {}
            }
        }
        for f in t_fragments(Data::Text, &[b"frag", b"mented \xce", b"\xba"]) {
            ws.feed(f).await.unwrap();
        }
        ws.send(TMessage::Ping(b"from tungstenite".to_vec().into())).await.unwrap();
        // Our automatic pong comes back before anything else.
        loop {
            match ws.next().await.unwrap().unwrap() {
                TMessage::Pong(p) => {
                    assert_eq!(&p[..], b"from tungstenite");
                    break;
                }
                TMessage::Text(t) => ws.send(TMessage::Text(t)).await.unwrap(),
                other => panic!("unexpected {other:?}"),
            }
        }
        // Then a close started by tungstenite.
        ws.close(Some(CloseFrame { code: TCloseCode::Library(4001), reason: "bye".into() })).await.unwrap();
        while let Some(m) = ws.next().await {
            if m.is_err() {
                break;
            }
        }
    });
    let (r, w) = ours(c);
    let ws = WsClient::connect(r, w, "ws://127.0.0.1/", WsConfig::default()).await.unwrap();
    ws.send_text("héllo").await.unwrap();
    assert_eq!(message(&ws).await, Message::Text("héllo".into()));
    ws.send_fragmented(OpCode::Text, &[b"a", b"b", b"c"]).await.unwrap();
    assert_eq!(message(&ws).await, Message::Text("abc".into()));
    ws.ping(b"ours").await.unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    ws.send_binary(&big).await.unwrap();
    assert_eq!(message(&ws).await, Message::Binary(big.into()));
    assert_eq!(message(&ws).await, Message::Text("fragmented κ".into()));
    let outcome = ws.recv().await.unwrap();
    assert_eq!(outcome, Incoming::Closed(CloseOutcome { code: Some(4001), reason: "bye".into(), clean: true, initiated_by: Initiator::Peer }));
    server.await.unwrap();
}

#[tokio::test]
async fn our_client_closes_tungstenite_server() {
    let (c, s) = tcp_pair().await;
    let server = tokio::spawn(async move {
        let mut ws = tokio_tungstenite::accept_async(s).await.unwrap();
        let mut seen = Vec::new();
        while let Some(Ok(m)) = ws.next().await {
            seen.push(m);
        }
        seen
    });
    let (r, w) = ours(c);
    let ws = WsClient::connect(r, w, "ws://127.0.0.1/", WsConfig::default()).await.unwrap();
    ws.send_binary(b"\x00\x01").await.unwrap();
    let outcome = ws.close(Some(1000), "done").await.unwrap();
    assert_eq!(outcome, CloseOutcome { code: Some(1000), reason: "done".into(), clean: true, initiated_by: Initiator::Us });
    let seen = server.await.unwrap();
    assert_eq!(seen[0], TMessage::Binary(vec![0, 1].into()));
    assert_eq!(seen[1], TMessage::Close(Some(CloseFrame { code: TCloseCode::Normal, reason: "done".into() })));
}

#[tokio::test]
async fn tungstenite_client_against_our_server() {
    let (c, s) = tcp_pair().await;
    let server = tokio::spawn(async move {
        let (r, w) = ours(s);
        let ws = WsServer::accept(r, w, WsConfig::default()).await.unwrap();
        // Echo three messages, then play our own part, then echo until closed.
        for _ in 0..3 {
            let m = message(&ws).await;
            ws.send(&m).await.unwrap();
        }
        ws.send_fragmented(OpCode::Binary, &[b"\x01", b"", b"\x02\x03"]).await.unwrap();
        ws.ping(b"from us").await.unwrap();
        ws.echo().await.unwrap()
    });
    let (mut tws, _) = tokio_tungstenite::client_async("ws://127.0.0.1/", c).await.unwrap();
    tws.send(TMessage::Text("hi".into())).await.unwrap();
    assert_eq!(tws.next().await.unwrap().unwrap(), TMessage::Text("hi".into()));
    for f in t_fragments(Data::Text, &[b"\xce", b"\xba", b"!"]) {
        tws.feed(f).await.unwrap();
    }
    tws.flush().await.unwrap();
    assert_eq!(tws.next().await.unwrap().unwrap(), TMessage::Text("κ!".into()));
    tws.send(TMessage::Ping(b"tping".to_vec().into())).await.unwrap();
    assert_eq!(tws.next().await.unwrap().unwrap(), TMessage::Pong(b"tping".to_vec().into()));
    tws.send(TMessage::Binary(vec![9; 70_000].into())).await.unwrap();
    assert_eq!(tws.next().await.unwrap().unwrap(), TMessage::Binary(vec![9; 70_000].into()));
    assert_eq!(tws.next().await.unwrap().unwrap(), TMessage::Binary(vec![1, 2, 3].into()));
    assert_eq!(tws.next().await.unwrap().unwrap(), TMessage::Ping(b"from us".to_vec().into()));
    tws.close(Some(CloseFrame { code: TCloseCode::Away, reason: "leaving".into() })).await.unwrap();
    let mut rest = Vec::new();
    while let Some(Ok(m)) = tws.next().await {
        rest.push(m);
    }
    assert_eq!(rest, vec![TMessage::Close(Some(CloseFrame { code: TCloseCode::Away, reason: "".into() }))]);
    let outcome = server.await.unwrap();
    assert_eq!(outcome, CloseOutcome { code: Some(1001), reason: "leaving".into(), clean: true, initiated_by: Initiator::Peer });
}

#[tokio::test]
async fn our_server_closes_tungstenite_client() {
    let (c, s) = tcp_pair().await;
    let server = tokio::spawn(async move {
        let (r, w) = ours(s);
        let ws = WsServer::accept(r, w, WsConfig::default()).await.unwrap();
        ws.send_text("before close").await.unwrap();
        ws.close(Some(3001), "app says bye").await.unwrap()
    });
    let (mut tws, _) = tokio_tungstenite::client_async("ws://127.0.0.1/", c).await.unwrap();
    let mut seen = Vec::new();
    while let Some(Ok(m)) = tws.next().await {
        seen.push(m);
    }
    assert_eq!(seen[0], TMessage::Text("before close".into()));
    assert_eq!(seen[1], TMessage::Close(Some(CloseFrame { code: TCloseCode::from(3001), reason: "app says bye".into() })));
    let outcome = server.await.unwrap();
    assert_eq!(outcome.code, Some(3001), "tungstenite echoes the code");
    assert!(outcome.clean);
    assert_eq!(outcome.initiated_by, Initiator::Us);
}

#[tokio::test]
async fn tungstenite_server_accepts_our_masking_at_every_length_boundary() {
    // Tungstenite, as a server, accepts our client's masking and length encodings for
    // payloads on both sides of every length boundary.
    let (c, s) = tcp_pair().await;
    let server = tokio::spawn(async move {
        let mut ws = tokio_tungstenite::accept_async(s).await.unwrap();
        while let Some(Ok(m)) = ws.next().await {
            if m.is_binary() {
                ws.send(m).await.unwrap();
            }
        }
    });
    let (r, w) = ours(c);
    let ws = WsClient::connect(r, w, "ws://127.0.0.1/", WsConfig::default()).await.unwrap();
    for len in [0usize, 1, 125, 126, 127, 65535, 65536, 65537] {
        let data = vec![0xA5u8; len];
        ws.send_binary(&data).await.unwrap();
        assert_eq!(message(&ws).await, Message::Binary(data.into()), "len {len}");
    }
    ws.close(Some(1000), "").await.unwrap();
    server.await.unwrap();
}
