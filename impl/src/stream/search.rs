//! Separator search for `readuntil`: memchr for one byte, memmem otherwise. Borrowed, so a
//! call allocates nothing.

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

    pub(crate) fn any_empty(&self) -> bool {
        self.all().iter().any(|s| s.is_empty())
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
    fn tie_goes_to_shorter() {
        let s = Separators::new(&[b"xab", b"b"]);
        assert_eq!(s.earliest_end(b"..xab", 0), Some((4, 5)));
    }
}
