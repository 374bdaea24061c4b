//! The Autobahn|Testsuite `fuzzingserver` testee: asks for the case count, runs every case
//! echoing each message back, then asks the fuzzer to write its reports.
//!
//! ```text
//! cargo run --release -p streamcheck-impl --example echo_client -- [BASE_URL] [AGENT]
//! ```
//! BASE_URL defaults to ws://127.0.0.1:9001, AGENT to "streamcheck". The protocol (fixed by
//! the fuzzingserver): `GET /getCaseCount` answers one text message with N; `/runCase?case=i
//! &agent=A` runs case i (1-based), the testee echoing every text/binary message verbatim;
//! `/updateReports?agent=A` writes the reports.

use streamcheck_impl::stream::TokioNet;
use streamcheck_impl::ws::{Incoming, Message, WsClient, WsConfig};
use std::time::Duration;

fn config() -> WsConfig {
    // The fuzzer's own close-handshake timeout is 1 s; 2 s here keeps a broken case short.
    WsConfig { close_timeout: Duration::from_secs(2), ..WsConfig::default() }
}

async fn case_count(base: &str) -> Result<u32, String> {
    let ws = WsClient::open::<TokioNet>(&format!("{base}/getCaseCount"), config()).await.map_err(|e| e.to_string())?;
    let n = match ws.recv().await.map_err(|e| e.to_string())? {
        Incoming::Message(Message::Text(t)) => t.trim().parse().map_err(|_| format!("case count {t:?} is not a number"))?,
        other => return Err(format!("expected the case count, got {other:?}")),
    };
    let _ = ws.recv().await; // the fuzzer closes right after
    Ok(n)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".to_string());
    let base = base.trim_end_matches('/').to_string();
    let agent = args.next().unwrap_or_else(|| "streamcheck".to_string());
    let count = match case_count(&base).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("echo_client: cannot get the case count from {base}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("echo_client: {count} cases");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        match WsClient::open::<TokioNet>(&url, config()).await {
            Ok(ws) => match ws.echo().await {
                Ok(outcome) => eprintln!("case {case}/{count}: {outcome}"),
                Err(e) => eprintln!("case {case}/{count}: {e}"),
            },
            Err(e) => eprintln!("case {case}/{count}: {e}"),
        }
    }
    let url = format!("{base}/updateReports?agent={agent}");
    match WsClient::open::<TokioNet>(&url, config()).await {
        Ok(ws) => {
            let _ = ws.recv().await;
            eprintln!("echo_client: reports updated");
        }
        Err(e) => {
            eprintln!("echo_client: updateReports failed: {e}");
            std::process::exit(1);
        }
    }
}
