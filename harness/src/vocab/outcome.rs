//! `Outcome`: what an operation produced. The same type is an expectation in a scenario, an
//! actual result in a transcript, and a reply on the driver wire.

use super::bytes::{show, ByteString};
use super::op::OkForm;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// An `ok` value. Bytes are compared to bytes, text to text; a YAML string expecting a text
/// value is taken as its UTF-8 bytes, so either form matches.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Bytes(ByteString),
    /// A WebSocket text message: `{text: "..."}`.
    Text { text: String },
    /// A WebSocket binary message: `{binary: ...}`.
    Binary { binary: ByteString },
    /// A close code and reason (ws_close, ws_echo), or the server's port (start_server).
    Close { code: Option<u16>, reason: String },
    Port { port: u16 },
    Subprotocol { subprotocol: Option<String> },
}

impl Value {
    pub fn show(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Bytes(b) => show(b.as_slice()),
            Value::Text { text } => format!("text {text:?}"),
            Value::Binary { binary } => format!("binary {}", show(binary.as_slice())),
            Value::Close { code, reason } => format!("close {code:?} {reason:?}"),
            Value::Port { port } => format!("port {port}"),
            Value::Subprotocol { subprotocol } => format!("subprotocol {subprotocol:?}"),
        }
    }

    /// Whether this value has the form an operation's `ok` takes.
    pub fn has_form(&self, form: OkForm) -> bool {
        matches!(
            (self, form),
            (Value::Null, OkForm::Null)
                | (Value::Bool(_), OkForm::Bool)
                | (Value::Int(_), OkForm::Int)
                | (Value::Bytes(_), OkForm::Bytes)
                | (Value::Port { .. }, OkForm::Port)
                | (Value::Text { .. } | Value::Binary { .. }, OkForm::Message)
                | (Value::Close { .. }, OkForm::Close)
        )
    }

    /// Whether this (expected) value accepts `actual`.
    pub fn accepts(&self, actual: &Value) -> bool {
        match (self, actual) {
            (Value::Bytes(e), Value::Text { text }) => e.as_slice() == text.as_bytes(),
            (e, a) => e == a,
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value: null, true/false, an integer, bytes, {text}, {binary}, {code, reason}, {port} or {subprotocol}")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                i64::try_from(v).map(Value::Int).map_err(|_| E::custom("integer too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Bytes(ByteString::from(v.as_bytes())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
                ByteString::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Value::Bytes)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom("empty map: expected {text}, {binary}, {code, reason}, {port}, {subprotocol} or bytes"));
                };
                let single = |map: &mut A, key: &str| -> Result<(), A::Error> {
                    match map.next_key::<String>()? {
                        Some(extra) => Err(de::Error::custom(format!("unexpected key `{extra}` beside `{key}`"))),
                        None => Ok(()),
                    }
                };
                match key.as_str() {
                    "text" => {
                        let text = map.next_value()?;
                        single(&mut map, "text")?;
                        Ok(Value::Text { text })
                    }
                    "binary" => {
                        let binary = map.next_value()?;
                        single(&mut map, "binary")?;
                        Ok(Value::Binary { binary })
                    }
                    "port" => {
                        let port = map.next_value()?;
                        single(&mut map, "port")?;
                        Ok(Value::Port { port })
                    }
                    "subprotocol" => {
                        let subprotocol = map.next_value()?;
                        single(&mut map, "subprotocol")?;
                        Ok(Value::Subprotocol { subprotocol })
                    }
                    "code" | "reason" => {
                        let mut code = None;
                        let mut reason = String::new();
                        let mut k = Some(key);
                        while let Some(key) = k {
                            match key.as_str() {
                                "code" => code = map.next_value()?,
                                "reason" => reason = map.next_value()?,
                                other => return Err(de::Error::custom(format!("unknown key `{other}` in a close value: use code and reason"))),
                            }
                            k = map.next_key()?;
                        }
                        Ok(Value::Close { code, reason })
                    }
                    "hex" | "b64" | "repeat" | "count" => {
                        // Bytes in map form: hand the whole map back to the bytes parser.
                        let rest = de::value::MapAccessDeserializer::new(PrefixedMap { key: Some(key), map });
                        ByteString::deserialize(rest).map(Value::Bytes)
                    }
                    other => Err(de::Error::custom(format!(
                        "unknown value key `{other}`: expected text, binary, code/reason, port, subprotocol, or bytes (hex, b64, repeat)"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A map whose first key was already read.
struct PrefixedMap<A> {
    key: Option<String>,
    map: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for PrefixedMap<A> {
    type Error = A::Error;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        match self.key.take() {
            Some(k) => seed.deserialize(de::value::StringDeserializer::<A::Error>::new(k)).map(Some),
            None => self.map.next_key_seed(seed),
        }
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// The error types of DRIVER-PROTOCOL.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ErrorType {
    IncompleteRead,
    LimitOverrun,
    ValueError,
    ConnectionReset,
    BrokenPipe,
    ConnectionClosed,
    Unsupported,
    Other,
}

/// An error outcome. As an expectation, fields left out are not compared.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorOutcome {
    #[serde(rename = "type")]
    pub kind: Option<ErrorType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<ByteString>,
    /// `expected: null` (readuntil) is compared; leaving the key out is not.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub expected: Option<Option<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The implementation's own class name, for `Other` (e.g. `RuntimeError`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub code: Option<Option<u16>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean: Option<bool>,
    /// For `Unsupported`: the operation the adapter lacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
}

/// For `Option<Option<T>>` fields: a key written as `null` is `Some(None)`, a missing key `None`.
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl ErrorOutcome {
    /// Whether this (expected) error accepts `actual`: the type and every field given match.
    pub fn accepts(&self, actual: &ErrorOutcome) -> bool {
        fn field<T: PartialEq>(e: &Option<T>, a: &Option<T>) -> bool {
            e.as_ref().is_none_or(|e| a.as_ref() == Some(e))
        }
        field(&self.kind, &actual.kind)
            && field(&self.partial, &actual.partial)
            && field(&self.expected, &actual.expected)
            && field(&self.consumed, &actual.consumed)
            && field(&self.message, &actual.message)
            && field(&self.class, &actual.class)
            && field(&self.code, &actual.code)
            && field(&self.reason, &actual.reason)
            && field(&self.clean, &actual.clean)
            && field(&self.op, &actual.op)
    }

    pub fn show(&self) -> String {
        let mut parts = vec![self.kind.map_or("?".to_string(), |k| format!("{k:?}"))];
        if let Some(c) = &self.class {
            parts.push(format!("class={c}"));
        }
        if let Some(p) = &self.partial {
            parts.push(format!("partial={}", show(p.as_slice())));
        }
        if let Some(e) = &self.expected {
            parts.push(format!("expected={}", e.map_or("null".into(), |n| n.to_string())));
        }
        if let Some(c) = self.consumed {
            parts.push(format!("consumed={c}"));
        }
        if let Some(c) = &self.code {
            parts.push(format!("code={}", c.map_or("null".into(), |n| n.to_string())));
        }
        if let Some(r) = &self.reason {
            parts.push(format!("reason={r:?}"));
        }
        if let Some(c) = self.clean {
            parts.push(format!("clean={c}"));
        }
        if let Some(o) = &self.op {
            parts.push(format!("op={o}"));
        }
        if let Some(m) = &self.message {
            parts.push(format!("message={m:?}"));
        }
        parts.join(" ")
    }
}

/// What an operation produced, or what a scenario expects it to produce.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// `{ok: VALUE}`.
    Ok(Value),
    /// `{error: {type: T, ...fields}}`.
    Error(ErrorOutcome),
    /// `{timeout: true}`: the step's `timeout:` expired first (a user's `wait_for`).
    Timeout(bool),
}

impl Outcome {
    /// Whether this (expected) outcome accepts `actual`.
    pub fn accepts(&self, actual: &Outcome) -> bool {
        match (self, actual) {
            (Outcome::Ok(e), Outcome::Ok(a)) => e.accepts(a),
            (Outcome::Error(e), Outcome::Error(a)) => e.accepts(a),
            (Outcome::Timeout(e), Outcome::Timeout(a)) => e == a,
            _ => false,
        }
    }

    pub fn show(&self) -> String {
        match self {
            Outcome::Ok(v) => format!("ok {}", v.show()),
            Outcome::Error(e) => format!("error {}", e.show()),
            Outcome::Timeout(_) => "timeout".into(),
        }
    }

    pub fn is_unsupported(&self) -> bool {
        matches!(self, Outcome::Error(e) if e.kind == Some(ErrorType::Unsupported))
    }
}
