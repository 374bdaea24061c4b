//! report.html: one self-contained page per implementation (no CDN, no external fonts or
//! scripts). A colour-coded table grouped by clause, counts per verdict at the top, filters and a
//! search kept in the URL, and a click on a row opens that case's evidence: the scenario's text,
//! the deciding step's expected and actual outcomes, the transcript with its times, the clause,
//! the explanation of a known divergence, and the command that reruns exactly that case.

use super::{Report, ScenarioResult};
use serde::Serialize;

const STYLE: &str = include_str!("assets/report.css");
const SCRIPT: &str = include_str!("assets/report.js");
const PAGE: &str = include_str!("assets/page.js");

#[derive(Serialize)]
struct Page<'a> {
    implementation: &'a str,
    world: &'static str,
    cases: Vec<Case<'a>>,
}

#[derive(Serialize)]
struct Case<'a> {
    id: &'a str,
    family: &'a str,
    clause: &'a str,
    verdict: &'static str,
    step: Option<usize>,
    expected: &'a [String],
    actual: Option<&'a str>,
    reason: Option<&'a str>,
    description: Option<&'a str>,
    cpython: Option<&'a str>,
    explanation: Option<super::expected::Explanation<'a>>,
    transcript: String,
    scenario: String,
    rerun: String,
}


/// A scenario's family: the folder it lives in (`streams/eof`).
pub fn family(id: &str) -> &str {
    id.rsplit_once('/').map_or(id, |(dir, _)| dir)
}

/// Data for a `<script type="application/json">`: `<` escaped so that no string can close it.
pub fn embedded_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("report data serializes").replace('<', "\\u003c")
}

/// HTML text escaping.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn case<'a>(report: &'a Report, r: &'a ScenarioResult) -> Case<'a> {
    let scenario = std::fs::read_to_string(&r.loaded.path)
        .unwrap_or_else(|_| crate::scenario::load::to_yaml(&r.loaded.scenario).unwrap_or_default());
    Case {
        id: &r.loaded.id,
        family: family(&r.loaded.id),
        clause: &r.loaded.scenario.spec,
        verdict: r.verdict.kind.label(),
        step: r.verdict.step,
        expected: &r.verdict.expected,
        actual: r.verdict.actual.as_deref(),
        reason: r.verdict.reason.as_deref(),
        description: r.loaded.scenario.description.as_deref(),
        cpython: r.loaded.scenario.cpython.as_deref(),
        explanation: report.explanation(r).map(|e| e.explanation()),
        transcript: r.transcript.to_text(),
        scenario,
        rerun: report.rerun_command(&r.loaded.id),
    }
}

/// Renders report.html.
pub fn render(report: &Report) -> String {
    let page = Page { implementation: &report.implementation, world: report.world.name(), cases: report.results.iter().map(|r| case(report, r)).collect() };
    let title = format!("streamcheck: {}", report.implementation);
    let subject = report.subject.as_deref().map_or(String::new(), |s| format!("<p>Subject: {}</p>", esc(s)));
    let notes: String = report.notes.iter().map(|n| format!("<p class=\"muted\">Note: {}</p>", esc(n))).collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{STYLE}</style></head>
<body>
<header><h1>{title}</h1><p>{description}</p>{subject}<p class="muted">{world} · seed {seed} · {summary} · <a href="report.json">report.json</a> · <a href="junit.xml">junit.xml</a> · <a href="../index.html">all implementations</a></p>{notes}</header>
<main>
<div id="counts" class="counts" aria-label="filter by verdict"></div>
<div class="controls"><select id="family" aria-label="family"></select><input id="search" type="search" placeholder="search scenarios" aria-label="search"><span id="shown" class="muted"></span></div>
<table id="cases"><thead><tr><th>scenario</th><th>verdict</th><th>why not PASS</th></tr></thead><tbody></tbody></table>
</main>
<aside id="evidence" hidden></aside>
<script type="application/json" id="data">{data}</script>
<script>{PAGE}{SCRIPT}</script>
</body></html>
"#,
        description = esc(&report.description),
        world = if report.world.name() == "sim" { "simulated network, simulated time" } else { "real TCP on 127.0.0.1, wall time" },
        seed = report.seed,
        summary = esc(&report.summary_line()),
        data = embedded_json(&page),
    )
}
