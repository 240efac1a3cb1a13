//! findings-export's flow over its ports (DESIGN.md, "findings-export"):
//! - stream: `since` from the newest manifest, the stream loop, then the summary and, last, the
//!   manifest; a failure after the data object completed deletes what was written, so an export
//!   is all there or not there at all;
//! - report and sbom: wait out a report already running, start ours, poll with backoff until it
//!   ends or the deadline is near, then answer `in-progress` for the next invocation to resume.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::layout::{self, MANIFEST_SUFFIX};
use super::ports::{Destination, ExportStore, FindingSource, ReportService, ReportState, ReportStatus};
use super::request::{ExportFormat, ExportRequest, Mode, Since};
use super::{stream, RowFormat, PART_SIZE};
use crate::{Error, ErrorClass};

/// How long before the Lambda deadline polling stops, to answer in time.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);
/// The first wait between status checks; it doubles up to [`MAX_POLL_DELAY`].
pub const FIRST_POLL_DELAY: Duration = Duration::from_secs(2);
/// The longest wait between status checks.
pub const MAX_POLL_DELAY: Duration = Duration::from_secs(30);
/// Without a deadline (tests, local runs), polling stops after Lambda's longest invocation.
const NO_DEADLINE_WAIT: Duration = Duration::from_secs(900);

/// Where exports go and what the environment asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTarget {
    /// `EXPORT_BUCKET`.
    pub bucket: String,
    /// `EXPORT_PREFIX`, without slashes at either end.
    pub prefix: String,
    /// `EXPORT_KMS_KEY_ARN`.
    pub kms_key_arn: String,
}

/// The answer of a finished or still running export.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportAnswer {
    /// `exported` or `in-progress`.
    pub outcome: &'static str,
    /// `report`, `stream` or `sbom`.
    pub mode: &'static str,
    /// The format written.
    pub format: &'static str,
    /// The status selection (not for sbom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// `s3://` URIs of what was written.
    pub objects: Vec<String>,
    /// Findings exported, where known (a native report does not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Bytes written, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The report or SBOM export id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_id: Option<String>,
    /// The `updatedAt` the export started from (`since`), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The newest `updatedAt` exported, RFC 3339: the next `since: "last"` starts there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    /// Why, in words, where the outcome needs explaining.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The wall clock, injectable so that keys and manifests are reproducible in tests.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// findings-export's dependencies.
pub struct Exporter {
    target: ExportTarget,
    findings: Arc<dyn FindingSource>,
    store: Arc<dyn ExportStore>,
    reports: Arc<dyn ReportService>,
    clock: Clock,
    part_size: usize,
}

fn rfc3339(at: DateTime) -> Option<String> {
    at.fmt(Format::DateTime).ok()
}

impl Exporter {
    /// An exporter writing to `target` through the given ports, on the system clock.
    pub fn new(
        target: ExportTarget,
        findings: Arc<dyn FindingSource>,
        store: Arc<dyn ExportStore>,
        reports: Arc<dyn ReportService>,
    ) -> Self {
        Exporter {
            target,
            findings,
            store,
            reports,
            clock: Arc::new(SystemTime::now),
            part_size: PART_SIZE,
        }
    }

    /// The same exporter on another clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same exporter with another part size (tests; S3 needs at least 5 MiB but the last).
    pub fn with_part_size(mut self, part_size: usize) -> Self {
        self.part_size = part_size;
        self
    }

    fn now(&self) -> DateTime {
        DateTime::from((self.clock)())
    }

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.store.bucket())
    }

    /// Runs `request`; `deadline` is the invocation's (`None`: no limit but Lambda's 15 minutes).
    pub async fn run(&self, request: &ExportRequest, deadline: Option<Instant>) -> Result<ExportAnswer, Error> {
        let deadline = deadline.unwrap_or_else(|| Instant::now() + NO_DEADLINE_WAIT);
        match request.mode {
            Mode::Stream => self.stream(request).await,
            Mode::Report => self.report(request, deadline).await,
            Mode::Sbom => self.sbom(request, deadline).await,
        }
    }

    async fn stream(&self, request: &ExportRequest) -> Result<ExportAnswer, Error> {
        let started = self.now();
        let since = match request.since {
            Since::Always => None,
            Since::Time(at) => Some(at),
            Since::LastExport => self.last_watermark().await?,
        };
        let criteria = request.criteria(since)?;
        let format = match request.format {
            ExportFormat::Csv => RowFormat::Csv {
                now: started.as_secs_f64(),
            },
            _ => RowFormat::Ndjson,
        };
        let keys = layout::stream_keys(&self.target.prefix, started, format.extension());
        let pages = self.findings.pages(&criteria)?;
        let sink = self.store.upload(&keys.data, format.content_type());
        let streamed = stream::export(pages.as_ref(), sink.as_ref(), format, self.part_size).await?;

        let summary = serde_json::to_vec_pretty(&streamed.summary).unwrap_or_default();
        if let Err(err) = self.store.put(&keys.summary, summary, "application/json").await {
            self.undo(&[&keys.data]).await;
            return Err(err);
        }
        // With no finding newer than `since`, the watermark stays where it was.
        let watermark = streamed
            .object
            .watermark
            .map(super::epoch_time)
            .or(since)
            .and_then(rfc3339);
        let finished = self.now();
        let manifest = json!({
            "version": 1,
            "object": self.uri(&keys.data),
            "format": request.format.as_str(),
            "compression": "gzip",
            "count": streamed.object.count,
            "bytes": streamed.object.bytes,
            "parts": streamed.parts,
            "sha256": streamed.object.sha256,
            "status": request.status.as_str(),
            "filterCriteria": criteria.to_json(),
            "since": since.and_then(rfc3339),
            "watermark": watermark,
            "startedAt": rfc3339(started),
            "finishedAt": rfc3339(finished),
            "summary": self.uri(&keys.summary),
        });
        let manifest = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        if let Err(err) = self.store.put(&keys.manifest, manifest, "application/json").await {
            self.undo(&[&keys.data, &keys.summary]).await;
            return Err(err);
        }
        Ok(ExportAnswer {
            outcome: "exported",
            mode: request.mode.as_str(),
            format: request.format.as_str(),
            status: Some(request.status.as_str()),
            objects: vec![self.uri(&keys.data), self.uri(&keys.manifest), self.uri(&keys.summary)],
            count: Some(streamed.object.count),
            bytes: Some(streamed.object.bytes),
            report_id: None,
            since: since.and_then(rfc3339),
            watermark,
            reason: None,
        })
    }

    /// Deletes what an export wrote before it failed; a failure here is logged, and the missing
    /// manifest still marks the export as unfinished.
    async fn undo(&self, keys: &[&str]) {
        for key in keys {
            if let Err(err) = self.store.delete(key).await {
                tracing::error!(key, error = %err, "could not delete a partial export; it has no manifest");
            }
        }
    }

    /// The watermark of the newest manifest under the prefix, walking the partitions newest
    /// first: a handful of `ListObjectsV2` calls, however many exports there are.
    async fn last_watermark(&self) -> Result<Option<DateTime>, Error> {
        let Some(key) = self.newest_manifest().await? else {
            tracing::info!("no earlier manifest; exporting everything");
            return Ok(None);
        };
        let body = self.store.get(&key).await?;
        let manifest: Value = serde_json::from_slice(&body)
            .map_err(|err| Error::Export(format!("manifest {} is not JSON: {err}", self.uri(&key))))?;
        match manifest.get("watermark") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => DateTime::from_str(text, Format::DateTime)
                .map(Some)
                .map_err(|err| Error::Export(format!("manifest {} has watermark {text:?}: {err}", self.uri(&key)))),
            Some(other) => Err(Error::Export(format!(
                "manifest {} has watermark {other}, not an RFC 3339 string",
                self.uri(&key)
            ))),
        }
    }

    async fn newest_manifest(&self) -> Result<Option<String>, Error> {
        // Depth 0 is the prefix, 1 a year, 2 a month, 3 a day, whose objects are the exports.
        let mut stack = vec![(layout::stream_root(&self.target.prefix), 0)];
        while let Some((folder, depth)) = stack.pop() {
            let listing = self.store.list(&folder).await?;
            if depth == 3 {
                let newest = listing
                    .objects
                    .into_iter()
                    .map(|(key, _)| key)
                    .filter(|key| key.ends_with(MANIFEST_SUFFIX))
                    .max();
                if newest.is_some() {
                    return Ok(newest);
                }
                continue;
            }
            let level = ["year=", "month=", "day="][depth];
            let mut folders: Vec<String> = listing
                .folders
                .into_iter()
                .filter(|f| f[folder.len()..].starts_with(level))
                .collect();
            // Ascending on the stack, so that the newest is taken first.
            folders.sort();
            stack.extend(folders.into_iter().map(|f| (f, depth + 1)));
        }
        Ok(None)
    }

    fn destination(&self, started: DateTime) -> Destination {
        Destination {
            bucket: self.target.bucket.clone(),
            key_prefix: layout::report_prefix(&self.target.prefix, started),
            kms_key_arn: self.target.kms_key_arn.clone(),
        }
    }

    /// A report of ours writes under our bucket and prefix.
    fn is_ours(&self, status: &ReportStatus) -> bool {
        status.destination.as_ref().is_some_and(|d| {
            d.bucket == self.target.bucket && layout::clean_prefix(&d.key_prefix).starts_with(&self.target.prefix)
        })
    }

    async fn report(&self, request: &ExportRequest, deadline: Instant) -> Result<ExportAnswer, Error> {
        if let Some(report_id) = &request.report_id {
            return self.finish_report(request, report_id, deadline).await;
        }
        loop {
            // Inspector runs one report per account: wait for a running one first. If it is
            // ours (an earlier invocation ran out of time), it is the one to finish.
            if let Some(latest) = self.reports.findings_report_status(None).await? {
                if latest.state == ReportState::InProgress {
                    if self.is_ours(&latest) {
                        tracing::info!(report_id = latest.report_id, "resuming our report in progress");
                        return self.finish_report(request, &latest.report_id, deadline).await;
                    }
                    tracing::info!(
                        report_id = latest.report_id,
                        "another report is in progress; waiting for it"
                    );
                    let status = self.poll(
                        || self.reports.findings_report_status(Some(&latest.report_id)),
                        deadline,
                    );
                    if status.await?.is_none() {
                        return Ok(self.busy_answer(request, &latest.report_id));
                    }
                }
            }
            let since = match request.since {
                Since::Time(at) => Some(at),
                _ => None,
            };
            let criteria = request.criteria(since)?;
            let destination = self.destination(self.now());
            match self
                .reports
                .create_findings_report(request.format.as_str(), &criteria, &destination)
                .await
            {
                Ok(report_id) => {
                    tracing::info!(report_id, prefix = destination.key_prefix, "findings report started");
                    return self.finish_report(request, &report_id, deadline).await;
                }
                // Someone started one between our check and our create: wait for it in turn.
                Err(Error::ReportBusy { .. }) if Instant::now() + MAX_POLL_DELAY + DEADLINE_MARGIN < deadline => {
                    tokio::time::sleep(FIRST_POLL_DELAY).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn busy_answer(&self, request: &ExportRequest, running: &str) -> ExportAnswer {
        ExportAnswer {
            reason: Some(format!(
                "another findings report ({running}) is still running; ours was not started and the next invocation tries again"
            )),
            report_id: None,
            ..self.in_progress(request, running)
        }
    }

    fn in_progress(&self, request: &ExportRequest, report_id: &str) -> ExportAnswer {
        ExportAnswer {
            outcome: "in-progress",
            mode: request.mode.as_str(),
            format: request.format.as_str(),
            status: (request.mode == Mode::Report).then(|| request.status.as_str()),
            objects: Vec::new(),
            count: None,
            bytes: None,
            report_id: Some(report_id.to_owned()),
            since: None,
            watermark: None,
            reason: Some(format!(
                "still running at the deadline; invoke again with {{\"mode\":\"{}\",\"reportId\":\"{report_id}\"}} to resume{}",
                request.mode.as_str(),
                if request.mode == Mode::Report {
                    ", or let the next schedule pick it up"
                } else {
                    ""
                }
            )),
        }
    }

    async fn finish_report(
        &self,
        request: &ExportRequest,
        report_id: &str,
        deadline: Instant,
    ) -> Result<ExportAnswer, Error> {
        let status = self.poll(|| self.reports.findings_report_status(Some(report_id)), deadline);
        match status.await? {
            None => Ok(self.in_progress(request, report_id)),
            Some(status) => self.ended(request, "findings report", status).await,
        }
    }

    async fn sbom(&self, request: &ExportRequest, deadline: Instant) -> Result<ExportAnswer, Error> {
        let report_id = match &request.report_id {
            Some(id) => id.clone(),
            None => {
                let destination = self.destination(self.now());
                let id = self
                    .reports
                    .create_sbom_export(request.format.as_str(), &destination)
                    .await?;
                tracing::info!(report_id = id, prefix = destination.key_prefix, "SBOM export started");
                id
            }
        };
        let status = self.poll(
            || async { self.reports.sbom_export_status(&report_id).await.map(Some) },
            deadline,
        );
        match status.await? {
            None => Ok(self.in_progress(request, &report_id)),
            Some(status) => self.ended(request, "SBOM export", status).await,
        }
    }

    /// Polls `status` with backoff until the job ends (`Some`) or the deadline is near (`None`).
    async fn poll<F, Fut>(&self, status: F, deadline: Instant) -> Result<Option<ReportStatus>, Error>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<ReportStatus>, Error>>,
    {
        let mut delay = FIRST_POLL_DELAY;
        loop {
            match status().await? {
                Some(status) if status.state != ReportState::InProgress => return Ok(Some(status)),
                _ => {}
            }
            if Instant::now() + delay + DEADLINE_MARGIN > deadline {
                return Ok(None);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_POLL_DELAY);
        }
    }

    async fn ended(
        &self,
        request: &ExportRequest,
        what: &'static str,
        status: ReportStatus,
    ) -> Result<ExportAnswer, Error> {
        let answer =
            |objects: Vec<String>, count: Option<u64>, bytes: Option<u64>, reason: Option<String>| ExportAnswer {
                outcome: "exported",
                mode: request.mode.as_str(),
                format: request.format.as_str(),
                status: (request.mode == Mode::Report).then(|| request.status.as_str()),
                objects,
                count,
                bytes,
                report_id: Some(status.report_id.clone()),
                since: None,
                watermark: None,
                reason,
            };
        match (status.state, status.error_code.as_deref()) {
            (ReportState::Succeeded, _) => {
                let (objects, bytes) = self.written(&status).await?;
                Ok(answer(objects, None, Some(bytes), None))
            }
            (ReportState::Failed, Some("NO_FINDINGS_FOUND")) => Ok(answer(
                Vec::new(),
                Some(0),
                Some(0),
                Some("no findings matched; Inspector wrote no report".into()),
            )),
            (state, code) => {
                let code = code.unwrap_or(if state == ReportState::Cancelled {
                    "CANCELLED"
                } else {
                    "UNKNOWN"
                });
                let (class, fix) = advice(code, &self.target);
                let message = status.error_message.as_deref().unwrap_or("no message");
                Err(Error::ReportFailed {
                    what,
                    report_id: status.report_id,
                    code: code.to_owned(),
                    detail: format!("{message}. {fix}"),
                    class,
                })
            }
        }
    }

    /// The objects Inspector wrote for a finished job: those under its prefix, or in a folder
    /// there, named by its id; if none is, the prefix itself.
    async fn written(&self, status: &ReportStatus) -> Result<(Vec<String>, u64), Error> {
        let prefix = status
            .destination
            .as_ref()
            .map(|d| format!("{}/", layout::clean_prefix(&d.key_prefix)))
            .unwrap_or_default();
        let listing = self.store.list(&prefix).await?;
        let mut mine: Vec<(String, u64)> = Vec::new();
        for folder in listing.folders.iter().filter(|f| f.contains(&status.report_id)) {
            mine.extend(self.store.list(folder).await?.objects);
        }
        mine.extend(
            listing
                .objects
                .into_iter()
                .filter(|(key, _)| key.contains(&status.report_id)),
        );
        if mine.is_empty() {
            return Ok((vec![self.uri(&prefix)], 0));
        }
        let bytes = mine.iter().map(|(_, size)| size).sum();
        Ok((mine.into_iter().map(|(key, _)| self.uri(&key)).collect(), bytes))
    }
}

/// What a `ReportingErrorCode` means for the operator: its class and what to fix.
fn advice(code: &str, target: &ExportTarget) -> (ErrorClass, String) {
    let bucket = &target.bucket;
    let key = &target.kms_key_arn;
    match code {
        "INVALID_PERMISSIONS" => (
            ErrorClass::Config,
            format!(
                "Let inspector2.amazonaws.com s3:PutObject, s3:PutObjectAcl and s3:AbortMultipartUpload on {bucket} and kms:Decrypt and kms:GenerateDataKey* on {key} (infra/template.yaml has both policies)"
            ),
        ),
        "BUCKET_NOT_FOUND" => (
            ErrorClass::Config,
            format!("Create bucket {bucket} or fix EXPORT_BUCKET"),
        ),
        "MALFORMED_KMS_KEY" => (
            ErrorClass::Config,
            format!("EXPORT_KMS_KEY_ARN {key} must be an enabled symmetric customer-managed key in this region"),
        ),
        "INCOMPATIBLE_BUCKET_REGION" => (
            ErrorClass::Config,
            format!("Bucket {bucket} must be in the region Inspector runs in"),
        ),
        "CANCELLED" => (
            ErrorClass::Config,
            "Someone cancelled it; invoke again to start a new one".to_owned(),
        ),
        _ => (
            ErrorClass::Retryable,
            "Inspector's own failure; a retry starts a new one".to_owned(),
        ),
    }
}

#[cfg(test)]
#[path = "flow_tests.rs"]
mod tests;
