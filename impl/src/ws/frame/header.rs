//! Frame header parse and format (RFC 6455 §5.2), for the stream reader (two reads: the first
//! two bytes, then [`extra_len`] more) and for the buffer codec (one [`parse`] over a slice).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! ```

use super::coding::OpCode;
use crate::ws::error::{CapacityError, ProtocolError};

/// The longest header: 2 bytes, an 8-byte length and a 4-byte mask.
pub const MAX_HEADER_LEN: usize = 14;

/// One frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the low three bits.
    pub rsv: u8,
    pub opcode: OpCode,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
}

impl FrameHeader {
    /// A final, unmasked header with no reserved bits.
    pub fn new(opcode: OpCode, fin: bool, payload_len: u64, mask: Option<[u8; 4]>) -> Self {
        FrameHeader { fin, rsv: 0, opcode, mask, payload_len }
    }

    /// How many bytes [`format`](Self::format) writes.
    pub fn encoded_len(&self) -> usize {
        2 + length_field_len(self.payload_len) + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Appends the header, always with the minimal length encoding (§5.2).
    pub fn format(&self, out: &mut Vec<u8>) {
        let b0 = (self.fin as u8) << 7 | (self.rsv & 0x7) << 4 | self.opcode.as_u8();
        let m = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.payload_len;
        if len < 126 {
            out.extend_from_slice(&[b0, m | len as u8]);
        } else if len <= u16::MAX as u64 {
            out.extend_from_slice(&[b0, m | 126]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.extend_from_slice(&[b0, m | 127]);
            out.extend_from_slice(&len.to_be_bytes());
        }
        if let Some(mask) = self.mask {
            out.extend_from_slice(&mask);
        }
    }
}

fn length_field_len(len: u64) -> usize {
    match len {
        0..=125 => 0,
        126..=0xFFFF => 2,
        _ => 8,
    }
}

/// From the first two header bytes, how many header bytes follow (extended length + mask).
pub fn extra_len(first: [u8; 2]) -> usize {
    let ext = match first[1] & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    ext + if first[1] & 0x80 != 0 { 4 } else { 0 }
}

/// Decodes a header from its first two bytes and the [`extra_len`] bytes after them.
pub fn parse_parts(first: [u8; 2], rest: &[u8]) -> Result<FrameHeader, ProtocolError> {
    debug_assert_eq!(rest.len(), extra_len(first));
    let fin = first[0] & 0x80 != 0;
    let rsv = (first[0] >> 4) & 0x7;
    let opcode = OpCode::from_u8(first[0]);
    let masked = first[1] & 0x80 != 0;
    let (payload_len, used) = match first[1] & 0x7F {
        126 => {
            let len = u16::from_be_bytes([rest[0], rest[1]]) as u64;
            // RFC 6455 §5.2: "in all cases, the minimal number of bytes MUST be used to encode
            // the length"; a 16-bit length under 126 is not minimal.
            if len < 126 {
                return Err(ProtocolError::NonMinimalLength { len, encoded_in: 2 });
            }
            (len, 2)
        }
        127 => {
            let len = u64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
            // RFC 6455 §5.2: with the 64-bit form "the most significant bit MUST be 0".
            if len >> 63 != 0 {
                return Err(ProtocolError::LengthMsbSet);
            }
            // RFC 6455 §5.2: minimal encoding, as above.
            if len <= 0xFFFF {
                return Err(ProtocolError::NonMinimalLength { len, encoded_in: 8 });
            }
            (len, 8)
        }
        n => (n as u64, 0),
    };
    let mask = masked.then(|| rest[used..used + 4].try_into().expect("4 bytes"));
    Ok(FrameHeader { fin, rsv, opcode, mask, payload_len })
}

/// Parses a header at the start of `buf`: `Ok(None)` if more bytes are needed, else the header
/// and its length in bytes.
pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let first = [buf[0], buf[1]];
    let total = 2 + extra_len(first);
    if buf.len() < total {
        return Ok(None);
    }
    parse_parts(first, &buf[2..total]).map(|h| Some((h, total)))
}

/// The size limit, checked on the declared length BEFORE any payload byte is read or any
/// buffer is reserved for it. Compared as u64, so a huge length cannot wrap on 32-bit targets.
pub fn check_frame_size(len: u64, max_frame_size: usize) -> Result<(), CapacityError> {
    if len > max_frame_size as u64 {
        return Err(CapacityError::FrameTooLarge { len, max: max_frame_size });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(h: FrameHeader) {
        let mut out = Vec::new();
        h.format(&mut out);
        assert_eq!(out.len(), h.encoded_len());
        assert_eq!(parse(&out).unwrap(), Some((h, out.len())));
        for cut in 0..out.len() {
            assert_eq!(parse(&out[..cut]).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn all_three_length_encodings_round_trip() {
        for len in [0, 1, 125, 126, 127, 0xFFFF, 0x1_0000, 1 << 40, (1 << 63) - 1] {
            roundtrip(FrameHeader::new(OpCode::Binary, true, len, None));
            roundtrip(FrameHeader::new(OpCode::Text, false, len, Some([1, 2, 3, 4])));
        }
        let h = FrameHeader { fin: false, rsv: 5, opcode: OpCode::Reserved(0xB), mask: None, payload_len: 3 };
        roundtrip(h);
    }

    #[test]
    fn length_field_sizes() {
        let mut out = Vec::new();
        FrameHeader::new(OpCode::Text, true, 125, None).format(&mut out);
        assert_eq!(out, [0x81, 125]);
        out.clear();
        FrameHeader::new(OpCode::Text, true, 126, Some([9; 4])).format(&mut out);
        assert_eq!(out, [0x81, 0x80 | 126, 0, 126, 9, 9, 9, 9]);
        out.clear();
        FrameHeader::new(OpCode::Binary, true, 65536, None).format(&mut out);
        assert_eq!(out, [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn non_minimal_lengths_are_refused() {
        assert_eq!(parse(&[0x82, 126, 0, 125]), Err(ProtocolError::NonMinimalLength { len: 125, encoded_in: 2 }));
        assert_eq!(parse(&[0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]), Err(ProtocolError::NonMinimalLength { len: 0xFFFF, encoded_in: 8 }));
    }

    #[test]
    fn sixty_four_bit_msb_must_be_zero() {
        assert_eq!(parse(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]), Err(ProtocolError::LengthMsbSet));
    }

    #[test]
    fn size_limit_is_checked_on_the_declared_length() {
        assert!(check_frame_size(10, 10).is_ok());
        assert_eq!(check_frame_size(u64::MAX >> 1, 10), Err(CapacityError::FrameTooLarge { len: u64::MAX >> 1, max: 10 }));
    }
}
