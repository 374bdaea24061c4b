//! The Autobahn|Testsuite `fuzzingserver` testee: asks for the case count, runs every case
//! echoing each message back, then asks the fuzzer to write its reports.
//!
//! ```text
//! cargo run --release -p streamcheck-impl --example echo_client -- [BASE_URL] [AGENT]
//! ```
//! BASE_URL defaults to ws://127.0.0.1:9001, AGENT to "streamcheck". The protocol (fixed by
//! the fuzzingserver) is in `streamcheck_impl::ws::autobahn`.

use std::time::Duration;
use streamcheck_impl::stream::TokioNet;
use streamcheck_impl::ws::{autobahn, WsConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".to_string());
    let agent = args.next().unwrap_or_else(|| "streamcheck".to_string());
    // The fuzzer's own close-handshake timeout is 1 s; 2 s here keeps a broken case short.
    let config = WsConfig { close_timeout: Duration::from_secs(2), ..WsConfig::default() };
    let result = autobahn::run_all::<TokioNet>(&base, &agent, &config, |count, run| match &run.result {
        Ok(outcome) => eprintln!("case {}/{count}: {outcome}", run.case),
        Err(e) => eprintln!("case {}/{count}: {e}", run.case),
    })
    .await;
    match result {
        Ok(runs) => eprintln!("echo_client: {} cases run, reports updated for agent {agent:?}", runs.len()),
        Err(e) => {
            eprintln!("echo_client: {base}: {e}");
            std::process::exit(1);
        }
    }
}
