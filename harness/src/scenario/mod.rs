//! A scenario: one YAML file, one case (../shared/contract/SCENARIO-FORMAT.md).

pub mod load;
pub mod schema;

use crate::bytes::ByteString;
use crate::op::Op;
use crate::outcome::Outcome;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
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
    #[serde(default)]
    pub network: NetworkConfig,
    /// Records behaviour without judging it: the verdict is INFORMATIONAL.
    #[serde(default)]
    pub informational: bool,
    /// Where CPython versions differ on this case, and how (shown in reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpython: Option<String>,
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

/// One action of the harness's scripted peer: turmoil-style verbs, one per fault.
#[derive(Clone, Debug, PartialEq)]
pub enum PeerAction {
    /// Writes bytes, cut into separate writes of these sizes (`chunks`), with `gap` between
    /// the pieces. The last piece takes whatever is left.
    Send { send: ByteString, chunks: Option<Vec<usize>>, gap: Option<Dur> },
    /// Waits in simulated time.
    Sleep(Dur),
    /// Half-closes: the subject's reader sees EOF; the peer can still receive. Inverse: none.
    Eof,
    /// Aborts with a RST (turmoil sends one when a stream holding unread data is dropped).
    Reset,
    /// Closes both directions with a FIN.
    Close,
    /// Reads `n` bytes, or everything up to EOF with `all`; checked against the step's `expect`.
    Recv(RecvAmount),
    /// Stops reading, so the subject's writes back up. Inverse: `resume_reading`.
    StopReading,
    /// Reads again, releasing a backed-up subject. Inverse of `stop_reading`.
    ResumeReading,
    /// Holds every segment in flight in both directions (a stall). Inverse: `release`.
    Hold,
    /// Delivers the held segments, in order. Inverse of `hold`.
    Release,
}

/// How much a peer `recv` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RecvAmount {
    Exactly(usize),
    /// `all`: until EOF.
    All(AllWord),
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AllWord {
    All,
}

impl Serialize for PeerAction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            PeerAction::Eof => s.serialize_str("eof"),
            PeerAction::Reset => s.serialize_str("reset"),
            PeerAction::Close => s.serialize_str("close"),
            PeerAction::StopReading => s.serialize_str("stop_reading"),
            PeerAction::ResumeReading => s.serialize_str("resume_reading"),
            PeerAction::Hold => s.serialize_str("hold"),
            PeerAction::Release => s.serialize_str("release"),
            PeerAction::Sleep(d) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("sleep", d)?;
                m.end()
            }
            PeerAction::Recv(a) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("recv", a)?;
                m.end()
            }
            PeerAction::Send { send, chunks, gap } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("send", &crate::bytes::YamlBytes(send))?;
                if let Some(c) = chunks {
                    m.serialize_entry("chunks", c)?;
                }
                if let Some(g) = gap {
                    m.serialize_entry("gap", g)?;
                }
                m.end()
            }
        }
    }
}

impl JsonSchema for PeerAction {
    fn schema_name() -> Cow<'static, str> {
        "PeerAction".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let bytes = g.subschema_for::<ByteString>();
        let dur = g.subschema_for::<Dur>();
        schemars::json_schema!({
            "description": "An action of the scripted peer.",
            "anyOf": [
                {"type": "string", "enum": ["eof", "reset", "close", "stop_reading", "resume_reading", "hold", "release"]},
                {"type": "object", "properties": {"send": bytes, "chunks": {"type": "array", "items": {"type": "integer", "minimum": 1}}, "gap": dur}, "required": ["send"], "additionalProperties": false},
                {"type": "object", "properties": {"sleep": dur}, "required": ["sleep"], "additionalProperties": false},
                {"type": "object", "properties": {"recv": {"anyOf": [{"type": "integer", "minimum": 0}, {"const": "all"}]}}, "required": ["recv"], "additionalProperties": false}
            ]
        })
    }
}

const PEER_WORDS: &str = "eof, reset, close, stop_reading, resume_reading, hold, release";
const PEER_MAPS: &str = "send (with chunks, gap), sleep, recv";

impl<'de> Deserialize<'de> for PeerAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PeerAction;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a peer action: one of {PEER_WORDS}, or a map: {PEER_MAPS}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PeerAction, E> {
                Ok(match v {
                    "eof" => PeerAction::Eof,
                    "reset" => PeerAction::Reset,
                    "close" => PeerAction::Close,
                    "stop_reading" => PeerAction::StopReading,
                    "resume_reading" => PeerAction::ResumeReading,
                    "hold" => PeerAction::Hold,
                    "release" => PeerAction::Release,
                    "send" | "sleep" | "recv" => {
                        return Err(E::custom(format!("peer action `{v}` needs an argument: write {{{v}: ...}}")))
                    }
                    other => return Err(E::custom(format!("unknown peer action `{other}`, expected one of {PEER_WORDS}, or {PEER_MAPS}"))),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PeerAction, A::Error> {
                let mut send = None;
                let mut chunks = None;
                let mut gap = None;
                let mut action = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "send" => send = Some(map.next_value::<ByteString>()?),
                        "chunks" => chunks = Some(map.next_value::<Vec<usize>>()?),
                        "gap" => gap = Some(map.next_value::<Dur>()?),
                        "sleep" => action = Some(PeerAction::Sleep(map.next_value()?)),
                        "recv" => action = Some(PeerAction::Recv(map.next_value().map_err(|_: A::Error| de::Error::custom("recv takes a byte count or `all`"))?)),
                        w @ ("eof" | "reset" | "close" | "stop_reading" | "resume_reading" | "hold" | "release") => {
                            return Err(de::Error::custom(format!("peer action `{w}` takes no argument: write `peer: {w}`")))
                        }
                        other => return Err(de::Error::custom(format!("unknown peer action `{other}`, expected one of {PEER_MAPS}, or {PEER_WORDS}"))),
                    }
                }
                match (send, action) {
                    (Some(_), Some(_)) => Err(de::Error::custom("one peer action per step: split `send` and the other action into two steps")),
                    (Some(send), None) => {
                        if let Some(c) = &chunks {
                            if c.is_empty() || c.contains(&0) {
                                return Err(de::Error::custom("chunks must be non-empty and every size at least 1"));
                            }
                            if c.iter().sum::<usize>() > send.0.len() {
                                return Err(de::Error::custom(format!(
                                    "chunks add up to {} bytes but send has only {}: the last piece takes whatever is left, so list fewer sizes",
                                    c.iter().sum::<usize>(),
                                    send.0.len()
                                )));
                            }
                        }
                        Ok(PeerAction::Send { send, chunks, gap })
                    }
                    (None, Some(a)) if chunks.is_none() && gap.is_none() => Ok(a),
                    (None, Some(_)) => Err(de::Error::custom("`chunks` and `gap` belong to `send`")),
                    (None, None) => Err(de::Error::custom(format!("empty peer action: expected one of {PEER_MAPS}, or {PEER_WORDS}"))),
                }
            }
        }
        d.deserialize_any(V)
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
    #[serde(default, deserialize_with = "crate::outcome::present", skip_serializing_if = "Option::is_none")]
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
            Action::Peer(PeerAction::Recv(_)) => {}
            Action::Peer(_) if expect.is_some() || !raw.also_accept.is_empty() => {
                return Err("only a peer `recv` has an outcome to expect: move `expect` to a subject step".into())
            }
            Action::Peer(_) if raw.as_name.is_some() || raw.within.is_some() || raw.pending_for.is_some() || raw.timeout.is_some() => {
                return Err("`as`, `within`, `pending_for` and `timeout` apply to subject steps only".into())
            }
            Action::Await(_) if raw.as_name.is_some() || raw.pending_for.is_some() || raw.timeout.is_some() => {
                return Err("an `await` step takes `expect`, `also_accept` and `within` only".into())
            }
            _ => {}
        }
        if raw.as_name.is_some() && expect.is_some() {
            return Err("a step started with `as:` has no outcome yet: put `expect` on its `await:` step".into());
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
