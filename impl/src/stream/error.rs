//! asyncio's stream exceptions, named as in DRIVER-PROTOCOL.md, with CPython's exact messages.

use bytes::Bytes;
use std::fmt;
use std::io;

/// CPython's message texts, verbatim, so reports can quote both implementations side by side.
pub mod messages {
    pub const LIMIT_NOT_POSITIVE: &str = "Limit cannot be <= 0";
    pub const SEP_NOT_FOUND: &str = "Separator is not found, and chunk exceed the limit";
    pub const SEP_FOUND_TOO_LONG: &str = "Separator is found, but chunk is longer than limit";
    pub const SEP_EMPTY: &str = "Separator should be at least one-byte string";
    pub const SEP_TUPLE_EMPTY: &str = "Separator should contain at least one element";
    pub const READEXACTLY_NEGATIVE: &str = "readexactly size can not be less than zero";
    pub const FEED_AFTER_EOF: &str = "feed_data after feed_eof";
    pub const WRITE_AFTER_EOF: &str = "Cannot call write() after write_eof()";
    pub const WRITELINES_AFTER_EOF: &str = "Cannot call writelines() after write_eof()";
    pub const CONNECTION_LOST: &str = "Connection lost";
    pub const WATER_MARKS: &str = "high (%r) must be >= low (%r) must be >= 0";
}

/// Every way a stream operation fails. `Clone`, because a stored exception is raised again and
/// again (asyncio's `set_exception` is sticky).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamError {
    /// `asyncio.IncompleteReadError`: EOF came before the read could complete.
    IncompleteRead { partial: Bytes, expected: Option<usize> },
    /// `asyncio.LimitOverrunError`: the limit was reached while looking for a separator.
    LimitOverrun { consumed: usize, message: &'static str },
    /// `ValueError`: bad arguments, or the limit error that `readline` converts.
    ValueError(String),
    /// `RuntimeError`: a second concurrent waiter, or a write after `write_eof`.
    RuntimeError(String),
    /// `ConnectionResetError`.
    ConnectionReset(String),
    /// `BrokenPipeError`.
    BrokenPipe(String),
    /// Anything else, with its Python class name (`AssertionError`, `TimeoutError`, `OSError`).
    Other { class: String, message: String },
}

impl StreamError {
    /// The type name used by the driver protocol (`IncompleteRead`, `LimitOverrun`, ...).
    pub fn type_name(&self) -> &str {
        match self {
            StreamError::IncompleteRead { .. } => "IncompleteRead",
            StreamError::LimitOverrun { .. } => "LimitOverrun",
            StreamError::ValueError(_) => "ValueError",
            StreamError::RuntimeError(_) => "RuntimeError",
            StreamError::ConnectionReset(_) => "ConnectionReset",
            StreamError::BrokenPipe(_) => "BrokenPipe",
            StreamError::Other { .. } => "Other",
        }
    }

    /// The Python class CPython raises for this error.
    /// `asyncio.CancelledError`, raised by an operation whose shared future was cancelled by
    /// another caller (W12), not by the caller's own cancellation.
    pub fn cancelled() -> StreamError {
        StreamError::Other { class: "CancelledError".into(), message: String::new() }
    }

    pub fn python_class(&self) -> &str {
        match self {
            StreamError::IncompleteRead { .. } => "IncompleteReadError",
            StreamError::LimitOverrun { .. } => "LimitOverrunError",
            StreamError::ValueError(_) => "ValueError",
            StreamError::RuntimeError(_) => "RuntimeError",
            StreamError::ConnectionReset(_) => "ConnectionResetError",
            StreamError::BrokenPipe(_) => "BrokenPipeError",
            StreamError::Other { class, .. } => class,
        }
    }

    /// `str(exc)` as CPython prints it.
    pub fn message(&self) -> String {
        self.to_string()
    }

    pub(crate) fn assertion(message: &str) -> Self {
        StreamError::Other { class: "AssertionError".into(), message: message.into() }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::IncompleteRead { partial, expected } => match expected {
                Some(n) => write!(f, "{} bytes read on a total of {} expected bytes", partial.len(), n),
                None => write!(f, "{} bytes read on a total of undefined expected bytes", partial.len()),
            },
            StreamError::LimitOverrun { message, .. } => f.write_str(message),
            StreamError::ValueError(m)
            | StreamError::RuntimeError(m)
            | StreamError::ConnectionReset(m)
            | StreamError::BrokenPipe(m) => f.write_str(m),
            StreamError::Other { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for StreamError {}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        let message = e.to_string();
        match e.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => StreamError::ConnectionReset(message),
            io::ErrorKind::BrokenPipe => StreamError::BrokenPipe(message),
            io::ErrorKind::TimedOut => StreamError::Other { class: "TimeoutError".into(), message },
            io::ErrorKind::ConnectionRefused => StreamError::Other { class: "ConnectionRefusedError".into(), message },
            _ => StreamError::Other { class: "OSError".into(), message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_read_message_matches_cpython() {
        let e = StreamError::IncompleteRead { partial: Bytes::from_static(b"abc"), expected: Some(5) };
        assert_eq!(e.to_string(), "3 bytes read on a total of 5 expected bytes");
        let e = StreamError::IncompleteRead { partial: Bytes::from_static(b"abcdef"), expected: None };
        assert_eq!(e.to_string(), "6 bytes read on a total of undefined expected bytes");
    }

    #[test]
    fn io_errors_map_to_contract_types() {
        let e: StreamError = io::Error::from(io::ErrorKind::ConnectionReset).into();
        assert_eq!(e.type_name(), "ConnectionReset");
        let e: StreamError = io::Error::from(io::ErrorKind::BrokenPipe).into();
        assert_eq!(e.python_class(), "BrokenPipeError");
    }
}
