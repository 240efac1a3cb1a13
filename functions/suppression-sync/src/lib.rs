//! suppression-sync: Inspector v2 suppression rules as code.
//!
//! `main.rs` wires; [`handler`] reads the trigger and runs the flow in `shared::sync`.

pub mod handler;
