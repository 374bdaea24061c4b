//! The knobs of a WebSocket endpoint: size limits, time limits, subprotocols, masking.

use super::frame::mask::MaskMode;
use std::time::Duration;

/// Configuration for one client or server connection. `Default` gives tungstenite's size
/// limits and the time limits of Python's `websockets`.
#[derive(Debug, Clone, PartialEq)]
pub struct WsConfig {
    /// Largest frame payload accepted; a larger declared length is refused with 1009 before
    /// any of it is read (RFC 6455 §10.4). Default 16 MiB.
    pub max_frame_size: usize,
    /// Largest message (all fragments) accepted; more is refused with 1009. Default 64 MiB.
    pub max_message_size: usize,
    /// The stream reader's limit for connections this module opens itself
    /// ([`super::WsClient::open`], [`super::WsServer::serve`]); it bounds the HTTP header
    /// block of the opening handshake. Default 64 KiB (asyncio's default limit).
    pub stream_limit: i64,
    /// Time allowed for the whole opening handshake (§4). Default 10 s.
    pub open_timeout: Duration,
    /// Time allowed for the closing handshake: waiting for the peer's Close after ours, and
    /// (client) waiting for the server to close TCP (§7.1.1). Default 10 s.
    pub close_timeout: Duration,
    /// Send a keepalive ping after this long without a frame from the peer, while a `recv`
    /// is waiting. `None` (the default) disables keepalive.
    pub ping_interval: Option<Duration>,
    /// Fail the connection with 1011 if the keepalive ping gets no pong within this. Default 20 s.
    pub ping_timeout: Duration,
    /// Client: the subprotocols offered, in preference order. Server: the ones supported, in
    /// preference order; the first one the client also offered is selected (§4.2.2).
    pub subprotocols: Vec<String>,
    /// Client: extra request headers (e.g. `Origin`).
    pub extra_headers: Vec<(String, String)>,
    /// Where masking keys come from (§5.3). Only clients mask.
    pub mask: MaskMode,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            stream_limit: 64 * 1024,
            open_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(10),
            ping_interval: None,
            ping_timeout: Duration::from_secs(20),
            subprotocols: Vec::new(),
            extra_headers: Vec::new(),
            mask: MaskMode::Random,
        }
    }
}

impl WsConfig {
    /// Sets both size limits to `max_size` (the driver protocol's `max_size`).
    pub fn with_max_size(mut self, max_size: usize) -> Self {
        self.max_frame_size = max_size;
        self.max_message_size = max_size;
        self
    }

    /// Sets the subprotocols offered (client) or supported (server).
    pub fn with_subprotocols<I: IntoIterator<Item = S>, S: Into<String>>(mut self, protocols: I) -> Self {
        self.subprotocols = protocols.into_iter().map(Into::into).collect();
        self
    }
}
