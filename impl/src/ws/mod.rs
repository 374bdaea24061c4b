//! RFC 6455 WebSocket, client and server, over this crate's asyncio-style streams.
//!
//! # What is modelled
//! A WebSocket endpoint that runs on a [`StreamReader`](crate::stream::StreamReader) /
//! [`StreamWriter`](crate::stream::StreamWriter) pair, so the same code runs over real tokio
//! TCP and inside turmoil's simulated network. Frames are read with `readexactly` (header) and
//! `read` (payload, piece by piece, so text is validated as it arrives); the opening handshake
//! with `readuntil(b"\r\n\r\n")`, bounded by the reader's limit; writes are `write` + `drain`.
//! No extensions (permessage-deflate is not implemented) and no TLS.
//!
//! # Layout (one concern per file)
//! - [`frame::coding`]: opcodes and close codes (§5.2, §7.4)
//! - [`frame::header`]: header parse/format, minimal lengths, size limit before allocation (§5.2)
//! - [`frame::mask`]: word-at-a-time unmasking and masking keys (§5.3)
//! - [`frame`]: an in-memory frame codec (benchmarks, property tests)
//! - [`message`]: fragment reassembly and incremental UTF-8 validation (§5.4, §8.1)
//! - [`handshake`]: opening handshake, client and server (§4)
//! - [`close`]: the Close frame body and [`CloseOutcome`] (§5.5.1, §7.4)
//! - [`connection`]: the state machine — open, closing (by us | by peer), closed (§5.5, §7)
//! - [`endpoint`]: [`WsClient`] / [`WsServer`], the `ws_connect` / `ws_serve` entry points
//! - [`config`]: [`WsConfig`]; [`error`]: [`Error`] and its sub-enums
//!
//! # RFC 6455 sections covered
//! §1.3 (accept key), §3 (ws:// URIs), §4.1–§4.4 (handshake, version negotiation, subprotocols;
//! extensions are never accepted), §5.1–§5.8 (framing, masking, fragmentation, control frames),
//! §7.1–§7.4 (closing the connection, close codes), §8.1 (UTF-8), §10.3–§10.4 (masking
//! entropy, size limits).
//!
//! # Operations (DRIVER-PROTOCOL.md)
//! `ws_connect` = [`WsClient::open`] / [`WsClient::connect`], `ws_serve` = [`WsServer::serve`] /
//! [`WsServer::accept`], `ws_send` = [`WebSocket::send`], `ws_recv` = [`WebSocket::recv`],
//! `ws_ping` = [`WebSocket::ping`], `ws_close` = [`WebSocket::close`], `ws_echo` =
//! [`WebSocket::echo`]. A close is an outcome ([`Incoming::Closed`], [`CloseOutcome`]), never
//! an error.

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
pub use endpoint::{WsClient, WsServer};
pub use error::{CapacityError, Error, HandshakeError, ProtocolError, Result, TimeoutError};
pub use frame::coding::{CloseCode, OpCode};
pub use frame::mask::MaskMode;
pub use handshake::{Handshake, WsUrl};
pub use message::Message;
