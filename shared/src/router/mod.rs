//! finding-router's flow: an `Inspector2 Finding` is ignored (not ACTIVE), suppressed (an
//! unexpired suppression rule matches), routed (a route matches), notified (severity at or above
//! the threshold) or below the threshold; an `Inspector2 Scan` gives a digest. Events come one by
//! one from EventBridge or in SQS batches, answered with `batchItemFailures`.

pub mod message;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_smithy_types::DateTime;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;

use crate::config::{RouterConfig, Severity};
use crate::filter::matcher::Matcher;
use crate::ports::Notifier;
use crate::rules::source::RulesCache;
use crate::rules::Rules;
use crate::text::clip;
use crate::Error;
use message::{FindingView, ScanDigest};

/// Records of one SQS batch handled at once.
pub const SQS_CONCURRENCY: usize = 4;

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteReport {
    /// `notified`, `suppressed`, `below-threshold` or `ignored`.
    pub outcome: &'static str,
    /// Why, in words.
    pub reason: String,
    /// The finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_arn: Option<String>,
    /// The finding's severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// The suppression rule or route that decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Where the message went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
    /// SNS's message id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

impl RouteReport {
    /// An `ignored` report with its reason.
    pub fn ignored(reason: impl Into<String>) -> Self {
        RouteReport {
            outcome: "ignored",
            reason: reason.into(),
            finding_arn: None,
            severity: None,
            rule: None,
            topic_arn: None,
            message_id: None,
        }
    }
}

/// The rules compiled for matching: built once per rules version.
struct Compiled {
    version: String,
    suppressions: Vec<(String, Option<DateTime>, Matcher)>,
    routes: Vec<(String, String, Matcher)>,
}

impl Compiled {
    fn new(version: String, rules: &Rules) -> Self {
        Compiled {
            version,
            suppressions: rules
                .suppressions
                .iter()
                .map(|s| (s.name.clone(), s.expires_at, Matcher::new(&s.criteria)))
                .collect(),
            routes: rules
                .routes
                .iter()
                .map(|r| (r.name.clone(), r.topic_arn.clone(), Matcher::new(&r.criteria)))
                .collect(),
        }
    }
}

/// The finding-router flow over its ports.
pub struct Router {
    config: RouterConfig,
    rules: Option<RulesCache>,
    notifier: Arc<dyn Notifier>,
    compiled: Mutex<Option<Arc<Compiled>>>,
}

impl Router {
    /// A router; `rules` is `None` when `RULES_URI` is unset.
    pub fn new(config: RouterConfig, rules: Option<RulesCache>, notifier: Arc<dyn Notifier>) -> Self {
        Router {
            config,
            rules,
            notifier,
            compiled: Mutex::new(None),
        }
    }

    /// The rules in force, compiled; recompiled only when the rules version changes.
    async fn compiled(&self) -> Result<Option<Arc<Compiled>>, Error> {
        let Some(cache) = &self.rules else {
            return Ok(None);
        };
        let loaded = cache.load().await?;
        let mut slot = self.compiled.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match slot.as_ref() {
            Some(compiled) if compiled.version == loaded.version && !loaded.parsed => Ok(Some(Arc::clone(compiled))),
            _ => {
                let compiled = Arc::new(Compiled::new(loaded.version, &loaded.rules));
                *slot = Some(Arc::clone(&compiled));
                Ok(Some(compiled))
            }
        }
    }

    /// Handles one EventBridge event, at `now` (rule expiry is decided against it).
    pub async fn handle_event(&self, event: &Value, now: DateTime) -> Result<RouteReport, Error> {
        let rules = self.compiled().await?;
        self.route(event, rules.as_deref(), now).await
    }

    /// Handles an SQS batch whose bodies are EventBridge events. Records are handled
    /// [`SQS_CONCURRENCY`] at a time; those that fail (a publish that did not go through) are
    /// returned for SQS to deliver again, and then to its DLQ. A malformed record is ignored and
    /// logged: retrying it would change nothing.
    pub async fn handle_sqs(&self, batch: &SqsEvent, now: DateTime) -> Result<SqsBatchResponse, Error> {
        let rules = self.compiled().await?;
        let rules = rules.as_deref();
        let failures: Vec<BatchItemFailure> = stream::iter(batch.records.iter())
            .map(|record| async move {
                let id = record.message_id.clone().unwrap_or_default();
                let report = match record.body.as_deref().map(serde_json::from_str::<Value>) {
                    Some(Ok(event)) => self.route(&event, rules, now).await,
                    Some(Err(e)) => Ok(RouteReport::ignored(format!("record body is not JSON: {e}"))),
                    None => Ok(RouteReport::ignored("record has no body")),
                };
                match report {
                    Ok(report) => {
                        log(&report, Some(&id));
                        None
                    }
                    Err(err) if id.is_empty() => {
                        tracing::error!(error = %err, "record without messageId failed; it cannot be retried alone");
                        None
                    }
                    Err(err) => {
                        tracing::error!(message_id = %id, error_class = %err.class(), error = %err, "record failed; SQS will retry it");
                        let mut failure = BatchItemFailure::default();
                        failure.item_identifier = id;
                        Some(failure)
                    }
                }
            })
            .buffer_unordered(SQS_CONCURRENCY)
            .filter_map(|failure| async move { failure })
            .collect()
            .await;
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failures;
        Ok(response)
    }

    async fn route(&self, event: &Value, rules: Option<&Compiled>, now: DateTime) -> Result<RouteReport, Error> {
        if !event.is_object() {
            return Ok(RouteReport::ignored("event is not a JSON object"));
        }
        let source = event.get("source").and_then(Value::as_str);
        let detail_type = event.get("detail-type").and_then(Value::as_str);
        match (source, detail_type) {
            (Some("aws.inspector2"), Some("Inspector2 Finding")) => self.finding(event, rules, now).await,
            (Some("aws.inspector2"), Some("Inspector2 Scan")) => self.scan(event).await,
            (Some(source), Some(detail_type)) => Ok(RouteReport::ignored(format!(
                "{} / {} is not a finding-router event",
                clip(source, 60),
                clip(detail_type, 80)
            ))),
            _ => Ok(RouteReport::ignored(
                "not an EventBridge event: no source or detail-type",
            )),
        }
    }

    async fn finding(&self, event: &Value, rules: Option<&Compiled>, now: DateTime) -> Result<RouteReport, Error> {
        let Some(detail) = event.get("detail").filter(|d| d.is_object()) else {
            return Ok(RouteReport::ignored("Inspector2 Finding without a detail object"));
        };
        let view = FindingView::new(detail, event.get("region").and_then(Value::as_str));
        let Some(arn) = view.arn() else {
            return Ok(RouteReport::ignored("Inspector2 Finding without a findingArn"));
        };
        let mut report = RouteReport::ignored(String::new());
        report.finding_arn = Some(clip(arn, 300));
        report.severity = Some(clip(view.severity(), 20));
        match detail.get("status").and_then(Value::as_str) {
            Some("ACTIVE") => {}
            Some(status) => {
                report.reason = format!("status {} is not ACTIVE", clip(status, 20));
                return Ok(report);
            }
            None => {
                report.reason = "finding has no status".into();
                return Ok(report);
            }
        }
        // An unknown or missing severity counts as UNTRIAGED: better one message too many than a
        // finding lost to a new severity name.
        let severity = Severity::parse(view.severity()).unwrap_or(Severity::Untriaged);
        if let Some(rules) = rules {
            let suppressing = rules
                .suppressions
                .iter()
                .find(|(_, expires, matcher)| expires.is_none_or(|at| at > now) && matcher.matches(detail));
            if let Some((name, _, _)) = suppressing {
                report.outcome = "suppressed";
                report.reason = format!("matches suppression rule {name}");
                report.rule = Some(name.clone());
                return Ok(report);
            }
            if let Some((name, topic, _)) = rules.routes.iter().find(|(_, _, matcher)| matcher.matches(detail)) {
                report.reason = format!("matches route {name}");
                report.rule = Some(name.clone());
                return self.publish(report, view.notification(topic)).await;
            }
        }
        if !severity.reaches(self.config.min_severity) {
            report.outcome = "below-threshold";
            report.reason = format!(
                "{} is below NOTIFY_MIN_SEVERITY {}",
                severity.as_str(),
                self.config.min_severity.as_str()
            );
            return Ok(report);
        }
        report.reason = format!(
            "{} reaches NOTIFY_MIN_SEVERITY {}",
            severity.as_str(),
            self.config.min_severity.as_str()
        );
        self.publish(report, view.notification(&self.config.topic_arn)).await
    }

    async fn scan(&self, event: &Value) -> Result<RouteReport, Error> {
        let Some(digest) = ScanDigest::from_event(event) else {
            return Ok(RouteReport::ignored("Inspector2 Scan without a resource"));
        };
        let mut report = RouteReport::ignored(String::new());
        if digest.serious() == 0 && !self.config.digest_all_scans {
            report.outcome = "below-threshold";
            report.reason = format!(
                "scan of {} found no critical or high findings (NOTIFY_SCAN_DIGEST=all sends these too)",
                digest.resource
            );
            return Ok(report);
        }
        report.reason = format!("scan digest of {}", digest.resource);
        self.publish(report, digest.notification(&self.config.topic_arn)).await
    }

    async fn publish(
        &self,
        mut report: RouteReport,
        notification: crate::ports::Notification,
    ) -> Result<RouteReport, Error> {
        let message_id = self.notifier.publish(&notification).await?;
        report.outcome = "notified";
        report.topic_arn = Some(notification.topic_arn);
        report.message_id = Some(message_id);
        Ok(report)
    }
}

/// One log line per decision; suppressed and below-threshold at info, ignored at warn.
pub fn log(report: &RouteReport, message_id: Option<&str>) {
    let fields = BTreeMap::from([
        ("findingArn", report.finding_arn.as_deref().unwrap_or_default()),
        ("rule", report.rule.as_deref().unwrap_or_default()),
        ("messageId", message_id.unwrap_or_default()),
    ]);
    match report.outcome {
        "ignored" => tracing::warn!(outcome = report.outcome, reason = %report.reason, ?fields, "event ignored"),
        _ => tracing::info!(outcome = report.outcome, reason = %report.reason, ?fields, "handled"),
    }
}

#[cfg(test)]
mod tests;
