//! Where the subject's operations run. The director sends each one over a channel and the host
//! runs it as its own task, so that `as:` operations stay pending while others run. In the
//! simulation the host is turmoil's `subject` host; on loopback it is a task beside the director.

use super::{Broken, Subject};
use crate::vocab::op::Op;
use crate::vocab::outcome::Outcome;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// The outcome of one operation and how long it took, on the world's clock.
pub type Done = (Result<Outcome, Broken>, Duration);

/// One operation for the host to run.
pub struct Call {
    op: Op,
    /// A user's `wait_for`: the outcome becomes `{timeout: true}` once it expires.
    timeout: Option<Duration>,
    started: oneshot::Sender<()>,
    /// Cancels the operation; the host answers on the enclosed sender once it has let go.
    cancel: oneshot::Receiver<oneshot::Sender<Result<(), Broken>>>,
    reply: oneshot::Sender<Done>,
}

/// Runs every operation it receives as its own task until the director hangs up.
pub async fn serve(mut calls: mpsc::UnboundedReceiver<Call>, subject: Arc<dyn Subject>) {
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(call) = calls.recv().await {
        tasks.spawn(run_call(call, subject.clone()));
    }
    tasks.abort_all();
}

async fn run_call(call: Call, subject: Arc<dyn Subject>) {
    let Call { op, timeout, started, cancel, reply } = call;
    let t0 = Instant::now();
    let bounded = async {
        let running = subject.call(op, started);
        match timeout {
            None => running.await,
            Some(t) => match tokio::time::timeout(t, running).await {
                Ok(out) => out,
                // Dropped by now: the operation is being cancelled, so let it go before answering.
                Err(_) => subject.settle().await.map(|()| Outcome::Timeout(true)),
            },
        }
    };
    tokio::select! {
        biased;
        Ok(ack) = cancel => {
            let _ = ack.send(subject.settle().await);
        }
        out = bounded => {
            let _ = reply.send((out, t0.elapsed()));
        }
    }
}

/// The director's end of the channel.
pub struct SubjectLink {
    calls: mpsc::UnboundedSender<Call>,
}

/// An operation in flight, as the director holds it.
pub struct Pending {
    pub started: oneshot::Receiver<()>,
    pub reply: oneshot::Receiver<Done>,
    cancel: Option<oneshot::Sender<oneshot::Sender<Result<(), Broken>>>>,
}

impl SubjectLink {
    pub fn new(calls: mpsc::UnboundedSender<Call>) -> SubjectLink {
        SubjectLink { calls }
    }

    /// Sends `op` to the host. `Err` if the host is gone.
    pub fn start(&self, op: Op, timeout: Option<Duration>) -> Result<Pending, String> {
        let (started_tx, started) = oneshot::channel();
        let (cancel_tx, cancel) = oneshot::channel();
        let (reply_tx, reply) = oneshot::channel();
        self.calls
            .send(Call { op, timeout, started: started_tx, cancel, reply: reply_tx })
            .map_err(|_| "the subject host is gone".to_string())?;
        Ok(Pending { started, reply, cancel: Some(cancel_tx) })
    }
}

impl Pending {
    /// Asks the host to cancel the operation; the receiver answers once it has let go.
    pub fn cancel(&mut self) -> Option<oneshot::Receiver<Result<(), Broken>>> {
        let (ack_tx, ack) = oneshot::channel();
        self.cancel.take()?.send(ack_tx).ok()?;
        Some(ack)
    }
}
