//! Chunk-boundary fuzzing.
pub mod chunks;
