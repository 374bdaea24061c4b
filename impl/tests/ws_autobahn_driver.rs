//! The Autobahn fuzzingserver testee protocol (`ws::autobahn`, used by the `echo_client`
//! example) against a stand-in fuzzer built on our own server, inside turmoil: case count,
//! every case in order with verbatim echoes, then the report request with the agent name.

use std::sync::mpsc;
use streamcheck_impl::stream::TurmoilNet;
use streamcheck_impl::ws::{autobahn, Incoming, MaskMode, Message, OpCode, WebSocket, WsConfig, WsServer};

async fn expect_echo(ws: &WebSocket, sent: Message) -> bool {
    matches!(ws.recv().await, Ok(Incoming::Message(m)) if m == sent)
}

/// One fuzzer session per request path, reporting (path, case passed) on `seen`.
async fn fuzzer(ws: WebSocket, path: String, seen: mpsc::Sender<(String, bool)>) {
    let ok = if path == "/getCaseCount" {
        ws.send_text("4").await.is_ok()
    } else if let Some(q) = path.strip_prefix("/runCase?case=") {
        let case: u32 = q.split('&').next().unwrap().parse().unwrap();
        assert!(path.ends_with("&agent=turmoil-agent"), "{path}");
        match case {
            1 => {
                ws.send_text("Hello, world!").await.unwrap();
                expect_echo(&ws, Message::Text("Hello, world!".into())).await
            }
            2 => {
                let data: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
                ws.ping(b"2.2").await.unwrap();
                ws.send_binary(&data).await.unwrap();
                expect_echo(&ws, Message::Binary(data.into())).await
            }
            3 => {
                ws.send_fragmented(OpCode::Text, &[b"fr", b"ag", b"\xce", b"\xba"]).await.unwrap();
                expect_echo(&ws, Message::Text("fragκ".into())).await
            }
            _ => true,
        }
    } else {
        true
    };
    let code = if path.starts_with("/runCase?case=4") { 4000 } else { 1000 };
    let outcome = ws.close(Some(code), "").await.unwrap();
    let _ = seen.send((path, ok && outcome.clean && outcome.code == Some(code)));
}

#[test]
fn echo_client_protocol_runs_every_case_then_updates_reports() {
    let mut sim = turmoil::Builder::new().rng_seed(9001).build();
    let (tx, rx) = mpsc::channel();
    sim.host("fuzzer", move || {
        let tx = tx.clone();
        async move {
            let _server = WsServer::serve::<TurmoilNet, _, _>("0.0.0.0", 9001, WsConfig::default(), move |ws, hs| fuzzer(ws, hs.path, tx.clone()))
                .await
                .unwrap();
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    sim.client("testee", async {
        let config = WsConfig { mask: MaskMode::Seeded(1), ..WsConfig::default() };
        let mut reported = Vec::new();
        let runs = autobahn::run_all::<TurmoilNet>("ws://fuzzer:9001/", "turmoil-agent", &config, |count, run| reported.push((count, run.case)))
            .await
            .unwrap();
        assert_eq!(reported, vec![(4, 1), (4, 2), (4, 3), (4, 4)]);
        let codes: Vec<Option<u16>> = runs.iter().map(|r| r.result.as_ref().unwrap().code).collect();
        assert_eq!(codes, vec![Some(1000), Some(1000), Some(1000), Some(4000)]);
        Ok(())
    });
    sim.run().unwrap();
    let seen: Vec<(String, bool)> = rx.try_iter().collect();
    let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/getCaseCount",
            "/runCase?case=1&agent=turmoil-agent",
            "/runCase?case=2&agent=turmoil-agent",
            "/runCase?case=3&agent=turmoil-agent",
            "/runCase?case=4&agent=turmoil-agent",
            "/updateReports?agent=turmoil-agent",
        ]
    );
    assert!(seen.iter().all(|(_, ok)| *ok), "{seen:?}");
}
