//! account-setup: CloudFormation custom resources for Inspector v2 enablement and SSM Default
//! Host Management, which have no resource type of their own.
//!
//! `main.rs` wires; [`handler`] holds the protocol and the flow, [`aws`] the SDK calls and
//! [`respond`] the answer's PUT.

pub mod aws;
pub mod handler;
pub mod respond;
