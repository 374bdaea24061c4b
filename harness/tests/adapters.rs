//! The process runner against adapters that misbehave (harness/tests/adapters/hostile/).
//!
//! A hostile adapter gets a verdict for every scenario: each scenario it touches is ERROR with
//! what was seen, a fresh process serves the next, memory stays bounded, and no process is left
//! running. The fixtures are Python; `python3` (3.8 or later) must be on PATH.

use std::path::{Path, PathBuf};
use std::time::Duration;
use streamcheck::report::ScenarioResult;
use streamcheck::run::subject::driver::StartError;
use streamcheck::run::subject::process::AdapterSpec;
use streamcheck::scenario::load::{parse, LoadedScenario};
use streamcheck::suite::{run_suite, SuiteOptions, SuiteRun, Target};
use streamcheck::verdict::VerdictKind;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/adapters").join(name)
}

/// Three small scenarios: a readline, an at_eof and a read, in that order. Each fixture misbehaves
/// on the first such operation of each process it runs, so a scenario it spares shows that a
/// fresh process took over.
fn three() -> Vec<LoadedScenario> {
    let cases = [
        ("reads-a-line", "  - peer: {send: \"a\\n\"}\n  - subject: readline\n    expect: {ok: \"a\\n\"}\n"),
        ("asks-at-eof", "  - subject: at_eof\n    expect: {ok: false}\n"),
        ("reads-bytes", "  - peer: {send: \"xy\"}\n  - subject: {read: 2}\n    expect: {ok: \"xy\"}\n"),
    ];
    cases
        .iter()
        .map(|(name, steps)| {
            let text = format!("name: {name}\nspec: test\nsubject: stream-client\nsteps:\n{steps}");
            let scenario = parse(format!("{name}.yaml").as_ref(), &text).unwrap_or_else(|e| panic!("{e:?}"));
            LoadedScenario { path: format!("{name}.yaml").into(), id: format!("{name}.yaml"), scenario }
        })
        .collect()
}

fn spec(script: &str) -> AdapterSpec {
    let mut spec = AdapterSpec::new(&format!("python3 {}", fixture(script).display()));
    spec.hello_deadline = Duration::from_secs(3);
    spec
}

fn run(script: &str, scenarios: Vec<LoadedScenario>) -> Result<SuiteRun, StartError> {
    let options = SuiteOptions { deadline: Duration::from_secs(2), ..SuiteOptions::default() };
    run_suite(scenarios, &Target::Adapter(spec(script)), &options, &mut |_| {})
}

fn verdicts(run: &SuiteRun) -> Vec<(VerdictKind, String)> {
    run.results.iter().map(|r: &ScenarioResult| (r.verdict.kind, r.verdict.reason.clone().unwrap_or_default())).collect()
}

/// Processes whose command line mentions `needle` and that still run (zombies do not).
fn running(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc") {
        let dir = entry.expect("entry").path();
        let (Ok(cmd), Ok(stat)) = (std::fs::read(dir.join("cmdline")), std::fs::read_to_string(dir.join("stat"))) else { continue };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let zombie = stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'));
        if cmd.contains(needle) && !zombie {
            found.push(format!("{}: {cmd}", dir.display()));
        }
    }
    found
}

fn assert_error_then_pass(script: &str, touched: &[usize], seen: &str) {
    let run = run(script, three()).expect("the adapter starts");
    let v = verdicts(&run);
    assert_eq!(v.len(), 3, "every scenario gets a verdict");
    for (i, (kind, reason)) in v.iter().enumerate() {
        if touched.contains(&i) {
            assert_eq!(*kind, VerdictKind::Error, "{script}, scenario {i}: {reason}");
            assert!(reason.contains(seen), "{script}, scenario {i}: the ERROR says what was seen ({seen:?}): {reason}");
            assert!(reason.contains("last requests:"), "{script}, scenario {i}: the ERROR quotes the last requests: {reason}");
        } else {
            assert_eq!(*kind, VerdictKind::Pass, "{script}, scenario {i}: a fresh process serves it: {reason}");
        }
    }
    assert!(running(script).is_empty(), "{script} left processes: {:?}", running(script));
}

#[test]
fn an_adapter_that_exits_at_start_gets_an_error_per_scenario_with_its_stderr() {
    let run = run("hostile/exits_at_start.py", three()).expect("a start failure is per scenario, not fatal");
    for (kind, reason) in verdicts(&run) {
        assert_eq!(kind, VerdictKind::Error);
        assert!(reason.contains("could not start"), "{reason}");
        assert!(reason.contains("refusing to start") || reason.contains("not tried"), "the stderr tail or the give-up: {reason}");
    }
}

#[test]
fn an_adapter_that_never_says_hello_is_given_up_on() {
    let run = run("hostile/no_hello.py", three()).expect("not fatal");
    let v = verdicts(&run);
    assert!(v.iter().all(|(k, _)| *k == VerdictKind::Error), "{v:?}");
    assert!(v[0].1.contains("said no hello within 3s"), "{v:?}");
    assert!(running("hostile/no_hello.py").is_empty(), "{:?}", running("hostile/no_hello.py"));
}

#[test]
fn an_adapter_that_dies_in_a_scenario_is_error_there_and_replaced() {
    assert_error_then_pass("hostile/dies_mid_scenario.py", &[0, 2], "exited");
}

#[test]
fn an_adapter_that_hangs_on_one_operation_is_error_there_and_killed() {
    assert_error_then_pass("hostile/hangs_on_readline.py", &[0], "did not complete within 2s");
}

#[test]
fn a_line_that_is_not_json_is_error() {
    assert_error_then_pass("hostile/not_json.py", &[0, 1, 2], "not a JSON object");
}

#[test]
fn a_reply_to_an_unknown_id_is_error() {
    assert_error_then_pass("hostile/unknown_id.py", &[0, 1, 2], "never sent");
}

#[test]
fn a_second_final_reply_is_error() {
    assert_error_then_pass("hostile/answers_twice.py", &[0, 1, 2], "second final reply");
}

#[test]
fn a_hundred_megabyte_line_is_error_and_memory_stays_bounded() {
    assert_error_then_pass("hostile/huge_line.py", &[0, 2], "longer than 16 MiB");
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let peak_kib: u64 = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).expect("VmHWM");
    assert!(peak_kib < 200 * 1024, "the harness peaked at {peak_kib} KiB reading a 100 MB line");
}

#[test]
fn a_flood_on_stderr_changes_nothing() {
    let run = run("hostile/floods_stderr.py", three()).expect("starts");
    assert!(verdicts(&run).iter().all(|(k, _)| *k == VerdictKind::Pass), "{:?}", verdicts(&run));
}

#[test]
fn an_adapter_that_ignores_sigterm_and_leaves_a_child_is_killed_with_its_group() {
    let run = run("hostile/ignores_sigterm.py", three()).expect("starts");
    assert!(verdicts(&run).iter().all(|(k, _)| *k == VerdictKind::Pass), "{:?}", verdicts(&run));
    assert!(running("hostile/ignores_sigterm.py").is_empty(), "{:?}", running("hostile/ignores_sigterm.py"));
    assert!(running("sleep 1000").is_empty(), "its child is gone too: {:?}", running("sleep 1000"));
}

#[test]
fn another_protocol_version_or_a_missing_command_stops_the_run_with_one_line() {
    let Err(StartError::Version(line)) = run("hostile/wrong_protocol.py", three()) else { panic!("protocol 99 must stop the run") };
    assert!(line.contains("version 99") && line.contains("docs/driver-protocol.md"), "{line}");
    let options = SuiteOptions::default();
    let missing = Target::Adapter(AdapterSpec::new("/nonexistent/adapter --flag"));
    let Err(StartError::Command(line)) = run_suite(three(), &missing, &options, &mut |_| {}) else { panic!("a missing command must stop the run") };
    assert!(line.contains("/nonexistent/adapter") && !line.contains('\n'), "{line}");
}

/// A version 1 adapter sends no `started`: the harness waits a grace period instead, the
/// verdicts stand, and the run counts the operations it went on with (the report's note).
#[test]
fn a_version_1_adapter_without_started_is_usable_with_reduced_precision() {
    let text = "name: read-started-first\nspec: test\nsubject: stream-client\nsteps:\n  - subject: readline\n    as: line\n  - peer: {send: \"a\\n\"}\n  - await: line\n    expect: {ok: \"a\\n\"}\n";
    let scenario = parse("read-started-first.yaml".as_ref(), text).unwrap_or_else(|e| panic!("{e:?}"));
    let mut scenarios = three();
    scenarios.push(LoadedScenario { path: "read-started-first.yaml".into(), id: "read-started-first.yaml".into(), scenario });
    let run = run("v1_no_started.py", scenarios).expect("a version 1 adapter is accepted");
    assert!(verdicts(&run).iter().all(|(k, _)| *k == VerdictKind::Pass), "{:?}", verdicts(&run));
    assert_eq!(run.hello.as_ref().map(|h| h.protocol), Some(1));
    assert!(run.unstarted >= 1, "the read that waited went on without `started`");
}
