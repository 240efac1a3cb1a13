//! inspector-autopilot's common crate: events, configuration, errors, the agent-installer flow
//! and the AWS adapters behind narrow traits.
//!
//! Domain modules (`events`, `config`, `installer`, `ports`) never touch `lambda_runtime`; the
//! Lambda glue lives in [`runtime`] and the SDK glue in [`aws`].

pub mod aws;
pub mod config;
pub mod error;
pub mod events;
pub mod export;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
pub mod filter;
pub mod installer;
pub mod ports;
pub mod router;
pub mod rules;
pub mod runtime;
pub mod sync;
pub mod telemetry;
pub mod text;

pub use error::{Error, ErrorClass};
