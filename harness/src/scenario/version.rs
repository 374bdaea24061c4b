//! CPython version ranges, as steps write them in `cpython:` (`"<3.13"`, `"3.12"`,
//! `">=3.12,<3.13"`, `"3.8-3.10"`, `"3.13.0"`).

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::cmp::Ordering;

/// A set of CPython versions: every comma-separated clause must hold.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct VersionRange(String);

const FORMS: &str = "write e.g. \"<3.13\", \">=3.12,<3.13\", \"3.12\" (any 3.12.x), \"3.8-3.10\" or \"3.13.0\"";

fn parse(v: &str) -> Option<Vec<u32>> {
    let parts: Option<Vec<u32>> = v.trim().split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty() && p.len() <= 3)
}

/// Compares `version` with `bound` on the bound's own precision: 3.12.1 against 3.12 is Equal.
fn compare(version: &[u32], bound: &[u32]) -> Ordering {
    let n = bound.len();
    let padded: Vec<u32> = (0..n).map(|i| version.get(i).copied().unwrap_or(0)).collect();
    padded.as_slice().cmp(bound)
}

/// One clause: a comparison with a bound, an inclusive range, or one version (a prefix).
enum Clause {
    Below(Vec<u32>, bool),
    Above(Vec<u32>, bool),
    Between(Vec<u32>, Vec<u32>),
    Is(Vec<u32>),
}

impl Clause {
    fn parse(text: &str) -> Option<Clause> {
        let text = text.trim();
        let bound = |rest: &str| parse(rest);
        Some(if let Some(rest) = text.strip_prefix("<=") {
            Clause::Below(bound(rest)?, true)
        } else if let Some(rest) = text.strip_prefix(">=") {
            Clause::Above(bound(rest)?, true)
        } else if let Some(rest) = text.strip_prefix('<') {
            Clause::Below(bound(rest)?, false)
        } else if let Some(rest) = text.strip_prefix('>') {
            Clause::Above(bound(rest)?, false)
        } else if let Some((low, high)) = text.split_once('-') {
            Clause::Between(parse(low)?, parse(high)?)
        } else {
            Clause::Is(parse(text)?)
        })
    }

    fn holds(&self, v: &[u32]) -> bool {
        match self {
            Clause::Below(b, eq) => compare(v, b) == Ordering::Less || (*eq && compare(v, b) == Ordering::Equal),
            Clause::Above(b, eq) => compare(v, b) == Ordering::Greater || (*eq && compare(v, b) == Ordering::Equal),
            Clause::Between(low, high) => compare(v, low) != Ordering::Less && compare(v, high) != Ordering::Greater,
            Clause::Is(b) => compare(v, b) == Ordering::Equal,
        }
    }
}

impl VersionRange {
    pub fn new(text: &str) -> Result<VersionRange, String> {
        let range = VersionRange(text.trim().to_string());
        if range.0.is_empty() || range.0.split(',').any(|c| Clause::parse(c).is_none()) {
            return Err(format!("`{text}` is not a CPython version range: {FORMS}"));
        }
        Ok(range)
    }

    /// Whether CPython `version` (e.g. "3.11.7") is in the range.
    pub fn contains(&self, version: &str) -> bool {
        let Some(v) = parse(version.split(|c: char| !(c.is_ascii_digit() || c == '.')).next().unwrap_or("")) else { return false };
        self.0.split(',').all(|c| Clause::parse(c).is_some_and(|c| c.holds(&v)))
    }
}

impl Serialize for VersionRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for VersionRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        VersionRange::new(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for VersionRange {
    fn schema_name() -> Cow<'static, str> {
        "VersionRange".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "description": "CPython versions: \"<3.13\", \">=3.12,<3.13\", \"3.12\", \"3.8-3.10\", \"3.13.0\""})
    }
}

#[cfg(test)]
mod tests {
    use super::VersionRange;

    fn r(s: &str) -> VersionRange {
        VersionRange::new(s).unwrap()
    }

    #[test]
    fn ranges_hold_the_versions_they_name_and_no_others() {
        assert!(r("<3.13").contains("3.12.1") && r("<3.13").contains("3.8.18") && !r("<3.13").contains("3.13.0"));
        assert!(r("3.12").contains("3.12.1") && !r("3.12").contains("3.13.0") && !r("3.12").contains("3.1.2"));
        assert!(r("3.13.0").contains("3.13.0") && !r("3.13.0").contains("3.13.1"));
        assert!(r("3.8-3.10").contains("3.10.13") && r("3.8-3.10").contains("3.8.0") && !r("3.8-3.10").contains("3.11.7"));
        assert!(r(">=3.12, <3.13").contains("3.12.9") && !r(">=3.12,<3.13").contains("3.11.7"));
        assert!(r("<=3.11").contains("3.11.7") && !r("<=3.11").contains("3.12.0"));
        assert!(r("3.13").contains("3.13.0rc1"));
    }

    #[test]
    fn malformed_ranges_say_how_to_write_one() {
        for bad in ["", "three", "<3.x", "3.8-", ">=3.12,,<3.13", "3.1.2.3"] {
            assert!(VersionRange::new(bad).unwrap_err().contains("write e.g."), "{bad}");
        }
    }
}
