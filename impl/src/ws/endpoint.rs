//! Entry points: [`WsClient`] (`ws_connect`) and [`WsServer`] (`ws_serve`), each either on
//! streams the caller already has, or opening the TCP side itself over any [`Network`].

use super::config::WsConfig;
use super::connection::{Role, WebSocket};
use super::error::{Error, Result, TimeoutError};
use super::frame::mask::MaskSource;
use super::handshake::{self, Handshake, WsUrl};
use crate::stream::{open_connection, start_server, Network, Server, StreamReader, StreamWriter};
use std::future::Future;

/// The client side of the opening handshake.
pub struct WsClient;

impl WsClient {
    /// Performs the client handshake for `url` (`ws://host[:port]/path`) on open streams,
    /// within `config.open_timeout`. On failure the writer is closed.
    pub async fn connect(reader: StreamReader, writer: StreamWriter, url: &str, config: WsConfig) -> Result<WebSocket> {
        let url = WsUrl::parse(url)?;
        Self::connect_url(reader, writer, &url, config).await.map(|(ws, _)| ws)
    }

    /// Like [`connect`](Self::connect), also returning what the handshake agreed on.
    pub async fn connect_url(reader: StreamReader, writer: StreamWriter, url: &WsUrl, config: WsConfig) -> Result<(WebSocket, Handshake)> {
        let mut masks = MaskSource::new(config.mask);
        let hs = bounded(&writer, config.open_timeout, handshake::client(&reader, &writer, url, &config, &mut masks)).await?;
        let ws = WebSocket::from_streams(reader, writer, Role::Client, config, hs.subprotocol.clone(), masks);
        Ok((ws, hs))
    }

    /// `ws_connect`: opens TCP to the URL's host and port over `N`, with the reader limit
    /// `config.stream_limit`, then performs the handshake.
    pub async fn open<N: Network>(url: &str, config: WsConfig) -> Result<WebSocket> {
        let parsed = WsUrl::parse(url)?;
        let (reader, writer) = open_connection::<N>(&parsed.host, parsed.port, config.stream_limit).await?;
        Self::connect_url(reader, writer, &parsed, config).await.map(|(ws, _)| ws)
    }
}

/// Runs one side of the opening handshake within `timeout`; on failure or timeout the
/// connection is closed, since no WebSocket will use it.
async fn bounded(writer: &StreamWriter, timeout: std::time::Duration, handshake: impl std::future::Future<Output = Result<Handshake>>) -> Result<Handshake> {
    let outcome = match tokio::time::timeout(timeout, handshake).await {
        Ok(r) => r,
        Err(_) => Err(Error::Timeout(TimeoutError::OpeningHandshake { after_ms: timeout.as_millis() })),
    };
    if outcome.is_err() {
        writer.close();
    }
    outcome
}

/// The server side of the opening handshake.
pub struct WsServer;

impl WsServer {
    /// Performs the server handshake on open streams, within `config.open_timeout`. A bad
    /// request is answered (400 / 426 / 431) and the connection closed.
    pub async fn accept(reader: StreamReader, writer: StreamWriter, config: WsConfig) -> Result<WebSocket> {
        Self::accept_with(reader, writer, config).await.map(|(ws, _)| ws)
    }

    /// Like [`accept`](Self::accept), also returning the request's path and headers.
    pub async fn accept_with(reader: StreamReader, writer: StreamWriter, config: WsConfig) -> Result<(WebSocket, Handshake)> {
        let hs = bounded(&writer, config.open_timeout, handshake::server(&reader, &writer, &config)).await?;
        let masks = MaskSource::new(config.mask);
        let ws = WebSocket::from_streams(reader, writer, Role::Server, config, hs.subprotocol.clone(), masks);
        Ok((ws, hs))
    }

    /// `ws_serve`: listens on `host:port` over `N`; each connection that completes the
    /// handshake is handed to `handler` in its own task. Failed handshakes are dropped.
    pub async fn serve<N, F, Fut>(host: &str, port: u16, config: WsConfig, handler: F) -> Result<Server>
    where
        N: Network,
        F: Fn(WebSocket, Handshake) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = std::sync::Arc::new(handler);
        let limit = config.stream_limit;
        let server = start_server::<N, _, _>(host, port, limit, move |reader, writer| {
            let config = config.clone();
            let handler = handler.clone();
            async move {
                if let Ok((ws, hs)) = WsServer::accept_with(reader, writer, config).await {
                    handler(ws, hs).await;
                }
            }
        })
        .await?;
        Ok(server)
    }
}

/// The driver protocol's `ws_connect`: [`WsClient::open`] under the operation's name.
pub async fn ws_connect<N: Network>(url: &str, config: WsConfig) -> Result<WebSocket> {
    WsClient::open::<N>(url, config).await
}

/// The driver protocol's `ws_serve`: [`WsServer::serve`] under the operation's name.
pub async fn ws_serve<N, F, Fut>(host: &str, port: u16, config: WsConfig, handler: F) -> Result<Server>
where
    N: Network,
    F: Fn(WebSocket, Handshake) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    WsServer::serve::<N, F, Fut>(host, port, config, handler).await
}
