//! The reader's buffer: bytes copied in, then whole chunks handed over without a copy.
//!
//! `feed_data(&[u8])` has to copy, as asyncio's `bytearray.extend` does. A transport that owns
//! what it read hands it over as `Bytes` (`feed_bytes`) instead, and lines are cut straight out
//! of those chunks: only a line that spans two chunks is copied. Whatever needs the buffer in
//! one piece (a search that fails, a separator longer than one byte, EOF's partial, an overrun's
//! discard) joins it first, so every byte is copied at most once and a long line stays linear.
//!
//! Positions are always counted from the start of the whole buffer, so callers see one
//! `bytearray`, exactly as before.

use super::search::Separators;
use bytes::{Buf, Bytes, BytesMut};
use std::collections::VecDeque;

#[derive(Default)]
pub(super) struct Buffer {
    /// The front of the buffer: bytes fed by copy, and chunks joined for a search.
    joined: BytesMut,
    /// Chunks fed without a copy, in order, after `joined`.
    chunks: VecDeque<Bytes>,
    /// The bytes in `chunks`.
    chunks_len: usize,
}

impl Buffer {
    pub(super) fn len(&self) -> usize {
        self.joined.len() + self.chunks_len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a copy of `data`.
    pub(super) fn extend_from_slice(&mut self, data: &[u8]) {
        if self.chunks.is_empty() {
            self.joined.extend_from_slice(data);
        } else {
            self.push(Bytes::copy_from_slice(data));
        }
    }

    /// Appends `chunk` without copying it.
    pub(super) fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        self.chunks_len += chunk.len();
        self.chunks.push_back(chunk);
    }

    /// The whole buffer in one piece (the chunks are copied in).
    pub(super) fn joined(&mut self) -> &mut BytesMut {
        if !self.chunks.is_empty() {
            self.joined.reserve(self.chunks_len);
            for chunk in self.chunks.drain(..) {
                self.joined.extend_from_slice(&chunk);
            }
            self.chunks_len = 0;
        }
        &mut self.joined
    }

    /// Each piece in order; only the first may be empty.
    fn pieces(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(&self.joined[..]).chain(self.chunks.iter().map(|c| &c[..]))
    }

    /// The byte at `i`, if there is one.
    pub(super) fn get(&self, mut i: usize) -> Option<u8> {
        for piece in self.pieces() {
            if let Some(&b) = piece.get(i) {
                return Some(b);
            }
            i -= piece.len();
        }
        None
    }

    /// A copy of every byte.
    pub(super) fn to_bytes(&self) -> Bytes {
        let mut all = BytesMut::with_capacity(self.len());
        self.pieces().for_each(|piece| all.extend_from_slice(piece));
        all.freeze()
    }

    pub(super) fn clear(&mut self) {
        self.joined.clear();
        self.chunks.clear();
        self.chunks_len = 0;
    }

    /// Takes every byte.
    pub(super) fn split(&mut self) -> Bytes {
        if self.joined.is_empty() && self.chunks.len() == 1 {
            self.chunks_len = 0;
            return self.chunks.pop_front().expect("one chunk");
        }
        self.joined().split().freeze()
    }

    /// Takes the first `n` bytes (at most `len()`): without a copy when they lie in one piece.
    #[inline]
    pub(super) fn split_to(&mut self, n: usize) -> Bytes {
        if n <= self.joined.len() {
            return self.joined.split_to(n).freeze();
        }
        self.split_to_chunks(n)
    }

    fn split_to_chunks(&mut self, n: usize) -> Bytes {
        assert!(n <= self.len(), "split_to({n}) past the buffer's {} bytes", self.len());
        if self.joined.is_empty() && n <= self.chunks[0].len() {
            return self.take_from_first_chunk(n);
        }
        // It spans pieces: join just enough of the chunks.
        while self.joined.len() < n {
            let take = (n - self.joined.len()).min(self.chunks[0].len());
            self.joined.extend_from_slice(&self.chunks[0][..take]);
            self.chunks[0].advance(take);
            self.chunks_len -= take;
            if self.chunks[0].is_empty() {
                self.chunks.pop_front();
            }
        }
        self.joined.split_to(n).freeze()
    }

    fn take_from_first_chunk(&mut self, n: usize) -> Bytes {
        self.chunks_len -= n;
        let first = &mut self.chunks[0];
        if n == first.len() {
            return self.chunks.pop_front().expect("a first chunk");
        }
        first.split_to(n)
    }

    /// `Separators::earliest_end` over the whole buffer: the match that ends first, searching
    /// from `offset`. A one-byte separator is looked for piece by piece; anything else, and any
    /// search that fails, joins the buffer first (so later searches start in one piece).
    #[inline]
    pub(super) fn earliest_end(&mut self, seps: &Separators<'_>, offset: usize) -> Option<(usize, usize)> {
        if self.chunks.is_empty() {
            return seps.earliest_end(&self.joined, offset);
        }
        self.earliest_end_in_chunks(seps, offset)
    }

    fn earliest_end_in_chunks(&mut self, seps: &Separators<'_>, offset: usize) -> Option<(usize, usize)> {
        let Some(byte) = seps.single_byte() else {
            return seps.earliest_end(self.joined(), offset);
        };
        let mut base = 0;
        for piece in self.pieces() {
            let from = offset.saturating_sub(base);
            if let Some(i) = piece.get(from..).and_then(|hay| memchr::memchr(byte, hay)) {
                let at = base + from + i;
                return Some((at, at + 1));
            }
            base += piece.len();
        }
        self.joined();
        None
    }

    /// `Separators::following_ends` within the piece that holds `first_end`, so the batch can
    /// be taken without a copy; a batch never runs from one piece into the next.
    pub(super) fn following_ends(&self, seps: &Separators<'_>, first_end: usize, limit: usize, cuts: &mut Vec<usize>) -> usize {
        if first_end <= self.joined.len() {
            return seps.following_ends(&self.joined, first_end, limit, cuts);
        }
        match self.chunks.front() {
            Some(first) if self.joined.is_empty() && first_end <= first.len() => seps.following_ends(first, first_end, limit, cuts),
            _ => first_end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A buffer built from `parts`: the first copied in, the rest handed over as chunks.
    fn buffer(parts: &[&[u8]]) -> Buffer {
        let mut b = Buffer::default();
        b.extend_from_slice(parts[0]);
        for p in &parts[1..] {
            b.push(Bytes::copy_from_slice(p));
        }
        b
    }

    #[test]
    fn a_line_inside_one_chunk_is_not_copied() {
        let chunk = Bytes::from_static(b"one\ntwo\n");
        let mut b = Buffer::default();
        b.push(chunk.clone());
        let line = b.split_to(4);
        assert_eq!(&line[..], b"one\n");
        assert_eq!(line.as_ptr(), chunk.as_ptr(), "the line should share the chunk's memory");
        assert_eq!(b.len(), 4);
    }

    #[test]
    fn a_line_across_chunks_is_joined() {
        let mut b = buffer(&[b"ab", b"c", b"d\nef"]);
        assert_eq!(b.earliest_end(&Separators::One(b"\n"), 0), Some((4, 5)));
        assert_eq!(&b.split_to(5)[..], b"abcd\n");
        assert_eq!(b.to_bytes(), Bytes::from_static(b"ef"));
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn a_failed_search_joins_the_buffer() {
        let mut b = buffer(&[b"", b"abc", b"def"]);
        assert_eq!(b.earliest_end(&Separators::One(b"\n"), 0), None);
        assert!(b.chunks.is_empty());
        assert_eq!(&b.joined[..], b"abcdef");
    }

    #[test]
    fn a_batch_stays_inside_one_piece() {
        let b = buffer(&[b"", b"a\nb\nc", b"\nd\n"]);
        let mut cuts = Vec::new();
        assert_eq!(b.following_ends(&Separators::One(b"\n"), 2, 100, &mut cuts), 4);
        assert_eq!(cuts, vec![2]);
    }

    fn parts() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(prop::sample::select(b"ab\n\r".to_vec()), 0..12), 1..6)
    }

    proptest! {
        /// Whatever the pieces, the buffer reads as their concatenation.
        #[test]
        fn pieces_read_as_one_bytearray(parts in parts(), offset in 0usize..40, n in 0usize..40, sep in prop::sample::select(vec![&b"\n"[..], b"\r\n", b"b"])) {
            let parts: Vec<&[u8]> = parts.iter().map(|p| &p[..]).collect();
            let whole = parts.concat();
            let seps = Separators::One(sep);
            let mut b = buffer(&parts);
            prop_assert_eq!(b.len(), whole.len());
            prop_assert_eq!(b.get(offset), whole.get(offset).copied());
            prop_assert_eq!(b.earliest_end(&seps, offset), seps.earliest_end(&whole, offset));
            prop_assert_eq!(b.to_bytes(), Bytes::copy_from_slice(&whole));
            let mut b = buffer(&parts);
            if let Some((_, end)) = b.earliest_end(&seps, 0) {
                let (mut got, mut want) = (Vec::new(), Vec::new());
                let batch_end = b.following_ends(&seps, end, 3, &mut got);
                let whole_end = seps.following_ends(&whole, end, 3, &mut want);
                // A batch may stop early at a piece's end, never elsewhere.
                prop_assert!(batch_end <= whole_end);
                prop_assert_eq!(&want[..got.len()], &got[..]);
            }
            let n = n.min(whole.len());
            let mut b = buffer(&parts);
            prop_assert_eq!(&b.split_to(n)[..], &whole[..n]);
            prop_assert_eq!(b.len(), whole.len() - n);
            prop_assert_eq!(&b.split()[..], &whole[n..]);
            prop_assert!(b.is_empty());
        }
    }
}
