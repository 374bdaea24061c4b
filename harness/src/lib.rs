//! streamcheck: conformance and fault-injection testing for asyncio-style byte streams.
//!
//! The modules follow the data flow: a [`scenario`] is [`run`] (in a world: the simulation or
//! real loopback TCP; against a subject: the reference in process or an adapter process) into a
//! [`transcript`], which is judged into a [`verdict`] and gathered into a [`report`]. [`vocab`]
//! is the one vocabulary shared by scenario files, in-process runs and the driver protocol.

pub mod adapter;
pub mod fuzz;
pub mod implementations;
pub mod report;
pub mod run;
pub mod scenario;
pub mod suite;
pub mod transcript;
pub mod verdict;
pub mod vocab;
