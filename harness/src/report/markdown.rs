//! report.md: a summary, then one table per clause, then the failures with expected and actual.

use super::Report;
use crate::run::world::WorldKind;
use crate::verdict::VerdictKind;
use std::fmt::Write;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Conformance report: {}\n", report.implementation);
    let _ = writeln!(out, "{}\n", report.description);
    if let Some(subject) = &report.subject {
        let _ = writeln!(out, "Subject: {subject}.\n");
    }
    let _ = match report.world {
        WorldKind::Sim => writeln!(out, "Seed {}. Every scenario runs in turmoil's simulated network, in simulated time.\n", report.seed),
        WorldKind::Loopback => writeln!(
            out,
            "Every scenario runs over real TCP on 127.0.0.1, in wall time; `within:` allows {} ms more than it says. Scenarios only the simulation can tell are UNSUPPORTED here, with the reason.\n",
            WorldKind::Loopback.tolerance().as_millis()
        ),
    };
    for note in &report.notes {
        let _ = writeln!(out, "Note: {note}\n");
    }
    let _ = writeln!(out, "| verdict | scenarios |\n|---|---|");
    for (kind, n) in report.counts() {
        let _ = writeln!(out, "| {} | {n} |", kind.label());
    }
    let _ = writeln!(out, "| total | {} |\n", report.results.len());
    let _ = writeln!(out, "## By clause\n");
    for (clause, members) in report.by_clause() {
        let passed = members.iter().filter(|r| r.verdict.kind == VerdictKind::Pass).count();
        let _ = writeln!(out, "### {}\n\n{passed} of {} pass.\n", cell(clause), members.len());
        let _ = writeln!(out, "| scenario | verdict | why not PASS |\n|---|---|---|");
        for r in members {
            let reason = r.verdict.reason.as_deref().map(cell).unwrap_or_default();
            let _ = writeln!(out, "| `{}` | {} | {} |", r.loaded.id, r.verdict.kind.label(), reason);
        }
        out.push('\n');
    }
    let failing: Vec<_> = report.results.iter().filter(|r| r.verdict.kind != VerdictKind::Pass).collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "## Not PASS\n");
        for r in failing {
            let _ = writeln!(out, "### `{}` — {}\n", r.loaded.id, r.verdict.kind.label());
            if let Some(d) = &r.loaded.scenario.description {
                let _ = writeln!(out, "{d}\n");
            }
            let _ = writeln!(out, "```\n{}\n```\n", r.verdict.explain());
            match report.explanation(r) {
                Some(e) => {
                    let link = e.link.as_ref().map_or(String::new(), |l| format!(" ({l})"));
                    let _ = writeln!(out, "**Why:** {}{link}\n", e.reason);
                }
                None if r.verdict.kind.is_failure() && !report.explained.is_empty() => {
                    let _ = writeln!(out, "**Not explained yet:** this divergence is not in the implementation's expected.yaml.\n");
                }
                None => {}
            }
        }
    }
    out
}
