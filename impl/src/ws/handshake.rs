//! The opening handshake (RFC 6455 §4), client and server, over a `StreamReader` /
//! `StreamWriter` pair. The HTTP header block is read with `readuntil(b"\r\n\r\n")`, so its
//! size is bounded by the reader's limit; the caller bounds its time (`WsConfig::open_timeout`).
//! Bytes after the header block stay in the reader: they are the first frames.

use super::config::WsConfig;
use super::error::{HandshakeError, Result};
use super::frame::mask::MaskSource;
use crate::stream::{StreamError, StreamReader, StreamWriter};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha1::{Digest, Sha1};

/// RFC 6455 §1.3: the GUID appended to the key before hashing.
pub const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (§4.2.2 step 5.4): base64(SHA-1(key + GUID)).
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(WS_GUID.as_bytes());
    B64.encode(sha.finalize())
}

/// What a completed handshake agreed on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Handshake {
    /// The selected subprotocol, if any.
    pub subprotocol: Option<String>,
    /// Server side: the request target (`/path?query`); client side: the path requested.
    pub path: String,
    /// The peer's header fields, in order, names as sent.
    pub headers: Vec<(String, String)>,
}

/// A parsed `ws://host[:port]/path?query` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    pub host: String,
    pub port: u16,
    /// The request target: path and query, at least `/`.
    pub resource: String,
}

impl WsUrl {
    /// Parses a `ws://` URL (§3). `wss://` is refused: these streams carry no TLS.
    pub fn parse(url: &str) -> Result<Self, HandshakeError> {
        let bad = |why: &str| HandshakeError::BadUrl { url: url.into(), why: why.into() };
        let lower = url.to_ascii_lowercase();
        let rest = if lower.starts_with("ws://") {
            &url[5..]
        } else if lower.starts_with("wss://") {
            return Err(bad("wss:// (TLS) is not supported by this implementation"));
        } else {
            return Err(bad("the scheme must be ws://"));
        };
        // RFC 6455 §3: "Fragment identifiers are meaningless in the context of WebSocket URIs
        // and MUST NOT be used on these URIs."
        if rest.contains('#') {
            return Err(bad("a fragment identifier (#...) is not allowed (RFC 6455 §3)"));
        }
        let (authority, resource) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
            let end = stripped.find(']').ok_or_else(|| bad("unterminated [IPv6] host"))?;
            let host = &stripped[..end];
            let port = match &stripped[end + 1..] {
                "" => 80,
                p => p.strip_prefix(':').and_then(|p| p.parse().ok()).ok_or_else(|| bad("bad port"))?,
            };
            (host.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad("bad port"))?),
                None => (authority.to_string(), 80),
            }
        };
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        Ok(WsUrl { host, port, resource })
    }

    /// The `Host` header value: the port is left out when it is the default (§4.1).
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == 80 { host } else { format!("{host}:{}", self.port) }
    }
}

/// A parsed HTTP/1.1 head: start line and header fields.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn parse(raw: &[u8]) -> Result<Head, String> {
        let text = std::str::from_utf8(raw).map_err(|_| "header block is not valid UTF-8".to_string())?;
        let text = text.strip_suffix("\r\n\r\n").unwrap_or(text);
        let mut lines = text.split("\r\n");
        let start = lines.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                return Err("obsolete line folding in header fields (RFC 7230 §3.2.4)".into());
            }
            let (name, value) = line.split_once(':').ok_or_else(|| format!("header line without a colon: {line:?}"))?;
            if name.is_empty() || !name.bytes().all(is_token_char) {
                return Err(format!("invalid header name {name:?}"));
            }
            headers.push((name.to_string(), value.trim_matches([' ', '\t']).to_string()));
        }
        Ok(Head { start, headers })
    }

    /// All values of a header field (names compare case-insensitively), in order.
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The comma-separated tokens of every occurrence of a header field.
    fn tokens<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.values(name).flat_map(|v| v.split(',')).map(str::trim).filter(|t| !t.is_empty())
    }

    /// Whether a token-list header contains `token`, ASCII case-insensitively ("keep-alive, Upgrade").
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name).any(|t| t.eq_ignore_ascii_case(token))
    }
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Reads an HTTP head bounded by the reader's limit.
async fn read_head(reader: &StreamReader) -> Result<Vec<u8>, HandshakeError> {
    match reader.readuntil(b"\r\n\r\n").await {
        Ok(raw) => Ok(raw.to_vec()),
        Err(StreamError::LimitOverrun { .. }) => Err(HandshakeError::TooLarge { limit: reader.limit() }),
        Err(StreamError::IncompleteRead { partial, .. }) => Err(HandshakeError::ConnectionLost {
            why: format!("EOF after {} bytes of the HTTP header block", partial.len()),
        }),
        Err(e) => Err(HandshakeError::ConnectionLost { why: format!("{}: {e}", e.python_class()) }),
    }
}

/// Client side (§4.1): sends the upgrade request for `url` and validates the response.
pub async fn client(reader: &StreamReader, writer: &StreamWriter, url: &WsUrl, config: &WsConfig, masks: &mut MaskSource) -> Result<Handshake> {
    let mut nonce = [0u8; 16];
    masks.fill(&mut nonce);
    // RFC 6455 §4.1: "a nonce consisting of a randomly selected 16-byte value that has been
    // base64-encoded".
    let key = B64.encode(nonce);
    let mut req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
        url.resource,
        url.host_header()
    );
    if !config.subprotocols.is_empty() {
        req.push_str(&format!("Sec-WebSocket-Protocol: {}\r\n", config.subprotocols.join(", ")));
    }
    for (name, value) in &config.extra_headers {
        // No header injection: a name is an RFC 7230 token, a value has no CR or LF.
        if name.is_empty() || !name.bytes().all(is_token_char) || value.contains(['\r', '\n']) {
            return Err(HandshakeError::BadExtraHeader { header: format!("{name}: {value}") }.into());
        }
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("\r\n");
    writer.write(req.as_bytes())?;
    writer.drain().await?;

    let raw = read_head(reader).await?;
    let head = Head::parse(&raw).map_err(|why| HandshakeError::Malformed { status: 0, why })?;
    let bad = |why: String| HandshakeError::BadResponse { why };
    let mut parts = head.start.splitn(3, ' ');
    let (version, status, reason) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !version.starts_with("HTTP/1.") {
        return Err(HandshakeError::Malformed { status: 0, why: format!("bad status line {:?}", head.start) }.into());
    }
    let status: u16 = status.parse().map_err(|_| HandshakeError::Malformed { status: 0, why: format!("bad status line {:?}", head.start) })?;
    // RFC 6455 §4.1: "If the status code received from the server is not 101, the client
    // handles the response per HTTP procedures"; for us the connection fails.
    if status != 101 {
        return Err(HandshakeError::NotUpgraded { status, reason: reason.to_string() }.into());
    }
    // RFC 6455 §4.1 (response check 2): no |Upgrade| "websocket" → the client MUST fail.
    if !head.has_token("Upgrade", "websocket") {
        return Err(bad("missing or wrong Upgrade header; expected \"websocket\"".into()).into());
    }
    // RFC 6455 §4.1 (check 3): no |Connection| "Upgrade" token → the client MUST fail.
    if !head.has_token("Connection", "upgrade") {
        return Err(bad("missing or wrong Connection header; expected the token \"Upgrade\"".into()).into());
    }
    // RFC 6455 §4.1 (check 4): |Sec-WebSocket-Accept| must be base64(SHA-1(key + GUID)).
    let expected = accept_key(&key);
    let accepts: Vec<&str> = head.values("Sec-WebSocket-Accept").collect();
    if accepts != [expected.as_str()] {
        return Err(bad(format!("Sec-WebSocket-Accept is {accepts:?}, expected {expected:?}")).into());
    }
    // RFC 6455 §4.1 (check 5): an extension the client did not request → the client MUST fail.
    if let Some(ext) = head.tokens("Sec-WebSocket-Extensions").next() {
        return Err(bad(format!("server selected extension {ext:?}, which was not offered")).into());
    }
    // RFC 6455 §4.1 (check 6): a subprotocol that was not offered → the client MUST fail.
    let chosen: Vec<&str> = head.tokens("Sec-WebSocket-Protocol").collect();
    let subprotocol = match chosen.as_slice() {
        [] => None,
        [one] if config.subprotocols.iter().any(|p| p == one) => Some(one.to_string()),
        other => return Err(bad(format!("server selected subprotocol {other:?}, offered {:?}", config.subprotocols)).into()),
    };
    Ok(Handshake { subprotocol, path: url.resource.clone(), headers: head.headers })
}

/// Server side (§4.2): reads and checks the upgrade request, answers 101, or answers 400 /
/// 426 / 431 and closes the connection.
pub async fn server(reader: &StreamReader, writer: &StreamWriter, config: &WsConfig) -> Result<Handshake> {
    let outcome = match read_head(reader).await {
        Ok(raw) => check_request(&raw, config),
        Err(e @ HandshakeError::TooLarge { .. }) => Err((431, "Request Header Fields Too Large", e)),
        Err(e) => return Err(e.into()),
    };
    match outcome {
        Ok((handshake, key)) => {
            let mut resp = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
                accept_key(&key)
            );
            if let Some(p) = &handshake.subprotocol {
                resp.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
            }
            resp.push_str("\r\n");
            writer.write(resp.as_bytes())?;
            writer.drain().await?;
            Ok(handshake)
        }
        Err((status, reason, err)) => {
            let body = format!("{err}\n");
            let mut resp = format!("HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
            if status == 426 {
                // RFC 6455 §4.4: the server answers with the versions it supports.
                resp.push_str("Sec-WebSocket-Version: 13\r\n");
            }
            resp.push_str("\r\n");
            resp.push_str(&body);
            let _ = writer.write(resp.as_bytes());
            let _ = writer.drain().await;
            writer.close();
            Err(err.into())
        }
    }
}

type Refusal = (u16, &'static str, HandshakeError);

fn check_request(raw: &[u8], config: &WsConfig) -> std::result::Result<(Handshake, String), Refusal> {
    let bad = |why: String| (400, "Bad Request", HandshakeError::BadRequest { why });
    let head = Head::parse(raw).map_err(|why| (400, "Bad Request", HandshakeError::Malformed { status: 400, why }))?;
    let mut parts = head.start.split(' ');
    let (method, target, version) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if parts.next().is_some() || target.is_empty() {
        return Err(bad(format!("malformed request line {:?}", head.start)));
    }
    // RFC 6455 §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
    if method != "GET" {
        return Err(bad(format!("method {method}; the upgrade request must be GET")));
    }
    let minor = version.strip_prefix("HTTP/1.").and_then(|m| m.parse::<u32>().ok());
    if !matches!(minor, Some(m) if m >= 1) {
        return Err(bad(format!("{version}; HTTP/1.1 or higher is required")));
    }
    // RFC 6455 §4.2.1 item 2: "A |Host| header field".
    if head.values("Host").count() != 1 {
        return Err(bad("exactly one Host header is required".into()));
    }
    // RFC 6455 §4.2.1 item 3: "An |Upgrade| header field containing the value "websocket",
    // treated as an ASCII case-insensitive value".
    if !head.has_token("Upgrade", "websocket") {
        return Err(bad("the Upgrade header must contain \"websocket\"".into()));
    }
    // RFC 6455 §4.2.1 item 4: "A |Connection| header field that includes the token "Upgrade",
    // treated as an ASCII case-insensitive value".
    if !head.has_token("Connection", "upgrade") {
        return Err(bad("the Connection header must include the token \"Upgrade\"".into()));
    }
    // RFC 6455 §4.2.1 item 5: "A |Sec-WebSocket-Key| header field with a base64-encoded value
    // that, when decoded, is 16 bytes in length."
    let keys: Vec<&str> = head.values("Sec-WebSocket-Key").collect();
    let key = match keys.as_slice() {
        [k] if B64.decode(k).map(|d| d.len() == 16).unwrap_or(false) => k.to_string(),
        [k] => return Err(bad(format!("Sec-WebSocket-Key {k:?} is not 16 base64-encoded bytes"))),
        _ => return Err(bad(format!("exactly one Sec-WebSocket-Key is required, got {}", keys.len()))),
    };
    // RFC 6455 §4.2.1 item 6: "A |Sec-WebSocket-Version| header field, with a value of 13."
    // §4.4: otherwise "the server MUST ... send ... |Sec-WebSocket-Version| header field(s)
    // indicating the version(s) the server is capable of understanding"; 426 Upgrade Required.
    let versions: Vec<&str> = head.values("Sec-WebSocket-Version").collect();
    match versions.as_slice() {
        ["13"] => {}
        [] => return Err(bad("missing Sec-WebSocket-Version (13 is required)".into())),
        other => return Err((426, "Upgrade Required", HandshakeError::UnsupportedVersion { got: other.join(", ") })),
    }
    // RFC 6455 §4.2.2 item 5.4 (|subprotocol|): "either a single value representing the
    // subprotocol the server is ready to use or null"; we pick our first supported one that
    // the client offered.
    let offered: Vec<&str> = head.tokens("Sec-WebSocket-Protocol").collect();
    let subprotocol = config.subprotocols.iter().find(|p| offered.contains(&p.as_str())).cloned();
    Ok((Handshake { subprotocol, path: target.to_string(), headers: head.headers }, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_example() {
        // RFC 6455 §1.3.
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn urls() {
        let u = WsUrl::parse("ws://127.0.0.1:9001/runCase?case=3&agent=x").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.resource.as_str()), ("127.0.0.1", 9001, "/runCase?case=3&agent=x"));
        assert_eq!(u.host_header(), "127.0.0.1:9001");
        let u = WsUrl::parse("WS://example.com?x=1").unwrap();
        assert_eq!((u.port, u.resource.as_str(), u.host_header().as_str()), (80, "/?x=1", "example.com"));
        let u = WsUrl::parse("ws://[::1]:8080").unwrap();
        assert_eq!((u.host.as_str(), u.resource.as_str(), u.host_header().as_str()), ("::1", "/", "[::1]:8080"));
        assert!(WsUrl::parse("wss://x/").is_err());
        assert!(WsUrl::parse("http://x/").is_err());
        assert!(WsUrl::parse("ws://x/#frag").is_err());
        assert!(WsUrl::parse("ws://:80/").is_err());
    }

    #[tokio::test]
    async fn extra_headers_cannot_inject() {
        let (a, _b) = tokio::io::duplex(1024);
        let (r, w) = crate::stream::open_stream(a, Default::default()).unwrap();
        let url = WsUrl::parse("ws://x/").unwrap();
        let mut cfg = WsConfig::default();
        cfg.extra_headers.push(("X-Evil".into(), "a\r\nHost: y".into()));
        let err = client(&r, &w, &url, &cfg, &mut MaskSource::new(Default::default())).await.unwrap_err();
        assert!(matches!(err, crate::ws::Error::Handshake(HandshakeError::BadExtraHeader { .. })), "{err}");
    }

    fn request(extra: &str) -> Vec<u8> {
        format!("GET /chat HTTP/1.1\r\nHost: server.example.com\r\n{extra}\r\n").into_bytes()
    }

    const GOOD: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

    #[test]
    fn token_lists_are_case_insensitive() {
        let extra = "Upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
        let (h, key) = check_request(&request(extra), &WsConfig::default()).unwrap();
        assert_eq!((h.path.as_str(), key.as_str()), ("/chat", "dGhlIHNhbXBsZSBub25jZQ=="));
    }

    #[test]
    fn refusals_carry_their_status() {
        let cfg = WsConfig::default();
        let status = |extra: &str| check_request(&request(extra), &cfg).err().map(|e| e.0);
        assert_eq!(status(GOOD), None);
        assert_eq!(status(&GOOD.replace("Version: 13", "Version: 8")), Some(426));
        assert_eq!(status(&GOOD.replace("Sec-WebSocket-Version: 13\r\n", "")), Some(400));
        assert_eq!(status(&GOOD.replace("Upgrade: websocket", "Upgrade: h2c")), Some(400));
        assert_eq!(status(&GOOD.replace("Connection: Upgrade", "Connection: close")), Some(400));
        assert_eq!(status(&GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=")), Some(400));
        let post = String::from_utf8(request(GOOD)).unwrap().replace("GET", "POST");
        assert_eq!(check_request(post.as_bytes(), &cfg).err().map(|e| e.0), Some(400));
        let http10 = String::from_utf8(request(GOOD)).unwrap().replace("HTTP/1.1", "HTTP/1.0");
        assert_eq!(check_request(http10.as_bytes(), &cfg).err().map(|e| e.0), Some(400));
        let no_host = String::from_utf8(request(GOOD)).unwrap().replace("Host: server.example.com\r\n", "");
        assert_eq!(check_request(no_host.as_bytes(), &cfg).err().map(|e| e.0), Some(400));
    }

    #[test]
    fn subprotocol_negotiation_uses_server_preference() {
        let cfg = WsConfig::default().with_subprotocols(["mqtt", "chat"]);
        let extra = format!("{GOOD}Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Protocol: mqtt\r\n");
        assert_eq!(check_request(&request(&extra), &cfg).unwrap().0.subprotocol.as_deref(), Some("mqtt"));
        let extra = format!("{GOOD}Sec-WebSocket-Protocol: soap\r\n");
        assert_eq!(check_request(&request(&extra), &cfg).unwrap().0.subprotocol, None);
    }
}
