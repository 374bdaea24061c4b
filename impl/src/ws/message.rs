//! Messages: fragment reassembly (RFC 6455 §5.4) and incremental UTF-8 validation (§8.1).
//!
//! The [`Assembler`] is told about each data frame before its payload is read
//! ([`Assembler::begin_frame`]: continuation rules and the message size limit, checked before
//! reserving memory), then gets the payload in whatever pieces the network delivered
//! ([`Assembler::push`]), and finally the frame's end ([`Assembler::end_frame`]). Text is
//! validated piece by piece, so invalid UTF-8 is caught at its first offending byte, even in the
//! middle of a frame and whatever the fragment and chunk boundaries (Autobahn 6.4 "fail fast").

use super::error::{CapacityError, Error, ProtocolError};
use super::frame::coding::OpCode;
use super::frame::mask::extend_unmasked;
use bytes::Bytes;

/// A complete data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Binary(Bytes),
}

impl Message {
    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(s) => s.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The opcode of the message's first frame.
    pub fn opcode(&self) -> OpCode {
        match self {
            Message::Text(_) => OpCode::Text,
            Message::Binary(_) => OpCode::Binary,
        }
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.to_owned())
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s)
    }
}

impl From<Vec<u8>> for Message {
    fn from(v: Vec<u8>) -> Self {
        Message::Binary(v.into())
    }
}

/// An incremental UTF-8 validator (Unicode Table 3-7, "well-formed byte sequences"): it rejects
/// a byte as soon as no valid continuation of the bytes so far could exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Validator {
    /// Continuation bytes still needed by the current sequence.
    need: u8,
    /// The range the next continuation byte must fall in.
    lo: u8,
    hi: u8,
}

impl Default for Utf8Validator {
    fn default() -> Self {
        Utf8Validator { need: 0, lo: 0x80, hi: 0xBF }
    }
}

impl Utf8Validator {
    /// Validates the next bytes of the stream. `Err(i)`: `bytes[i]` is the first offending byte.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), usize> {
        let mut i = 0;
        while self.need > 0 {
            let Some(&b) = bytes.get(i) else { return Ok(()) };
            self.step(b).map_err(|()| i)?;
            i += 1;
        }
        // At a code point boundary: the standard library's validator is the fast path, and the
        // byte machine only runs on what it could not accept (an incomplete tail or the error).
        match std::str::from_utf8(&bytes[i..]) {
            Ok(_) => Ok(()),
            Err(e) => {
                let start = i + e.valid_up_to();
                for (j, &b) in bytes[start..].iter().enumerate() {
                    self.step(b).map_err(|()| start + j)?;
                }
                Ok(())
            }
        }
    }

    /// True at a code point boundary: the bytes so far are complete, valid UTF-8.
    pub fn is_complete(&self) -> bool {
        self.need == 0
    }

    fn step(&mut self, b: u8) -> Result<(), ()> {
        if self.need > 0 {
            if b < self.lo || b > self.hi {
                return Err(());
            }
            self.need -= 1;
            self.lo = 0x80;
            self.hi = 0xBF;
            return Ok(());
        }
        let (need, lo, hi) = match b {
            0x00..=0x7F => return Ok(()),
            0xC2..=0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),           // no overlongs
            0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
            0xED => (2, 0x80, 0x9F),           // no surrogates (U+D800..U+DFFF)
            0xF0 => (3, 0x90, 0xBF),           // no overlongs
            0xF1..=0xF3 => (3, 0x80, 0xBF),
            0xF4 => (3, 0x80, 0x8F),           // nothing above U+10FFFF
            _ => return Err(()),               // 0x80..=0xC1, 0xF5..=0xFF
        };
        self.need = need;
        self.lo = lo;
        self.hi = hi;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Binary,
}

/// Reassembles data frames into messages. Holds the only receive-side message state.
#[derive(Debug)]
pub struct Assembler {
    kind: Option<Kind>,
    buf: Vec<u8>,
    utf8: Utf8Validator,
    max_message_size: usize,
}

impl Assembler {
    /// An assembler that refuses messages over `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> Self {
        Assembler { kind: None, buf: Vec::new(), utf8: Utf8Validator::default(), max_message_size }
    }

    /// Whether a fragmented message is in progress.
    pub fn in_progress(&self) -> bool {
        self.kind.is_some()
    }

    /// Starts a data frame with the given opcode and declared payload length.
    pub fn begin_frame(&mut self, opcode: OpCode, payload_len: u64) -> Result<(), Error> {
        match (opcode, self.kind) {
            // RFC 6455 §5.4: "A fragmented message consists of a single frame with the FIN bit
            // clear and an opcode other than 0, followed by zero or more frames with the FIN bit
            // clear and the opcode set to 0, and terminated by a single frame with the FIN bit
            // set and an opcode of 0": a continuation with nothing to continue is a violation.
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation.into()),
            // RFC 6455 §5.4: "The fragments of one message MUST NOT be interleaved between the
            // fragments of another message unless an extension has been negotiated that can
            // interpret the interleaving": a new text/binary frame here fails.
            (OpCode::Text | OpCode::Binary, Some(_)) => return Err(ProtocolError::ExpectedContinuation { got: opcode }.into()),
            (OpCode::Text, None) => self.start(Kind::Text),
            (OpCode::Binary, None) => self.start(Kind::Binary),
            (OpCode::Continuation, Some(_)) => {}
            (other, _) => unreachable!("begin_frame called with a non-data opcode {other}"),
        }
        // RFC 6455 §10.4: "implementations SHOULD impose a limit on frame sizes and the total
        // message size after reassembly from multiple frames". Checked on declared lengths,
        // BEFORE reserving anything.
        let size = self.buf.len() as u64 + payload_len;
        if size > self.max_message_size as u64 {
            return Err(CapacityError::MessageTooLarge { size, max: self.max_message_size }.into());
        }
        self.buf.reserve(payload_len as usize);
        Ok(())
    }

    fn start(&mut self, kind: Kind) {
        self.kind = Some(kind);
        self.utf8 = Utf8Validator::default();
        self.buf.clear();
    }

    /// Appends one piece of the current frame's payload. `mask` is the frame's masking key and
    /// `frame_offset` the piece's position within the frame's payload, so pieces can be
    /// unmasked in place as they come.
    pub fn push(&mut self, piece: &[u8], mask: Option<[u8; 4]>, frame_offset: usize) -> Result<(), ProtocolError> {
        let start = self.buf.len();
        match mask {
            // Copy and unmask in one pass.
            Some(mask) => extend_unmasked(&mut self.buf, piece, mask, frame_offset),
            None => self.buf.extend_from_slice(piece),
        }
        if self.kind == Some(Kind::Text) {
            // RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds
            // that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST
            // _Fail the WebSocket Connection_." Checked per piece, so it fails fast.
            self.utf8.feed(&self.buf[start..]).map_err(|i| ProtocolError::InvalidUtf8 { offset: start + i })?;
        }
        Ok(())
    }

    /// Ends the current frame; with `fin`, returns the complete message.
    pub fn end_frame(&mut self, fin: bool) -> Result<Option<Message>, ProtocolError> {
        if !fin {
            return Ok(None);
        }
        let kind = self.kind.take().expect("end_frame after begin_frame");
        let buf = std::mem::take(&mut self.buf);
        Ok(Some(match kind {
            Kind::Binary => Message::Binary(buf.into()),
            Kind::Text => {
                // RFC 6455 §8.1: a message that ends inside a code point is not valid UTF-8.
                if !self.utf8.is_complete() {
                    return Err(ProtocolError::InvalidUtf8 { offset: buf.len() });
                }
                debug_assert!(std::str::from_utf8(&buf).is_ok());
                // SAFETY: every byte went through `Utf8Validator::feed`, which accepts exactly
                // the well-formed UTF-8 sequences, and the last sequence is complete.
                Message::Text(unsafe { String::from_utf8_unchecked(buf) })
            }
        }))
    }

    /// A whole frame at once (the buffer codec's path): begin, push, end.
    pub fn push_frame(&mut self, opcode: OpCode, fin: bool, payload: &[u8]) -> Result<Option<Message>, Error> {
        self.begin_frame(opcode, payload.len() as u64)?;
        self.push(payload, None, 0)?;
        Ok(self.end_frame(fin)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first index at which `bytes[..=i]` can no longer be extended to valid UTF-8.
    fn oracle(bytes: &[u8]) -> Option<usize> {
        (0..bytes.len()).find(|&i| matches!(std::str::from_utf8(&bytes[..=i]), Err(e) if e.error_len().is_some()))
    }

    #[test]
    fn validator_agrees_with_the_oracle_on_kuhn_style_cases() {
        let cases: &[&[u8]] = &[
            b"hello", "κόσμε".as_bytes(), b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xe0\x80\xaf",
            b"\xf0\x80\x80\xaf", b"\x80", b"\xbf", b"\xfe", b"\xff", b"\xc2", b"\xe1\x80", b"\xf4\x8f\xbf\xbf",
            b"\xef\xbf\xbf", b"ab\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xf8\x88\x80\x80\x80", b"\xed\x9f\xbf", b"\xee\x80\x80",
        ];
        for bytes in cases {
            let mut v = Utf8Validator::default();
            assert_eq!(v.feed(bytes).err(), oracle(bytes), "{bytes:x?}");
            // One byte at a time, as Autobahn 6.x's byte-wise fragments deliver it.
            let mut v = Utf8Validator::default();
            let first_bad = bytes.iter().enumerate().find_map(|(i, b)| v.feed(std::slice::from_ref(b)).err().map(|_| i));
            assert_eq!(first_bad, oracle(bytes), "bytewise {bytes:x?}");
        }
    }

    #[test]
    fn incomplete_code_point_at_message_end_is_invalid() {
        let mut a = Assembler::new(100);
        assert_eq!(a.push_frame(OpCode::Text, true, b"ab\xe1\x80"), Err(Error::Protocol(ProtocolError::InvalidUtf8 { offset: 4 })));
    }

    #[test]
    fn fragments_reassemble_and_split_code_points() {
        let mut a = Assembler::new(100);
        assert_eq!(a.push_frame(OpCode::Text, false, b"\xce").unwrap(), None);
        assert!(a.in_progress());
        assert_eq!(a.push_frame(OpCode::Continuation, false, b"").unwrap(), None);
        assert_eq!(a.push_frame(OpCode::Continuation, true, b"\xba!").unwrap(), Some(Message::Text("κ!".into())));
        assert!(!a.in_progress());
    }

    #[test]
    fn continuation_rules() {
        let mut a = Assembler::new(100);
        assert_eq!(a.begin_frame(OpCode::Continuation, 0), Err(ProtocolError::UnexpectedContinuation.into()));
        a.push_frame(OpCode::Binary, false, b"x").unwrap();
        assert_eq!(a.begin_frame(OpCode::Text, 0), Err(ProtocolError::ExpectedContinuation { got: OpCode::Text }.into()));
    }

    #[test]
    fn message_size_is_checked_before_reserving() {
        let mut a = Assembler::new(10);
        a.push_frame(OpCode::Binary, false, b"123456").unwrap();
        assert_eq!(a.begin_frame(OpCode::Continuation, 5), Err(CapacityError::MessageTooLarge { size: 11, max: 10 }.into()));
        let mut a = Assembler::new(10);
        assert_eq!(a.begin_frame(OpCode::Binary, u64::MAX >> 1), Err(CapacityError::MessageTooLarge { size: u64::MAX >> 1, max: 10 }.into()));
        assert!(a.buf.capacity() < 1024);
    }

    #[test]
    fn masked_pieces_unmask_at_their_offset() {
        use super::super::frame::mask::apply_mask;
        let mask = [0xAA, 0x55, 0x0F, 0xF0];
        let mut payload = b"hello, world".to_vec();
        apply_mask(&mut payload, mask, 0);
        let mut a = Assembler::new(100);
        a.begin_frame(OpCode::Text, payload.len() as u64).unwrap();
        a.push(&payload[..5], Some(mask), 0).unwrap();
        a.push(&payload[5..], Some(mask), 5).unwrap();
        assert_eq!(a.end_frame(true).unwrap(), Some(Message::Text("hello, world".into())));
    }
}
