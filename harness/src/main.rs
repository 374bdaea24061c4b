//! `streamcheck`: run the suite, validate scenario files, print the schema, fuzz chunk boundaries.

use clap::{Parser, Subcommand};
use globset::Glob;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use streamcheck::fuzz::chunks::{fuzz, FuzzResult};
use streamcheck::report::{Report, ScenarioResult};
use streamcheck::run::{run, subject::Reference, RunOptions};
use streamcheck::scenario::load::{discover, load_dir, load_files, LoadedScenario};
use streamcheck::scenario::schema::scenario_schema;
use streamcheck::verdict::{judge, Strictness};

#[derive(Parser)]
#[command(name = "streamcheck", version, about = "Conformance and fault-injection tests for asyncio-style streams")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the scenarios against the reference implementation and writes the reports.
    Run {
        /// Only scenarios whose path (relative to the scenarios folder) matches this glob.
        #[arg(long)]
        filter: Option<String>,
        /// The simulation seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Where the reports go.
        #[arg(long, default_value = "reports/reference")]
        out: PathBuf,
        /// The scenarios folder.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
    },
    /// Validates scenario files (default: every file under scenarios/) and prints every error.
    Check {
        paths: Vec<PathBuf>,
    },
    /// Prints the JSON Schema of scenario files (or writes it with --write).
    Schema {
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Lists the scenarios.
    List {
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
    },
    /// Fuzzes chunk boundaries: re-splits the peer's sends and moves reads between the pieces.
    Fuzz {
        #[arg(long)]
        filter: Option<String>,
        /// Perturbations per scenario.
        #[arg(long, default_value_t = 64)]
        cases: u32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
    },
}

fn select(scenarios: &std::path::Path, filter: Option<&str>) -> Result<Vec<LoadedScenario>, ExitCode> {
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

fn cmd_run(filter: Option<String>, seed: u64, out: PathBuf, scenarios: PathBuf) -> ExitCode {
    let picked = match select(&scenarios, filter.as_deref()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let started = Instant::now();
    let total = picked.len();
    let mut results = Vec::with_capacity(total);
    let mut stderr = std::io::stderr();
    for (i, loaded) in picked.into_iter().enumerate() {
        let transcript = run(&loaded.scenario, &RunOptions { seed, ..RunOptions::default() });
        let verdict = judge(&loaded.scenario, &transcript, Strictness::Exact);
        let _ = writeln!(stderr, "[{:>3}/{total}] {:<13} {}", i + 1, verdict.kind.label(), loaded.id);
        if verdict.kind.is_failure() {
            let _ = writeln!(stderr, "          {}", verdict.explain().replace('\n', "\n          "));
        }
        results.push(ScenarioResult { loaded, verdict, transcript });
    }
    let report = Report {
        implementation: "reference".into(),
        description: "The reference implementation (impl/): asyncio streams reproduced from CPython 3.13.".into(),
        seed,
        results,
    };
    println!("\n| verdict | scenarios |\n|---|---|");
    for (kind, n) in report.counts() {
        println!("| {} | {n} |", kind.label());
    }
    println!("\n{} in {:.2}s", report.summary_line(), started.elapsed().as_secs_f64());
    if let Err(e) = report.write(&out) {
        eprintln!("cannot write the reports to {}: {e}", out.display());
        return ExitCode::from(2);
    }
    println!("reports: {}/report.md, report.json, junit.xml", out.display());
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
        match fuzz(&loaded.scenario, Arc::new(Reference), cases, seed, true) {
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

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run { filter, seed, out, scenarios } => cmd_run(filter, seed, out, scenarios),
        Command::Check { paths } => cmd_check(paths),
        Command::Schema { write } => {
            let schema = scenario_schema();
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
        Command::List { scenarios } => match select(&scenarios, None) {
            Ok(all) => {
                for l in all {
                    println!("{:<70} {}", l.id, l.scenario.spec);
                }
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Fuzz { filter, cases, seed, scenarios } => cmd_fuzz(filter, cases, seed, scenarios),
    }
}
