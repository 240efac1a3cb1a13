//! finding-router: Inspector v2 findings reach the right people; suppressed ones reach nobody.
//!
//! `main.rs` wires; [`handler`] tells an SQS batch from an EventBridge event and runs the flow in
//! `shared::router`.

pub mod handler;
