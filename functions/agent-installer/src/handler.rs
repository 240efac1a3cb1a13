//! The Lambda handler: payload in, the installer's JSON answer out, errors classified.

use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::installer::{Installer, Outcome, Report};
use shared::{runtime, Error};

/// Handles one invocation. Unusable events are answered `ignored` (and logged as a warning);
/// errors carry their class into the Lambda `errorType`.
pub async fn handle(installer: &Installer, event: LambdaEvent<Value>) -> Result<Report, Error> {
    let deadline = runtime::deadline(&event.context);
    tracing::debug!(payload = %event.payload, "event received");
    match installer.handle(event.payload, deadline).await {
        Ok(report) => {
            let reason = report.reason.as_deref().unwrap_or_default();
            if report.outcome == Outcome::Ignored {
                tracing::warn!(outcome = "ignored", reason, "event ignored");
            } else {
                tracing::info!(outcome = ?report.outcome, instance_id = ?report.instance_id,
                    command_id = ?report.command_id, reason, "handled");
            }
            Ok(report)
        }
        Err(err) => {
            tracing::error!(error_class = %err.class(), error = %err, "invocation failed");
            Err(err)
        }
    }
}
