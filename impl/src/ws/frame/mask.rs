//! Masking (RFC 6455 §5.3): `transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4)`.
//!
//! [`apply_mask`] works in place, eight bytes at a time, and takes the position of `buf` within
//! the payload (`offset`), so a payload that arrives in pieces can be unmasked piece by piece.
//! [`apply_mask_bytewise`] is the byte loop it is tested against.

/// XORs `buf` with `mask`, as if `buf` started at byte `offset` of the payload.
#[inline]
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    let r = offset & 3;
    // The key as it lines up with buf[0..8]: rotated by the offset, then repeated twice. Built
    // from bytes, so it is endian-independent.
    let m = [mask[r], mask[(r + 1) & 3], mask[(r + 2) & 3], mask[(r + 3) & 3]];
    let word = u64::from_ne_bytes([m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3]]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let arr: &mut [u8; 8] = chunk.try_into().expect("chunks_exact yields 8 bytes");
        *arr = (u64::from_ne_bytes(*arr) ^ word).to_ne_bytes();
    }
    // The tail is shorter than 8 bytes and starts at a multiple of 8, so the key still lines
    // up with m[0].
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= m[i & 3];
    }
}

/// Appends `src` to `dst`, unmasked on the way (one pass instead of copy + [`apply_mask`]);
/// `offset` is `src`'s position within the payload.
#[inline]
pub fn extend_unmasked(dst: &mut Vec<u8>, src: &[u8], mask: [u8; 4], offset: usize) {
    let start = dst.len();
    dst.reserve(src.len());
    xor_copy(&mut dst.spare_capacity_mut()[..src.len()], src, mask, offset);
    // SAFETY: xor_copy initialised all src.len() bytes of the spare capacity taken.
    unsafe { dst.set_len(start + src.len()) };
}

/// [`extend_unmasked`] for a `BytesMut`.
#[inline]
pub fn extend_unmasked_bytes(dst: &mut bytes::BytesMut, src: &[u8], mask: [u8; 4], offset: usize) {
    let start = dst.len();
    dst.reserve(src.len());
    xor_copy(&mut dst.spare_capacity_mut()[..src.len()], src, mask, offset);
    // SAFETY: xor_copy initialised all src.len() bytes of the spare capacity taken.
    unsafe { dst.set_len(start + src.len()) };
}

/// Writes `src ^ mask` into `dst` (same length), eight bytes at a time.
#[inline]
fn xor_copy(dst: &mut [std::mem::MaybeUninit<u8>], src: &[u8], mask: [u8; 4], offset: usize) {
    debug_assert_eq!(dst.len(), src.len());
    let r = offset & 3;
    let m = [mask[r], mask[(r + 1) & 3], mask[(r + 2) & 3], mask[(r + 3) & 3]];
    let word = u64::from_ne_bytes([m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3]]);
    let mut s = src.chunks_exact(8);
    let mut d = dst.chunks_exact_mut(8);
    for (dc, sc) in (&mut d).zip(&mut s) {
        let v = (u64::from_ne_bytes(sc.try_into().expect("8 bytes")) ^ word).to_ne_bytes();
        for (o, b) in dc.iter_mut().zip(v) {
            o.write(b);
        }
    }
    for (i, (o, b)) in d.into_remainder().iter_mut().zip(s.remainder()).enumerate() {
        o.write(b ^ m[i & 3]);
    }
}

/// The byte-at-a-time oracle for [`apply_mask`].
pub fn apply_mask_bytewise(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= mask[(offset + i) & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_version_matches_the_byte_loop() {
        let mask = [0x6d, 0xb6, 0xb2, 0x80];
        let data: Vec<u8> = (0..64u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in 0..=40 {
            // `start` moves the slice's alignment; `offset` its position within the payload.
            for start in 0..8 {
                for offset in 0..8 {
                    let mut a = data.clone();
                    let mut b = data.clone();
                    apply_mask(&mut a[start..start + len], mask, offset);
                    apply_mask_bytewise(&mut b[start..start + len], mask, offset);
                    assert_eq!(a, b, "len {len} start {start} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn extend_unmasked_matches_the_byte_loop() {
        let mask = [0x6d, 0xb6, 0xb2, 0x80];
        let data: Vec<u8> = (0..64u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in 0..=40 {
            for start in 0..8 {
                for offset in 0..8 {
                    let mut got = vec![1, 2, 3];
                    extend_unmasked(&mut got, &data[start..start + len], mask, offset);
                    let mut want = data[start..start + len].to_vec();
                    apply_mask_bytewise(&mut want, mask, offset);
                    assert_eq!(&got[..3], &[1, 2, 3]);
                    assert_eq!(&got[3..], &want[..], "len {len} start {start} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn unmasking_in_pieces_equals_unmasking_at_once() {
        let mask = [1, 2, 3, 4];
        let data: Vec<u8> = (0..100u8).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, mask, 0);
        for cut in 0..=data.len() {
            let mut pieces = data.clone();
            let (a, b) = pieces.split_at_mut(cut);
            apply_mask(a, mask, 0);
            apply_mask(b, mask, cut);
            assert_eq!(pieces, whole, "cut {cut}");
        }
    }

    #[test]
    fn rfc_example_hello() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        let mut buf = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut buf, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&buf, b"Hello");
    }
}

/// Where masking keys (and the client's `Sec-WebSocket-Key`) come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaskMode {
    /// RFC 6455 §5.3: "The masking key MUST be derived from a strong source of entropy":
    /// the thread-local CSPRNG of the `rand` crate.
    #[default]
    Random,
    /// A xorshift64* sequence from this seed: reproducible wire bytes for tests and
    /// simulations. Predictable, so never for real traffic.
    Seeded(u64),
    /// The same key for every frame (all zeros makes the masked bytes readable). Tests only.
    Fixed([u8; 4]),
}

/// A running source of masking keys for one connection.
#[derive(Debug, Clone)]
pub struct MaskSource {
    mode: MaskMode,
    state: u64,
}

impl MaskSource {
    pub fn new(mode: MaskMode) -> Self {
        let state = match mode {
            MaskMode::Seeded(seed) => seed | 1,
            _ => 0,
        };
        MaskSource { mode, state }
    }

    /// The next masking key.
    pub fn next_mask(&mut self) -> [u8; 4] {
        match self.mode {
            MaskMode::Random => rand::random(),
            MaskMode::Fixed(m) => m,
            MaskMode::Seeded(_) => (self.next_u64() as u32).to_ne_bytes(),
        }
    }

    /// Fills `out` (used for the 16-byte handshake nonce, §4.1).
    pub fn fill(&mut self, out: &mut [u8]) {
        match self.mode {
            MaskMode::Random => rand::fill(out),
            _ => {
                for chunk in out.chunks_mut(8) {
                    let v = self.next_u64().to_ne_bytes();
                    chunk.copy_from_slice(&v[..chunk.len()]);
                }
            }
        }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
