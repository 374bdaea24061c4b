//! Differential fuzzing (harness/src/fuzz/differential.rs): the reference agrees with itself
//! behind the driver protocol, and a broken adapter is caught with a small scenario to save.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::Path;
use std::time::Duration;
use streamcheck::fuzz::differential::{differential, scenarios, DiffOptions, DiffResult, Side};
use streamcheck::run::subject::process::AdapterSpec;
use streamcheck::scenario::check::check;
use streamcheck::scenario::load::parse;

fn options(cases: u32, seed: u64) -> DiffOptions {
    DiffOptions { cases, seed, deadline: Duration::from_secs(5) }
}

#[test]
fn generated_scenarios_pass_the_checks_and_survive_yaml() {
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    let strategy = scenarios(true);
    for _ in 0..500 {
        let s = strategy.new_tree(&mut runner).expect("a scenario").current();
        assert!(check(&s).is_empty(), "{:?}\n{s:#?}", check(&s));
        assert!(!s.steps.is_empty());
    }
}

#[test]
fn the_reference_agrees_with_itself_behind_the_adapter() {
    let adapter = Side::Adapter(AdapterSpec::new(&format!("{} adapter reference", env!("CARGO_BIN_EXE_streamcheck"))));
    let mut heard = vec![];
    let result = differential(&Side::Reference, &adapter, &options(40, 11), &mut |n| heard.push(n)).expect("both sides start");
    assert_eq!(result, DiffResult::Agreed { cases: 40 });
    assert!(heard.is_empty(), "progress comes every 100 cases: {heard:?}");
}

#[test]
fn a_readline_that_strips_the_newline_is_caught_and_shrunk() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/adapters/broken/readline_strips_newline.py");
    let broken = Side::Adapter(AdapterSpec::new(&format!("python3 {script}")));
    let result = differential(&Side::Reference, &broken, &options(200, 3), &mut |_| {}).expect("both sides start");
    let DiffResult::Disagreed { step, a, b, scenario_yaml, .. } = result else { panic!("no disagreement found: {result:?}") };
    let saved = parse(Path::new("fuzz-diff.yaml"), &scenario_yaml).unwrap_or_else(|e| panic!("{e:?}\n{scenario_yaml}"));
    assert!(saved.steps.len() <= 6, "not shrunk:\n{scenario_yaml}");
    assert!(saved.name.starts_with("fuzz-diff-3-"), "{scenario_yaml}");
    assert!(scenario_yaml.contains("readline") && b.starts_with("ok") && a.starts_with("ok"), "step {step}: {a} / {b}\n{scenario_yaml}");
    let description = saved.description.unwrap_or_default();
    assert!(description.contains("the reference implementation") && description.contains("readline_strips_newline.py"), "{description}");
}

#[test]
fn a_side_that_cannot_start_is_an_error() {
    let missing = Side::Adapter(AdapterSpec::new("/nonexistent/adapter"));
    let err = differential(&Side::Reference, &missing, &options(5, 0), &mut |_| {}).unwrap_err();
    assert!(err.contains("/nonexistent/adapter"), "{err}");
}
