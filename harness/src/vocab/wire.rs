//! The driver protocol on the wire (docs/driver-protocol.md): JSON Lines between the harness and
//! an adapter process. These types are the vocabulary's serialized form, kept apart from the
//! scenario-file types on purpose:
//! - bytes only as `{"b64": ...}` (no hex, no repeat: nothing an adapter sends can expand);
//! - every line at most [`MAX_LINE`] bytes, checked by the reader before parsing, so no reply
//!   can force a large allocation;
//! - unknown fields ignored everywhere: the protocol lets adapters add fields.

use super::bytes::ByteString;
use super::op::{Connect, Listen, OkForm, Op, Separator, WaterMarks, WsCloseArgs, WsPayload};
use super::outcome::{ErrorOutcome, ErrorType, Value};
use base64::Engine;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value as Json;

/// The protocol version the harness speaks; version 1 adapters are accepted too.
pub const PROTOCOL_VERSION: u32 = 2;
/// The longest line either side may send, newline excluded.
pub const MAX_LINE: usize = 16 << 20;

/// Bytes on the wire: `{"b64": "<standard base64>"}` and no other form.
#[derive(Clone, Debug, PartialEq)]
pub struct WireBytes(pub bytes::Bytes);

impl Serialize for WireBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ByteString(self.0.clone()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for WireBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Form {
            b64: String,
        }
        let form = Form::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(form.b64.as_bytes())
            .map(|b| WireBytes(b.into()))
            .map_err(|e| serde::de::Error::custom(format!("invalid base64 ({e}): bytes are {{\"b64\": \"<standard base64 with padding>\"}}")))
    }
}

impl JsonSchema for WireBytes {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "WireBytes".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Bytes: standard base64 with padding.",
            "type": "object",
            "properties": {"b64": {"type": "string", "contentEncoding": "base64"}},
            "required": ["b64"]
        })
    }
}

fn wire(b: &ByteString) -> WireBytes {
    WireBytes(b.0.clone())
}

fn vocab(b: WireBytes) -> ByteString {
    ByteString(b.0)
}

/// A request from the harness: `{"id": 7, "op": "readuntil", "separator": {"b64": "DQo="}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Request {
    pub id: u64,
    #[serde(flatten)]
    pub op: WireOp,
}

/// The operations as they travel: `op`-tagged, fields by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum WireOp {
    OpenConnection {
        host: String,
        port: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
    },
    StartServer {
        host: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
    },
    Reset,
    /// Cancels request `target` the way `task.cancel()` would.
    Cancel { target: u64 },
    Read { n: i64 },
    Readline,
    Readexactly { n: i64 },
    Readuntil {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        separator: Option<WireBytes>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        separators: Option<Vec<WireBytes>>,
    },
    AtEof,
    Write { data: WireBytes },
    Writelines { data: Vec<WireBytes> },
    Drain,
    WriteEof,
    CanWriteEof,
    Close,
    WaitClosed,
    IsClosing,
    GetWriteBufferSize,
    SetWriteBufferLimits {
        #[serde(default)]
        high: Option<i64>,
        #[serde(default)]
        low: Option<i64>,
    },
    WsSend {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        binary: Option<WireBytes>,
    },
    WsRecv,
    WsPing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<WireBytes>,
    },
    WsClose {
        #[serde(default)]
        code: Option<u16>,
        #[serde(default)]
        reason: String,
    },
    WsEcho,
}

impl From<&Op> for WireOp {
    fn from(op: &Op) -> WireOp {
        match op.clone() {
            Op::OpenConnection(Connect { host, port, limit }) => WireOp::OpenConnection { host, port, limit },
            Op::StartServer(Listen { host, limit }) => WireOp::StartServer { host, limit },
            Op::Reset => WireOp::Reset,
            Op::Read(n) => WireOp::Read { n },
            Op::Readline => WireOp::Readline,
            Op::Readexactly(n) => WireOp::Readexactly { n },
            Op::Readuntil(Separator::One(s)) => WireOp::Readuntil { separator: Some(wire(&s)), separators: None },
            Op::Readuntil(Separator::Any { any }) => WireOp::Readuntil { separator: None, separators: Some(any.iter().map(wire).collect()) },
            Op::AtEof => WireOp::AtEof,
            Op::Write(d) => WireOp::Write { data: wire(&d) },
            Op::Writelines(d) => WireOp::Writelines { data: d.iter().map(wire).collect() },
            Op::Drain => WireOp::Drain,
            Op::WriteEof => WireOp::WriteEof,
            Op::CanWriteEof => WireOp::CanWriteEof,
            Op::Close => WireOp::Close,
            Op::WaitClosed => WireOp::WaitClosed,
            Op::IsClosing => WireOp::IsClosing,
            Op::GetWriteBufferSize => WireOp::GetWriteBufferSize,
            Op::SetWriteBufferLimits(WaterMarks { high, low }) => WireOp::SetWriteBufferLimits { high, low },
            Op::WsSend(WsPayload::Text(t)) => WireOp::WsSend { text: Some(t), binary: None },
            Op::WsSend(WsPayload::Binary(b)) => WireOp::WsSend { text: None, binary: Some(wire(&b)) },
            Op::WsRecv => WireOp::WsRecv,
            Op::WsPing(data) => WireOp::WsPing { data: data.as_ref().map(wire) },
            Op::WsClose(WsCloseArgs { code, reason }) => WireOp::WsClose { code, reason },
            Op::WsEcho => WireOp::WsEcho,
        }
    }
}

impl WireOp {
    /// The vocabulary's operation; `Err` for `cancel` (not an operation of the subject) and for
    /// requests whose fields contradict each other.
    pub fn into_op(self) -> Result<Op, String> {
        Ok(match self {
            WireOp::OpenConnection { host, port, limit } => Op::OpenConnection(Connect { host, port, limit }),
            WireOp::StartServer { host, limit } => Op::StartServer(Listen { host, limit }),
            WireOp::Reset => Op::Reset,
            WireOp::Cancel { .. } => return Err("cancel is a request about another request, not an operation".into()),
            WireOp::Read { n } => Op::Read(n),
            WireOp::Readline => Op::Readline,
            WireOp::Readexactly { n } => Op::Readexactly(n),
            WireOp::Readuntil { separator: Some(s), separators: None } => Op::Readuntil(Separator::One(vocab(s))),
            WireOp::Readuntil { separator: None, separators: Some(any) } => Op::Readuntil(Separator::Any { any: any.into_iter().map(vocab).collect() }),
            WireOp::Readuntil { .. } => return Err("readuntil takes exactly one of `separator` and `separators`".into()),
            WireOp::AtEof => Op::AtEof,
            WireOp::Write { data } => Op::Write(vocab(data)),
            WireOp::Writelines { data } => Op::Writelines(data.into_iter().map(vocab).collect()),
            WireOp::Drain => Op::Drain,
            WireOp::WriteEof => Op::WriteEof,
            WireOp::CanWriteEof => Op::CanWriteEof,
            WireOp::Close => Op::Close,
            WireOp::WaitClosed => Op::WaitClosed,
            WireOp::IsClosing => Op::IsClosing,
            WireOp::GetWriteBufferSize => Op::GetWriteBufferSize,
            WireOp::SetWriteBufferLimits { high, low } => Op::SetWriteBufferLimits(WaterMarks { high, low }),
            WireOp::WsSend { text: Some(t), binary: None } => Op::WsSend(WsPayload::Text(t)),
            WireOp::WsSend { text: None, binary: Some(b) } => Op::WsSend(WsPayload::Binary(vocab(b))),
            WireOp::WsSend { .. } => return Err("ws_send takes exactly one of `text` and `binary`".into()),
            WireOp::WsRecv => Op::WsRecv,
            WireOp::WsPing { data } => Op::WsPing(data.map(vocab)),
            WireOp::WsClose { code, reason } => Op::WsClose(WsCloseArgs { code, reason }),
            WireOp::WsEcho => Op::WsEcho,
        })
    }
}

/// The adapter's first line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hello {
    /// 1 or 2.
    pub protocol: u32,
    pub name: String,
    #[serde(default)]
    pub version: String,
    /// A subset of `stream`, `ws-client`, `ws-server`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Operations the adapter knows it lacks: scenarios that need them are UNSUPPORTED.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<String>,
    /// Extension: this implementation is CPython's own asyncio (streams and transports) at this
    /// version, so that the scenarios' version-specific outcomes (`cpython:` on a step) apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpython: Option<String>,
}

/// An error reply's body, as it travels. Converted to [`ErrorOutcome`] on arrival.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WireError {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<WireBytes>,
    /// A number, or `null` for readuntil's IncompleteRead.
    #[serde(default, deserialize_with = "crate::vocab::outcome::present", skip_serializing_if = "Option::is_none")]
    pub expected: Option<Option<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, deserialize_with = "crate::vocab::outcome::present", skip_serializing_if = "Option::is_none")]
    pub code: Option<Option<u16>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
}

const ERROR_TYPES: &str = "IncompleteRead, LimitOverrun, ValueError, ConnectionReset, BrokenPipe, ConnectionClosed, Unsupported, Other";

impl WireError {
    pub fn into_outcome(self) -> Result<ErrorOutcome, String> {
        let kind: ErrorType = serde_json::from_value(Json::String(self.kind.clone()))
            .map_err(|_| format!("unknown error type {:?}: the types are {ERROR_TYPES}", self.kind))?;
        Ok(ErrorOutcome {
            kind: Some(kind),
            partial: self.partial.map(vocab),
            expected: self.expected,
            consumed: self.consumed,
            message: self.message,
            class: self.class,
            code: self.code,
            reason: self.reason,
            clean: self.clean,
            op: self.op,
        })
    }
}

impl From<&ErrorOutcome> for WireError {
    fn from(e: &ErrorOutcome) -> WireError {
        WireError {
            kind: e.kind.map_or("Other".into(), |k| format!("{k:?}")),
            partial: e.partial.as_ref().map(wire),
            expected: e.expected,
            consumed: e.consumed,
            message: e.message.clone(),
            class: e.class.clone(),
            code: e.code,
            reason: e.reason.clone(),
            clean: e.clean,
            op: e.op.clone(),
        }
    }
}

/// Every line an adapter may print (for the JSON Schema and for adapters written in Rust).
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum AdapterLine {
    Hello { hello: Hello },
    /// The operation is running and has reached its first wait (new in version 2).
    Started { id: u64, started: bool },
    /// The final reply of a success: the value's form depends on the operation.
    Ok { id: u64, ok: Json },
    Error { id: u64, error: WireError },
    Cancelled { id: u64, cancelled: bool },
}

/// What one line from an adapter says.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Hello(Hello),
    Started(u64),
    Final(u64, Final),
}

/// A final reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Final {
    Ok(Json),
    Error(WireError),
    Cancelled,
}

#[derive(Deserialize)]
struct RawLine {
    #[serde(default)]
    hello: Option<Hello>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default, deserialize_with = "json_present")]
    ok: Option<Json>,
    #[serde(default)]
    error: Option<WireError>,
    #[serde(default)]
    cancelled: Option<bool>,
    #[serde(default)]
    started: Option<bool>,
}

/// `"ok": null` is present (Some(Null)); a missing `ok` is None.
fn json_present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Json>, D::Error> {
    Json::deserialize(d).map(Some)
}

/// Reads one line (without its newline). The error says what is wrong, for the ERROR verdict.
pub fn parse_line(line: &[u8]) -> Result<Message, String> {
    let raw: RawLine = serde_json::from_slice(line).map_err(|e| format!("not a JSON object of the driver protocol ({e})"))?;
    if let Some(hello) = raw.hello {
        return Ok(Message::Hello(hello));
    }
    let Some(id) = raw.id else { return Err("a line without `id` or `hello`".into()) };
    let finals = [raw.ok.is_some(), raw.error.is_some(), raw.cancelled == Some(true)].iter().filter(|b| **b).count();
    match (finals, raw.started) {
        (0, Some(true)) => Ok(Message::Started(id)),
        (1, _) => Ok(Message::Final(
            id,
            match (raw.ok, raw.error) {
                (Some(v), _) => Final::Ok(v),
                (_, Some(e)) => Final::Error(e),
                _ => Final::Cancelled,
            },
        )),
        (0, _) => Err(format!("a line for id {id} that is neither `started`, `ok`, `error` nor `cancelled`")),
        _ => Err(format!("a line for id {id} with more than one of `ok`, `error` and `cancelled`")),
    }
}

/// Reads an `ok` value in the form the operation promises (docs/driver-protocol.md).
pub fn decode_ok(form: OkForm, v: Json) -> Result<Value, String> {
    let bad = |v: &Json| Err(format!("expected {}, got {}", describe(form), short(v)));
    let field = |v: &Json, k: &str| v.as_object().and_then(|m| m.get(k)).cloned();
    let bytes = |j: Json| WireBytes::deserialize(j).map(vocab).map_err(|e| e.to_string());
    match form {
        OkForm::Null if v.is_null() => Ok(Value::Null),
        OkForm::Bool => v.as_bool().map(Value::Bool).map_or_else(|| bad(&v), Ok),
        OkForm::Int => v.as_i64().map(Value::Int).map_or_else(|| bad(&v), Ok),
        OkForm::Bytes if field(&v, "b64").is_some() => bytes(v).map(Value::Bytes),
        OkForm::Port => match field(&v, "port").and_then(|p| p.as_u64()).and_then(|p| u16::try_from(p).ok()) {
            Some(port) => Ok(Value::Port { port }),
            None => bad(&v),
        },
        OkForm::Message => match (field(&v, "text"), field(&v, "binary")) {
            (Some(Json::String(text)), None) => Ok(Value::Text { text }),
            (None, Some(b)) => bytes(b).map(|binary| Value::Binary { binary }),
            _ => bad(&v),
        },
        OkForm::Close => {
            let code = field(&v, "code").unwrap_or(Json::Null);
            let reason = field(&v, "reason").and_then(|r| r.as_str().map(str::to_string));
            match (code.is_null(), code.as_u64().and_then(|c| u16::try_from(c).ok()), reason) {
                (true, _, Some(reason)) => Ok(Value::Close { code: None, reason }),
                (false, Some(c), Some(reason)) => Ok(Value::Close { code: Some(c), reason }),
                _ => bad(&v),
            }
        }
        _ => bad(&v),
    }
}

fn describe(form: OkForm) -> &'static str {
    match form {
        OkForm::Null => "null",
        OkForm::Bool => "true or false",
        OkForm::Int => "an integer",
        OkForm::Bytes => "bytes ({\"b64\": ...})",
        OkForm::Port => "{\"port\": N}",
        OkForm::Message => "{\"text\": S} or {\"binary\": {\"b64\": ...}}",
        OkForm::Close => "{\"code\": N or null, \"reason\": S}",
    }
}

/// A JSON value cut to a readable length for error messages.
pub fn short(v: &Json) -> String {
    let text = v.to_string();
    if text.len() <= 120 {
        text
    } else {
        let cut = (0..=100).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        format!("{}... ({} bytes)", &text[..cut], text.len())
    }
}

/// The JSON Schema of every message, committed as docs/driver-protocol.schema.json.
pub fn driver_schema() -> String {
    #[derive(JsonSchema)]
    #[allow(dead_code)]
    /// Lines of the driver protocol: `request` goes to the adapter's stdin, `adapter_line` comes
    /// from its stdout. Unknown fields are ignored on both sides.
    struct DriverProtocol {
        request: Request,
        adapter_line: AdapterLine,
    }
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<DriverProtocol>();
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(line: &str) -> Request {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[test]
    fn requests_read_as_the_protocol_writes_them_and_ignore_unknown_fields() {
        let r = request(r#"{"id":7,"op":"readuntil","separator":{"b64":"DQo="},"extra":1}"#);
        assert_eq!(r.id, 7);
        assert_eq!(r.op.into_op().unwrap(), Op::Readuntil(Separator::One(ByteString::from(&b"\r\n"[..]))));
        assert_eq!(request(r#"{"id":1,"op":"readline","x":[1]}"#).op, WireOp::Readline);
        assert_eq!(request(r#"{"id":9,"op":"cancel","target":7}"#).op, WireOp::Cancel { target: 7 });
    }

    #[test]
    fn every_op_survives_the_wire() {
        let ops = [
            Op::OpenConnection(Connect { host: "127.0.0.1".into(), port: 9, limit: Some(4) }),
            Op::StartServer(Listen { host: "127.0.0.1".into(), limit: None }),
            Op::Reset,
            Op::Read(-1),
            Op::Readexactly(3),
            Op::Readuntil(Separator::Any { any: vec![ByteString::from(&b"a"[..]), ByteString::from(&b"bc"[..])] }),
            Op::Writelines(vec![ByteString::from(&b"x"[..])]),
            Op::SetWriteBufferLimits(WaterMarks { high: Some(10), low: None }),
            Op::WsSend(WsPayload::Binary(ByteString::from(&b"\x00"[..]))),
            Op::WsClose(WsCloseArgs { code: Some(1000), reason: "bye".into() }),
        ];
        for op in ops {
            let line = serde_json::to_string(&Request { id: 1, op: WireOp::from(&op) }).unwrap();
            let name: Json = serde_json::from_str(&line).unwrap();
            assert_eq!(name["op"], op.name(), "{line}");
            assert_eq!(request(&line).op.into_op().unwrap(), op, "{line}");
        }
    }

    #[test]
    fn bytes_are_base64_only() {
        assert!(serde_json::from_str::<Request>(r#"{"id":1,"op":"write","data":"plain"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"id":1,"op":"write","data":{"hex":"00"}}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"id":1,"op":"write","data":{"b64":"!!"}}"#).is_err());
    }

    #[test]
    fn lines_are_told_apart_and_mistakes_named() {
        assert!(matches!(parse_line(br#"{"hello":{"protocol":2,"name":"x","future":true}}"#), Ok(Message::Hello(h)) if h.protocol == 2));
        assert_eq!(parse_line(br#"{"id":3,"started":true}"#), Ok(Message::Started(3)));
        assert_eq!(parse_line(br#"{"id":3,"ok":null}"#), Ok(Message::Final(3, Final::Ok(Json::Null))));
        assert_eq!(parse_line(br#"{"id":3,"cancelled":true,"note":"x"}"#), Ok(Message::Final(3, Final::Cancelled)));
        assert!(parse_line(b"not json").unwrap_err().contains("not a JSON object"));
        assert!(parse_line(br#"{"id":3}"#).unwrap_err().contains("neither"));
        assert!(parse_line(br#"{"id":3,"ok":1,"cancelled":true}"#).unwrap_err().contains("more than one"));
    }

    #[test]
    fn ok_values_must_have_their_operations_form() {
        assert_eq!(decode_ok(OkForm::Bytes, serde_json::json!({"b64": "YQ==", "x": 1})), Ok(Value::Bytes(ByteString::from(&b"a"[..]))));
        assert!(decode_ok(OkForm::Bytes, serde_json::json!(true)).unwrap_err().contains("expected bytes"));
        assert!(decode_ok(OkForm::Null, serde_json::json!(0)).is_err());
        assert_eq!(decode_ok(OkForm::Port, serde_json::json!({"port": 80})), Ok(Value::Port { port: 80 }));
        assert!(decode_ok(OkForm::Port, serde_json::json!({"port": 70000})).is_err());
        assert_eq!(decode_ok(OkForm::Close, serde_json::json!({"code": null, "reason": ""})), Ok(Value::Close { code: None, reason: String::new() }));
    }

    #[test]
    fn errors_keep_null_apart_from_absent_and_reject_unknown_types() {
        let e: WireError = serde_json::from_str(r#"{"type":"IncompleteRead","partial":{"b64":""},"expected":null,"more":1}"#).unwrap();
        assert_eq!(e.clone().into_outcome().unwrap().expected, Some(None));
        let e: WireError = serde_json::from_str(r#"{"type":"Weird"}"#).unwrap();
        assert!(e.into_outcome().unwrap_err().contains("unknown error type"));
    }
}
