//! The Close frame's body (RFC 6455 §5.5.1, §7.4) and how a connection ended.

use super::error::ProtocolError;
use super::frame::coding::CloseCode;
use std::fmt;

/// Who started the closing handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    /// We sent the first Close frame (a `close` call, or a protocol failure we detected).
    Us,
    /// The peer sent the first Close frame.
    Peer,
    /// Nobody: the TCP connection ended without a closing handshake (close code 1006).
    Transport,
}

/// How a connection ended: the peer's close code and reason, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOutcome {
    /// The code in the peer's Close frame; `None` if it sent an empty one or none at all.
    pub code: Option<u16>,
    /// The reason in the peer's Close frame.
    pub reason: String,
    /// Both Close frames were exchanged (§7.1.4 "The WebSocket Connection is Closed" cleanly).
    pub clean: bool,
    pub initiated_by: Initiator,
}

impl CloseOutcome {
    pub(crate) fn unclean(initiated_by: Initiator) -> Self {
        CloseOutcome { code: None, reason: String::new(), clean: false, initiated_by }
    }
}

impl fmt::Display for CloseOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(c) => write!(f, "peer's close code {}", CloseCode(c))?,
            None => f.write_str("no close code from the peer")?,
        }
        if !self.reason.is_empty() {
            write!(f, ", reason {:?}", self.reason)?;
        }
        let by = match self.initiated_by {
            Initiator::Us => "we closed first",
            Initiator::Peer => "the peer closed first",
            Initiator::Transport => "TCP closed without a closing handshake",
        };
        write!(f, ", {}, {by}", if self.clean { "clean" } else { "not clean" })
    }
}

/// A Close frame body: the code in network byte order, then the reason (§5.5.1).
pub(crate) fn close_body(code: Option<u16>, reason: &str) -> Vec<u8> {
    match code {
        None => Vec::new(),
        Some(c) => {
            let mut body = c.to_be_bytes().to_vec();
            body.extend_from_slice(reason.as_bytes());
            body
        }
    }
}

/// Parses and checks a received Close body.
pub fn parse_close_body(body: &[u8]) -> Result<(Option<u16>, String), ProtocolError> {
    match body.len() {
        0 => Ok((None, String::new())),
        // RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a
        // 2-byte unsigned integer (in network byte order) representing a status code"; a
        // one-byte body cannot be one.
        1 => Err(ProtocolError::OneByteClosePayload),
        _ => {
            let code = u16::from_be_bytes([body[0], body[1]]);
            // RFC 6455 §7.4.1 / §7.4.2: codes 1004–1006, 1015, 0–999, 1016–2999 and 5000+ are
            // not valid on the wire.
            if !CloseCode(code).is_allowed_on_wire() {
                return Err(ProtocolError::InvalidCloseCode { code });
            }
            // RFC 6455 §5.5.1: the close reason's data "is not guaranteed to be human readable"
            // but is UTF-8-encoded; §8.1 makes invalid UTF-8 fail the connection (1007).
            let reason = std::str::from_utf8(&body[2..]).map_err(|_| ProtocolError::InvalidCloseReason)?;
            Ok((Some(code), reason.to_string()))
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_bodies() {
        assert_eq!(parse_close_body(&[]), Ok((None, String::new())));
        assert_eq!(parse_close_body(&[3]), Err(ProtocolError::OneByteClosePayload));
        assert_eq!(parse_close_body(&[0x03, 0xE8, b'o', b'k']), Ok((Some(1000), "ok".into())));
        assert_eq!(parse_close_body(&[0x03, 0xED]), Err(ProtocolError::InvalidCloseCode { code: 1005 }));
        assert_eq!(parse_close_body(&[0x0B, 0xB8]), Ok((Some(3000), String::new())));
        assert_eq!(parse_close_body(&[0x03, 0xE8, 0xFF]), Err(ProtocolError::InvalidCloseReason));
        assert_eq!(ProtocolError::InvalidCloseReason.close_code(), CloseCode(1007));
    }
}
