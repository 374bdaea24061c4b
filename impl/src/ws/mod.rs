//! RFC 6455 WebSocket, client and server, over this crate's asyncio-style streams.
//!
//! # What is modelled
//! A WebSocket endpoint that runs on a [`StreamReader`] / [`StreamWriter`] pair, so the same
//! code runs over real tokio TCP and inside turmoil's simulated network. Frames are read with
//! `readexactly` (header) and `read` (payload, piece by piece, so text is validated as it
//! arrives); the opening handshake with `readuntil(b"\r\n\r\n")`, bounded by the reader's
//! limit; writes are `write` + `drain`. No extensions (permessage-deflate is not implemented,
//! so Autobahn 12.x/13.x would report UNIMPLEMENTED) and no TLS (`wss://` is refused).
//!
//! # Layout (one concern per file)
//! - [`frame::coding`]: opcodes and close codes (§5.2, §7.4)
//! - [`frame::header`]: header parse/format, minimal lengths, size limit before allocation (§5.2)
//! - [`frame::mask`]: word-at-a-time unmasking, masking keys (§5.3)
//! - [`frame`]: an in-memory frame codec (benchmarks, property tests)
//! - [`message`]: fragment reassembly, incremental UTF-8 validation (§5.4, §8.1)
//! - [`handshake`]: opening handshake, client and server (§4)
//! - [`close`]: the Close frame body and [`CloseOutcome`] (§5.5.1, §7.4)
//! - [`connection`]: the state machine: open → closing (by us | by peer) → closed (§5.5, §7)
//! - [`endpoint`]: [`WsClient`] / [`WsServer`], the `ws_connect` / `ws_serve` entry points
//! - [`config`]: [`WsConfig`]; [`error`]: [`Error`] and its sub-enums
//! - [`autobahn`]: the Autobahn fuzzingserver testee protocol (used by `echo_client`)
//!
//! # RFC 6455 sections covered
//! §1.3 (accept key), §3 (ws:// URIs), §4.1–§4.4 (handshake, version negotiation,
//! subprotocols; extensions are never accepted), §5.1–§5.8 (framing, masking, fragmentation,
//! control frames), §7.1–§7.4 (closing, close codes), §8.1 (UTF-8), §10.3–§10.4 (masking
//! entropy, size limits).
//!
//! # Operations (DRIVER-PROTOCOL.md)
//! | op | here |
//! |---|---|
//! | `ws_connect` | [`ws_connect`], [`WsClient::open`]; on existing streams [`WsClient::connect`] |
//! | `ws_serve` | [`ws_serve`], [`WsServer::serve`]; on existing streams [`WsServer::accept`] |
//! | `ws_send` | [`WebSocket::send`] (also `send_text`, `send_binary`, `send_fragmented`) |
//! | `ws_recv` | [`WebSocket::recv`] → [`Incoming::Message`] or [`Incoming::Closed`] |
//! | `ws_ping` | [`WebSocket::ping`] |
//! | `ws_close` | [`WebSocket::close`] → the peer's [`CloseOutcome`] |
//! | `ws_echo` | [`WebSocket::echo`] → [`CloseOutcome`] |
//!
//! A close is an outcome, never an error; [`Error::ConnectionClosed`] only reports an operation
//! on a connection that is already closed.
//!
//! [`StreamReader`]: crate::stream::StreamReader
//! [`StreamWriter`]: crate::stream::StreamWriter
//! [`autobahn`]: crate::ws::autobahn
//! [`frame::coding`]: crate::ws::frame::coding
//! [`frame::header`]: crate::ws::frame::header
//! [`frame::mask`]: crate::ws::frame::mask
//! [`frame`]: crate::ws::frame
//! [`message`]: crate::ws::message
//! [`handshake`]: crate::ws::handshake
//! [`close`]: crate::ws::close
//! [`connection`]: crate::ws::connection
//! [`endpoint`]: crate::ws::endpoint
//! [`config`]: crate::ws::config
//! [`error`]: crate::ws::error
//! [`CloseOutcome`]: crate::ws::CloseOutcome
//! [`WsClient`]: crate::ws::WsClient
//! [`WsServer`]: crate::ws::WsServer
//! [`WsConfig`]: crate::ws::WsConfig
//! [`Error`]: crate::ws::Error
//! [`ws_connect`]: crate::ws::ws_connect
//! [`ws_serve`]: crate::ws::ws_serve
//! [`WsClient::open`]: crate::ws::WsClient::open
//! [`WsClient::connect`]: crate::ws::WsClient::connect
//! [`WsServer::serve`]: crate::ws::WsServer::serve
//! [`WsServer::accept`]: crate::ws::WsServer::accept
//! [`WebSocket::send`]: crate::ws::WebSocket::send
//! [`WebSocket::recv`]: crate::ws::WebSocket::recv
//! [`Incoming::Message`]: crate::ws::Incoming::Message
//! [`Incoming::Closed`]: crate::ws::Incoming::Closed
//! [`WebSocket::ping`]: crate::ws::WebSocket::ping
//! [`WebSocket::close`]: crate::ws::WebSocket::close
//! [`WebSocket::echo`]: crate::ws::WebSocket::echo
//! [`Error::ConnectionClosed`]: crate::ws::Error::ConnectionClosed

pub mod autobahn;
pub mod close;
pub mod config;
pub mod connection;
pub mod endpoint;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod message;

pub use config::WsConfig;
pub use connection::{CloseOutcome, Incoming, Initiator, Role, WebSocket};
pub use endpoint::{ws_connect, ws_serve, WsClient, WsServer};
pub use error::{CapacityError, Error, HandshakeError, ProtocolError, Result, TimeoutError};
pub use frame::coding::{CloseCode, OpCode};
pub use frame::mask::MaskMode;
pub use handshake::{Handshake, WsUrl};
pub use message::Message;
