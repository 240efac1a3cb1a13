//! agent-installer: every new EC2 instance becomes scannable by Amazon Inspector v2.
//!
//! `main.rs` wires; [`handler`] adapts the Lambda event to the flow in `shared::installer`.

pub mod handler;
