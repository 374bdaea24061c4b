//! Expectations: an implementation's known, explained divergences
//! (`reports/<implementation>/expected.yaml`), which `streamcheck run --expect FILE` holds a run
//! against. A divergence listed with its reason keeps CI green and is explained in the report;
//! anything new fails the run; an entry that no longer matches (the scenario now passes, has
//! another verdict, or no longer exists) is stale and fails it too, so the file cannot rot.

use super::Report;
use crate::verdict::VerdictKind;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

/// One known divergence.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The scenario's path under scenarios/, as reports name it.
    pub scenario: String,
    /// The verdict it gets: FAIL, ERROR, NON-STRICT, UNSUPPORTED or INFORMATIONAL; or a list of
    /// them, for an implementation whose own behaviour races (the reason says how).
    #[serde(deserialize_with = "one_or_more")]
    pub verdict: Vec<String>,
    /// Why: the behaviour the implementation departs from, and what it does instead.
    pub reason: String,
    /// Where this is documented or discussed (an issue, the source, the docs).
    #[serde(default)]
    pub link: Option<String>,
}

/// Reads an expectations file; the error names the file and what to fix.
pub fn load(path: &Path) -> Result<Vec<Expectation>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the expectations file {}: {e}", path.display()))?;
    let list: Vec<Expectation> = crate::scenario::load::from_yaml(&text).map_err(|e| {
        format!("{} is not an expectations file ({e}): it is a list of {{scenario, verdict, reason, link}}", path.display())
    })?;
    for e in &list {
        if let Some(bad) = e.verdict.iter().find(|v| label(v).is_none()) {
            return Err(format!("{}: `{}` has verdict {bad:?}: use FAIL, ERROR, NON-STRICT, UNSUPPORTED or INFORMATIONAL", path.display(), e.scenario));
        }
    }
    Ok(list)
}

/// A verdict, or a list of verdicts.
fn one_or_more<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        One(String),
        More(Vec<String>),
    }
    Ok(match Form::deserialize(d)? {
        Form::One(v) => vec![v],
        Form::More(v) => v,
    })
}

/// What a report shows of an expectation: why, and where it is discussed.
#[derive(Debug, serde::Serialize)]
pub struct Explanation<'a> {
    pub reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<&'a str>,
}

impl Expectation {
    pub fn explanation(&self) -> Explanation<'_> {
        Explanation { reason: &self.reason, link: self.link.as_deref() }
    }

    /// Whether this entry covers a result with verdict `kind`.
    pub fn covers(&self, kind: VerdictKind) -> bool {
        self.verdict.iter().any(|v| v == kind.label())
    }
}

fn label(verdict: &str) -> Option<VerdictKind> {
    [VerdictKind::Fail, VerdictKind::Error, VerdictKind::NonStrict, VerdictKind::Unsupported, VerdictKind::Informational]
        .into_iter()
        .find(|k| k.label() == verdict)
}

/// How a run compares with its expectations.
#[derive(Debug, Default, PartialEq)]
pub struct Gate {
    /// FAIL or ERROR results no expectation covers: `id: verdict`.
    pub unexpected: Vec<String>,
    /// Entries that no longer hold: why each is stale.
    pub stale: Vec<String>,
}

impl Gate {
    pub fn passes(&self) -> bool {
        self.unexpected.is_empty() && self.stale.is_empty()
    }
}

/// Holds `report` against `expected`. `corpus` names every scenario that exists, so that an
/// entry for one the run left out (`--filter`) is not called stale.
pub fn gate(report: &Report, expected: &[Expectation], corpus: &BTreeSet<String>) -> Gate {
    let mut g = Gate::default();
    for r in &report.results {
        let listed = expected.iter().find(|e| e.scenario == r.loaded.id);
        if r.verdict.kind.is_failure() && listed.is_none_or(|e| !e.covers(r.verdict.kind)) {
            g.unexpected.push(format!("{}: {}", r.loaded.id, r.verdict.kind.label()));
        }
    }
    for e in expected {
        match report.results.iter().find(|r| r.loaded.id == e.scenario) {
            None if !corpus.contains(&e.scenario) => g.stale.push(format!("{}: no such scenario (renamed or removed?): delete the entry", e.scenario)),
            None => {}
            Some(r) if !e.covers(r.verdict.kind) => {
                g.stale.push(format!("{}: listed as {}, now {}: update or delete the entry", e.scenario, e.verdict.join(" or "), r.verdict.kind.label()))
            }
            Some(_) => {}
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ScenarioResult;
    use crate::scenario::load::{parse, LoadedScenario};
    use crate::transcript::Transcript;
    use crate::verdict::Verdict;

    fn result(id: &str, kind: VerdictKind) -> ScenarioResult {
        let text = "name: t\nspec: s\nsubject: stream-client\nsteps:\n  - subject: at_eof\n";
        let scenario = parse(id.as_ref(), text).unwrap();
        let verdict = Verdict { kind, step: None, expected: vec![], actual: None, reason: None };
        ScenarioResult { loaded: LoadedScenario { path: id.into(), id: id.into(), scenario }, verdict, transcript: Transcript::default() }
    }

    fn entry(id: &str, verdict: &str) -> Expectation {
        Expectation { scenario: id.into(), verdict: vec![verdict.into()], reason: "why".into(), link: None }
    }

    #[test]
    fn known_divergences_pass_new_ones_fail_and_stale_entries_are_named() {
        let report = Report { results: vec![result("a.yaml", VerdictKind::Fail), result("b.yaml", VerdictKind::Pass), result("c.yaml", VerdictKind::Error)], ..Report::default() };
        let corpus: BTreeSet<String> = ["a.yaml", "b.yaml", "c.yaml", "filtered-out.yaml"].iter().map(|s| s.to_string()).collect();
        let known = [entry("a.yaml", "FAIL"), entry("c.yaml", "ERROR"), entry("filtered-out.yaml", "FAIL")];
        assert!(gate(&report, &known, &corpus).passes());
        let g = gate(&report, &[entry("a.yaml", "FAIL")], &corpus);
        assert_eq!(g.unexpected, vec!["c.yaml: ERROR".to_string()]);
        let g = gate(&report, &[entry("a.yaml", "ERROR"), entry("c.yaml", "ERROR"), entry("b.yaml", "FAIL"), entry("gone.yaml", "FAIL")], &corpus);
        assert_eq!(g.unexpected, vec!["a.yaml: FAIL".to_string()]);
        assert_eq!(g.stale.len(), 3, "{:?}", g.stale);
        assert!(g.stale.iter().any(|s| s.starts_with("b.yaml: listed as FAIL, now PASS")));
        assert!(g.stale.iter().any(|s| s.starts_with("gone.yaml: no such scenario")));
        let racy = Expectation { verdict: vec!["ERROR".into(), "FAIL".into()], ..entry("a.yaml", "") };
        assert!(gate(&report, &[racy, entry("c.yaml", "ERROR")], &corpus).passes(), "either listed verdict is known");
    }

    #[test]
    fn a_file_that_is_not_an_expectations_file_gets_one_line() {
        let dir = std::env::temp_dir().join(format!("streamcheck-expect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.yaml");
        std::fs::write(&bad, "format_version: 1\n").unwrap();
        assert!(load(&bad).unwrap_err().contains("is not an expectations file"));
        std::fs::write(&bad, "- {scenario: a.yaml, verdict: BROKEN, reason: x}\n").unwrap();
        assert!(load(&bad).unwrap_err().contains("use FAIL, ERROR"));
        assert!(load(&dir.join("missing.yaml")).unwrap_err().contains("cannot read"));
    }
}
