//! streamcheck: conformance and fault-injection testing for asyncio-style byte streams.
//!
//! The modules follow the data flow: a [`scenario`] is [`run`] into a [`transcript`], which is
//! judged into a [`verdict`] and gathered into a [`report`]. [`op`] and [`outcome`] are the one
//! vocabulary shared by scenario files, in-process runs and the driver protocol.

pub mod bytes;
pub mod fuzz;
pub mod op;
pub mod outcome;
pub mod report;
pub mod run;
pub mod scenario;
pub mod transcript;
pub mod verdict;
