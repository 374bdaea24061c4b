//! Conformance reports: the results of one suite run, grouped by the clause each scenario
//! checks (h2spec's habit), in three formats, one file each.

pub mod diff;
pub mod expected;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod matrix;

use crate::run::world::WorldKind;
use crate::scenario::load::LoadedScenario;
use crate::transcript::Transcript;
use crate::verdict::{Verdict, VerdictKind};
use std::collections::BTreeMap;
use std::path::Path;

/// One scenario's result.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    pub loaded: LoadedScenario,
    pub verdict: Verdict,
    pub transcript: Transcript,
}

/// A suite run against one implementation.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Folder name under reports/, e.g. `reference`.
    pub implementation: String,
    pub description: String,
    pub seed: u64,
    /// Where the scenarios ran.
    pub world: WorldKind,
    /// What answered, as it introduced itself: e.g. `cpython-asyncio 3.13.0 (CPython 3.13.0)`.
    pub subject: Option<String>,
    /// Caveats on the whole run, e.g. reduced timing precision.
    pub notes: Vec<String>,
    /// The implementation's known divergences, with their reasons (expected.yaml).
    pub explained: Vec<expected::Expectation>,
    /// The command line that ran this suite, without `--filter` and `--seed` (default
    /// `streamcheck run`): each case's rerun command is built from it.
    pub rerun: String,
    pub results: Vec<ScenarioResult>,
}

impl Report {
    /// How many results have each verdict, in a fixed order.
    pub fn counts(&self) -> BTreeMap<VerdictKind, usize> {
        let mut counts = BTreeMap::new();
        for r in &self.results {
            *counts.entry(r.verdict.kind).or_insert(0) += 1;
        }
        counts
    }

    /// Results grouped by `spec`, groups and members sorted.
    pub fn by_clause(&self) -> BTreeMap<&str, Vec<&ScenarioResult>> {
        let mut groups: BTreeMap<&str, Vec<&ScenarioResult>> = BTreeMap::new();
        for r in &self.results {
            groups.entry(r.loaded.scenario.spec.as_str()).or_default().push(r);
        }
        for members in groups.values_mut() {
            members.sort_by(|a, b| a.loaded.id.cmp(&b.loaded.id));
        }
        groups
    }

    /// The one command that reruns exactly scenario `id` with this run's seed.
    pub fn rerun_command(&self, id: &str) -> String {
        let base = if self.rerun.is_empty() { "streamcheck run" } else { &self.rerun };
        format!("{base} --filter {id} --seed {}", self.seed)
    }

    /// The explanation of a result that is not a PASS, if the expectations give one.
    pub fn explanation(&self, r: &ScenarioResult) -> Option<&expected::Expectation> {
        self.explained.iter().find(|e| e.scenario == r.loaded.id && e.covers(r.verdict.kind))
    }

    /// One line: "130 scenarios: 128 PASS, 2 NON-STRICT".
    pub fn summary_line(&self) -> String {
        let parts: Vec<String> = self.counts().iter().map(|(k, n)| format!("{n} {}", k.label())).collect();
        format!("{} scenarios: {}", self.results.len(), parts.join(", "))
    }

    /// Writes report.md, report.json, junit.xml and report.html into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.md"), markdown::render(self))?;
        std::fs::write(dir.join("report.json"), json::render(self))?;
        std::fs::write(dir.join("junit.xml"), junit::render(self))?;
        std::fs::write(dir.join("report.html"), html::render(self))?;
        Ok(())
    }
}
