//! The published reports under reports/ are current: the matrix page matches the report.json
//! files, the reference's report matches a fresh run, and CPython 3.13's report matches a fresh
//! run through its adapter, held against its expected.yaml. Regenerate them all with
//! `bash scripts/reports.sh`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use streamcheck::implementations;
use streamcheck::report::{expected, matrix, Report};
use streamcheck::run::subject::process::AdapterSpec;
use streamcheck::scenario::load::load_dir;
use streamcheck::suite::{run_suite, SuiteOptions, Target};

const REGENERATE: &str = "regenerate the reports with `bash scripts/reports.sh` and commit them";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh run's verdicts against a committed report's, scenario by scenario.
fn assert_current(name: &str, target: Target) {
    let (corpus, errors) = load_dir(&root().join("scenarios"));
    assert!(errors.is_empty(), "{errors:?}");
    let ids: BTreeSet<String> = corpus.iter().map(|l| l.id.clone()).collect();
    let published = matrix::read(&root().join("reports").join(name).join("report.json")).unwrap_or_else(|e| panic!("{e}: {REGENERATE}"));
    let options = SuiteOptions { jobs: 2, ..SuiteOptions::default() };
    let fresh = run_suite(corpus, &target, &options, &mut |_| {}).expect("the implementation starts");
    let committed: Vec<(String, String)> = published.scenarios.iter().map(|s| (s.id.clone(), s.verdict.clone())).collect();
    let now: Vec<(String, String)> = fresh.results.iter().map(|r| (r.loaded.id.clone(), r.verdict.kind.label().to_string())).collect();
    let differ: Vec<String> = now.iter().filter(|n| !committed.contains(n)).map(|(id, v)| format!("{id}: now {v}")).collect();
    assert!(differ.is_empty() && committed.len() == now.len(), "reports/{name} is not current ({} scenarios committed, {} now):\n{}\n{REGENERATE}", committed.len(), now.len(), differ.join("\n"));
    let expectations = root().join("reports").join(name).join("expected.yaml");
    if expectations.exists() {
        let explained = expected::load(&expectations).unwrap();
        let report = Report { results: fresh.results, ..Report::default() };
        let gate = expected::gate(&report, &explained, &ids);
        assert!(gate.passes(), "reports/{name}/expected.yaml: unexpected {:?}, stale {:?}", gate.unexpected, gate.stale);
    }
}

#[test]
fn the_matrix_page_is_current() {
    let list = implementations::load(&root().join("implementations.yaml")).unwrap();
    let names: Vec<String> = std::iter::once("reference".to_string()).chain(list.into_iter().map(|i| i.name)).collect();
    let published = matrix::read_all(&root().join("reports"), &names).unwrap_or_else(|e| panic!("{e}: {REGENERATE}"));
    let committed = std::fs::read_to_string(root().join("reports/README.md")).expect("reports/README.md");
    assert!(committed == matrix::render(&published), "reports/README.md is stale: {REGENERATE}");
    let committed = std::fs::read_to_string(root().join("reports/index.html")).expect("reports/index.html");
    assert!(committed == matrix::render_html(&published), "reports/index.html is stale: {REGENERATE}");
}

#[test]
fn the_reference_report_is_current() {
    assert_current("reference", Target::SimReference);
}

#[test]
fn the_cpython_3_13_report_is_current() {
    let list = implementations::load(&root().join("implementations.yaml")).unwrap();
    let cpython = implementations::find(&list, "cpython-3.13").unwrap();
    let spec = AdapterSpec { dir: Some(root()), ..AdapterSpec::new(&cpython.start) };
    assert_current("cpython-3.13", Target::Adapter(spec));
}
