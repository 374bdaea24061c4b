//! The Autobahn|Testsuite `fuzzingserver` testee protocol, as a library function so that the
//! `echo_client` example and the tests share it: `GET /getCaseCount` answers one text message
//! with N; `/runCase?case=i&agent=A` (i = 1..N) runs a case, the testee echoing every text and
//! binary message verbatim; `/updateReports?agent=A` makes the fuzzer write its reports.

use super::config::WsConfig;
use super::connection::Incoming;
use super::endpoint::WsClient;
use super::error::{Error, Result};
use super::message::Message;
use crate::stream::Network;

/// What happened in one case, as the testee saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRun {
    /// 1-based case number.
    pub case: u32,
    /// `Ok(outcome)` for a close, or the error that ended the case (a protocol failure we
    /// detected, a handshake failure, ...). Either may be what the case expects.
    pub result: Result<super::CloseOutcome>,
}

/// Asks the fuzzer at `base` (`ws://host:port`) for its case count.
pub async fn case_count<N: Network>(base: &str, config: &WsConfig) -> Result<u32> {
    let ws = WsClient::open::<N>(&format!("{base}/getCaseCount"), config.clone()).await?;
    let n = match ws.recv().await? {
        Incoming::Message(Message::Text(t)) => t.trim().parse().map_err(|_| Error::Usage(format!("case count {t:?} is not a number")))?,
        other => return Err(Error::Usage(format!("expected the case count, got {other:?}"))),
    };
    let _ = ws.recv().await; // the fuzzer closes right after
    Ok(n)
}

/// Runs case `case` for `agent`, echoing until the fuzzer closes.
pub async fn run_case<N: Network>(base: &str, agent: &str, case: u32, config: &WsConfig) -> CaseRun {
    let url = format!("{base}/runCase?case={case}&agent={agent}");
    let result = match WsClient::open::<N>(&url, config.clone()).await {
        Ok(ws) => ws.echo().await,
        Err(e) => Err(e),
    };
    CaseRun { case, result }
}

/// Asks the fuzzer to write its reports for `agent`.
pub async fn update_reports<N: Network>(base: &str, agent: &str, config: &WsConfig) -> Result<()> {
    let ws = WsClient::open::<N>(&format!("{base}/updateReports?agent={agent}"), config.clone()).await?;
    let _ = ws.recv().await;
    Ok(())
}

/// The whole driver: case count, every case in order (reported through `on_case`), reports.
pub async fn run_all<N: Network>(base: &str, agent: &str, config: &WsConfig, mut on_case: impl FnMut(u32, &CaseRun)) -> Result<Vec<CaseRun>> {
    let base = base.trim_end_matches('/');
    let count = case_count::<N>(base, config).await?;
    let mut runs = Vec::with_capacity(count as usize);
    for case in 1..=count {
        let run = run_case::<N>(base, agent, case, config).await;
        on_case(count, &run);
        runs.push(run);
    }
    update_reports::<N>(base, agent, config).await?;
    Ok(runs)
}
