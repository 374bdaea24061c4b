//! `streamcheck diff OLD.json NEW.json`: what changed between two runs of one implementation,
//! for a pull request: regressions, fixes, new and removed scenarios, other verdict changes.

use super::matrix::{Published, PublishedScenario};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One scenario whose verdict changed (or that appeared or went away).
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub id: String,
    pub old: Option<String>,
    pub new: Option<String>,
    /// The new run's one-line reason, where it has one.
    pub reason: Option<String>,
}

/// Every change, sorted into the kinds a reviewer looks for.
#[derive(Debug, Default, PartialEq)]
pub struct Diff {
    /// Now FAIL or ERROR, and not before.
    pub regressions: Vec<Change>,
    /// FAIL or ERROR before, and not now.
    pub fixes: Vec<Change>,
    pub added: Vec<Change>,
    pub removed: Vec<Change>,
    /// Any other verdict change (PASS to NON-STRICT, FAIL to ERROR, to UNSUPPORTED...).
    pub changed: Vec<Change>,
}

fn failing(verdict: &str) -> bool {
    verdict == "FAIL" || verdict == "ERROR"
}

/// Compares two reports scenario by scenario.
pub fn diff(old: &Published, new: &Published) -> Diff {
    let index = |r: &Published| -> BTreeMap<String, PublishedScenario> { r.scenarios.iter().map(|s| (s.id.clone(), s.clone())).collect() };
    let (before, after) = (index(old), index(new));
    let mut d = Diff::default();
    for (id, s) in &after {
        let change = Change { id: id.clone(), old: before.get(id).map(|o| o.verdict.clone()), new: Some(s.verdict.clone()), reason: s.reason.clone() };
        match before.get(id) {
            None => d.added.push(change),
            Some(o) if o.verdict == s.verdict => {}
            Some(o) if failing(&s.verdict) && !failing(&o.verdict) => d.regressions.push(change),
            Some(o) if failing(&o.verdict) && !failing(&s.verdict) => d.fixes.push(change),
            Some(_) => d.changed.push(change),
        }
    }
    for (id, o) in &before {
        if !after.contains_key(id) {
            d.removed.push(Change { id: id.clone(), old: Some(o.verdict.clone()), new: None, reason: None });
        }
    }
    d
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.regressions.is_empty() && self.fixes.is_empty() && self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    fn sections(&self) -> [(&'static str, &Vec<Change>); 5] {
        [("Regressions", &self.regressions), ("Fixes", &self.fixes), ("New scenarios", &self.added), ("Removed scenarios", &self.removed), ("Other verdict changes", &self.changed)]
    }

    /// Plain text for a terminal.
    pub fn text(&self, old: &Published, new: &Published) -> String {
        let mut out = format!("{} → {}: {}\n", old.implementation, new.implementation, self.summary());
        for (title, changes) in self.sections().iter().filter(|(_, c)| !c.is_empty()) {
            let _ = writeln!(out, "\n{title}:");
            for c in changes.iter() {
                let _ = writeln!(out, "  {}  {}{}", c.id, arrow(c), c.reason.as_ref().map_or(String::new(), |r| format!("\n      {r}")));
            }
        }
        out
    }

    /// Markdown, ready for a pull-request comment.
    pub fn markdown(&self, old: &Published, new: &Published) -> String {
        let mut out = format!("### streamcheck: {} → {}\n\n{}\n", old.implementation, new.implementation, self.summary());
        for (title, changes) in self.sections().iter().filter(|(_, c)| !c.is_empty()) {
            let _ = writeln!(out, "\n**{title}**\n\n| scenario | verdict | why |\n|---|---|---|");
            for c in changes.iter() {
                let why = c.reason.as_deref().unwrap_or("").replace('|', "\\|").replace('\n', " ");
                let _ = writeln!(out, "| `{}` | {} | {why} |", c.id, arrow(c));
            }
        }
        out
    }

    fn summary(&self) -> String {
        if self.is_empty() {
            return "no verdict changed".into();
        }
        let parts: Vec<String> = self.sections().iter().filter(|(_, c)| !c.is_empty()).map(|(t, c)| format!("{} {}", c.len(), t.to_lowercase())).collect();
        parts.join(", ")
    }
}

fn arrow(c: &Change) -> String {
    format!("{} → {}", c.old.as_deref().unwrap_or("(none)"), c.new.as_deref().unwrap_or("(gone)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(verdicts: &[(&str, &str)]) -> Published {
        Published {
            format_version: 1,
            implementation: "x".into(),
            description: String::new(),
            world: None,
            subject: None,
            scenarios: verdicts.iter().map(|(id, v)| PublishedScenario { id: id.to_string(), spec: "s".into(), verdict: v.to_string(), reason: None }).collect(),
        }
    }

    #[test]
    fn each_change_lands_in_its_kind() {
        let old = report(&[("a", "PASS"), ("b", "FAIL"), ("c", "PASS"), ("d", "PASS"), ("gone", "PASS"), ("same", "FAIL")]);
        let new = report(&[("a", "FAIL"), ("b", "PASS"), ("c", "NON-STRICT"), ("d", "PASS"), ("new", "ERROR"), ("same", "FAIL")]);
        let d = diff(&old, &new);
        let ids = |cs: &Vec<Change>| cs.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&d.regressions), ["a"]);
        assert_eq!(ids(&d.fixes), ["b"]);
        assert_eq!(ids(&d.changed), ["c"]);
        assert_eq!(ids(&d.added), ["new"]);
        assert_eq!(ids(&d.removed), ["gone"]);
        let md = d.markdown(&old, &new);
        assert!(md.contains("| `a` | PASS → FAIL |"), "{md}");
        assert!(diff(&old, &old).is_empty());
        assert!(diff(&old, &old).text(&old, &old).contains("no verdict changed"));
    }
}
