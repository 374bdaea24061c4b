//! Differential fuzzing (harness/src/fuzz/differential.rs): generated scenarios are valid and
//! seeded, the reference agrees with itself behind the driver protocol, and a broken adapter is
//! caught with a small scenario that, saved, passes on the oracle and fails on the other side.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::PathBuf;
use std::time::Duration;
use streamcheck::fuzz::cases::scenarios;
use streamcheck::fuzz::differential::{differential, DiffOptions, DiffResult, Side};
use streamcheck::run::subject::process::AdapterSpec;
use streamcheck::scenario::check::check;
use streamcheck::scenario::load::{parse, LoadedScenario};
use streamcheck::suite::{run_suite, SuiteOptions, Target};
use streamcheck::verdict::VerdictKind;

fn options(cases: u32, seed: u64) -> DiffOptions {
    DiffOptions { cases, seed, deadline: Duration::from_secs(2) }
}

fn generated(seed: u8, n: usize) -> Vec<serde_json::Value> {
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]));
    let strategy = scenarios(true);
    (0..n)
        .map(|_| {
            let s = strategy.new_tree(&mut runner).expect("a scenario").current();
            assert!(check(&s).is_empty(), "{:?}\n{s:#?}", check(&s));
            serde_json::to_value(&s).expect("scenarios serialize")
        })
        .collect()
}

#[test]
fn generated_scenarios_pass_the_checks_and_the_same_seed_gives_the_same_ones() {
    let first = generated(7, 500);
    assert_eq!(first, generated(7, 500));
    assert_ne!(first, generated(8, 500));
}

#[test]
fn the_reference_agrees_with_itself_behind_the_adapter() {
    let adapter = Side::Adapter(AdapterSpec::new(&format!("{} adapter reference", env!("CARGO_BIN_EXE_streamcheck"))));
    let mut heard = vec![];
    let result = differential(&Side::Reference, &adapter, &options(40, 11), &mut |n| heard.push(n)).expect("both sides start");
    assert_eq!(result, DiffResult::Agreed { cases: 40 });
    assert!(heard.is_empty(), "progress comes every 100 cases: {heard:?}");
}

fn verdict(yaml_scenario: &LoadedScenario, target: Target) -> VerdictKind {
    let options = SuiteOptions { seed: 0, jobs: 1, deadline: Duration::from_secs(2) };
    let run = run_suite(vec![yaml_scenario.clone()], &target, &options, &mut |_| {}).expect("the target starts");
    run.results[0].verdict.kind
}

#[test]
fn a_readline_that_strips_the_newline_is_caught_shrunk_and_saved() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/adapters/broken/readline_strips_newline.py");
    let broken = AdapterSpec::new(&format!("python3 {script}"));
    let result = differential(&Side::Reference, &Side::Adapter(broken.clone()), &options(200, 3), &mut |_| {}).expect("both sides start");
    let DiffResult::Disagreed { step, a, b, scenario_yaml, .. } = result else { panic!("no disagreement found: {result:?}") };
    let path = PathBuf::from("fuzz-diff.yaml");
    let saved = parse(&path, &scenario_yaml).unwrap_or_else(|e| panic!("{e:?}\n{scenario_yaml}"));
    assert!(saved.steps.len() <= 6, "not shrunk:\n{scenario_yaml}");
    assert!(saved.name.starts_with("fuzz-diff-3-"), "{scenario_yaml}");
    assert!(scenario_yaml.contains("readline") && a.starts_with("ok") && b.starts_with("ok"), "step {step}: {a} / {b}\n{scenario_yaml}");
    let description = saved.description.clone().unwrap_or_default();
    assert!(description.contains("the reference implementation") && description.contains("readline_strips_newline.py"), "{description}");
    let loaded = LoadedScenario { path, id: "fuzz-diff.yaml".into(), scenario: saved };
    assert_eq!(verdict(&loaded, Target::Adapter(broken)), VerdictKind::Pass, "the oracle passes its own case:\n{scenario_yaml}");
    assert_eq!(verdict(&loaded, Target::LoopbackReference), VerdictKind::Fail, "the other side fails it:\n{scenario_yaml}");
}

#[test]
fn a_side_that_cannot_start_is_an_error() {
    let missing = Side::Adapter(AdapterSpec::new("/nonexistent/adapter"));
    let err = differential(&Side::Reference, &missing, &options(5, 0), &mut |_| {}).unwrap_err();
    assert!(err.contains("/nonexistent/adapter"), "{err}");
}
