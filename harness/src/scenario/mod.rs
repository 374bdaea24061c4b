//! A scenario: one YAML file, one case (docs/scenario-format.md).

pub mod check;
pub mod load;
pub mod peer;
pub mod schema;
pub mod version;

pub use peer::{AllWord, PeerAction, RecvAmount};
pub use version::VersionRange;

use crate::vocab::op::Op;
use crate::vocab::outcome::Outcome;
use schemars::JsonSchema;
use serde::de;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// One case.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Unique; also the test's name under `cargo test`.
    pub name: String,
    /// What it checks: a documentation section or RFC clause, e.g. `asyncio StreamReader.readuntil`.
    pub spec: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub subject: SubjectKind,
    /// Passed to the subject when it opens.
    #[serde(default)]
    pub config: SubjectConfig,
    /// Simulated conditions for the whole run.
    #[serde(default, skip_serializing_if = "NetworkConfig::is_default")]
    pub network: NetworkConfig,
    /// Records behaviour without judging it: the verdict is INFORMATIONAL.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub informational: bool,
    /// Where CPython versions differ on this case, and how, in prose (shown in reports); the
    /// steps' own `cpython:` maps give each version's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpython: Option<String>,
    /// Why this scenario can only be told in the simulation (real TCP cannot make what it
    /// needs). Out of the simulation it is UNSUPPORTED with this reason. `tcp_capacity` and
    /// `latency` imply it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_only: Option<String>,
    pub steps: Vec<Step>,
}

/// Which role the implementation under test plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    /// The subject opens the connection (`open_connection`) to the scripted peer.
    StreamClient,
    /// The subject listens (`start_server`); the scripted peer connects.
    StreamServer,
    WsClient,
    WsServer,
}

impl SubjectKind {
    pub fn is_stream(self) -> bool {
        matches!(self, SubjectKind::StreamClient | SubjectKind::StreamServer)
    }

    /// Whether the subject opens the connection (the peer listens).
    pub fn is_client(self) -> bool {
        matches!(self, SubjectKind::StreamClient | SubjectKind::WsClient)
    }
}

/// Subject options.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectConfig {
    /// The StreamReader's limit (default 65536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// The writer's high-water mark (extension; default 65536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_water: Option<i64>,
    /// The writer's low-water mark (extension; default high / 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_water: Option<i64>,
    /// WebSocket maximum message size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
}

/// Simulated network conditions.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// One-way latency of every segment (default 1ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Dur>,
    /// Segments a direction holds before writes block (turmoil counts writes, not bytes; default 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_capacity: Option<usize>,
    /// The scenario's volumes back up real TCP too (megabytes, past the kernels' buffers), so it
    /// also runs on loopback, where `tcp_capacity` and `latency` do not apply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub portable: bool,
}

impl NetworkConfig {
    fn is_default(&self) -> bool {
        *self == NetworkConfig::default()
    }
}

/// A duration written as `5ms`, `2s`, `1m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(Dur)
            .map_err(|e| de::Error::custom(format!("invalid duration `{text}` ({e}): write e.g. 5ms, 2s or 1m")))
    }
}

impl JsonSchema for Dur {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^[0-9]+ ?(ns|us|ms|s|m|h)$", "description": "A duration: 5ms, 2s, 1m"})
    }
}

/// One step, validated on its own (the location of a mistake is the step's).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "RawStep", into = "RawStep")]
pub struct Step {
    pub action: Action,
    /// `as: NAME`: start without waiting; a later `await: NAME` takes the outcome.
    pub name: Option<String>,
    pub expect: Option<Outcome>,
    pub also_accept: Vec<Outcome>,
    pub within: Option<Dur>,
    pub pending_for: Option<Dur>,
    pub timeout: Option<Dur>,
    /// The canonical outcome on particular CPython versions, where it differs: version range →
    /// outcome, e.g. `"<3.13": {error: {type: Other, class: TypeError}}`.
    pub cpython: BTreeMap<VersionRange, Outcome>,
}

impl Step {
    /// The canonical outcome for a subject running asyncio on CPython `version` (`None`: the
    /// scenario's own `expect`, CPython 3.13's documented behaviour).
    pub fn expect_for(&self, version: Option<&str>) -> Option<&Outcome> {
        self.version_outcome(version).or(self.expect.as_ref())
    }

    /// The outcome this step's `cpython:` gives for CPython `version`, if one does.
    pub fn version_outcome(&self, version: Option<&str>) -> Option<&Outcome> {
        version.and_then(|v| self.cpython.iter().find(|(range, _)| range.contains(v)).map(|(_, o)| o))
    }
}

/// What a step does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Peer(PeerAction),
    Subject(Op),
    Await(String),
}

/// The step as written. Exactly one of `peer`, `subject`, `await`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// An action of the scripted peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerAction>,
    /// An operation of the implementation under test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Op>,
    /// Takes the outcome of an operation started earlier with `as:`.
    #[serde(default, rename = "await", skip_serializing_if = "Option::is_none")]
    pub await_name: Option<String>,
    /// Starts the operation without waiting for it.
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub as_name: Option<String>,
    /// The canonical outcome.
    #[serde(default, deserialize_with = "crate::vocab::outcome::present", skip_serializing_if = "Option::is_none")]
    pub expect: Option<Option<Outcome>>,
    /// Conformant but not canonical outcomes: matching one gives NON-STRICT.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_accept: Vec<Outcome>,
    /// It must complete within this much simulated time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Dur>,
    /// It must still be blocked after this much simulated time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_for: Option<Dur>,
    /// Bounds the operation like a user's `wait_for`: the outcome is then `{timeout: true}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
    /// The canonical outcome on particular CPython versions, where it differs from `expect`; on a
    /// `pending_for` step, the outcome it completes with at once there instead of blocking.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cpython: BTreeMap<VersionRange, Outcome>,
}

impl TryFrom<RawStep> for Step {
    type Error = String;

    fn try_from(raw: RawStep) -> Result<Step, String> {
        let action = match (raw.peer, raw.subject, raw.await_name) {
            (Some(p), None, None) => Action::Peer(p),
            (None, Some(op), None) => Action::Subject(op),
            (None, None, Some(n)) => Action::Await(n),
            (None, None, None) => return Err("a step needs one of `peer`, `subject` or `await`".into()),
            _ => return Err("a step has exactly one of `peer`, `subject` or `await`: split it into several steps".into()),
        };
        let expect = match raw.expect {
            Some(None) => return Err("`expect` has no value: write {ok: VALUE}, {error: {type: TYPE}} or {timeout: true}".into()),
            Some(Some(e)) => Some(e),
            None => None,
        };
        match &action {
            Action::Peer(PeerAction::Recv(_)) if raw.as_name.is_some() || raw.pending_for.is_some() => {
                return Err("a peer `recv` takes `expect`, `also_accept`, `within` and `timeout` (how long it waits) only".into())
            }
            Action::Peer(PeerAction::Recv(_)) => {}
            Action::Peer(_) if expect.is_some() || !raw.also_accept.is_empty() => {
                return Err("only a peer `recv` has an outcome to expect: move `expect` to a subject step".into())
            }
            Action::Peer(_) if raw.as_name.is_some() || raw.within.is_some() || raw.pending_for.is_some() || raw.timeout.is_some() => {
                return Err("`as`, `within`, `pending_for` and `timeout` apply to subject steps only (and `within`, `timeout` to a peer `recv`)".into())
            }
            Action::Await(_) if raw.as_name.is_some() || raw.pending_for.is_some() || raw.timeout.is_some() => {
                return Err("an `await` step takes `expect`, `also_accept` and `within` only".into())
            }
            _ => {}
        }
        if raw.as_name.is_some() && expect.is_some() {
            return Err("a step started with `as:` has no outcome yet: put `expect` on its `await:` step".into());
        }
        if !raw.cpython.is_empty() && expect.is_none() && raw.pending_for.is_none() {
            return Err("`cpython` gives version-specific outcomes beside `expect` (or, on a `pending_for` step, the outcome it completes with at once on those versions): add the canonical `expect`".into());
        }
        if !raw.also_accept.is_empty() && expect.is_none() {
            return Err("`also_accept` needs an `expect` (the canonical outcome)".into());
        }
        if let (Some(p), Some(t)) = (raw.pending_for, raw.timeout) {
            if t.0 <= p.0 {
                return Err(format!("`timeout: {t}` expires before `pending_for: {p}` is checked: make timeout longer"));
            }
        }
        Ok(Step {
            action,
            name: raw.as_name,
            expect,
            also_accept: raw.also_accept,
            within: raw.within,
            pending_for: raw.pending_for,
            timeout: raw.timeout,
            cpython: raw.cpython,
        })
    }
}

impl From<Step> for RawStep {
    fn from(s: Step) -> RawStep {
        let mut raw = RawStep {
            as_name: s.name,
            expect: s.expect.map(Some),
            also_accept: s.also_accept,
            within: s.within,
            pending_for: s.pending_for,
            timeout: s.timeout,
            cpython: s.cpython,
            ..Default::default()
        };
        match s.action {
            Action::Peer(p) => raw.peer = Some(p),
            Action::Subject(op) => raw.subject = Some(op),
            Action::Await(n) => raw.await_name = Some(n),
        }
        raw
    }
}

impl JsonSchema for Step {
    fn schema_name() -> Cow<'static, str> {
        "Step".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RawStep::json_schema(g)
    }
}
