//! findings-export's narrow ports beyond the stream loop's two ([`FindingPages`] and
//! [`MultipartSink`]): the finding source, the export bucket, and Inspector's report jobs.

use async_trait::async_trait;

pub use super::stream::{FindingPages, MultipartSink, Page};
use crate::filter::FilterCriteria;
use crate::Error;

/// Findings by criteria (`ListFindings`).
pub trait FindingSource: Send + Sync {
    /// The pages of the findings that match `criteria`, 100 a page.
    fn pages(&self, criteria: &FilterCriteria) -> Result<Box<dyn FindingPages + '_>, Error>;
}

/// One folder level of the bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Sub-folders (common prefixes), each ending in `/`.
    pub folders: Vec<String>,
    /// Objects directly under the prefix: key and size.
    pub objects: Vec<(String, u64)>,
}

/// The export bucket, every object written with SSE-KMS under the configured key.
#[async_trait]
pub trait ExportStore: Send + Sync {
    /// The bucket's name, for `s3://` URIs.
    fn bucket(&self) -> &str;
    /// A multipart upload to `key`.
    fn upload(&self, key: &str, content_type: &'static str) -> Box<dyn MultipartSink + '_>;
    /// `PutObject`.
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &'static str) -> Result<(), Error>;
    /// `GetObject`, the whole body (manifests are small).
    async fn get(&self, key: &str) -> Result<Vec<u8>, Error>;
    /// `DeleteObject`.
    async fn delete(&self, key: &str) -> Result<(), Error>;
    /// `ListObjectsV2` with delimiter `/`, every page.
    async fn list(&self, prefix: &str) -> Result<Listing, Error>;
}

/// Where Inspector writes a report or SBOM export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The bucket.
    pub bucket: String,
    /// The key prefix.
    pub key_prefix: String,
    /// The KMS key Inspector encrypts with.
    pub kms_key_arn: String,
}

/// A report job's state (`ExternalReportStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportState {
    /// `IN_PROGRESS`.
    InProgress,
    /// `SUCCEEDED`.
    Succeeded,
    /// `FAILED`.
    Failed,
    /// `CANCELLED`.
    Cancelled,
}

/// What `GetFindingsReportStatus` or `GetSbomExport` says of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportStatus {
    /// The job.
    pub report_id: String,
    /// Its state.
    pub state: ReportState,
    /// `ReportingErrorCode`, when it failed.
    pub error_code: Option<String>,
    /// The service's words.
    pub error_message: Option<String>,
    /// Where it writes.
    pub destination: Option<Destination>,
}

/// Inspector's report jobs. Inspector runs one findings report per account at a time.
#[async_trait]
pub trait ReportService: Send + Sync {
    /// `CreateFindingsReport`; returns the report id. [`Error::ReportBusy`] when another report
    /// is running.
    async fn create_findings_report(
        &self,
        format: &str,
        criteria: &FilterCriteria,
        destination: &Destination,
    ) -> Result<String, Error>;
    /// `GetFindingsReportStatus`; `None` asks for the account's latest report, and answers
    /// `None` when there has never been one.
    async fn findings_report_status(&self, report_id: Option<&str>) -> Result<Option<ReportStatus>, Error>;
    /// `CreateSbomExport` of every resource; returns the report id.
    async fn create_sbom_export(&self, format: &str, destination: &Destination) -> Result<String, Error>;
    /// `GetSbomExport`.
    async fn sbom_export_status(&self, report_id: &str) -> Result<ReportStatus, Error>;
}
