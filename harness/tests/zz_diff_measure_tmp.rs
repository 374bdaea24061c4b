//! Throwaway (not to be committed): measures the differential fuzzer. Run with --ignored.
use std::time::{Duration, Instant};
use streamcheck::fuzz::differential::{differential, DiffOptions, Side};
use streamcheck::run::subject::process::AdapterSpec;

fn side(var: &str) -> Side {
    match std::env::var(var).unwrap_or_default().as_str() {
        "" | "reference" => Side::Reference,
        cmd => Side::Adapter(AdapterSpec::new(cmd)),
    }
}

#[test]
#[ignore]
fn measure() {
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).unwrap();
    let cases: u32 = std::env::var("CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(100);
    let seed: u64 = std::env::var("SEED").ok().and_then(|c| c.parse().ok()).unwrap_or(1);
    let t = Instant::now();
    let r = differential(&side("SIDE_A"), &side("SIDE_B"), &DiffOptions { cases, seed, deadline: Duration::from_secs(5) }, &mut |n| eprintln!("{n} cases, {:?}", t.elapsed()));
    eprintln!("elapsed {:?}", t.elapsed());
    match r {
        Ok(streamcheck::fuzz::differential::DiffResult::Disagreed { cases_run, step, a, b, scenario_yaml }) => {
            eprintln!("DISAGREED after {cases_run} cases at step {step}\n  a: {a}\n  b: {b}\n{scenario_yaml}");
        }
        other => eprintln!("{other:?}"),
    }
}
