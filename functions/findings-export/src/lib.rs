//! findings-export: Inspector v2 findings to a KMS-encrypted S3 bucket, complete or not at all.
//!
//! `main.rs` wires; [`handler`] reads the trigger and runs the flow in `shared::export::flow`.

pub mod handler;
