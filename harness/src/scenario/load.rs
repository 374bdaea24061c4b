//! Finding and loading scenario files. The YAML crate (serde-saphyr) is used here and nowhere
//! else, so swapping it touches one file.

use super::check::check;
use super::Scenario;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A mistake in a scenario file: where it is and what was expected there.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// The message with the offending lines quoted, for terminals.
    pub snippet: Option<String>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.path.display(), self.message),
            _ => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

/// A scenario and the file it came from.
#[derive(Clone, Debug)]
pub struct LoadedScenario {
    pub path: PathBuf,
    /// The path relative to the scenarios root, with `/` separators: the test's name.
    pub id: String,
    pub scenario: Scenario,
}

/// Every `.yaml`/`.yml` file under `root`, sorted, so runs and test lists are stable.
pub fn discover(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn from_yaml_error(path: &Path, e: &serde_saphyr::Error) -> ScenarioError {
    use serde_saphyr::MessageFormatter;
    let location = e.location();
    // The bare message, without serde-saphyr's own location prefix or suffix: we print ours.
    let message = plain_words(&serde_saphyr::DefaultMessageFormatter.format_message(e.without_snippet()));
    ScenarioError {
        path: path.to_path_buf(),
        line: location.as_ref().map(|l| l.line() as usize),
        column: location.as_ref().map(|l| l.column() as usize),
        message,
        snippet: Some(e.to_string().replace("<input>", &path.display().to_string())),
    }
}

/// serde's wording, made plain for people who write scenarios rather than Rust.
fn plain_words(message: &str) -> String {
    let m = message.replace("unknown variant", "unknown name").replace(", set DuplicateKeyPolicy in Options if acceptable", ": each key appears once");
    if m.contains("tabs disallowed") {
        return format!("{m}: indent with spaces, not tabs");
    }
    if m == "unexpected end of input" {
        return "the file has no scenario: a scenario needs name, spec, subject and steps (see scenarios/streams for examples)".into();
    }
    if m == "expected mapping start" {
        return "expected a map here (a scenario file is a map with name, spec, subject and steps)".into();
    }
    if m == "invalid i64" || m == "invalid u64" {
        return "expected an integer here".into();
    }
    if let Some(field) = m.strip_prefix("missing field ") {
        return format!("missing field {field}: a scenario needs name, spec, subject and steps");
    }
    if m == "unexpected value for unit enum variant" {
        return "this operation takes no argument: write it as a bare word, e.g. `subject: readline`".into();
    }
    m
}

/// Writes any value as YAML (the fuzzer saves its cases as scenarios this way).
pub fn to_yaml<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_saphyr::to_string(value).map_err(|e| e.to_string())
}

/// Reads any value from YAML, for tests and tools; scenarios go through [`parse`].
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}

/// Where each step starts, for errors found after parsing.
#[derive(Deserialize)]
struct StepPositions {
    #[serde(default)]
    steps: Vec<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
}

/// Parses one scenario from text. Returns every error found: a YAML/type error stops parsing,
/// and then the checks across steps run and report all they find.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, Vec<ScenarioError>> {
    let scenario: Scenario = serde_saphyr::from_str(text).map_err(|e| vec![from_yaml_error(path, &e)])?;
    let positions: Vec<(usize, usize)> = serde_saphyr::from_str::<StepPositions>(text)
        .map(|p| p.steps.iter().map(|s| (s.referenced.line() as usize, s.referenced.column() as usize)).collect())
        .unwrap_or_default();
    let errors: Vec<ScenarioError> = check(&scenario)
        .into_iter()
        .map(|(step, message)| {
            let at = step.and_then(|i| positions.get(i).copied());
            ScenarioError { path: path.to_path_buf(), line: at.map(|a| a.0), column: at.map(|a| a.1), message, snippet: None }
        })
        .collect();
    let mut errors = errors;
    errors.sort_by_key(|e| (e.line.unwrap_or(0), e.column.unwrap_or(0)));
    if errors.is_empty() {
        Ok(scenario)
    } else {
        Err(errors)
    }
}

/// Loads every scenario under `root`. Returns the scenarios that loaded and every error found
/// (unreadable files, malformed files, duplicate names).
pub fn load_dir(root: &Path) -> (Vec<LoadedScenario>, Vec<ScenarioError>) {
    let paths = match discover(root) {
        Ok(p) => p,
        Err(e) => {
            return (
                vec![],
                vec![ScenarioError {
                    path: root.to_path_buf(),
                    line: None,
                    column: None,
                    message: format!("cannot list scenarios: {e}; pass the scenarios folder (default: scenarios/)"),
                    snippet: None,
                }],
            )
        }
    };
    load_files(root, &paths)
}

/// Loads the given files; `root` names them (`streams/limits/x.yaml`).
pub fn load_files(root: &Path, paths: &[PathBuf]) -> (Vec<LoadedScenario>, Vec<ScenarioError>) {
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in paths {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(ScenarioError { path: path.clone(), line: None, column: None, message: format!("cannot read: {e}"), snippet: None });
                continue;
            }
        };
        match parse(path, &text) {
            Ok(scenario) => {
                if let Some(first) = names.get(&scenario.name) {
                    errors.push(ScenarioError {
                        path: path.clone(),
                        line: Some(1),
                        column: None,
                        message: format!("name `{}` is already used by {}: names must be unique", scenario.name, first.display()),
                        snippet: None,
                    });
                    continue;
                }
                names.insert(scenario.name.clone(), path.clone());
                let id = path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/");
                loaded.push(LoadedScenario { path: path.clone(), id, scenario });
            }
            Err(mut es) => errors.append(&mut es),
        }
    }
    (loaded, errors)
}
