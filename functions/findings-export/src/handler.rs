//! The Lambda handler: a schedule or an on-demand payload in, the export's answer (or `ignored`
//! with every problem of the payload) out, errors classified.

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use shared::export::flow::{ExportAnswer, Exporter};
use shared::export::request::{Defaults, ExportRequest};
use shared::Error;

/// What the function answers.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// Not a trigger of ours, or a payload that can never work.
    Ignored {
        /// Always `ignored`.
        outcome: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// `exported` or `in-progress`.
    Export(ExportAnswer),
}

/// Handles one invocation.
pub async fn handle(exporter: &Exporter, defaults: &Defaults, event: LambdaEvent<Value>) -> Result<Answer, Error> {
    tracing::debug!(payload = %event.payload, "event received");
    let request = match ExportRequest::from_payload(&event.payload, defaults) {
        Ok(request) => request,
        Err(reason) => {
            tracing::warn!(outcome = "ignored", reason = %reason, "event ignored");
            return Ok(Answer::Ignored {
                outcome: "ignored",
                reason,
            });
        }
    };
    let deadline = shared::runtime::deadline(&event.context);
    match exporter.run(&request, deadline).await {
        Ok(answer) => {
            tracing::info!(
                outcome = answer.outcome,
                mode = answer.mode,
                format = answer.format,
                cause = request.cause,
                count = answer.count,
                bytes = answer.bytes,
                report_id = answer.report_id.as_deref(),
                objects = ?answer.objects,
                "handled"
            );
            Ok(Answer::Export(answer))
        }
        Err(err) => {
            tracing::error!(error_class = %err.class(), error = %err, mode = request.mode.as_str(), cause = request.cause, "invocation failed");
            Err(err)
        }
    }
}
