//! The one vocabulary: operations ([`op::Op`]) and what they produce ([`outcome::Outcome`]),
//! with [`bytes`] in both surface forms. Scenario files, in-process subjects and the driver
//! wire ([`wire`], its serialized form) all speak it. It imports nothing from the reference
//! implementation: the reference subject maps its own types onto it.

pub mod bytes;
pub mod op;
pub mod outcome;
pub mod wire;
