//! Chunk-boundary fuzzing.
pub mod chunks;
pub mod differential;
