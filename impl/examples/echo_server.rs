//! An RFC 6455 echo server on real TCP: every text/binary message is sent back as it came.
//! This is the testee for Autobahn|Testsuite's `fuzzingclient` mode (see docs/websocket.md).
//!
//! ```text
//! cargo run --release -p streamcheck-impl --example echo_server -- [ADDR]
//! ```
//! ADDR defaults to 127.0.0.1:9001 (loopback only); pass e.g. 0.0.0.0:9001 to listen on every
//! interface, as a fuzzingclient running in a container needs.

use streamcheck_impl::stream::TokioNet;
use streamcheck_impl::ws::{WsConfig, WsServer};

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9001".to_string());
    let Some((host, port)) = addr.rsplit_once(':') else {
        eprintln!("usage: echo_server [HOST:PORT]   (default 127.0.0.1:9001)");
        std::process::exit(2);
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().unwrap_or_else(|_| {
        eprintln!("echo_server: bad port in {addr:?}");
        std::process::exit(2);
    });
    let config = WsConfig::default();
    let server = WsServer::serve::<TokioNet, _, _>(host, port, config, |ws, hs| async move {
        match ws.echo().await {
            Ok(outcome) => eprintln!("{}: {outcome}", hs.path),
            Err(e) => eprintln!("{}: {e}", hs.path),
        }
    })
    .await
    .unwrap_or_else(|e| {
        eprintln!("echo_server: cannot listen on {addr}: {e}");
        std::process::exit(1);
    });
    eprintln!("echo_server: listening on ws://{}/", server.local_addr());
    // Runs until killed (Ctrl-C).
    std::future::pending::<()>().await;
}
