//! Malformed scenario files and the errors the loader reports for them.
//!
//! Every `tests/malformed/<case>.yaml` must fail to load, without panicking, and its errors,
//! rendered one per line as `line:col: message` (the path left out; `?` where the loader gives no
//! position; a newline inside a message is written `\n`), must equal `tests/malformed/<case>.expected`.
//! Expected output lives beside its case, the trycmd/insta habit.
//!
//! To add a case, write `<case>.yaml` and run
//!
//! ```text
//! STREAMCHECK_BLESS=1 cargo test -p streamcheck --test malformed
//! ```
//!
//! which (re)writes every `.expected` file from what the loader says today, the way
//! `cargo insta review` accepts snapshots. Review the diff (`git diff harness/tests/malformed`)
//! before committing: each message should say what was expected there and what to do next.
//! Blessing never writes an `.expected` for a case that loads, or that panics, and never deletes
//! an orphaned `.expected`.
//!
//! A property test also feeds arbitrary text, and arbitrary mutations of a valid scenario (delete
//! a character, duplicate a line, swap two lines, insert a YAML-significant character), into the
//! loader and checks that it never panics.

use proptest::prelude::*;
use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use streamcheck::scenario::load::{parse, ScenarioError};
use streamcheck::scenario::Scenario;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed")
}

/// `parse`, with a panic turned into `Err(panic message)`.
fn parse_catching(path: &Path, text: &str) -> Result<Result<Scenario, Vec<ScenarioError>>, String> {
    catch_unwind(AssertUnwindSafe(|| parse(path, text))).map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "(non-string panic payload)".into())
    })
}

/// The errors as the `.expected` files hold them: `line:col: message`, one per line.
fn render(errors: &[ScenarioError]) -> String {
    let pos = |n: Option<usize>| n.map_or("?".to_string(), |n| n.to_string());
    errors
        .iter()
        .map(|e| format!("{}:{}: {}\n", pos(e.line), pos(e.column), e.message.replace('\n', "\\n")))
        .collect()
}

/// Case names (file stems) with the given extension.
fn stems(ext: &str) -> BTreeSet<String> {
    std::fs::read_dir(corpus_dir())
        .expect("tests/malformed is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().and_then(|e| e.to_str()) == Some(ext))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn malformed_corpus_reports_the_expected_errors() {
    let bless = std::env::var_os("STREAMCHECK_BLESS").is_some_and(|v| v != "0" && !v.is_empty());
    let cases = stems("yaml");
    let expected_files = stems("expected");
    assert!(cases.len() >= 24, "the malformed corpus has only {} cases", cases.len());

    let mut problems = Vec::new();
    for stem in expected_files.difference(&cases) {
        problems.push(format!("{stem}.expected has no {stem}.yaml: delete it or add the case"));
    }

    for case in &cases {
        let yaml = corpus_dir().join(format!("{case}.yaml"));
        let expected_path = corpus_dir().join(format!("{case}.expected"));
        let text = std::fs::read_to_string(&yaml).unwrap_or_else(|e| panic!("cannot read {}: {e}", yaml.display()));
        let shown = Path::new("tests/malformed").join(format!("{case}.yaml"));
        let errors = match parse_catching(&shown, &text) {
            Err(panic) => {
                problems.push(format!("{case}.yaml: the loader PANICKED instead of reporting an error: {panic}"));
                continue;
            }
            Ok(Ok(_)) => {
                problems.push(format!("{case}.yaml: loaded without error, but every file in tests/malformed must be rejected"));
                continue;
            }
            Ok(Err(errors)) => errors,
        };
        if errors.is_empty() {
            problems.push(format!("{case}.yaml: parse returned Err with no errors in it"));
            continue;
        }
        let actual = render(&errors);
        if bless {
            if std::fs::read_to_string(&expected_path).ok().as_deref() != Some(actual.as_str()) {
                std::fs::write(&expected_path, &actual).unwrap_or_else(|e| panic!("cannot write {}: {e}", expected_path.display()));
                eprintln!("blessed {}", expected_path.display());
            }
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Err(_) => problems.push(format!(
                "{case}.yaml has no {case}.expected; it would be:\n{actual}(write it with STREAMCHECK_BLESS=1)"
            )),
            Ok(expected) if expected != actual => problems.push(format!(
                "{case}.yaml: errors differ from {case}.expected\n--- expected\n{expected}+++ actual\n{actual}(accept with STREAMCHECK_BLESS=1)"
            )),
            Ok(_) => {}
        }
    }

    assert!(
        problems.is_empty(),
        "{} of {} malformed cases failed:\n\n{}\n",
        problems.len(),
        cases.len(),
        problems.join("\n\n")
    );
}

/// Exercises much of the format, so that mutations reach many parts of the loader.
const VALID: &str = r#"# a comment
name: mutation-seed
spec: asyncio StreamReader.readuntil
description: "The seed for the mutation property test."
tags: [partial-separator, limit]
subject: stream-client
config: {limit: 16, high_water: 64, low_water: 16}
network: {latency: 2ms, tcp_capacity: 8}
informational: false
steps:
  - subject: {readuntil: "\r\n"}
    as: line
    pending_for: 1ms
    timeout: 1s
  - peer: {send: ["GET /", {hex: "0d"}], chunks: [2, 1], gap: 1ms}
  - peer: {sleep: 5ms}
  - peer: {send: {hex: "0a"}}
  - await: line
    expect: {ok: "GET /\r\n"}
    also_accept:
      - {ok: {hex: "474554202f0d0a"}}
    within: 100ms
  - subject: {write: {repeat: "ab", count: 3}}
  - peer: {recv: 6}
    expect: {ok: "ababab"}
  - subject: {readuntil: {any: ["\n", "\r\n"]}}
    as: other
  - peer: eof
  - await: other
    expect: {error: {type: IncompleteRead, partial: "", expected: null}}
  - subject: {readexactly: 4}
    expect:
      error:
        type: IncompleteRead
        partial: ""
        expected: 4
  - subject: at_eof
    expect: {ok: true}
  - peer: stop_reading
  - subject: {set_write_buffer_limits: {high: 8, low: 2}}
  - subject: drain
    expect: {ok: null}
  - peer: resume_reading
  - peer: close
"#;

#[test]
fn mutation_seed_is_valid() {
    if let Err(errors) = parse(Path::new("seed.yaml"), VALID) {
        panic!("the mutation seed must load, so that mutations start from a valid file:\n{}", render(&errors));
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    DeleteChar(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    InsertChar(usize, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let yaml_char = prop::sample::select(vec![
        ':', '-', ' ', '\t', '\n', '{', '}', '[', ']', ',', '"', '\'', '#', '&', '*', '!', '|', '>', '%', '@', '?', '\\', '0', 'x',
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteChar),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), yaml_char).prop_map(|(i, c)| Mutation::InsertChar(i, c)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    match *m {
        Mutation::DeleteChar(i) => {
            let mut chars: Vec<char> = text.chars().collect();
            if !chars.is_empty() {
                chars.remove(i % chars.len());
            }
            chars.into_iter().collect()
        }
        Mutation::InsertChar(i, c) => {
            let mut chars: Vec<char> = text.chars().collect();
            chars.insert(i % (chars.len() + 1), c);
            chars.into_iter().collect()
        }
        Mutation::DuplicateLine(i) => {
            if !lines.is_empty() {
                let i = i % lines.len();
                lines.insert(i, lines[i]);
            }
            lines.concat()
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                let n = lines.len();
                lines.swap(a % n, b % n);
            }
            lines.concat()
        }
    }
}

fn assert_no_panic(text: &str) -> Result<(), TestCaseError> {
    match parse_catching(Path::new("fuzz.yaml"), text) {
        Ok(_) => Ok(()),
        Err(panic) => Err(TestCaseError::fail(format!("parse panicked ({panic}) on input:\n{text}"))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text at all: an error or a scenario, never a panic.
    #[test]
    fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        assert_no_panic(&text)?;
    }

    /// Text made of YAML's own punctuation, which reaches deeper into the parser than random
    /// Unicode does.
    #[test]
    fn parse_never_panics_on_yaml_like_text(text in "([a-z_]{1,8}|[ \t\n:{}\\[\\],\"'#&*!|>%@?-]|-?[0-9]{1,20}|0x[0-9a-f]{1,4}){0,60}") {
        assert_no_panic(&text)?;
    }

    /// Small edits of a valid scenario: most still parse as YAML, so they reach the scenario
    /// checks rather than stopping at the YAML syntax.
    #[test]
    fn parse_never_panics_on_mutated_scenario(mutations in prop::collection::vec(mutation(), 1..6)) {
        let mut text = VALID.to_string();
        for m in &mutations {
            text = apply(&text, m);
        }
        assert_no_panic(&text)?;
    }
}

