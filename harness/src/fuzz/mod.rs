//! Fuzzing: [`chunks`] re-cuts one scenario's sends and moves its reads (the verdict must not
//! change); [`differential`] plays random scenarios from [`cases`] on two implementations until
//! their outcomes differ.

pub mod cases;
pub mod chunks;
pub mod differential;
