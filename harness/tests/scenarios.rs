//! `cargo test` runs every scenario file under `scenarios/` as its own named test, and checks its
//! transcript against the insta snapshot in `scenarios/snapshots/`. Accept a changed transcript
//! with `cargo insta review`. Works under cargo-nextest too (`cargo nextest run --partition`).
//!
//! Each stream scenario also gets a `fuzz:` test: a bounded number of chunk-boundary
//! perturbations (STREAMCHECK_FUZZ_CASES, default 16) must keep its verdict. For more, run
//! `cargo run --release -p streamcheck -- fuzz --cases 1000`.

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use streamcheck::fuzz::chunks as fuzz;
use streamcheck::run::subject::reference::Reference;
use streamcheck::run::{run, RunOptions};
use streamcheck_impl::stream::TurmoilNet;
use streamcheck::scenario::load::{load_dir, LoadedScenario};
use streamcheck::verdict::{judge, Strictness};

fn scenarios_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn run_one(loaded: &LoadedScenario) -> Result<(), Failed> {
    let transcript = run(&loaded.scenario, &RunOptions::default());
    let verdict = judge(&loaded.scenario, &transcript, Strictness::Exact);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(scenarios_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_description(format!("{} — {}", loaded.scenario.name, loaded.scenario.spec));
    settings.set_omit_expression(true);
    let snapshot_name = loaded.id.trim_end_matches(".yaml").trim_end_matches(".yml").replace('/', "__");
    let text = format!("verdict: {}\n{}", verdict.explain(), transcript.to_text());
    let snapshot = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| settings.bind(|| insta::assert_snapshot!(snapshot_name, text))));
    if verdict.kind.is_failure() {
        return Err(format!("{}\n\ntranscript:\n{}", verdict.explain(), transcript.to_text()).into());
    }
    snapshot.map_err(|_| Failed::from("the transcript differs from its snapshot: review with `cargo insta review`"))
}

fn fuzz_one(loaded: &LoadedScenario, cases: u32) -> Result<(), Failed> {
    match fuzz::fuzz(&loaded.scenario, std::sync::Arc::new(|| std::sync::Arc::new(Reference::<TurmoilNet>::new())), cases, 0, true) {
        fuzz::FuzzResult::Changed { canonical, fuzzed, scenario_yaml } => Err(format!(
            "re-chunking changed the verdict from {}:\n{fuzzed}\n\nthe smallest case, ready to save under scenarios/:\n{scenario_yaml}",
            canonical.label()
        )
        .into()),
        _ => Ok(()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let (scenarios, errors) = load_dir(&scenarios_root());
    let mut trials: Vec<Trial> = errors
        .into_iter()
        .map(|e| {
            let name = e.path.strip_prefix(scenarios_root()).unwrap_or(&e.path).display().to_string();
            Trial::test(format!("{name} (malformed)"), move || Err(e.to_string().into()))
        })
        .collect();
    let fuzz_cases: u32 = std::env::var("STREAMCHECK_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(16);
    for loaded in scenarios {
        let fuzzed = loaded.clone();
        trials.push(Trial::test(loaded.id.clone(), move || run_one(&loaded)));
        if !fuzz::plan(&fuzzed.scenario).sends.is_empty() {
            trials.push(Trial::test(format!("fuzz:{}", fuzzed.id), move || fuzz_one(&fuzzed, fuzz_cases)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
