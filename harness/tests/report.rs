//! The reports explain every non-PASS in one line, group by clause, and keep stable fields.

use streamcheck::report::{Report, ScenarioResult};
use streamcheck::run::{run, RunOptions};
use streamcheck::scenario::load::{parse, LoadedScenario};
use streamcheck::verdict::{judge, Strictness};

const CASES: &[(&str, &str)] = &[
    ("pass", "spec: asyncio StreamReader.readline\nsteps:\n  - peer: {send: \"a\\n\"}\n  - subject: readline\n    expect: {ok: \"a\\n\"}\n"),
    ("fail", "spec: asyncio StreamReader.readline\nsteps:\n  - peer: {send: \"a\\n\"}\n  - subject: readline\n    expect: {ok: \"b\\n\"}\n"),
    ("error", "spec: asyncio StreamReader.read\nsteps:\n  - subject: {read: 1}\n"),
    ("informational", "spec: asyncio StreamWriter.drain\ninformational: true\nsteps:\n  - subject: at_eof\n    expect: {ok: true}\n"),
    ("non-strict", "spec: asyncio StreamWriter.drain\nsteps:\n  - subject: at_eof\n    expect: {ok: true}\n    also_accept: [{ok: false}]\n"),
];

fn report() -> Report {
    let results = CASES
        .iter()
        .map(|(name, body)| {
            let text = format!("name: {name}\nsubject: stream-client\n{body}");
            let scenario = parse(format!("{name}.yaml").as_ref(), &text).unwrap_or_else(|e| panic!("{e:?}"));
            let transcript = run(&scenario, &RunOptions::default());
            let verdict = judge(&scenario, &transcript, Strictness::Exact);
            ScenarioResult { loaded: LoadedScenario { path: format!("{name}.yaml").into(), id: format!("selftest/{name}.yaml"), scenario }, verdict, transcript }
        })
        .collect();
    Report { implementation: "selftest".into(), description: "A deliberately mixed suite.".into(), seed: 0, results, ..Report::default() }
}

#[test]
fn markdown_groups_by_clause_and_gives_a_reason_for_every_non_pass() {
    let md = streamcheck::report::markdown::render(&report());
    for line in md.lines().filter(|l| l.starts_with("| `selftest/")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert!(cells[2] == "PASS" || !cells[3].is_empty(), "a non-PASS row without a reason: {line}");
    }
    insta::assert_snapshot!("selftest_report_md", md);
}

#[test]
fn json_has_a_version_and_stable_fields() {
    let v: serde_json::Value = serde_json::from_str(&streamcheck::report::json::render(&report())).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["summary"]["PASS"], 1);
    assert_eq!(v["summary"]["FAIL"], 1);
    assert_eq!(v["summary"]["ERROR"], 1);
    let fail = v["scenarios"].as_array().unwrap().iter().find(|s| s["name"] == "fail").unwrap();
    assert_eq!(fail["verdict"], "FAIL");
    assert_eq!(fail["step"], 2);
    assert_eq!(fail["expected"][0], "ok \"b\\n\"");
    assert_eq!(fail["actual"], "ok \"a\\n\"");
    for key in ["id", "name", "spec", "tags", "verdict", "step", "expected", "actual", "reason", "elapsed_ms", "simulated_ms"] {
        assert!(fail.get(key).is_some(), "missing {key}");
    }
}

#[test]
fn junit_counts_failures_errors_and_skips() {
    let xml = streamcheck::report::junit::render(&report());
    assert!(xml.contains("<testsuites name=\"streamcheck selftest\" tests=\"5\" failures=\"1\" errors=\"1\" skipped=\"0\">"), "{xml}");
    assert!(xml.contains("<failure message=\"`readline` gave ok &quot;a\\n&quot;, expected ok &quot;b\\n&quot;\">"), "{xml}");
    assert!(xml.contains("<error message=\"step 1 (`read 1`) did not complete"), "{xml}");
    assert!(xml.contains("<property name=\"rerun\" value=\"streamcheck run --filter selftest/fail.yaml --seed 0\"/>"), "{xml}");
    assert!(xml.contains("<property name=\"clause\" value=\"asyncio StreamReader.readline\"/>"), "{xml}");
}
