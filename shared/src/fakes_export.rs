//! Fakes of findings-export's ports: findings served in pages, an in-memory bucket with
//! multipart uploads and injected faults, and scripted Inspector report jobs.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::Value;

use crate::export::ports::{
    Destination, ExportStore, FindingPages, FindingSource, Listing, MultipartSink, Page, ReportService, ReportState,
    ReportStatus,
};
use crate::filter::FilterCriteria;
use crate::{Error, ErrorClass};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn injected(service: &'static str, operation: &'static str) -> Error {
    Error::Aws {
        service,
        operation,
        code: Some("InternalError".into()),
        class: ErrorClass::Retryable,
        detail: "InternalError: injected".into(),
        source: "injected".into(),
    }
}

/// Findings served `per_page` at a time, recording the criteria of each query.
#[derive(Default)]
pub struct FakeFindings {
    /// Every finding, in order.
    pub findings: Vec<Value>,
    /// Page size (100 like the API when 0).
    pub per_page: usize,
    /// Criteria of each `pages` call, as JSON.
    pub queries: Mutex<Vec<Value>>,
}

impl FakeFindings {
    /// Serves `findings`, 100 a page.
    pub fn new(findings: Vec<Value>) -> Self {
        FakeFindings {
            findings,
            per_page: 100,
            queries: Mutex::new(Vec::new()),
        }
    }
}

struct FakePages<'a>(&'a FakeFindings);

#[async_trait]
impl FindingPages for FakePages<'_> {
    async fn page(&self, token: Option<String>) -> Result<Page, Error> {
        let per_page = self.0.per_page.max(1);
        let start: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let end = (start + per_page).min(self.0.findings.len());
        let next = (end < self.0.findings.len()).then(|| end.to_string());
        Ok((self.0.findings[start.min(end)..end].to_vec(), next))
    }
}

impl FindingSource for FakeFindings {
    fn pages(&self, criteria: &FilterCriteria) -> Result<Box<dyn FindingPages + '_>, Error> {
        lock(&self.queries).push(criteria.to_json());
        Ok(Box::new(FakePages(self)))
    }
}

/// A fault the fake bucket injects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketFault {
    /// `UploadPart` number N fails.
    Part(i32),
    /// `PutObject` of a key ending in the text fails.
    Put(String),
}

/// What the fake bucket holds.
#[derive(Debug, Default)]
pub struct BucketState {
    /// Completed objects: key → body.
    pub objects: BTreeMap<String, Vec<u8>>,
    /// Uploads in progress: id → (key, parts).
    pub uploads: BTreeMap<String, (String, BTreeMap<i32, Vec<u8>>)>,
    /// Uploads aborted, by key.
    pub aborted: Vec<String>,
    /// Keys deleted.
    pub deleted: Vec<String>,
    /// The fault to inject, if any.
    pub fault: Option<BucketFault>,
    /// `list` calls, by prefix.
    pub listed: Vec<String>,
    next_upload: u32,
}

/// An in-memory export bucket.
#[derive(Clone, Default)]
pub struct FakeBucket {
    /// The contents, shared with the test.
    pub state: Arc<Mutex<BucketState>>,
}

impl FakeBucket {
    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, BucketState> {
        lock(&self.state)
    }

    /// Puts an object in place, as an earlier export would have.
    pub fn insert(&self, key: &str, body: &[u8]) {
        self.state().objects.insert(key.to_owned(), body.to_vec());
    }
}

struct FakeUpload<'a> {
    bucket: &'a FakeBucket,
    key: String,
}

#[async_trait]
impl MultipartSink for FakeUpload<'_> {
    async fn start(&self) -> Result<String, Error> {
        let mut state = self.bucket.state();
        state.next_upload += 1;
        let id = format!("upload-{}", state.next_upload);
        state.uploads.insert(id.clone(), (self.key.clone(), BTreeMap::new()));
        Ok(id)
    }

    async fn part(&self, upload_id: &str, number: i32, bytes: Vec<u8>) -> Result<String, Error> {
        let mut state = self.bucket.state();
        if state.fault == Some(BucketFault::Part(number)) {
            return Err(injected("s3", "UploadPart"));
        }
        let (_, parts) = state
            .uploads
            .get_mut(upload_id)
            .ok_or_else(|| injected("s3", "UploadPart"))?;
        parts.insert(number, bytes);
        Ok(format!("etag-{number}"))
    }

    async fn complete(&self, upload_id: &str, parts: Vec<(i32, String)>) -> Result<(), Error> {
        let mut state = self.bucket.state();
        let (key, stored) = state
            .uploads
            .remove(upload_id)
            .ok_or_else(|| injected("s3", "CompleteMultipartUpload"))?;
        let mut object = Vec::new();
        for (number, etag) in parts {
            match stored.get(&number) {
                Some(bytes) if etag == format!("etag-{number}") => object.extend(bytes),
                _ => return Err(injected("s3", "CompleteMultipartUpload")),
            }
        }
        state.objects.insert(key, object);
        Ok(())
    }

    async fn abort(&self, upload_id: &str) -> Result<(), Error> {
        let mut state = self.bucket.state();
        if let Some((key, _)) = state.uploads.remove(upload_id) {
            state.aborted.push(key);
        }
        Ok(())
    }
}

#[async_trait]
impl ExportStore for FakeBucket {
    fn bucket(&self) -> &str {
        "exports"
    }

    fn upload(&self, key: &str, _content_type: &'static str) -> Box<dyn MultipartSink + '_> {
        Box::new(FakeUpload {
            bucket: self,
            key: key.to_owned(),
        })
    }

    async fn put(&self, key: &str, body: Vec<u8>, _content_type: &'static str) -> Result<(), Error> {
        let mut state = self.state();
        if matches!(&state.fault, Some(BucketFault::Put(suffix)) if key.ends_with(suffix.as_str())) {
            return Err(injected("s3", "PutObject"));
        }
        state.objects.insert(key.to_owned(), body);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, Error> {
        self.state()
            .objects
            .get(key)
            .cloned()
            .ok_or_else(|| injected("s3", "GetObject"))
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        let mut state = self.state();
        state.objects.remove(key);
        state.deleted.push(key.to_owned());
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Listing, Error> {
        let mut state = self.state();
        state.listed.push(prefix.to_owned());
        let mut listing = Listing::default();
        for (key, body) in state.objects.range(prefix.to_owned()..) {
            let Some(rest) = key.strip_prefix(prefix) else { break };
            match rest.find('/') {
                Some(slash) => {
                    let folder = format!("{prefix}{}", &rest[..=slash]);
                    if listing.folders.last() != Some(&folder) {
                        listing.folders.push(folder);
                    }
                }
                None => listing.objects.push((key.clone(), body.len() as u64)),
            }
        }
        Ok(listing)
    }
}

/// What the fake report service holds: each job's scripted statuses (the last one repeats).
#[derive(Debug, Default)]
pub struct ReportsState {
    /// Job id → statuses still to give, in order.
    pub scripts: BTreeMap<String, VecDeque<ReportState>>,
    /// Error codes of jobs that fail.
    pub error_codes: BTreeMap<String, String>,
    /// The account's latest findings report, if any.
    pub latest: Option<String>,
    /// Destinations of jobs, by id.
    pub destinations: BTreeMap<String, Destination>,
    /// Creates to refuse with `ReportBusy` before one succeeds.
    pub busy_creates: usize,
    /// `(format, criteria JSON, destination)` of each create.
    pub created: Vec<(String, Value, Destination)>,
    /// Status checks made, by id (`latest` for the id-less one).
    pub checks: Vec<String>,
    /// The script each new job gets.
    pub next_script: Vec<ReportState>,
    /// The error code each new job gets, if it fails.
    pub next_error_code: Option<String>,
}

/// Scripted Inspector report jobs.
#[derive(Clone, Default)]
pub struct FakeReports {
    /// The state, shared with the test.
    pub state: Arc<Mutex<ReportsState>>,
}

impl FakeReports {
    /// New jobs go through `script` (for example in progress twice, then succeeded).
    pub fn new(script: &[ReportState]) -> Self {
        let reports = FakeReports::default();
        reports.state().next_script = script.to_vec();
        reports
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, ReportsState> {
        lock(&self.state)
    }

    /// A job that already exists, as another caller or an earlier invocation started it.
    pub fn existing(&self, id: &str, destination: Destination, script: &[ReportState]) {
        let mut state = self.state();
        state.scripts.insert(id.to_owned(), script.iter().copied().collect());
        state.destinations.insert(id.to_owned(), destination);
        state.latest = Some(id.to_owned());
    }

    fn create(&self, format: &str, criteria: Value, destination: &Destination) -> Result<String, Error> {
        let mut state = self.state();
        if state.busy_creates > 0 {
            state.busy_creates -= 1;
            return Err(Error::ReportBusy {
                what: "findings report",
            });
        }
        let id = format!("report-{}", state.created.len() + 1);
        state.created.push((format.to_owned(), criteria, destination.clone()));
        let script = state.next_script.iter().copied().collect();
        state.scripts.insert(id.clone(), script);
        state.destinations.insert(id.clone(), destination.clone());
        if let Some(code) = state.next_error_code.clone() {
            state.error_codes.insert(id.clone(), code);
        }
        state.latest = Some(id.clone());
        Ok(id)
    }

    fn status(&self, id: &str) -> Result<ReportStatus, Error> {
        let mut state = self.state();
        state.checks.push(id.to_owned());
        let script = state.scripts.get_mut(id).ok_or_else(|| Error::Aws {
            service: "inspector2",
            operation: "GetFindingsReportStatus",
            code: Some("ResourceNotFoundException".into()),
            class: ErrorClass::Config,
            detail: format!("no report {id}"),
            source: "no such report".into(),
        })?;
        let current = if script.len() > 1 {
            script.pop_front()
        } else {
            script.front().copied()
        }
        .unwrap_or(ReportState::Succeeded);
        let failed = matches!(current, ReportState::Failed);
        Ok(ReportStatus {
            report_id: id.to_owned(),
            state: current,
            error_code: if failed {
                state.error_codes.get(id).cloned()
            } else {
                None
            },
            error_message: failed.then(|| "scripted failure".to_owned()),
            destination: state.destinations.get(id).cloned(),
        })
    }
}

#[async_trait]
impl ReportService for FakeReports {
    async fn create_findings_report(
        &self,
        format: &str,
        criteria: &FilterCriteria,
        destination: &Destination,
    ) -> Result<String, Error> {
        self.create(format, criteria.to_json(), destination)
    }

    async fn findings_report_status(&self, report_id: Option<&str>) -> Result<Option<ReportStatus>, Error> {
        let id = match report_id {
            Some(id) => id.to_owned(),
            None => {
                let latest = self.state().latest.clone();
                match latest {
                    Some(id) => id,
                    None => {
                        self.state().checks.push("latest".into());
                        return Ok(None);
                    }
                }
            }
        };
        self.status(&id).map(Some)
    }

    async fn create_sbom_export(&self, format: &str, destination: &Destination) -> Result<String, Error> {
        self.create(format, Value::Null, destination)
    }

    async fn sbom_export_status(&self, report_id: &str) -> Result<ReportStatus, Error> {
        self.status(report_id)
    }
}
