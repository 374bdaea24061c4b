//! Running many scenarios against one implementation, on `jobs` workers at once, with progress
//! as each finishes and the results in the scenarios' order whatever `jobs` is.
//!
//! Each worker owns its subject: a fresh reference per scenario, or one adapter process that
//! serves scenario after scenario (`reset` between them, a fresh process after an ERROR).

use crate::report::ScenarioResult;
use crate::run::subject::driver::StartError;
use crate::run::subject::process::{AdapterSpec, ProcessSubject};
use crate::run::subject::reference::Reference;
use crate::run::world::{loopback, sim_only_reason, WorldKind};
use crate::run::{run, RunOptions, LOOPBACK_DEADLINE};
use crate::scenario::load::LoadedScenario;
use crate::scenario::{Action, Scenario};
use crate::transcript::Transcript;
use crate::verdict::{judge, Strictness};
use crate::vocab::wire::Hello;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use streamcheck_impl::stream::TokioNet;

/// What the scenarios run against.
#[derive(Clone, Debug)]
pub enum Target {
    /// The reference implementation in the simulation (the default).
    SimReference,
    /// The reference implementation in process, over real loopback TCP.
    LoopbackReference,
    /// An adapter process over the driver protocol, on loopback.
    Adapter(AdapterSpec),
}

impl Target {
    pub fn world(&self) -> WorldKind {
        match self {
            Target::SimReference => WorldKind::Sim,
            _ => WorldKind::Loopback,
        }
    }
}

/// How a suite runs.
#[derive(Clone, Debug)]
pub struct SuiteOptions {
    pub seed: u64,
    pub jobs: usize,
    /// The step deadline on loopback (wall time).
    pub deadline: Duration,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        SuiteOptions { seed: 0, jobs: 1, deadline: LOOPBACK_DEADLINE }
    }
}

/// A finished suite.
pub struct SuiteRun {
    pub results: Vec<ScenarioResult>,
    /// The adapter's hello, when the target is an adapter that said one.
    pub hello: Option<Hello>,
    /// Operations the harness went on with without the adapter's `started` (reduced precision).
    pub unstarted: usize,
}

/// Runs `scenarios` against `target`. `progress` sees each result as it finishes. `Err` only when
/// the adapter cannot be used at all (its command cannot run, or it speaks another protocol).
pub fn run_suite(scenarios: Vec<LoadedScenario>, target: &Target, options: &SuiteOptions, progress: &mut dyn FnMut(&ScenarioResult)) -> Result<SuiteRun, StartError> {
    let hello = match target {
        Target::Adapter(spec) => preflight(spec)?,
        _ => None,
    };
    let total = scenarios.len();
    let scenarios = Arc::new(scenarios);
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<(usize, ScenarioResult, usize)>();
    let mut slots: Vec<Option<ScenarioResult>> = (0..total).map(|_| None).collect();
    let mut unstarted = 0;
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, total.max(1)) {
            let (scenarios, next, tx) = (scenarios.clone(), next.clone(), tx.clone());
            scope.spawn(move || worker(&scenarios, &next, target, options, tx));
        }
        drop(tx);
        for (i, result, missed) in rx {
            progress(&result);
            unstarted += missed;
            slots[i] = Some(result);
        }
    });
    let results = slots.into_iter().map(|r| r.expect("every scenario has a result")).collect();
    Ok(SuiteRun { results, hello, unstarted })
}

/// Starts the adapter once, so that a command that cannot run stops the run with one line.
fn preflight(spec: &AdapterSpec) -> Result<Option<Hello>, StartError> {
    let rt = runtime();
    rt.block_on(async {
        let subject = ProcessSubject::new(spec.clone());
        let hello = match subject.ready().await {
            Ok(h) => Some(h),
            Err(StartError::Failed(_)) => None,
            Err(fatal) => return Err(fatal),
        };
        subject.stop().await;
        Ok(hello)
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

fn worker(scenarios: &[LoadedScenario], next: &AtomicUsize, target: &Target, options: &SuiteOptions, tx: mpsc::Sender<(usize, ScenarioResult, usize)>) {
    let rt = runtime();
    let adapter = match target {
        Target::Adapter(spec) => Some(Arc::new(ProcessSubject::new(AdapterSpec { deadline: options.deadline, ..spec.clone() }))),
        _ => None,
    };
    loop {
        let i = next.fetch_add(1, Ordering::SeqCst);
        let Some(loaded) = scenarios.get(i) else { break };
        let before = adapter.as_ref().map_or(0, |a| a.unstarted());
        let transcript = match target {
            // turmoil builds its own runtimes, so the simulation runs outside ours.
            Target::SimReference => run(&loaded.scenario, &RunOptions { seed: options.seed, ..RunOptions::default() }),
            _ => rt.block_on(run_one(&loaded.scenario, target, options, adapter.as_ref())),
        };
        let missed = adapter.as_ref().map_or(0, |a| a.unstarted().saturating_sub(before));
        let verdict = judge(&loaded.scenario, &transcript, Strictness::Exact);
        if tx.send((i, ScenarioResult { loaded: loaded.clone(), verdict, transcript }, missed)).is_err() {
            break;
        }
    }
    if let Some(a) = adapter {
        rt.block_on(a.stop());
    }
}

/// One scenario on loopback.
async fn run_one(scenario: &Scenario, target: &Target, options: &SuiteOptions, adapter: Option<&Arc<ProcessSubject>>) -> Transcript {
    let real = RunOptions { seed: options.seed, step_deadline: options.deadline, plan: None };
    match (target, adapter) {
        (Target::SimReference, _) => unreachable!("the simulation runs outside the runtime"),
        _ if sim_only_reason(scenario).is_some() => {
            let why = format!("sim only: this scenario {}", sim_only_reason(scenario).expect("checked"));
            Transcript::unsupported(options.seed, WorldKind::Loopback, why)
        }
        (Target::LoopbackReference, _) => loopback::run(scenario, &real, Arc::new(Reference::<TokioNet>::new())).await,
        (_, Some(subject)) => {
            let (mut t, evidence) = run_on_adapter(scenario, &real, subject).await;
            if let Some(err) = t.harness_error.as_mut() {
                err.push_str(&evidence);
            }
            t
        }
        (Target::Adapter(_), None) => unreachable!("an adapter target always has its subject"),
    }
}

/// One scenario through an adapter on loopback: the transcript (with the CPython version the
/// adapter runs) and, when the run broke, what the adapter showed (its last requests, the tail of
/// its stderr). The adapter is reset for the next scenario, or killed if it broke.
pub async fn run_on_adapter(scenario: &Scenario, options: &RunOptions, subject: &Arc<ProcessSubject>) -> (Transcript, String) {
    let hello = match subject.ready().await {
        Ok(h) => h,
        Err(e) => {
            let error = Some(format!("the adapter could not start: {}", e.message()));
            return (Transcript { harness_error: error, world: WorldKind::Loopback, ..Transcript::default() }, String::new());
        }
    };
    if let Some(why) = unsupported_by(&hello, scenario) {
        return (Transcript::unsupported(options.seed, WorldKind::Loopback, why), String::new());
    }
    let mut t = loopback::run(scenario, options, subject.clone()).await;
    t.cpython = hello.cpython.clone();
    let mut evidence = if t.harness_error.is_some() { crate::run::subject::Subject::evidence(subject.as_ref()) } else { String::new() };
    if let Err((why, shown)) = subject.end_scenario(t.harness_error.is_none()).await {
        if t.harness_error.is_none() {
            t.harness_error = Some(why);
            evidence = shown;
        }
    }
    (t, evidence)
}

/// Why the adapter's hello rules `scenario` out before it starts, if it does.
pub fn unsupported_by(hello: &Hello, scenario: &Scenario) -> Option<String> {
    let needs = if scenario.subject.is_stream() { "stream" } else if scenario.subject.is_client() { "ws-client" } else { "ws-server" };
    if !hello.capabilities.iter().any(|c| c == needs) {
        return Some(format!("the adapter's capabilities are [{}]; this scenario needs `{needs}`", hello.capabilities.join(", ")));
    }
    let mut ops: Vec<&'static str> = vec![if scenario.subject.is_client() { "open_connection" } else { "start_server" }];
    if scenario.config.high_water.is_some() || scenario.config.low_water.is_some() {
        ops.push("set_write_buffer_limits");
    }
    ops.extend(scenario.steps.iter().filter_map(|s| match &s.action {
        Action::Subject(op) => Some(op.name()),
        _ => None,
    }));
    let lacking: Vec<&str> = ops.into_iter().filter(|op| hello.unsupported.iter().any(|u| u == op)).collect();
    if lacking.is_empty() {
        return None;
    }
    let mut lacking = lacking;
    lacking.dedup();
    Some(format!("the adapter lists `{}` as unsupported", lacking.join("`, `")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load::parse;

    fn scenario(config: &str, steps: &str) -> Scenario {
        let text = format!("name: t\nspec: s\nsubject: stream-server\n{config}steps:\n{steps}");
        parse("t.yaml".as_ref(), &text).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn hello(capabilities: &[&str], unsupported: &[&str]) -> Hello {
        Hello {
            protocol: 2,
            name: "x".into(),
            capabilities: capabilities.iter().map(|s| s.to_string()).collect(),
            unsupported: unsupported.iter().map(|s| s.to_string()).collect(),
            ..Hello::default()
        }
    }

    #[test]
    fn the_hello_rules_out_scenarios_before_they_start() {
        let plain = scenario("", "  - subject: drain\n");
        assert_eq!(unsupported_by(&hello(&["stream"], &[]), &plain), None);
        assert!(unsupported_by(&hello(&["ws-server"], &[]), &plain).unwrap().contains("needs `stream`"));
        assert!(unsupported_by(&hello(&["stream"], &["drain"]), &plain).unwrap().contains("`drain`"));
        assert!(unsupported_by(&hello(&["stream"], &["start_server"]), &plain).unwrap().contains("`start_server`"), "the session op counts");
        let marks = scenario("config: {high_water: 10}\n", "  - subject: drain\n");
        assert!(unsupported_by(&hello(&["stream"], &["set_write_buffer_limits"]), &marks).unwrap().contains("set_write_buffer_limits"));
        assert_eq!(unsupported_by(&hello(&["stream"], &["set_write_buffer_limits"]), &plain), None);
    }
}
