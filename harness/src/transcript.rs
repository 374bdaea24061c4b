//! A run's record: every peer event and subject outcome, stamped with the world's time (simulated,
//! or wall time on loopback). Verdicts,
//! snapshots and reports are made from it, never from the live run.

use crate::run::world::WorldKind;
use crate::vocab::outcome::Outcome;
use serde::Serialize;
use std::fmt::Write;
use std::time::Duration;

/// Who did something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Peer,
    Subject,
    Harness,
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// Simulated time since the run started.
    #[serde(serialize_with = "millis")]
    pub at: Duration,
    /// The scenario step this belongs to (0-based), if any.
    pub step: Option<usize>,
    pub side: Side,
    /// What was done, e.g. `send "GET /\r"` or `readuntil "\r\n"`.
    pub action: String,
    /// The operation's outcome, for events that complete an operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// How long the operation took, in simulated time (for `within`).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_millis")]
    pub took: Option<Duration>,
    /// For `pending_for`: whether the operation was still blocked when checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub still_pending: Option<bool>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

fn opt_millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&(d.as_millis() as u64)),
        None => s.serialize_none(),
    }
}

/// Everything one run recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transcript {
    pub seed: u64,
    pub events: Vec<Event>,
    /// Set when the run could not finish: a hang past the harness deadline, a crash, a fault the
    /// simulator cannot produce, an adapter that broke the protocol. The verdict is then ERROR.
    pub harness_error: Option<String>,
    /// Where it ran: simulated time or wall time.
    pub world: WorldKind,
    /// Set when the run never started because the scenario needs what this world or subject
    /// lacks (the reason). The verdict is then UNSUPPORTED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsupported: Option<String>,
    /// The CPython version the subject said it runs (its hello), which picks the scenario's
    /// version-specific outcomes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpython: Option<String>,
}

impl Transcript {
    /// A run that did not start: the scenario needs something this world or subject lacks.
    pub fn unsupported(seed: u64, world: WorldKind, reason: String) -> Transcript {
        Transcript { seed, world, unsupported: Some(reason), ..Transcript::default() }
    }

    /// The stable text form snapshotted by insta: one line per event.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            let step = e.step.map_or("  ".to_string(), |s| format!("{:>2}", s + 1));
            let side = match e.side {
                Side::Peer => "peer   ",
                Side::Subject => "subject",
                Side::Harness => "harness",
            };
            let _ = write!(out, "{:>6}ms {step} {side} {}", e.at.as_millis(), e.action);
            if let Some(o) = &e.outcome {
                let _ = write!(out, " -> {}", o.show());
            }
            if let Some(p) = e.still_pending {
                let _ = write!(out, " [{}]", if p { "still pending" } else { "already done" });
            }
            out.push('\n');
        }
        if let Some(err) = &self.harness_error {
            let _ = writeln!(out, "ERROR {err}");
        }
        if let Some(why) = &self.unsupported {
            let _ = writeln!(out, "UNSUPPORTED {why}");
        }
        out
    }

    /// The event that completed step `i` (the last one carrying an outcome).
    pub fn outcome_of(&self, step: usize) -> Option<&Event> {
        self.events.iter().rev().find(|e| e.step == Some(step) && e.outcome.is_some())
    }

    /// The `pending_for` check of step `i`.
    pub fn pending_check_of(&self, step: usize) -> Option<&Event> {
        self.events.iter().find(|e| e.step == Some(step) && e.still_pending.is_some())
    }
}
