//! The peer's steps as scenario files write them: turmoil-style verbs, one per fault. The
//! loader, the JSON Schema and the error messages all read the verbs from [`PEER_WORDS`] and
//! [`PEER_MAPS`], so a new verb is added in one place per form.

use super::Dur;
use crate::vocab::bytes::ByteString;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;

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
                m.serialize_entry("send", &crate::vocab::bytes::YamlBytes(send))?;
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

