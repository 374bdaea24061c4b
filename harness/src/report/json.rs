//! report.json: machine-readable, with stable field names and a format version.

use super::{Report, ScenarioResult};
use crate::run::world::WorldKind;
use serde::Serialize;

/// Bumped when a field changes meaning or disappears; new fields do not bump it.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    format_version: u32,
    implementation: &'a str,
    description: &'a str,
    seed: u64,
    /// `sim` or `loopback`.
    world: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    summary: std::collections::BTreeMap<&'static str, usize>,
    scenarios: Vec<JsonScenario<'a>>,
}

#[derive(Serialize)]
struct JsonScenario<'a> {
    id: &'a str,
    name: &'a str,
    spec: &'a str,
    tags: &'a [String],
    verdict: &'static str,
    step: Option<usize>,
    expected: &'a [String],
    actual: Option<&'a str>,
    reason: Option<&'a str>,
    /// Time the run took on its world's clock, in milliseconds (simulated, or wall time).
    elapsed_ms: u64,
    /// The same, in the simulation only (kept for readers of format 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    simulated_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpython: Option<&'a str>,
    /// Why it is not a PASS, from the implementation's expectations.
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<super::expected::Explanation<'a>>,
}


pub fn render(report: &Report) -> String {
    let doc = JsonReport {
        format_version: FORMAT_VERSION,
        implementation: &report.implementation,
        description: &report.description,
        seed: report.seed,
        world: report.world.name(),
        subject: report.subject.as_deref(),
        notes: &report.notes,
        summary: report.counts().into_iter().map(|(k, n)| (k.label(), n)).collect(),
        scenarios: report
            .results
            .iter()
            .map(|r| JsonScenario {
                id: &r.loaded.id,
                name: &r.loaded.scenario.name,
                spec: &r.loaded.scenario.spec,
                tags: &r.loaded.scenario.tags,
                verdict: r.verdict.kind.label(),
                step: r.verdict.step,
                expected: &r.verdict.expected,
                actual: r.verdict.actual.as_deref(),
                reason: r.verdict.reason.as_deref(),
                elapsed_ms: elapsed_ms(r),
                simulated_ms: (report.world == WorldKind::Sim).then(|| elapsed_ms(r)),
                cpython: r.loaded.scenario.cpython.as_deref(),
                explanation: report.explanation(r).map(|e| e.explanation()),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("reports serialize");
    text.push('\n');
    text
}

fn elapsed_ms(r: &ScenarioResult) -> u64 {
    r.transcript.events.last().map_or(0, |e| e.at.as_millis() as u64)
}
