//! The implementation under test, as the runner sees it: something that opens a connection
//! and then answers `Op`s with `Outcome`s. The reference implementation runs in process.

use crate::op::{Op, Separator};
use crate::outcome::{ErrorOutcome, ErrorType, Outcome, Value};
use crate::scenario::SubjectConfig;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use streamcheck_impl::stream::{open_connection, start_server, StreamError, StreamReader, StreamWriter, TurmoilNet};

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// One open session of the implementation under test.
pub trait Subject: Send + Sync + 'static {
    /// Runs one operation to its outcome. Cancelling the future cancels the operation.
    fn call(&self, op: Op) -> BoxFuture<Outcome>;

    /// For wrappers that reach the concrete subject (tests of deliberately broken subjects).
    fn as_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync>;
}

/// How sessions are opened: as a client (`open_connection`) or a server (`start_server`).
pub trait SubjectFactory: Send + Sync + 'static {
    /// Connects to the peer.
    fn connect(&self, host: String, port: u16, config: SubjectConfig) -> BoxFuture<Result<Arc<dyn Subject>, Outcome>>;
    /// Listens on `port`; the returned future yields the first accepted session.
    fn serve(&self, port: u16, config: SubjectConfig) -> BoxFuture<Result<(u16, BoxFuture<Arc<dyn Subject>>), Outcome>>;
}

/// The reference implementation (`impl/`), inside turmoil.
pub struct Reference;

/// The reference's session: one reader and one writer.
pub struct ReferenceStreams {
    pub reader: StreamReader,
    pub writer: StreamWriter,
}

fn error(e: &StreamError) -> Outcome {
    Outcome::Error(ErrorOutcome::from(e))
}

fn ok_or_error<T>(r: Result<T, StreamError>, f: impl FnOnce(T) -> Value) -> Outcome {
    match r {
        Ok(v) => Outcome::Ok(f(v)),
        Err(e) => error(&e),
    }
}

fn bytes(b: bytes::Bytes) -> Value {
    Value::Bytes(b.into())
}

pub(crate) fn unsupported(op: &Op) -> Outcome {
    Outcome::Error(ErrorOutcome {
        kind: Some(ErrorType::Unsupported),
        op: Some(op.name().to_string()),
        message: Some(format!("the subject does not implement {}", op.name())),
        ..Default::default()
    })
}

impl ReferenceStreams {
    fn new(reader: StreamReader, writer: StreamWriter, config: &SubjectConfig) -> Result<Self, StreamError> {
        if config.high_water.is_some() || config.low_water.is_some() {
            writer.set_write_buffer_limits(config.high_water, config.low_water)?;
        }
        Ok(ReferenceStreams { reader, writer })
    }
}

impl Subject for ReferenceStreams {
    fn as_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }

    fn call(&self, op: Op) -> BoxFuture<Outcome> {
        let reader = self.reader.clone();
        let writer = self.writer.clone();
        Box::pin(async move {
            match &op {
                Op::Read(n) => ok_or_error(reader.read(*n as isize).await, bytes),
                Op::Readline => ok_or_error(reader.readline().await, bytes),
                Op::Readexactly(n) => ok_or_error(reader.readexactly(*n as isize).await, bytes),
                Op::Readuntil(Separator::One(s)) => ok_or_error(reader.readuntil(s.as_slice()).await, bytes),
                Op::Readuntil(Separator::Any { any }) => {
                    let seps: Vec<&[u8]> = any.iter().map(|s| s.as_slice()).collect();
                    ok_or_error(reader.readuntil_any(&seps).await, bytes)
                }
                Op::AtEof => Outcome::Ok(Value::Bool(reader.at_eof())),
                Op::Write(d) => ok_or_error(writer.write(d.as_slice()), |_| Value::Null),
                Op::Writelines(d) => ok_or_error(writer.writelines(d.iter().map(|b| b.as_slice())), |_| Value::Null),
                Op::Drain => ok_or_error(writer.drain().await, |_| Value::Null),
                Op::WriteEof => {
                    writer.write_eof();
                    Outcome::Ok(Value::Null)
                }
                Op::CanWriteEof => Outcome::Ok(Value::Bool(writer.can_write_eof())),
                Op::Close => {
                    writer.close();
                    Outcome::Ok(Value::Null)
                }
                Op::WaitClosed => ok_or_error(writer.wait_closed().await, |_| Value::Null),
                Op::IsClosing => Outcome::Ok(Value::Bool(writer.is_closing())),
                Op::GetWriteBufferSize => Outcome::Ok(Value::Int(writer.get_write_buffer_size() as i64)),
                Op::SetWriteBufferLimits(w) => ok_or_error(writer.set_write_buffer_limits(w.high, w.low), |_| Value::Null),
                Op::WsSend(_) | Op::WsRecv | Op::WsPing(_) | Op::WsClose(_) | Op::WsEcho => unsupported(&op),
            }
        })
    }
}

impl SubjectFactory for Reference {
    fn connect(&self, host: String, port: u16, config: SubjectConfig) -> BoxFuture<Result<Arc<dyn Subject>, Outcome>> {
        Box::pin(async move {
            let limit = config.limit.unwrap_or(streamcheck_impl::stream::DEFAULT_LIMIT as i64);
            let (reader, writer) = open_connection::<TurmoilNet>(&host, port, limit).await.map_err(|e| error(&e))?;
            let streams = ReferenceStreams::new(reader, writer, &config).map_err(|e| error(&e))?;
            Ok(Arc::new(streams) as Arc<dyn Subject>)
        })
    }

    fn serve(&self, port: u16, config: SubjectConfig) -> BoxFuture<Result<(u16, BoxFuture<Arc<dyn Subject>>), Outcome>> {
        Box::pin(async move {
            let limit = config.limit.unwrap_or(streamcheck_impl::stream::DEFAULT_LIMIT as i64);
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let server = start_server::<TurmoilNet, _, _>("0.0.0.0", port, limit, move |reader, writer| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((reader, writer));
                }
            })
            .await
            .map_err(|e| error(&e))?;
            let port = server.local_addr().port();
            let first: BoxFuture<Arc<dyn Subject>> = Box::pin(async move {
                let mut rx = rx;
                let (reader, writer) = rx.recv().await.expect("the server keeps its sender while it runs");
                // Only the first connection becomes the subject; the server stops accepting.
                server.close();
                let streams = ReferenceStreams::new(reader, writer, &config)
                    .unwrap_or_else(|e| panic!("water marks were validated when the server started: {e}"));
                Arc::new(streams) as Arc<dyn Subject>
            });
            Ok((port, first))
        })
    }
}
