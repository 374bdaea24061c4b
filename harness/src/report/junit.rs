//! junit.xml: one testsuite per clause, one testcase per scenario, for CI dashboards.

use super::Report;
use crate::verdict::VerdictKind;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

pub fn render(report: &Report) -> String {
    let counts = report.counts();
    let n = |k| counts.get(&k).copied().unwrap_or(0);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"streamcheck {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        esc(&report.implementation),
        report.results.len(),
        n(VerdictKind::Fail),
        n(VerdictKind::Error),
        n(VerdictKind::Unsupported)
    );
    for (clause, members) in report.by_clause() {
        let count = |k: VerdictKind| members.iter().filter(|r| r.verdict.kind == k).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            esc(clause),
            members.len(),
            count(VerdictKind::Fail),
            count(VerdictKind::Error),
            count(VerdictKind::Unsupported)
        );
        for r in members {
            let secs = r.transcript.events.last().map_or(0.0, |e| e.at.as_secs_f64());
            let _ = writeln!(out, "    <testcase classname=\"{}\" name=\"{}\" time=\"{secs:.3}\">", esc(clause), esc(&r.loaded.id));
            let rerun = report.rerun_command(&r.loaded.id);
            let _ = writeln!(out, "      <properties>");
            for (name, value) in [("clause", clause), ("seed", &report.seed.to_string()), ("rerun", &rerun)] {
                let _ = writeln!(out, "        <property name=\"{name}\" value=\"{}\"/>", esc(value));
            }
            let _ = writeln!(out, "      </properties>");
            let why = esc(&r.verdict.explain());
            let message = esc(r.verdict.reason.as_deref().unwrap_or(""));
            let _ = match r.verdict.kind {
                VerdictKind::Fail => writeln!(out, "      <failure message=\"{message}\">{why}</failure>"),
                VerdictKind::Error => writeln!(out, "      <error message=\"{message}\">{why}</error>"),
                VerdictKind::Unsupported => writeln!(out, "      <skipped message=\"UNSUPPORTED: {message}\"/>"),
                VerdictKind::NonStrict | VerdictKind::Informational => writeln!(out, "      <system-out>{why}</system-out>"),
                VerdictKind::Pass => Ok(()),
            };
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
