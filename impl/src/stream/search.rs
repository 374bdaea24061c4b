//! Separator search for `readuntil`: memchr for one byte, memmem otherwise, per call; one SIMD
//! pass (a mask per 64-byte block) for batches. Borrowed, so a single call allocates nothing.

/// The separators of one `readuntil` call, sorted by length (a stable sort, as CPython does).
pub(crate) enum Separators<'a> {
    One(&'a [u8]),
    Many(Vec<&'a [u8]>),
}

fn find(hay: &[u8], sep: &[u8]) -> Option<usize> {
    match sep {
        [b] => memchr::memchr(*b, hay),
        _ => memchr::memmem::find(hay, sep),
    }
}

/// Calls `found(i)` for every index of `byte` in `hay`, in order, until it returns false.
/// One pass, 64 bytes at a time, so many close matches (short lines) cost a bit each rather
/// than a fresh search each, which is what a per-match memchr pays.
fn for_each_byte(hay: &[u8], byte: u8, mut found: impl FnMut(usize) -> bool) {
    for_each_mask(hay, byte, |base, mut mask| {
        while mask != 0 {
            if !found(base + mask.trailing_zeros() as usize) {
                return false;
            }
            mask &= mask - 1;
        }
        true
    })
}

/// Where a run of lines ends in `buf[from..]`, a line being everything up to and including
/// `byte`: each line start goes onto `cuts`, and the run stops before a line whose body is
/// longer than `limit` (where `readuntil` would raise). Returns the end of the last line taken.
/// `for_each_byte` with the bookkeeping in registers: captured by a closure, the line start
/// and the vector's length would go through memory for every line.
fn cut_lines(buf: &[u8], from: usize, byte: u8, limit: usize, cuts: &mut Vec<usize>) -> usize {
    let mut line_start = from;
    let next_start = &mut line_start;
    // `move`: `from` and `limit` travel as values, not as pointers loaded for every line.
    for_each_mask(&buf[from..], byte, move |base, mut mask| {
        // A block holds at most 64 line ends.
        if cuts.capacity() - cuts.len() < 64 {
            cuts.reserve(64);
        }
        let spare = cuts.spare_capacity_mut();
        let (mut start_here, mut taken, mut go_on) = (*next_start, 0, true);
        while mask != 0 {
            let at = from + base + mask.trailing_zeros() as usize;
            if at - start_here > limit {
                go_on = false;
                break;
            }
            spare[taken].write(start_here);
            taken += 1;
            start_here = at + 1;
            mask &= mask - 1;
        }
        // SAFETY: the first `taken` spare slots were written just above.
        unsafe { cuts.set_len(cuts.len() + taken) };
        *next_start = start_here;
        go_on
    });
    line_start
}

/// Calls `block(base, mask)` for each 64-byte block of `hay` (the last may be shorter) that
/// holds `byte`, bit i of `mask` set when `hay[base + i] == byte`, until it returns false.
fn for_each_mask(hay: &[u8], byte: u8, block: impl FnMut(usize, u64) -> bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has just been checked for AVX2.
            return unsafe { simd::for_each_mask_avx2(hay, byte, block) };
        }
        simd::for_each_mask_sse2(hay, byte, block)
    }
    #[cfg(not(target_arch = "x86_64"))]
    mask_blocks(hay, byte, block, |block, byte| block.iter().enumerate().fold(0, |mask, (i, &b)| mask | ((b == byte) as u64) << i))
}

/// The block loop, shared by every instruction set; `eq_mask` sets bit i when `block[i] == byte`.
#[inline(always)]
fn mask_blocks(hay: &[u8], byte: u8, mut block: impl FnMut(usize, u64) -> bool, eq_mask: impl Fn(&[u8; 64], u8) -> u64) {
    let mut blocks = hay.chunks_exact(64);
    let mut base = 0;
    for full in &mut blocks {
        let mask = eq_mask(full.try_into().expect("64-byte block"), byte);
        if mask != 0 && !block(base, mask) {
            return;
        }
        base += 64;
    }
    // The tail, padded to a block; the padding's bits are cleared (it could equal `byte`).
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut padded = [0u8; 64];
        padded[..tail.len()].copy_from_slice(tail);
        let mask = eq_mask(&padded, byte) & (u64::MAX >> (64 - tail.len()));
        if mask != 0 {
            block(base, mask);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    /// SSE2 is part of every x86_64 CPU's baseline, so this needs no check.
    pub(super) fn for_each_mask_sse2(hay: &[u8], byte: u8, block: impl FnMut(usize, u64) -> bool) {
        super::mask_blocks(hay, byte, block, |block, byte| {
            // SAFETY: SSE2 is always there on x86_64; each 16-byte load stays inside the block.
            unsafe {
                let needle = _mm_set1_epi8(byte as i8);
                let quarter = |i: usize| {
                    let bytes = _mm_loadu_si128(block.as_ptr().add(16 * i).cast());
                    _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, needle)) as u16 as u64
                };
                quarter(0) | quarter(1) << 16 | quarter(2) << 32 | quarter(3) << 48
            }
        })
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn for_each_mask_avx2(hay: &[u8], byte: u8, block: impl FnMut(usize, u64) -> bool) {
        super::mask_blocks(hay, byte, block, |block, byte| {
            // SAFETY: the caller checked AVX2; each 32-byte load stays inside the block.
            unsafe {
                let needle = _mm256_set1_epi8(byte as i8);
                let half = |i: usize| {
                    let bytes = _mm256_loadu_si256(block.as_ptr().add(32 * i).cast());
                    _mm256_movemask_epi8(_mm256_cmpeq_epi8(bytes, needle)) as u32 as u64
                };
                half(0) | half(1) << 32
            }
        })
    }
}

impl<'a> Separators<'a> {
    /// Sorts by length; validation (empty list, empty member) is the caller's job.
    pub(crate) fn new(seps: &[&'a [u8]]) -> Self {
        match seps {
            [one] => Separators::One(one),
            _ => {
                let mut v = seps.to_vec();
                v.sort_by_key(|s| s.len());
                Separators::Many(v)
            }
        }
    }

    fn all(&self) -> &[&'a [u8]] {
        match self {
            Separators::One(s) => std::slice::from_ref(s),
            Separators::Many(v) => v,
        }
    }

    pub(crate) fn min_len(&self) -> usize {
        self.all().first().map_or(0, |s| s.len())
    }

    pub(crate) fn max_len(&self) -> usize {
        self.all().last().map_or(0, |s| s.len())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.all().is_empty()
    }

    /// The separator's byte, when this is one separator of one byte (a search that needs no
    /// window across pieces).
    pub(crate) fn single_byte(&self) -> Option<u8> {
        match self {
            Separators::One([byte]) => Some(*byte),
            _ => None,
        }
    }

    pub(crate) fn any_empty(&self) -> bool {
        self.all().iter().any(|s| s.is_empty())
    }

    /// The matches that follow one ending at `from`, in order, for as long as each starts
    /// within `limit` of the previous end (where `readuntil` would stop and raise). Pushes the
    /// end of every line but the last onto `cuts` and returns the last end (`from` if none
    /// follow, so a lone match allocates nothing).
    pub(crate) fn following_ends(&self, buf: &[u8], from: usize, limit: usize, cuts: &mut Vec<usize>) -> usize {
        // Batches take one separator only (`readuntil_batch`); a tuple gets a batch of one match.
        let Separators::One(sep) = self else { return from };
        let Some(&last) = sep.last() else { return from };
        if cuts.capacity() == 0 && from < buf.len() {
            // Room for lines of 64 bytes and up, so a batch of short lines seldom regrows.
            cuts.reserve(1 + (buf.len() - from) / 64);
        }
        if let [byte] = sep {
            // A one-byte separator is its last byte: nothing to confirm.
            return cut_lines(buf, from, *byte, limit, cuts);
        }
        // Scan for the separator's last byte and confirm the rest: for one separator the first
        // confirmed end is the first match, as `find` would give.
        let mut line_start = from;
        for_each_byte(&buf[from..], last, |i| {
            let end = from + i + 1;
            let Some(start) = end.checked_sub(sep.len()).filter(|&start| start >= line_start) else {
                return true;
            };
            if &buf[start..end] != *sep {
                return true;
            }
            if start - line_start > limit {
                return false;
            }
            cuts.push(line_start);
            line_start = end;
            true
        });
        line_start
    }

    /// The match whose end comes first, searching from `offset`; a tie goes to the shorter
    /// separator because the list is sorted by length and only a strictly earlier end replaces.
    /// Returns (start, end).
    pub(crate) fn earliest_end(&self, buf: &[u8], offset: usize) -> Option<(usize, usize)> {
        let hay = buf.get(offset..)?;
        if let Separators::One(sep) = self {
            return find(hay, sep).map(|i| (offset + i, offset + i + sep.len()));
        }
        let mut best: Option<(usize, usize)> = None;
        for sep in self.all() {
            if let Some(i) = find(hay, sep) {
                let (start, end) = (offset + i, offset + i + sep.len());
                if best.is_none_or(|(_, best_end)| end < best_end) {
                    best = Some((start, end));
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_end_wins_u10() {
        let s = Separators::new(&[b"DEF", b"BCDE"]);
        assert_eq!(s.earliest_end(b"ABCDEFG", 0), Some((1, 5)));
    }

    #[test]
    fn for_each_byte_finds_every_match_in_order_and_stops_when_asked() {
        // Lengths around the 64-byte blocks, matches at block edges and in the remainder.
        for len in [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 200] {
            let hay: Vec<u8> = (0..len).map(|i| if i % 7 == 0 || i % 64 == 63 { b'\n' } else { b'x' }).collect();
            let expected: Vec<usize> = memchr::memchr_iter(b'\n', &hay).collect();
            let mut seen = Vec::new();
            for_each_byte(&hay, b'\n', |i| {
                seen.push(i);
                true
            });
            assert_eq!(seen, expected, "len {len}");
            let mut first_two = Vec::new();
            for_each_byte(&hay, b'\n', |i| {
                first_two.push(i);
                first_two.len() < 2
            });
            assert_eq!(first_two, expected.iter().copied().take(2).collect::<Vec<_>>(), "len {len}");
            #[cfg(target_arch = "x86_64")]
            {
                // The SSE2 path too, which the dispatcher skips on an AVX2 machine.
                let mut sse2 = Vec::new();
                simd::for_each_mask_sse2(&hay, b'\n', |base, mut mask| {
                    while mask != 0 {
                        sse2.push(base + mask.trailing_zeros() as usize);
                        mask &= mask - 1;
                    }
                    true
                });
                assert_eq!(sse2, expected, "sse2, len {len}");
            }
        }
    }

    /// The plain version of `cut_lines`: line by line with memchr.
    fn cut_lines_naive(buf: &[u8], from: usize, byte: u8, limit: usize) -> (Vec<usize>, usize) {
        let (mut cuts, mut start) = (Vec::new(), from);
        while let Some(i) = memchr::memchr(byte, &buf[start..]) {
            if i > limit {
                break;
            }
            cuts.push(start);
            start += i + 1;
        }
        (cuts, start)
    }

    #[test]
    fn cut_lines_stops_exactly_at_the_limit_for_two_lines_in_one_block() {
        // Two line ends in one block, each line a byte under, at or over the limit, at several
        // places in the block.
        for lead in [0, 17, 40, 63] {
            for first in 0..70 {
                for second in 0..70 {
                    let mut buf = vec![b'x'; lead];
                    buf.push(b'\n');
                    buf.extend(std::iter::repeat_n(b'x', first));
                    buf.push(b'\n');
                    buf.extend(std::iter::repeat_n(b'x', second));
                    buf.push(b'\n');
                    buf.extend(std::iter::repeat_n(b'x', 30));
                    let from = lead + 1;
                    for limit in [first, second].into_iter().flat_map(|n| [n.saturating_sub(1), n, n + 1]) {
                        let mut cuts = Vec::new();
                        let end = cut_lines(&buf, from, b'\n', limit, &mut cuts);
                        assert_eq!((cuts, end), cut_lines_naive(&buf, from, b'\n', limit), "lead {lead}, lines {first} and {second}, limit {limit}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_zero_byte_separator_does_not_match_the_tail_padding() {
        for len in [1, 5, 63, 64, 65, 100] {
            let hay = vec![b'x'; len];
            let mut seen = Vec::new();
            for_each_byte(&hay, 0, |i| {
                seen.push(i);
                true
            });
            assert!(seen.is_empty(), "len {len}: {seen:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn cut_lines_agrees_with_a_memchr_loop(
            // Dense separators (many per block) and sparse ones (zero to two per block, as with
            // real lines), over several blocks.
            buf in proptest::prop_oneof![
                proptest::collection::vec(proptest::sample::select(b"\n\0ab".to_vec()), 0..300),
                proptest::collection::vec(proptest::sample::select(b"\n\0abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".to_vec()), 0..700),
            ],
            from in 0usize..700,
            byte in proptest::sample::select(b"\n\0".to_vec()),
            limit in 0usize..200,
        ) {
            let from = from.min(buf.len());
            let mut cuts = Vec::new();
            let end = cut_lines(&buf, from, byte, limit, &mut cuts);
            proptest::prop_assert_eq!((cuts, end), cut_lines_naive(&buf, from, byte, limit));
        }
    }

    #[test]
    fn tie_goes_to_shorter() {
        let s = Separators::new(&[b"xab", b"b"]);
        assert_eq!(s.earliest_end(b"..xab", 0), Some((4, 5)));
    }
}
