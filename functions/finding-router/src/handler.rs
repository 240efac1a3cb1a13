//! The Lambda handler: an SQS batch (answered with `batchItemFailures`) or one EventBridge event
//! (answered with the decision), errors classified.

use std::time::SystemTime;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_smithy_types::DateTime;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use shared::router::{log, RouteReport, Router};
use shared::Error;

/// What the function answers.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// One EventBridge event's decision.
    Event(RouteReport),
    /// An SQS batch: the records to deliver again.
    Batch(SqsBatchResponse),
}

/// Handles one invocation at the current time.
pub async fn handle(router: &Router, event: LambdaEvent<Value>) -> Result<Answer, Error> {
    handle_at(router, event, DateTime::from(SystemTime::now())).await
}

/// Whether a payload is an SQS event: a `Records` list whose records come from `aws:sqs`.
fn is_sqs(payload: &Value) -> bool {
    payload
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|records| records.first())
        .and_then(|record| record.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:sqs")
}

/// Handles one invocation as if at `now` (rule expiry is decided against it).
pub async fn handle_at(router: &Router, event: LambdaEvent<Value>, now: DateTime) -> Result<Answer, Error> {
    tracing::debug!(payload = %event.payload, "event received");
    let result = if is_sqs(&event.payload) {
        match serde_json::from_value::<SqsEvent>(event.payload) {
            Ok(batch) => router.handle_sqs(&batch, now).await.map(Answer::Batch),
            Err(e) => Ok(Answer::Event(RouteReport::ignored(format!(
                "SQS event that does not parse: {}",
                shared::text::clip(&e.to_string(), 200)
            )))),
        }
    } else {
        router.handle_event(&event.payload, now).await.map(Answer::Event)
    };
    match &result {
        Ok(Answer::Event(report)) => log(report, None),
        Ok(Answer::Batch(response)) => {
            tracing::info!(failures = response.batch_item_failures.len(), "batch handled")
        }
        Err(err) => tracing::error!(error_class = %err.class(), error = %err, "invocation failed"),
    }
    result
}
