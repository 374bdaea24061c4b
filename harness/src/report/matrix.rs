//! reports/README.md: every published report side by side, read back from the report.json files.
//! Rows are the scenario families, then the clauses; columns the implementations; each cell the
//! counts per verdict, with a link to that implementation's report.

use super::html::{embedded_json, esc, family};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// The part of a report.json the matrix reads.
#[derive(Debug, Deserialize)]
pub struct Published {
    pub format_version: u32,
    pub implementation: String,
    pub description: String,
    #[serde(default)]
    pub world: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    pub scenarios: Vec<PublishedScenario>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PublishedScenario {
    pub id: String,
    pub spec: String,
    pub verdict: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Reads one report.json; the error names the file and says what it expected.
pub fn read(path: &Path) -> Result<Published, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let report: Published = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a streamcheck report.json ({e}): pass a report.json that `streamcheck run` wrote", path.display()))?;
    if report.format_version != super::json::FORMAT_VERSION {
        return Err(format!(
            "{} has report format {}, and this streamcheck reads format {}: regenerate it with this version",
            path.display(),
            report.format_version,
            super::json::FORMAT_VERSION
        ));
    }
    Ok(report)
}

/// Every reports/<name>/report.json, in the order the names are given.
pub fn read_all(dir: &Path, names: &[String]) -> Result<Vec<Published>, String> {
    names.iter().map(|n| read(&dir.join(n).join("report.json"))).collect()
}

const ORDER: [&str; 6] = ["PASS", "NON-STRICT", "INFORMATIONAL", "UNSUPPORTED", "FAIL", "ERROR"];

/// "12 PASS · 1 FAIL", PASS first, zero counts left out.
fn cell(counts: &BTreeMap<&str, usize>) -> String {
    let parts: Vec<String> = ORDER.iter().filter_map(|k| counts.get(k).map(|n| format!("{n} {k}"))).collect();
    if parts.is_empty() {
        "–".into()
    } else {
        parts.join(" · ")
    }
}

#[derive(Serialize)]
struct MatrixData<'a> {
    implementations: Vec<Column<'a>>,
}

#[derive(Serialize)]
struct Column<'a> {
    name: &'a str,
    subject: &'a str,
    cases: Vec<Cell<'a>>,
}

#[derive(Serialize)]
struct Cell<'a> {
    id: &'a str,
    family: &'a str,
    verdict: &'a str,
}

const STYLE: &str = include_str!("assets/report.css");
const SCRIPT: &str = include_str!("assets/matrix.js");
const PAGE: &str = include_str!("assets/page.js");

/// Renders reports/index.html: the same matrix as README.md, with a per-case view, one click from
/// each implementation's report.html.
pub fn render_html(reports: &[Published]) -> String {
    let data = MatrixData {
        implementations: reports
            .iter()
            .map(|r| Column {
                name: &r.implementation,
                subject: r.subject.as_deref().unwrap_or(&r.description),
                cases: r.scenarios.iter().map(|s| Cell { id: &s.id, family: family(&s.id), verdict: &s.verdict }).collect(),
            })
            .collect(),
    };
    let names: Vec<String> = reports.iter().map(|r| esc(&r.implementation)).collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>streamcheck: implementations</title><style>{STYLE}</style></head>
<body>
<header><h1>streamcheck: conformance of {n} implementations</h1><p class="muted">{names}. Each cell links to that implementation's report, filtered to the row. Regenerate with <code>bash scripts/reports.sh</code>.</p></header>
<main>
<div class="controls"><button id="view-families" type="button">by family</button><button id="view-cases" type="button">by case</button><input id="search" type="search" placeholder="filter rows" aria-label="filter rows"></div>
<table class="matrix" id="matrix"></table>
</main>
<script type="application/json" id="data">{data}</script>
<script>{PAGE}{SCRIPT}</script>
</body></html>
"#,
        n = reports.len(),
        names = names.join(", "),
        data = embedded_json(&data),
    )
}

/// Renders the matrix page.
pub fn render(reports: &[Published]) -> String {
    let mut out = String::from("# Conformance reports\n\n");
    out.push_str("Every published report side by side (regenerate them all with `bash scripts/reports.sh`).\n");
    out.push_str("A cell counts the scenarios of that row by verdict; the column header links to the full report,\n");
    out.push_str("where every FAIL and ERROR carries its explanation (the implementation's `expected.yaml`).\n\n");
    out.push_str("| implementation | subject | world | verdicts |\n|---|---|---|---|\n");
    for r in reports {
        let mut all = BTreeMap::new();
        for s in &r.scenarios {
            *all.entry(s.verdict.as_str()).or_insert(0) += 1;
        }
        let subject = r.subject.as_deref().unwrap_or(&r.description);
        let world = r.world.as_deref().unwrap_or("sim");
        let _ = writeln!(out, "| [{0}]({0}/report.md) | {1} | {world} | {2} |", r.implementation, subject.replace('|', "\\|"), cell(&all));
    }
    table(&mut out, reports, "By family", |s| family(&s.id).to_string());
    table(&mut out, reports, "By clause", |s| s.spec.clone());
    out
}

fn table(out: &mut String, reports: &[Published], title: &str, key: impl Fn(&PublishedScenario) -> String) {
    let mut rows: BTreeMap<String, Vec<BTreeMap<&str, usize>>> = BTreeMap::new();
    for (col, r) in reports.iter().enumerate() {
        for s in &r.scenarios {
            let row = rows.entry(key(s)).or_insert_with(|| vec![BTreeMap::new(); reports.len()]);
            *row[col].entry(s.verdict.as_str()).or_insert(0) += 1;
        }
    }
    let _ = write!(out, "\n## {title}\n\n| {} |", title.trim_start_matches("By ").to_lowercase());
    for r in reports {
        let _ = write!(out, " [{0}]({0}/report.md) |", r.implementation);
    }
    let _ = write!(out, "\n|---|{}\n", "---|".repeat(reports.len()));
    for (row, cells) in rows {
        let _ = write!(out, "| {} |", row.replace('|', "\\|"));
        for c in &cells {
            let _ = write!(out, " {} |", cell(c));
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(name: &str, verdicts: &[(&str, &str, &str)]) -> Published {
        Published {
            format_version: 1,
            implementation: name.into(),
            description: format!("{name} description"),
            world: Some("loopback".into()),
            subject: None,
            scenarios: verdicts.iter().map(|(id, spec, v)| PublishedScenario { id: id.to_string(), spec: spec.to_string(), verdict: v.to_string(), reason: None }).collect(),
        }
    }

    #[test]
    fn cells_count_each_row_per_implementation() {
        let a = published("a", &[("streams/eof/x.yaml", "read", "PASS"), ("streams/eof/y.yaml", "read", "FAIL"), ("streams/limits/z.yaml", "readline", "PASS")]);
        let b = published("b", &[("streams/eof/x.yaml", "read", "PASS"), ("streams/eof/y.yaml", "read", "PASS")]);
        let md = render(&[a, b]);
        assert!(md.contains("| streams/eof | 1 PASS · 1 FAIL | 2 PASS |"), "{md}");
        assert!(md.contains("| streams/limits | 1 PASS | – |"), "{md}");
        assert!(md.contains("| read | 1 PASS · 1 FAIL | 2 PASS |"), "{md}");
        assert!(md.contains("[a](a/report.md)"), "{md}");
    }

    #[test]
    fn a_file_that_is_not_a_report_gets_one_line_with_its_path() {
        let dir = std::env::temp_dir().join(format!("streamcheck-matrix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("report.json");
        std::fs::write(&path, "{\"hello\": 1}").unwrap();
        let e = read(&path).unwrap_err();
        assert!(e.contains("is not a streamcheck report.json") && e.contains("report.json"), "{e}");
        std::fs::write(&path, "{\"format_version\": 9, \"implementation\": \"x\", \"description\": \"\", \"scenarios\": []}").unwrap();
        assert!(read(&path).unwrap_err().contains("report format 9"));
    }
}
