//! Every way a WebSocket operation fails. One top enum, one sub-enum per concern; each variant
//! says which close code was sent (or received) and why, citing the RFC 6455 section.
//!
//! A normal close is not here: it is an outcome ([`super::CloseOutcome`]) that `recv` and
//! `close` return. Only using a connection that is already closed is an error
//! ([`Error::ConnectionClosed`]).

use super::connection::CloseOutcome;
use super::frame::coding::{CloseCode, OpCode};
use crate::stream::StreamError;
use std::fmt;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The top error: what went wrong, by concern.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The peer broke the protocol; we sent the close code [`ProtocolError::close_code`] and
    /// closed the connection (§7.1.7 "Fail the WebSocket Connection").
    Protocol(ProtocolError),
    /// A frame or message exceeded our configured limit; we sent 1009 and closed (§7.4.1).
    Capacity(CapacityError),
    /// The opening handshake failed (§4); no WebSocket connection exists.
    Handshake(HandshakeError),
    /// A configured time limit ran out.
    Timeout(TimeoutError),
    /// The TCP connection broke (reset, EOF in the middle of a frame, ...) before a closing
    /// handshake; the close code is 1006 "abnormal closure", which is never sent (§7.1.5).
    Transport(StreamError),
    /// An operation on a connection that is already closed; carries how it closed.
    ConnectionClosed(CloseOutcome),
    /// The caller asked for something the protocol forbids (e.g. sending close code 1005, a
    /// ping payload over 125 bytes, or two concurrent `recv` calls).
    Usage(String),
}

impl Error {
    /// The close code we sent because of this error, if we sent one.
    pub fn close_code_sent(&self) -> Option<CloseCode> {
        match self {
            Error::Protocol(p) => Some(p.close_code()),
            Error::Capacity(_) => Some(CloseCode::MESSAGE_TOO_BIG),
            Error::Timeout(TimeoutError::Keepalive { .. }) => Some(CloseCode::INTERNAL_ERROR),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(p) => write!(f, "WebSocket protocol error, sent close {}: {p}", p.close_code()),
            Error::Capacity(c) => write!(f, "WebSocket limit exceeded, sent close {}: {c}", CloseCode::MESSAGE_TOO_BIG),
            Error::Handshake(h) => write!(f, "WebSocket opening handshake failed: {h}"),
            Error::Timeout(t) => write!(f, "WebSocket timeout: {t}"),
            Error::Transport(e) => write!(
                f,
                "WebSocket connection lost without a closing handshake (close code 1006): {}: {e}",
                e.python_class()
            ),
            Error::ConnectionClosed(o) => write!(f, "WebSocket connection is already closed ({o})"),
            Error::Usage(m) => write!(f, "WebSocket misuse: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl From<CapacityError> for Error {
    fn from(e: CapacityError) -> Self {
        Error::Capacity(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}

impl From<StreamError> for Error {
    fn from(e: StreamError) -> Self {
        Error::Transport(e)
    }
}

/// A peer's violation of RFC 6455 that fails the connection. Each variant's doc cites the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// §5.1: "a server MUST close the connection upon receiving a frame that is not masked".
    UnmaskedFrame,
    /// §5.1: "A client MUST close a connection if it detects a masked frame."
    MaskedFrame,
    /// §5.2: RSV1–3 "MUST be 0 unless an extension is negotiated that defines meanings".
    ReservedBits { rsv: u8 },
    /// §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
    /// WebSocket Connection_."
    ReservedOpcode { opcode: u8 },
    /// §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    ControlFrameTooLong { opcode: OpCode, len: u64 },
    /// §5.5: "All control frames ... MUST NOT be fragmented."
    FragmentedControlFrame { opcode: OpCode },
    /// §5.4: a continuation frame with no message in progress.
    UnexpectedContinuation,
    /// §5.4: a new text/binary frame while a fragmented message is still in progress.
    ExpectedContinuation { got: OpCode },
    /// §5.2: "the minimal number of bytes MUST be used to encode the length".
    NonMinimalLength { len: u64, encoded_in: u8 },
    /// §5.2: with the 64-bit length form, "the most significant bit MUST be 0".
    LengthMsbSet,
    /// §5.5.1: a close body, if present, starts with a two-byte code, so one byte is malformed.
    OneByteClosePayload,
    /// §7.4: a close code that MUST NOT appear on the wire or is not defined (§7.4.1, §7.4.2).
    InvalidCloseCode { code: u16 },
    /// §5.5.1 / §8.1: the close reason is not valid UTF-8; sent 1007.
    InvalidCloseReason,
    /// §8.1: a text message that is not valid UTF-8; sent 1007. `offset` is the offending
    /// byte's position within the message.
    InvalidUtf8 { offset: usize },
}

impl ProtocolError {
    /// The close code we send for this violation: 1007 for bad UTF-8, 1002 for the rest.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidCloseReason | ProtocolError::InvalidUtf8 { .. } => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A few words for the Close frame's reason field (the full text is in `Display`).
    pub fn short_reason(&self) -> &'static str {
        match self {
            ProtocolError::UnmaskedFrame => "unmasked frame",
            ProtocolError::MaskedFrame => "masked frame",
            ProtocolError::ReservedBits { .. } => "reserved bits set",
            ProtocolError::ReservedOpcode { .. } => "reserved opcode",
            ProtocolError::ControlFrameTooLong { .. } => "control frame too long",
            ProtocolError::FragmentedControlFrame { .. } => "fragmented control frame",
            ProtocolError::UnexpectedContinuation => "unexpected continuation",
            ProtocolError::ExpectedContinuation { .. } => "expected continuation",
            ProtocolError::NonMinimalLength { .. } => "non-minimal length",
            ProtocolError::LengthMsbSet => "length MSB set",
            ProtocolError::OneByteClosePayload => "1-byte close payload",
            ProtocolError::InvalidCloseCode { .. } => "invalid close code",
            ProtocolError::InvalidCloseReason => "invalid UTF-8 in close reason",
            ProtocolError::InvalidUtf8 { .. } => "invalid UTF-8 in text",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::UnmaskedFrame => f.write_str("the client sent an unmasked frame; clients must mask every frame (RFC 6455 §5.1)"),
            ProtocolError::MaskedFrame => f.write_str("the server sent a masked frame; servers must not mask (RFC 6455 §5.1)"),
            ProtocolError::ReservedBits { rsv } => write!(f, "reserved bits RSV1-3 = {rsv:#05b} set without a negotiated extension (RFC 6455 §5.2)"),
            ProtocolError::ReservedOpcode { opcode } => write!(f, "reserved opcode {opcode:#x} (RFC 6455 §5.2)"),
            ProtocolError::ControlFrameTooLong { opcode, len } => write!(f, "{opcode} frame with a {len}-byte payload; control frames carry at most 125 bytes (RFC 6455 §5.5)"),
            ProtocolError::FragmentedControlFrame { opcode } => write!(f, "fragmented {opcode} frame (FIN=0); control frames must not be fragmented (RFC 6455 §5.5)"),
            ProtocolError::UnexpectedContinuation => f.write_str("continuation frame with no fragmented message in progress (RFC 6455 §5.4)"),
            ProtocolError::ExpectedContinuation { got } => write!(f, "{got} frame while a fragmented message was in progress; expected a continuation frame (RFC 6455 §5.4)"),
            ProtocolError::NonMinimalLength { len, encoded_in } => write!(f, "payload length {len} encoded in {encoded_in} bytes; the minimal encoding is required (RFC 6455 §5.2)"),
            ProtocolError::LengthMsbSet => f.write_str("64-bit payload length with its most significant bit set (RFC 6455 §5.2)"),
            ProtocolError::OneByteClosePayload => f.write_str("close frame with a 1-byte payload; a close body starts with a 2-byte code (RFC 6455 §5.5.1)"),
            ProtocolError::InvalidCloseCode { code } => write!(f, "close code {code} may not be sent on the wire (RFC 6455 §7.4)"),
            ProtocolError::InvalidCloseReason => f.write_str("close reason is not valid UTF-8 (RFC 6455 §5.5.1)"),
            ProtocolError::InvalidUtf8 { offset } => write!(f, "text message is not valid UTF-8 at byte {offset} (RFC 6455 §8.1)"),
        }
    }
}

/// A configured size limit was exceeded (we send 1009, §7.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapacityError {
    /// One frame's declared payload length is over `max_frame_size`; refused before reading it.
    FrameTooLarge { len: u64, max: usize },
    /// The message so far plus the next frame is over `max_message_size`.
    MessageTooLarge { size: u64, max: usize },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityError::FrameTooLarge { len, max } => write!(f, "frame payload of {len} bytes is over max_frame_size = {max}; raise WsConfig::max_frame_size to accept it"),
            CapacityError::MessageTooLarge { size, max } => write!(f, "message of at least {size} bytes is over max_message_size = {max}; raise WsConfig::max_message_size to accept it"),
        }
    }
}

/// Why an opening handshake failed (§4). Server-side variants name the HTTP status we answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The request or response was not parseable HTTP; `status` is what we answered (400)
    /// when we are the server, 0 when we are the client.
    Malformed { status: u16, why: String },
    /// The request headers exceeded the reader limit (we answered 431).
    TooLarge { limit: usize },
    /// §4.2.1: a required header is missing or wrong (we answered 400).
    BadRequest { why: String },
    /// §4.2.2: the client asked for a version other than 13 (we answered 426 with
    /// `Sec-WebSocket-Version: 13`).
    UnsupportedVersion { got: String },
    /// §4.1: the server's response did not upgrade the connection.
    NotUpgraded { status: u16, reason: String },
    /// §4.1: the server's response failed a client-side check (accept key, Upgrade,
    /// Connection, subprotocol, extensions).
    BadResponse { why: String },
    /// The URL given to the client was not `ws://host[:port]/path`.
    BadUrl { url: String, why: String },
    /// The connection ended before the handshake completed.
    ConnectionLost { why: String },
    /// A `WsConfig::extra_headers` entry is not a valid header line (nothing was sent).
    BadExtraHeader { header: String },
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Malformed { status: 0, why } => write!(f, "malformed HTTP response: {why}"),
            HandshakeError::Malformed { status, why } => write!(f, "malformed HTTP request (answered {status}): {why}"),
            HandshakeError::TooLarge { limit } => write!(f, "HTTP header block is over the reader limit of {limit} bytes (answered 431 if server); raise the stream limit to accept it"),
            HandshakeError::BadRequest { why } => write!(f, "bad upgrade request (answered 400): {why} (RFC 6455 §4.2.1)"),
            HandshakeError::UnsupportedVersion { got } => write!(f, "client asked for Sec-WebSocket-Version {got:?} (answered 426 with Sec-WebSocket-Version: 13, RFC 6455 §4.2.2)"),
            HandshakeError::NotUpgraded { status, reason } => write!(f, "server answered HTTP {status} {reason} instead of 101 Switching Protocols (RFC 6455 §4.1)"),
            HandshakeError::BadResponse { why } => write!(f, "invalid server response: {why} (RFC 6455 §4.1)"),
            HandshakeError::BadUrl { url, why } => write!(f, "bad WebSocket URL {url:?}: {why}"),
            HandshakeError::ConnectionLost { why } => write!(f, "connection lost during the opening handshake: {why}"),
            HandshakeError::BadExtraHeader { header } => write!(f, "extra header {header:?} is not a valid header line (name must be a token, value without CR/LF)"),
        }
    }
}

/// Which configured time limit ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeoutError {
    /// `WsConfig::open_timeout` elapsed before the opening handshake completed.
    OpeningHandshake { after_ms: u128 },
    /// `WsConfig::ping_timeout` elapsed without a pong to our keepalive ping; we sent 1011.
    Keepalive { after_ms: u128 },
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeoutError::OpeningHandshake { after_ms } => write!(f, "opening handshake not complete after {after_ms} ms (WsConfig::open_timeout)"),
            TimeoutError::Keepalive { after_ms } => write!(f, "no pong {after_ms} ms after a keepalive ping (WsConfig::ping_timeout); sent close 1011"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_close_code_they_sent() {
        let e = Error::from(ProtocolError::InvalidUtf8 { offset: 3 });
        assert_eq!(e.close_code_sent(), Some(CloseCode(1007)));
        assert!(e.to_string().contains("1007") && e.to_string().contains("§8.1"), "{e}");
        let e = Error::from(ProtocolError::UnmaskedFrame);
        assert_eq!(e.close_code_sent(), Some(CloseCode(1002)));
        assert!(e.to_string().contains("1002"), "{e}");
        let e = Error::from(CapacityError::FrameTooLarge { len: 10, max: 5 });
        assert!(e.to_string().contains("1009") && e.to_string().contains("max_frame_size"), "{e}");
    }

    #[test]
    fn error_stays_small() {
        assert!(std::mem::size_of::<Error>() <= 80, "{}", std::mem::size_of::<Error>());
    }
}
