//! Frames (RFC 6455 §5): wire integers ([`coding`]), the header ([`header`]), masking
//! ([`mask`]), and a codec over an in-memory buffer ([`FrameDecoder`], [`encode`]).
//!
//! The connection reads frames straight from a `StreamReader` (header with `readexactly`,
//! payload piece by piece); the buffer codec serves benchmarks, property tests and anyone who
//! holds the bytes already. Both use the same header parser and the same unmasking.

pub mod coding;
pub mod header;
pub mod mask;

use super::error::Error;
use bytes::{Buf, BytesMut};
use header::{check_frame_size, FrameHeader};
use mask::apply_mask;

/// A decoded frame; the payload is already unmasked (the header keeps the key it had).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub header: FrameHeader,
    pub payload: BytesMut,
}

/// Decodes frames from a growing buffer, zero-copy: each payload is split off the buffer and
/// unmasked in place.
#[derive(Debug)]
pub struct FrameDecoder {
    max_frame_size: usize,
    pending: Option<FrameHeader>,
}

impl FrameDecoder {
    pub fn new(max_frame_size: usize) -> Self {
        FrameDecoder { max_frame_size, pending: None }
    }

    /// The next complete frame in `buf`, consuming it; `Ok(None)` when more bytes are needed.
    /// Never reserves more than `max_frame_size` bytes for a payload.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Error> {
        let header = match self.pending {
            Some(h) => h,
            None => {
                let Some((h, n)) = header::parse(buf)? else { return Ok(None) };
                // RFC 6455 §10.4: limit frame sizes; checked on the declared length, before
                // any reservation for the payload.
                check_frame_size(h.payload_len, self.max_frame_size)?;
                buf.advance(n);
                self.pending = Some(h);
                h
            }
        };
        let len = header.payload_len as usize;
        if buf.len() < len {
            buf.reserve(len - buf.len());
            return Ok(None);
        }
        self.pending = None;
        let mut payload = buf.split_to(len);
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        Ok(Some(Frame { header, payload }))
    }
}

impl FrameDecoder {
    /// Decodes one frame from borrowed bytes, unmasking the payload while copying it out (one
    /// pass). Returns the frame and how many input bytes it took; `Ok(None)` if `input` does
    /// not hold a whole frame (nothing is reserved for an incomplete one).
    pub fn decode_slice(&mut self, input: &[u8]) -> Result<Option<(Frame, usize)>, Error> {
        let Some((header, n)) = header::parse(input)? else { return Ok(None) };
        // RFC 6455 §10.4: the size limit, on the declared length, before any copying.
        check_frame_size(header.payload_len, self.max_frame_size)?;
        let len = header.payload_len as usize;
        let Some(src) = input.get(n..n + len) else { return Ok(None) };
        let payload = match header.mask {
            Some(key) => {
                let mut out = BytesMut::with_capacity(len);
                mask::extend_unmasked_bytes(&mut out, src, key, 0);
                out
            }
            None => BytesMut::from(src),
        };
        Ok(Some((Frame { header, payload }, n + len)))
    }
}

/// Appends a whole frame to `out`: the header, then the payload, masked in place when the
/// header carries a key.
pub fn encode(header: &FrameHeader, payload: &[u8], out: &mut Vec<u8>) {
    debug_assert_eq!(header.payload_len, payload.len() as u64);
    out.reserve(header.encoded_len() + payload.len());
    header.format(out);
    match header.mask {
        // Masking is the same XOR as unmasking: copy and mask in one pass.
        Some(key) => mask::extend_unmasked(out, payload, key, 0),
        None => out.extend_from_slice(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::coding::OpCode;
    use super::*;

    #[test]
    fn decoder_waits_for_whole_frames_and_unmasks() {
        let mut wire = Vec::new();
        encode(&FrameHeader::new(OpCode::Text, true, 5, Some([1, 2, 3, 4])), b"Hello", &mut wire);
        encode(&FrameHeader::new(OpCode::Binary, true, 300, None), &[7u8; 300], &mut wire);
        let mut dec = FrameDecoder::new(1000);
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for b in &wire {
            buf.extend_from_slice(std::slice::from_ref(b));
            while let Some(f) = dec.decode(&mut buf).unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(&frames[0].payload[..], b"Hello");
        assert_eq!(&frames[1].payload[..], &[7u8; 300][..]);
    }

    #[test]
    fn decoder_refuses_oversized_frames_before_reserving() {
        let mut buf = BytesMut::from(&[0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0][..]);
        let mut dec = FrameDecoder::new(1 << 20);
        assert!(matches!(dec.decode(&mut buf), Err(Error::Capacity(_))));
        assert!(buf.capacity() < 1 << 20);
    }
}
