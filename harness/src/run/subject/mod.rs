//! The implementation under test, as the director drives it: operations in, outcomes out.
//!
//! - [`reference`]: the reference implementation (impl/), in process, over turmoil's sockets in
//!   the simulation or tokio's on loopback;
//! - [`process`]: any implementation behind an adapter process speaking the driver protocol;
//! - [`host`]: runs a subject's operations, each as its own task, wherever the world puts it.

pub mod driver;
pub mod host;
pub mod process;
pub mod reference;

use crate::vocab::op::Op;
use crate::vocab::outcome::Outcome;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::oneshot;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Fired once an operation has really started: it is running and has reached its first wait.
pub type Started = oneshot::Sender<()>;

/// The subject broke the harness's contract (crashed, hung, spoke out of turn); the scenario
/// is then ERROR with this explanation, and the subject is not trusted for another scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken(pub String);

/// One implementation under test. Session operations (`open_connection`, `start_server`,
/// `reset`) are operations like the others.
pub trait Subject: Send + Sync + 'static {
    /// Runs `op` to its outcome and fires `started` once it has reached its first wait.
    /// Dropping the future cancels the operation, as `task.cancel()` would.
    fn call(&self, op: Op, started: Started) -> BoxFuture<'static, Result<Outcome, Broken>>;

    /// Waits until every cancelled operation has let go (a process subject's cancel round trip).
    fn settle(&self) -> BoxFuture<'static, Result<(), Broken>> {
        Box::pin(async { Ok(()) })
    }

    /// What the subject has shown of itself, for an ERROR's explanation: the last requests, the
    /// tail of its stderr. Empty for in-process subjects.
    fn evidence(&self) -> String {
        String::new()
    }
}

/// Fires `started` the first time the wrapped future is polled: for in-process subjects, whose
/// operations reach their first wait on their first poll.
pub struct FirstPoll<F> {
    pub inner: Pin<Box<F>>,
    pub started: Option<Started>,
}

impl<F: Future> Future for FirstPoll<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        let out = self.inner.as_mut().poll(cx);
        if let Some(s) = self.started.take() {
            let _ = s.send(());
        }
        out
    }
}
