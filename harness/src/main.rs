//! `streamcheck`: run the suite (against the reference, an adapter, or an implementation of
//! implementations.yaml), validate scenario files, print the schemas, fuzz, serve the reference
//! over the driver protocol.

use clap::{Parser, Subcommand, ValueEnum};
use globset::Glob;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamcheck::fuzz::chunks::{fuzz, FuzzResult};
use streamcheck::fuzz::differential::{differential, DiffOptions, DiffResult, Side};
use std::collections::BTreeSet;
use streamcheck::report::{expected, Report, ScenarioResult};
use streamcheck::run::subject::process::AdapterSpec;
use streamcheck::run::subject::reference::Reference;
use streamcheck::scenario::load::{discover, load_dir, load_files, LoadedScenario};
use streamcheck::scenario::schema::scenario_schema;
use streamcheck::suite::{run_suite, SuiteOptions, Target};
use streamcheck::vocab::wire::driver_schema;
use streamcheck_impl::stream::TurmoilNet;

#[derive(Parser)]
#[command(name = "streamcheck", version, about = "Conformance and fault-injection tests for asyncio-style streams")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WorldArg {
    Sim,
    Loopback,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the scenarios against an implementation and writes the reports.
    Run {
        /// Only scenarios whose path (relative to the scenarios folder) matches this glob.
        #[arg(long)]
        filter: Option<String>,
        /// The simulation seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Where the reports go (default: reports/<implementation>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The scenarios folder.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
        /// An adapter speaking the driver protocol: `cmd:<command line>` (run by sh, on loopback).
        #[arg(long, conflicts_with = "implementation")]
        adapter: Option<String>,
        /// An implementation of implementations.yaml, by name (`streamcheck run --impl cpython-3.13`).
        #[arg(long = "impl", value_name = "NAME")]
        implementation: Option<String>,
        /// Where the reference runs when no adapter is given.
        #[arg(long, value_enum, default_value = "sim")]
        world: WorldArg,
        /// Scenarios run at once (one adapter process each).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// How long one step may take on loopback before it is an ERROR (wall time).
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        deadline: Duration,
        /// Known divergences (reports/<implementation>/expected.yaml): exit 0 when every FAIL and
        /// ERROR is listed with its verdict, non-zero on anything new or any stale entry.
        #[arg(long)]
        expect: Option<PathBuf>,
        /// A line for the report's notes (repeatable), e.g. a differential fuzzing result.
        #[arg(long)]
        note: Vec<String>,
    },
    /// Validates scenario files (default: every file under scenarios/) and prints every error.
    Check { paths: Vec<PathBuf> },
    /// Prints the JSON Schema of scenario files, or of the driver protocol's lines.
    Schema {
        #[arg(long)]
        write: Option<PathBuf>,
        /// The driver protocol's messages instead of scenario files.
        #[arg(long)]
        driver: bool,
    },
    /// Lists the scenarios (or, with --implementations, the names in implementations.yaml).
    List {
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
        #[arg(long)]
        implementations: bool,
    },
    /// Runs the `install` command of an implementation of implementations.yaml.
    Install { name: String },
    /// Compares two report.json files of one implementation; exits 1 on a regression.
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// Markdown for a pull-request comment instead of plain text.
        #[arg(long)]
        markdown: bool,
    },
    /// Writes reports/README.md and reports/index.html: the published reports side by side.
    Matrix {
        /// The reports folder: `reference` and every implementation of implementations.yaml.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
        /// Write README.md and index.html into the reports folder (default: print the Markdown).
        #[arg(long)]
        write: bool,
    },
    /// Fuzzes chunk boundaries (re-splits the peer's sends and moves reads between the pieces),
    /// or, with --impl and --against, plays random scenarios on two implementations until they
    /// disagree and prints the first disagreement, shrunk, as a scenario.
    Fuzz {
        #[arg(long)]
        filter: Option<String>,
        /// Perturbations per scenario, or random scenarios for a differential run.
        #[arg(long, default_value_t = 64)]
        cases: u32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
        /// Differential: the implementation judged (`reference`, a name of implementations.yaml, or `cmd:<command line>`).
        #[arg(long = "impl", value_name = "A", requires = "against")]
        implementation: Option<String>,
        /// Differential: the oracle whose outcomes the saved scenario expects.
        #[arg(long, value_name = "B", requires = "implementation")]
        against: Option<String>,
    },
    /// Serves an implementation over the driver protocol on stdin/stdout: `adapter reference`.
    Adapter {
        #[arg(value_parser = ["reference"])]
        which: String,
    },
}

fn select(scenarios: &Path, filter: Option<&str>) -> Result<Vec<LoadedScenario>, ExitCode> {
    let (loaded, errors) = load_dir(scenarios);
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{e}");
        }
        eprintln!("{} malformed scenario file(s): fix them (see `streamcheck check`) and run again", errors.len());
        return Err(ExitCode::from(2));
    }
    let Some(pattern) = filter else { return Ok(loaded) };
    let glob = match Glob::new(pattern) {
        Ok(g) => g.compile_matcher(),
        Err(e) => {
            eprintln!("--filter {pattern:?} is not a valid glob ({e}); try e.g. 'streams/limits/*'");
            return Err(ExitCode::from(2));
        }
    };
    let picked: Vec<_> = loaded.into_iter().filter(|l| glob.is_match(&l.id) || l.id.contains(pattern)).collect();
    if picked.is_empty() {
        eprintln!("no scenario matches {pattern:?}: `streamcheck list` shows their paths");
        return Err(ExitCode::from(2));
    }
    Ok(picked)
}

/// What `run` was pointed at: the target, the report's folder name, its description, and the
/// command line that reruns it.
fn target_of(adapter: Option<String>, implementation: Option<String>, world: WorldArg) -> Result<(Target, String, String, String), String> {
    if let Some(name) = implementation {
        let list = streamcheck::implementations::load(Path::new("implementations.yaml"))?;
        let i = streamcheck::implementations::find(&list, &name)?;
        let description = format!("{} ({}). Install it with `streamcheck install {}`.", i.description, i.homepage, i.name);
        let rerun = format!("streamcheck run --impl {}", i.name);
        return Ok((Target::Adapter(AdapterSpec::new(&i.start)), i.name, description, rerun));
    }
    if let Some(a) = adapter {
        let Some(command) = a.strip_prefix("cmd:").filter(|c| !c.trim().is_empty()) else {
            return Err(format!("--adapter {a:?}: write `--adapter 'cmd:<command line>'`, e.g. --adapter 'cmd:python3 adapters/python/asyncio_streams.py'"));
        };
        let name = "adapter".to_string();
        let rerun = format!("streamcheck run --adapter '{a}'");
        return Ok((Target::Adapter(AdapterSpec::new(command)), name, format!("The adapter `{command}`."), rerun));
    }
    let description = "The reference implementation (impl/): asyncio streams reproduced from CPython 3.13.".to_string();
    Ok(match world {
        WorldArg::Sim => (Target::SimReference, "reference".into(), description, "streamcheck run".into()),
        WorldArg::Loopback => (Target::LoopbackReference, "reference-loopback".into(), description, "streamcheck run --world loopback".into()),
    })
}

/// What `streamcheck run` was asked to do.
struct RunArgs {
    filter: Option<String>,
    seed: u64,
    out: Option<PathBuf>,
    scenarios: PathBuf,
    adapter: Option<String>,
    implementation: Option<String>,
    world: WorldArg,
    jobs: usize,
    deadline: Duration,
    expect: Option<PathBuf>,
    note: Vec<String>,
}

fn cmd_run(args: RunArgs) -> ExitCode {
    let RunArgs { filter, seed, out, scenarios, adapter, implementation, world, jobs, deadline, expect, note } = args;
    let (target, name, description, rerun) = match target_of(adapter, implementation, world) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let explained = match expect.as_deref().map(expected::load).transpose() {
        Ok(e) => e.unwrap_or_default(),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let Ok(corpus) = select(&scenarios, None) else { return ExitCode::from(2) };
    let corpus: BTreeSet<String> = corpus.into_iter().map(|l| l.id).collect();
    let picked = match select(&scenarios, filter.as_deref()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let started = Instant::now();
    let total = picked.len();
    let mut done = 0;
    let mut stderr = std::io::stderr();
    let options = SuiteOptions { seed, jobs, deadline };
    let mut progress = |r: &ScenarioResult| {
        done += 1;
        let _ = writeln!(stderr, "[{done:>3}/{total}] {:<13} {}", r.verdict.kind.label(), r.loaded.id);
        if r.verdict.kind.is_failure() {
            let _ = writeln!(stderr, "          {}", r.verdict.explain().replace('\n', "\n          "));
        }
    };
    let suite = match run_suite(picked, &target, &options, &mut progress) {
        Ok(s) => s,
        Err(fatal) => {
            eprintln!("{}", fatal.message());
            return ExitCode::from(2);
        }
    };
    let mut notes = note;
    if suite.unstarted > 0 {
        notes.push(format!(
            "timing precision is reduced: {} operation(s) sent no `started` within 100 ms, and the harness went on without it",
            suite.unstarted
        ));
    }
    let subject = suite.hello.as_ref().map(|h| {
        let on = h.cpython.as_ref().map_or(String::new(), |v| format!(" on CPython {v}"));
        format!("{} {}{on}, driver protocol {}", h.name, h.version, h.protocol)
    });
    let report = Report { implementation: name.clone(), description, seed, world: target.world(), subject, notes, explained, rerun, results: suite.results };
    println!("\n| verdict | scenarios |\n|---|---|");
    for (kind, n) in report.counts() {
        println!("| {} | {n} |", kind.label());
    }
    println!("\n{} in {:.2}s", report.summary_line(), started.elapsed().as_secs_f64());
    let out = out.unwrap_or_else(|| Path::new("reports").join(&name));
    if let Err(e) = report.write(&out) {
        eprintln!("cannot write the reports to {}: {e}", out.display());
        return ExitCode::from(2);
    }
    println!("reports: {}/report.md, report.json, junit.xml, report.html", out.display());
    if expect.is_some() {
        let gate = expected::gate(&report, &report.explained, &corpus);
        for u in &gate.unexpected {
            println!("unexpected: {u} (not in {}): fix it, or explain it there", expect.as_deref().map_or(String::new(), |p| p.display().to_string()));
        }
        for s in &gate.stale {
            println!("stale expectation: {s}");
        }
        return if gate.passes() { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    if report.results.iter().any(|r| r.verdict.kind.is_failure()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn cmd_check(paths: Vec<PathBuf>) -> ExitCode {
    let root = PathBuf::from("scenarios");
    let files: Vec<PathBuf> = if paths.is_empty() {
        match discover(&root) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("cannot list {}: {e}; run from the repository root or pass files", root.display());
                return ExitCode::from(2);
            }
        }
    } else {
        let mut files = Vec::new();
        for p in paths {
            if p.is_dir() {
                files.extend(discover(&p).unwrap_or_default());
            } else {
                files.push(p);
            }
        }
        files
    };
    let (loaded, errors) = load_files(&root, &files);
    for e in &errors {
        match &e.snippet {
            Some(s) => eprintln!("{s}\n"),
            None => eprintln!("{e}\n"),
        }
    }
    println!("{} file(s) checked: {} valid, {} error(s)", files.len(), loaded.len(), errors.len());
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn cmd_fuzz(filter: Option<String>, cases: u32, seed: u64, scenarios: PathBuf) -> ExitCode {
    let picked = match select(&scenarios, filter.as_deref()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let total = picked.len();
    let mut changed = 0;
    for (i, loaded) in picked.iter().enumerate() {
        match fuzz(&loaded.scenario, Arc::new(|| Arc::new(Reference::<TurmoilNet>::new())), cases, seed, true) {
            FuzzResult::NothingToFuzz => eprintln!("[{:>3}/{total}] skipped  {} (no send to re-split)", i + 1, loaded.id),
            FuzzResult::Stable { cases } => eprintln!("[{:>3}/{total}] stable   {} ({cases} cases)", i + 1, loaded.id),
            FuzzResult::Changed { canonical, fuzzed, scenario_yaml } => {
                changed += 1;
                eprintln!("[{:>3}/{total}] CHANGED  {}: canonical {}, fuzzed {fuzzed}", i + 1, loaded.id, canonical.label());
                println!("# ---- smallest case for {}: save it under scenarios/ to keep it\n{scenario_yaml}", loaded.id);
            }
        }
    }
    if changed > 0 {
        eprintln!("{changed} scenario(s) changed verdict under re-chunking");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn cmd_diff(old: &Path, new: &Path, markdown: bool) -> ExitCode {
    let (old, new) = match (streamcheck::report::matrix::read(old), streamcheck::report::matrix::read(new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let d = streamcheck::report::diff::diff(&old, &new);
    print!("{}", if markdown { d.markdown(&old, &new) } else { d.text(&old, &new) });
    if d.regressions.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn cmd_install(name: &str) -> ExitCode {
    let found = streamcheck::implementations::load(Path::new("implementations.yaml")).and_then(|l| streamcheck::implementations::find(&l, name));
    let i = match found {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("installing {}: {}", i.name, i.install);
    match std::process::Command::new("sh").arg("-c").arg(&i.install).status() {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            eprintln!("the install command of {} failed ({s}): run it by hand to see why", i.name);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cannot run sh for the install command: {e}");
            ExitCode::from(2)
        }
    }
}

fn cmd_matrix(reports: &Path, write: bool) -> ExitCode {
    let names = match streamcheck::implementations::load(Path::new("implementations.yaml")) {
        Ok(list) => std::iter::once("reference".to_string()).chain(list.into_iter().map(|i| i.name)).collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let published = match streamcheck::report::matrix::read_all(reports, &names) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}: regenerate the reports with `bash scripts/reports.sh`");
            return ExitCode::from(2);
        }
    };
    let page = streamcheck::report::matrix::render(&published);
    if !write {
        print!("{page}");
        return ExitCode::SUCCESS;
    }
    let html = streamcheck::report::matrix::render_html(&published);
    for (file, text) in [("README.md", page), ("index.html", html)] {
        if let Err(e) = std::fs::write(reports.join(file), text) {
            eprintln!("cannot write {}: {e}", reports.join(file).display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// `reference`, an implementation of implementations.yaml, or `cmd:<command line>`.
fn side(name: &str) -> Result<Side, String> {
    if name == "reference" {
        return Ok(Side::Reference);
    }
    if let Some(command) = name.strip_prefix("cmd:") {
        return Ok(Side::Adapter(AdapterSpec::new(command)));
    }
    let list = streamcheck::implementations::load(Path::new("implementations.yaml"))?;
    let i = streamcheck::implementations::find(&list, name).map_err(|e| format!("{e}, or `reference`, or `cmd:<command line>`"))?;
    Ok(Side::Adapter(AdapterSpec::new(&i.start)))
}

fn cmd_differential(a: &str, b: &str, cases: u32, seed: u64) -> ExitCode {
    let (a, b) = match (side(a), side(b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let options = DiffOptions { cases, seed, ..DiffOptions::default() };
    let mut progress = |n: u32| eprintln!("[{n:>6}/{cases}] agreed so far ({:.0}s)", started.elapsed().as_secs_f64());
    match differential(&a, &b, &options, &mut progress) {
        Ok(DiffResult::Agreed { cases }) => {
            println!("{cases} cases, seed {seed}: {} and {} agreed on every outcome ({:.0}s)", a.label(), b.label(), started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Ok(DiffResult::Disagreed { cases_run, step, a: did_a, b: did_b, scenario_yaml }) => {
            eprintln!("case {cases_run}: they disagree at step {step}: A gave {did_a}, B gave {did_b}");
            println!("# ---- the smallest case, expecting B's outcomes: save it under scenarios/ to keep it\n{scenario_yaml}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn cmd_schema(write: Option<PathBuf>, driver: bool) -> ExitCode {
    let schema = if driver { driver_schema() } else { scenario_schema() };
    match write {
        Some(path) => match std::fs::write(&path, schema) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cannot write {}: {e}", path.display());
                ExitCode::from(2)
            }
        },
        None => {
            print!("{schema}");
            ExitCode::SUCCESS
        }
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run { filter, seed, out, scenarios, adapter, implementation, world, jobs, deadline, expect, note } => {
            cmd_run(RunArgs { filter, seed, out, scenarios, adapter, implementation, world, jobs, deadline, expect, note })
        }
        Command::Check { paths } => cmd_check(paths),
        Command::Schema { write, driver } => cmd_schema(write, driver),
        Command::List { implementations: true, .. } => match streamcheck::implementations::load(Path::new("implementations.yaml")) {
            Ok(list) => {
                for i in list {
                    println!("{}", i.name);
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Command::Install { name } => cmd_install(&name),
        Command::Diff { old, new, markdown } => cmd_diff(&old, &new, markdown),
        Command::Matrix { reports, write } => cmd_matrix(&reports, write),
        Command::List { scenarios, .. } => match select(&scenarios, None) {
            Ok(all) => {
                for l in all {
                    println!("{:<70} {}", l.id, l.scenario.spec);
                }
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Fuzz { implementation: Some(a), against: Some(b), cases, seed, .. } => cmd_differential(&a, &b, cases, seed),
        Command::Fuzz { filter, cases, seed, scenarios, .. } => cmd_fuzz(filter, cases, seed, scenarios),
        Command::Adapter { .. } => match streamcheck::adapter::serve_reference() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("streamcheck adapter: {e}");
                ExitCode::from(2)
            }
        },
    }
}
