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
    let r = differential(&side("SIDE_A"), &side("SIDE_B"), &DiffOptions { cases, seed, deadline: Duration::from_secs(1) }, &mut |n| eprintln!("{n} cases, {:?}", t.elapsed()));
    eprintln!("elapsed {:?}", t.elapsed());
    match r {
        Ok(streamcheck::fuzz::differential::DiffResult::Disagreed { cases_run, step, a, b, scenario_yaml }) => {
            eprintln!("DISAGREED after {cases_run} cases at step {step}\n  a: {a}\n  b: {b}\n{scenario_yaml}");
        }
        other => eprintln!("{other:?}"),
    }
}

#[test]
#[ignore]
fn stats() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use streamcheck::scenario::Action;
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[9; 32]));
    let strategy = streamcheck::fuzz::differential::scenarios(true);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut steps = 0;
    let n = 400;
    for _ in 0..n {
        let s = strategy.new_tree(&mut runner).unwrap().current();
        steps += s.steps.len();
        for st in &s.steps {
            let k = match &st.action {
                Action::Peer(p) => format!("peer {}", format!("{p:?}").split([' ', '(', '{']).next().unwrap()),
                Action::Subject(op) => format!("subject {}{}", op.name(), if st.name.is_some() { " (as)" } else { "" }),
                Action::Await(_) => "await".into(),
            };
            *counts.entry(k).or_default() += 1;
        }
        let t = rt.block_on(streamcheck::run::world::loopback::run(&s, &Default::default(), Arc::new(streamcheck::run::subject::reference::Reference::<streamcheck_impl::stream::TokioNet>::new())));
        assert!(t.harness_error.is_none(), "{:?}", t.harness_error);
        for e in &t.events {
            if let (Some(o), Some(_)) = (&e.outcome, e.step) {
                let k = match o {
                    streamcheck::vocab::outcome::Outcome::Ok(_) => "ok".to_string(),
                    streamcheck::vocab::outcome::Outcome::Error(er) => format!("error {:?} {}", er.kind, er.message.clone().unwrap_or_default()),
                    streamcheck::vocab::outcome::Outcome::Timeout(_) => "timeout".into(),
                };
                *counts.entry(format!("  outcome {k}")).or_default() += 1;
            }
        }
    }
    eprintln!("{n} scenarios, {} steps on average", steps as f64 / n as f64);
    for (k, v) in counts { eprintln!("{v:>6} {k}"); }
}

#[test]
#[ignore]
fn step_costs() {
    use std::sync::Arc;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for text in [
        "name: x\nspec: x\nsubject: stream-client\nsteps:\n- subject: at_eof\n",
        "name: x\nspec: x\nsubject: stream-client\nsteps:\n- peer: {send: \"ab\\n\"}\n- subject: readline\n",
        "name: x\nspec: x\nsubject: stream-client\nsteps:\n- peer: {send: \"ab\\n\"}\n- peer: {send: \"ab\\n\"}\n- peer: {send: \"ab\\n\"}\n- peer: {send: \"ab\\n\"}\n",
        "name: x\nspec: x\nsubject: stream-client\nsteps:\n- peer: eof\n- subject: at_eof\n",
        "name: x\nspec: x\nsubject: stream-client\nsteps:\n- subject: {write: \"ab\"}\n- peer: {recv: 2}\n  expect: {ok: \"ab\"}\n",
        "name: x\nspec: x\nsubject: stream-client\nsteps:\n- subject: write_eof\n- peer: {recv: all}\n  expect: {ok: \"\"}\n",
    ] {
        let s = streamcheck::scenario::load::parse(std::path::Path::new("x"), text).unwrap();
        let t = Instant::now();
        for _ in 0..50 {
            let tr = rt.block_on(streamcheck::run::world::loopback::run(&s, &Default::default(), Arc::new(streamcheck::run::subject::reference::Reference::<streamcheck_impl::stream::TokioNet>::new())));
            assert!(tr.harness_error.is_none());
        }
        eprintln!("{:>8.2?} per run: {}", t.elapsed() / 50, text.replace('\n', " | "));
    }
}

#[test]
#[ignore]
fn slowest() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use std::sync::Arc;
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[9; 32]));
    let strategy = streamcheck::fuzz::differential::scenarios(true);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut times = vec![];
    let total = Instant::now();
    for _ in 0..200 {
        let s = strategy.new_tree(&mut runner).unwrap().current();
        let t = Instant::now();
        let tr = rt.block_on(streamcheck::run::world::loopback::run(&s, &Default::default(), Arc::new(streamcheck::run::subject::reference::Reference::<streamcheck_impl::stream::TokioNet>::new())));
        times.push((t.elapsed(), tr.to_text()));
    }
    eprintln!("total {:?}", total.elapsed());
    times.sort_by_key(|t| std::cmp::Reverse(t.0));
    for (d, text) in times.iter().take(3) { eprintln!("{d:?}\n{text}"); }
    let median = times[times.len() / 2].0;
    eprintln!("median {median:?}");
}

#[test]
#[ignore]
fn early_reads_really_wait() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use std::sync::Arc;
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[5; 32]));
    let strategy = streamcheck::fuzz::differential::scenarios(true);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (mut early, mut bad) = (0, 0);
    for _ in 0..2000 {
        let mut s = strategy.new_tree(&mut runner).unwrap().current();
        for st in s.steps.iter_mut() {
            if st.name.is_some() {
                st.pending_for = Some(streamcheck::scenario::Dur(Duration::from_millis(3)));
                early += 1;
            }
        }
        let tr = rt.block_on(streamcheck::run::world::loopback::run(&s, &Default::default(), Arc::new(streamcheck::run::subject::reference::Reference::<streamcheck_impl::stream::TokioNet>::new())));
        assert!(tr.harness_error.is_none(), "{:?}", tr.harness_error);
        if tr.events.iter().any(|e| e.still_pending == Some(false)) {
            bad += 1;
            if bad <= 3 { eprintln!("{}", tr.to_text()); }
        }
    }
    eprintln!("{early} early reads, {bad} scenarios with one that did not wait");
    assert_eq!(bad, 0);
}
