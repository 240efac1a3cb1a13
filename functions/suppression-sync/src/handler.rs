//! The Lambda handler: trigger in, the sync report (or `ignored` with a reason) out, errors
//! classified.

use std::time::SystemTime;

use aws_smithy_types::DateTime;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use shared::sync::{SyncReport, Syncer, Trigger};
use shared::Error;

/// What the function answers.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// Not a trigger of ours.
    Ignored {
        /// Always `ignored`.
        outcome: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// `synced` or `planned`.
    Sync(SyncReport),
}

/// Handles one invocation at the current time.
pub async fn handle(syncer: &Syncer, event: LambdaEvent<Value>) -> Result<Answer, Error> {
    handle_at(syncer, event, DateTime::from(SystemTime::now())).await
}

/// Handles one invocation as if at `now` (rule expiry is decided against it).
pub async fn handle_at(syncer: &Syncer, event: LambdaEvent<Value>, now: DateTime) -> Result<Answer, Error> {
    tracing::debug!(payload = %event.payload, "event received");
    let (dry_run, cause) = match Trigger::from_event(&event.payload, syncer.rules_uri()) {
        Trigger::Run { dry_run, cause } => (dry_run, cause),
        Trigger::Ignored(reason) => {
            tracing::warn!(outcome = "ignored", reason = %reason, "event ignored");
            return Ok(Answer::Ignored {
                outcome: "ignored",
                reason,
            });
        }
    };
    match syncer.run(dry_run, now).await {
        Ok(report) => {
            tracing::info!(
                outcome = report.outcome,
                cause,
                created = report.created.len(),
                updated = report.updated.len(),
                deleted = report.deleted.len(),
                unchanged = report.unchanged.len(),
                expired = report.expired.len(),
                "handled"
            );
            Ok(Answer::Sync(report))
        }
        Err(err) => {
            tracing::error!(error_class = %err.class(), error = %err, cause, "invocation failed");
            Err(err)
        }
    }
}
