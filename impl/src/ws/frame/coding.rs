//! Opcodes and close codes as wire integers (RFC 6455 §5.2, §7.4).

use std::fmt;

/// A frame's opcode, the low four bits of its first byte (RFC 6455 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `0x0`: a continuation frame (§5.4).
    Continuation,
    /// `0x1`: the first frame of a text message.
    Text,
    /// `0x2`: the first frame of a binary message.
    Binary,
    /// `0x8`: connection close (§5.5.1).
    Close,
    /// `0x9`: ping (§5.5.2).
    Ping,
    /// `0xA`: pong (§5.5.3).
    Pong,
    /// `0x3`–`0x7` (reserved data) and `0xB`–`0xF` (reserved control).
    Reserved(u8),
}

impl OpCode {
    /// Decodes the low four bits of `byte`; the high bits are ignored.
    pub fn from_u8(byte: u8) -> Self {
        match byte & 0x0F {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => OpCode::Reserved(other),
        }
    }

    /// The four-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
            OpCode::Reserved(b) => b & 0x0F,
        }
    }

    /// RFC 6455 §5.5: control frames are identified by opcodes where the most significant bit
    /// of the opcode is 1.
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x08 != 0
    }

    /// Opcodes 3–7 and 11–15, which no extension of ours defines.
    pub fn is_reserved(self) -> bool {
        matches!(self, OpCode::Reserved(_))
    }
}

impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpCode::Continuation => f.write_str("continuation"),
            OpCode::Text => f.write_str("text"),
            OpCode::Binary => f.write_str("binary"),
            OpCode::Close => f.write_str("close"),
            OpCode::Ping => f.write_str("ping"),
            OpCode::Pong => f.write_str("pong"),
            OpCode::Reserved(b) => write!(f, "reserved opcode {b:#x}"),
        }
    }
}

/// A close status code (RFC 6455 §7.4), kept as the raw integer so that any code seen on the
/// wire can be reported exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

/// Where a close code stands (RFC 6455 §7.4.1, §7.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeClass {
    /// 1000–1003, 1007–1014: defined by the RFC or registered with IANA, fine on the wire.
    Defined,
    /// 1004, 1005, 1006, 1015: reserved values that MUST NOT be set in a Close frame.
    NeverOnWire,
    /// 3000–3999 (libraries, frameworks) and 4000–4999 (private use).
    Registered,
    /// 0–999, 1016–2999 and anything from 5000 on.
    Invalid,
}

impl CloseCode {
    pub const NORMAL: CloseCode = CloseCode(1000);
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    pub const RESERVED: CloseCode = CloseCode(1004);
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Classifies the code per §7.4.1 / §7.4.2 and the IANA registry.
    pub fn class(self) -> CodeClass {
        match self.0 {
            1000..=1003 | 1007..=1014 => CodeClass::Defined,
            // RFC 6455 §7.4.1: 1004 is reserved; 1005, 1006 and 1015 "MUST NOT be set as a
            // status code in a Close control frame by an endpoint".
            1004 | 1005 | 1006 | 1015 => CodeClass::NeverOnWire,
            3000..=4999 => CodeClass::Registered,
            _ => CodeClass::Invalid,
        }
    }

    /// Whether an endpoint may send this code in a Close frame, and so whether a received one
    /// is acceptable (a received code outside this set fails the connection with 1002).
    pub fn is_allowed_on_wire(self) -> bool {
        matches!(self.class(), CodeClass::Defined | CodeClass::Registered)
    }

    /// The RFC's short name for a defined code.
    pub fn name(self) -> &'static str {
        match self.0 {
            1000 => "normal closure",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1004 => "reserved",
            1005 => "no status received",
            1006 => "abnormal closure",
            1007 => "invalid frame payload data",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "mandatory extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            1015 => "TLS handshake",
            3000..=3999 => "registered",
            4000..=4999 => "private use",
            _ => "invalid",
        }
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_round_trip_through_the_wire_value() {
        for b in 0u8..16 {
            assert_eq!(OpCode::from_u8(b).as_u8(), b);
        }
        assert!(OpCode::Ping.is_control() && OpCode::Reserved(0xB).is_control());
        assert!(!OpCode::Text.is_control() && !OpCode::Reserved(3).is_control());
        assert!(OpCode::from_u8(0x3).is_reserved() && OpCode::from_u8(0xF).is_reserved());
    }

    #[test]
    fn close_code_classes_follow_section_7_4() {
        for c in (1000..=1003).chain(1007..=1014).chain([3000, 3999, 4000, 4999]) {
            assert!(CloseCode(c).is_allowed_on_wire(), "{c} should be valid");
        }
        for c in [1004, 1005, 1006, 1015] {
            assert_eq!(CloseCode(c).class(), CodeClass::NeverOnWire);
            assert!(!CloseCode(c).is_allowed_on_wire());
        }
        for c in [0, 1, 999, 1016, 1100, 2000, 2999, 5000, 65535] {
            assert_eq!(CloseCode(c).class(), CodeClass::Invalid, "{c}");
            assert!(!CloseCode(c).is_allowed_on_wire());
        }
    }
}
