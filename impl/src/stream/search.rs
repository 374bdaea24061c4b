//! Separator search for `readuntil`: memchr for one byte, memmem otherwise.

/// The separators of one `readuntil` call, sorted by length (a stable sort, as CPython does).
pub(crate) struct Separators {
    seps: Vec<Vec<u8>>,
    finders: Vec<memchr::memmem::Finder<'static>>,
}

impl Separators {
    /// Sorts by length; validation (empty list, empty member) is the caller's job.
    pub(crate) fn new(mut seps: Vec<Vec<u8>>) -> Self {
        seps.sort_by_key(|s| s.len());
        let finders = seps.iter().map(|s| memchr::memmem::Finder::new(s).into_owned()).collect();
        Separators { seps, finders }
    }

    pub(crate) fn min_len(&self) -> usize {
        self.seps.first().map_or(0, Vec::len)
    }

    pub(crate) fn max_len(&self) -> usize {
        self.seps.last().map_or(0, Vec::len)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.seps.is_empty()
    }

    pub(crate) fn any_empty(&self) -> bool {
        self.seps.iter().any(Vec::is_empty)
    }

    /// The match whose end comes first, searching from `offset`; a tie goes to the shorter
    /// separator because the list is sorted by length and only a strictly earlier end replaces.
    /// Returns (start, end).
    pub(crate) fn earliest_end(&self, buf: &[u8], offset: usize) -> Option<(usize, usize)> {
        let hay = buf.get(offset..)?;
        let mut best: Option<(usize, usize)> = None;
        for (sep, finder) in self.seps.iter().zip(&self.finders) {
            let found = if sep.len() == 1 { memchr::memchr(sep[0], hay) } else { finder.find(hay) };
            if let Some(i) = found {
                let start = offset + i;
                let end = start + sep.len();
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
        let s = Separators::new(vec![b"DEF".to_vec(), b"BCDE".to_vec()]);
        assert_eq!(s.earliest_end(b"ABCDEFG", 0), Some((1, 5)));
    }

    #[test]
    fn tie_goes_to_shorter() {
        let s = Separators::new(vec![b"xab".to_vec(), b"b".to_vec()]);
        assert_eq!(s.earliest_end(b"..xab", 0), Some((4, 5)));
    }
}
