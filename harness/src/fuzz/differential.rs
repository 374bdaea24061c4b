//! Differential fuzzing: random stream scenarios ([`super::cases`]) played on real loopback TCP
//! against two implementations until their outcomes differ; the first difference is shrunk
//! (fewer steps, shorter data) and written out as a scenario expecting the second one's outcomes
//! (the oracle: `--against`).

use crate::fuzz::chunks::as_scenario;
use crate::run::subject::process::{AdapterSpec, ProcessSubject};
use crate::run::subject::reference::Reference;
use crate::run::world::loopback;
use crate::run::{RunOptions, SendPlan};
use crate::scenario::load::{from_yaml, to_yaml};
use crate::fuzz::cases::scenarios;
use crate::scenario::{Scenario, VersionRange};
use crate::suite::run_on_adapter;
use crate::transcript::Transcript;
use crate::vocab::outcome::Outcome;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::Duration;
use streamcheck_impl::stream::TokioNet;

/// One implementation in a differential run.
#[derive(Clone, Debug)]
pub enum Side {
    /// The reference implementation, in process (a fresh one per scenario).
    Reference,
    /// An adapter process speaking the driver protocol, serving scenario after scenario.
    Adapter(AdapterSpec),
}

impl Side {
    pub fn label(&self) -> String {
        match self {
            Side::Reference => "the reference implementation (in process)".into(),
            Side::Adapter(spec) => format!("the adapter `{}`", spec.command),
        }
    }
}

/// How a differential run goes.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    pub cases: u32,
    /// The same seed gives the same cases.
    pub seed: u64,
    /// How long any one step may take (wall time) before that side's run is broken.
    pub deadline: Duration,
}

impl Default for DiffOptions {
    fn default() -> Self {
        // Every generated step takes milliseconds; a short deadline keeps shrinking a hang quick.
        DiffOptions { cases: 1000, seed: 0, deadline: Duration::from_secs(1) }
    }
}

/// How a differential run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum DiffResult {
    Agreed { cases: u32 },
    /// The first disagreement, shrunk: `step` (1-based) of `scenario_yaml`, where `a` and `b`
    /// are what each side did; the scenario expects `b`'s outcomes. `cases_run` counts the
    /// cases up to the one that found it.
    Disagreed { cases_run: u32, step: usize, a: String, b: String, scenario_yaml: String },
}

/// Runs `options.cases` random scenarios on both sides and returns the first disagreement,
/// shrunk. `progress` hears the number of cases run every 100 cases. `Err`: a side could not
/// start at all (its command does not run, or speaks another protocol).
pub fn differential(a: &Side, b: &Side, options: &DiffOptions, progress: &mut dyn FnMut(u32)) -> Result<DiffResult, String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("cannot make a tokio runtime: {e}"))?;
    let first = rt.block_on(Running::start(a, options.deadline))?;
    let second = rt.block_on(Running::start(b, options.deadline)).inspect_err(|_| rt.block_on(first.stop()))?;
    let result = search(&rt, [&first, &second], options, progress);
    rt.block_on(async {
        first.stop().await;
        second.stop().await;
    });
    result
}

/// One side, started: an adapter process runs from start to end; the reference is made per run.
struct Running {
    label: String,
    adapter: Option<Arc<ProcessSubject>>,
    /// The CPython version the adapter says it runs, if any.
    cpython: Option<String>,
}

/// One run of one scenario on one side, and the adapter's last requests and stderr if it broke.
struct Ran {
    transcript: Transcript,
    evidence: String,
}

impl From<Transcript> for Ran {
    fn from(transcript: Transcript) -> Ran {
        Ran { transcript, evidence: String::new() }
    }
}

impl Running {
    async fn start(side: &Side, deadline: Duration) -> Result<Running, String> {
        let Side::Adapter(spec) = side else { return Ok(Running { label: side.label(), adapter: None, cpython: None }) };
        let subject = Arc::new(ProcessSubject::new(AdapterSpec { deadline, ..spec.clone() }));
        match subject.ready().await {
            Ok(hello) => Ok(Running { label: format!("{} {} (`{}`)", hello.name, hello.version, spec.command), adapter: Some(subject), cpython: hello.cpython }),
            Err(e) => {
                subject.stop().await;
                Err(format!("{} could not start: {}", side.label(), e.message()))
            }
        }
    }

    async fn stop(&self) {
        if let Some(a) = &self.adapter {
            a.stop().await;
        }
    }

    /// Whether it runs CPython 3.13's semantics (or is no CPython at all): tuple separators.
    fn has_tuple_separators(&self) -> bool {
        let older = VersionRange::new("<3.13").expect("a literal range");
        self.cpython.as_deref().is_none_or(|v| !older.contains(v))
    }

    /// Runs `scenario` as the suite does, keeping the adapter's evidence apart so that the same
    /// harness error on both sides compares equal.
    async fn run(&self, scenario: &Scenario, options: &RunOptions) -> Ran {
        match &self.adapter {
            None => loopback::run(scenario, options, Arc::new(Reference::<TokioNet>::new())).await.into(),
            Some(subject) => {
                let (transcript, evidence) = run_on_adapter(scenario, options, subject).await;
                Ran { transcript, evidence }
            }
        }
    }
}

/// Where two runs first differ: the step (0-based) and what each side did there.
#[derive(Clone, Debug)]
struct Difference {
    step: usize,
    a: String,
    b: String,
}

/// The last failing case: after shrinking, the smallest.
struct Found {
    scenario: Scenario,
    difference: Difference,
    oracle: Transcript,
}

fn search(rt: &tokio::runtime::Runtime, sides: [&Running; 2], options: &DiffOptions, progress: &mut dyn FnMut(u32)) -> Result<DiffResult, String> {
    let run_options = RunOptions { seed: options.seed, step_deadline: options.deadline, plan: None };
    let strategy = scenarios(sides.iter().all(|s| s.has_tuple_separators()));
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&options.seed.to_le_bytes());
    let config = Config { cases: options.cases, failure_persistence: None, max_shrink_iters: 1024, max_shrink_time: 120_000, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let (cases, found_at, last) = (Cell::new(0u32), Cell::new(None::<u32>), RefCell::new(None::<Found>));
    let progress = RefCell::new(progress);
    let outcome = runner.run(&strategy, |scenario| {
        if found_at.get().is_none() {
            cases.set(cases.get() + 1);
            if cases.get() % 100 == 0 {
                (progress.borrow_mut())(cases.get());
            }
        }
        let (a, b) = rt.block_on(async { (sides[0].run(&scenario, &run_options).await, sides[1].run(&scenario, &run_options).await) });
        let Some(difference) = first_difference(&scenario, &a, &b) else { return Ok(()) };
        found_at.set(found_at.get().or(Some(cases.get())));
        let why = format!("step {}: {} / {}", difference.step + 1, difference.a, difference.b);
        *last.borrow_mut() = Some(Found { scenario, difference, oracle: b.transcript });
        Err(TestCaseError::fail(why))
    });
    match outcome {
        Ok(()) => Ok(DiffResult::Agreed { cases: cases.get() }),
        Err(TestError::Fail(_, _)) => {
            let found = last.into_inner().expect("a failing case was recorded");
            let case = found_at.get().unwrap_or(cases.get());
            let labels = [sides[0].label.as_str(), sides[1].label.as_str()];
            let scenario_yaml = saved_yaml(&found, labels, options.seed, case);
            let Difference { step, a, b } = found.difference;
            Ok(DiffResult::Disagreed { cases_run: case, step: step + 1, a, b, scenario_yaml })
        }
        Err(TestError::Abort(why)) => Err(format!("the fuzzer stopped: {why}")),
    }
}

/// What each step produced on one side (its outcome, if any).
fn outcomes<'t>(scenario: &Scenario, t: &'t Transcript) -> Vec<Option<&'t Outcome>> {
    (0..scenario.steps.len()).map(|i| t.outcome_of(i).and_then(|e| e.outcome.as_ref())).collect()
}

/// The first step whose outcomes differ (exactly, every field); a run that broke differs from
/// one that did not, and from one that broke otherwise.
fn first_difference(scenario: &Scenario, a: &Ran, b: &Ran) -> Option<Difference> {
    let (oa, ob) = (outcomes(scenario, &a.transcript), outcomes(scenario, &b.transcript));
    if let Some(step) = (0..oa.len()).find(|&i| oa[i] != ob[i]) {
        return Some(Difference { step, a: shown(oa[step], a), b: shown(ob[step], b) });
    }
    let ended = |r: &Ran| (r.transcript.harness_error.clone(), r.transcript.unsupported.clone());
    if ended(a) == ended(b) {
        return None;
    }
    let last_event = |r: &Ran| r.transcript.events.iter().filter_map(|e| e.step).max();
    let step = last_event(a).max(last_event(b)).map_or(0, |s| (s + 1).min(scenario.steps.len().saturating_sub(1)));
    Some(Difference { step, a: shown(None, a), b: shown(None, b) })
}

fn shown(outcome: Option<&Outcome>, ran: &Ran) -> String {
    match (outcome, &ran.transcript.harness_error, &ran.transcript.unsupported) {
        (Some(o), _, _) => o.show(),
        (None, Some(error), _) => format!("no outcome: the run broke: {error}{}", ran.evidence),
        (None, None, Some(why)) => format!("no outcome: unsupported: {why}"),
        (None, None, None) => "no outcome".into(),
    }
}

/// The smallest case as a scenario file: the oracle's outcomes as `expect`s, named and described.
fn saved_yaml(found: &Found, [a, b]: [&str; 2], seed: u64, case: u32) -> String {
    let mut s = found.scenario.clone();
    for (i, step) in s.steps.iter_mut().enumerate() {
        if let Some(o) = found.oracle.outcome_of(i).and_then(|e| e.outcome.clone()) {
            step.expect = Some(o);
        }
    }
    let d = &found.difference;
    let (step, b_did, a_did) = (d.step + 1, &d.b, &d.a);
    let description = format!("Found by differential fuzzing (seed {seed}, case {case}). A: {a}. B, whose outcomes are expected here: {b}. At step {step}, B gives {b_did}; A gave {a_did} instead.");
    // chunks::as_scenario writes the bytes readably; with no plan it changes nothing else.
    let written = as_scenario(&s, &SendPlan::default());
    let mut value: serde_json::Value = match from_yaml(&written) {
        Ok(v) => v,
        Err(e) => return format!("# could not write the scenario: {e}\n{written}"),
    };
    value["name"] = format!("fuzz-diff-{seed}-{case}").into();
    value["description"] = description.into();
    match to_yaml(&value) {
        Ok(yaml) => format!("# yaml-language-server: $schema=../../scenario.schema.json\n{yaml}"),
        Err(e) => format!("# could not write the scenario: {e}\n{written}"),
    }
}
