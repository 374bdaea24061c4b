//! Bytes in scenario files and on the driver wire: the one type with two surface forms.
//!
//! In YAML: a string (its UTF-8 bytes), `{hex: "0d0a"}`, `{repeat: "a", count: 70000}`, or a
//! list of those pieces, joined. In JSON (driver protocol): `{"b64": "<standard base64>"}`.

use base64::Engine;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// A byte string as written in a scenario or sent over the driver.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ByteString(pub bytes::Bytes);

impl ByteString {
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl From<&[u8]> for ByteString {
    fn from(b: &[u8]) -> Self {
        ByteString(bytes::Bytes::copy_from_slice(b))
    }
}

impl From<bytes::Bytes> for ByteString {
    fn from(b: bytes::Bytes) -> Self {
        ByteString(b)
    }
}

/// Renders bytes the way transcripts and reports show them: a Python-style escaped literal,
/// shortened in the middle when long.
pub fn show(bytes: &[u8]) -> String {
    const MAX: usize = 80;
    let escape = |b: &[u8]| -> String { b.iter().flat_map(|&c| std::ascii::escape_default(c)).map(char::from).collect() };
    if bytes.len() <= MAX {
        format!("\"{}\"", escape(bytes))
    } else {
        format!("\"{}\"...({} bytes)...\"{}\"", escape(&bytes[..32]), bytes.len(), escape(&bytes[bytes.len() - 16..]))
    }
}

impl fmt::Debug for ByteString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&show(&self.0))
    }
}

impl Serialize for ByteString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("b64", &base64::engine::general_purpose::STANDARD.encode(&self.0))?;
        m.end()
    }
}

/// Bytes written back as YAML would say them: a plain string when they are printable UTF-8,
/// `{hex: ..}` otherwise (used when the fuzzer saves a failing case as a scenario).
pub struct YamlBytes<'a>(pub &'a ByteString);

impl Serialize for YamlBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match std::str::from_utf8(&self.0 .0) {
            Ok(text) if !text.chars().any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t')) => s.serialize_str(text),
            _ => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("hex", &self.0 .0.iter().map(|b| format!("{b:02x}")).collect::<String>())?;
                m.end()
            }
        }
    }
}

struct ByteVisitor;

impl<'de> Visitor<'de> for ByteVisitor {
    type Value = ByteString;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("bytes: a string, {hex: \"0d0a\"}, {repeat: \"a\", count: N}, {b64: \"...\"}, or a list of those")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteString, E> {
        Ok(ByteString(bytes::Bytes::copy_from_slice(v.as_bytes())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<ByteString, E> {
        Err(E::custom("expected bytes but found nothing: write \"\" for empty bytes"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteString, A::Error> {
        let mut out = Vec::new();
        while let Some(piece) = seq.next_element::<ByteString>()? {
            out.extend_from_slice(&piece.0);
        }
        Ok(ByteString(out.into()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ByteString, A::Error> {
        let mut hex: Option<String> = None;
        let mut b64: Option<String> = None;
        let mut repeat: Option<ByteString> = None;
        let mut count: Option<usize> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "hex" => hex = Some(map.next_value()?),
                "b64" => b64 = Some(map.next_value()?),
                "repeat" => repeat = Some(map.next_value()?),
                "count" => count = Some(map.next_value()?),
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown bytes key `{other}`: use one of hex, b64, or repeat with count"
                    )))
                }
            }
        }
        match (hex, b64, repeat, count) {
            (Some(h), None, None, None) => decode_hex(&h).map(|b| ByteString(b.into())).map_err(de::Error::custom),
            (None, Some(b), None, None) => base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map(|b| ByteString(b.into()))
                .map_err(|e| de::Error::custom(format!("invalid base64 ({e}): standard alphabet with padding"))),
            (None, None, Some(r), Some(n)) => {
                if r.0.len().saturating_mul(n) > 256 << 20 {
                    return Err(de::Error::custom("repeat makes more than 256 MiB: lower `count`"));
                }
                Ok(ByteString(r.0.repeat(n).into()))
            }
            (None, None, Some(_), None) => Err(de::Error::custom("`repeat` needs `count`: {repeat: \"a\", count: 70000}")),
            (None, None, None, Some(_)) => Err(de::Error::custom("`count` needs `repeat`: {repeat: \"a\", count: 70000}")),
            _ => Err(de::Error::custom("bytes take exactly one form: {hex: ..}, {b64: ..} or {repeat: .., count: ..}")),
        }
    }
}

fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("invalid hex \"{s}\": odd number of digits; write two digits per byte, e.g. \"0d0a\""));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).unwrap_or("??");
            u8::from_str_radix(text, 16).map_err(|_| format!("invalid hex \"{s}\": `{text}` is not a hex byte; use digits 0-9 and a-f"))
        })
        .collect()
}

impl<'de> Deserialize<'de> for ByteString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ByteVisitor)
    }
}

impl JsonSchema for ByteString {
    fn schema_name() -> Cow<'static, str> {
        "Bytes".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Bytes: a string (its UTF-8 bytes), {hex}, {repeat, count}, {b64}, or a list of pieces to join.",
            "anyOf": [
                {"type": "string"},
                {"type": "object", "properties": {"hex": {"type": "string", "pattern": "^([0-9a-fA-F]{2}|\\s)*$"}}, "required": ["hex"], "additionalProperties": false},
                {"type": "object", "properties": {"b64": {"type": "string"}}, "required": ["b64"], "additionalProperties": false},
                {"type": "object", "properties": {"repeat": {"type": "string"}, "count": {"type": "integer", "minimum": 0}}, "required": ["repeat", "count"], "additionalProperties": false},
                {"type": "array", "items": {"$ref": "#/definitions/Bytes"}}
            ]
        })
    }
}
