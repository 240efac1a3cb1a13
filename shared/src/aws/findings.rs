//! Inspector2 findings and report jobs over `aws-sdk-inspector2`: [`FindingSource`]
//! (`ListFindings`) and [`ReportService`] (`CreateFindingsReport`, `GetFindingsReportStatus`,
//! `CreateSbomExport`, `GetSbomExport`).
//!
//! An export must carry the API's JSON unchanged, with fields this SDK version does not know,
//! so each `ListFindings` answer's body is captured by an interceptor after the SDK checked and
//! parsed it: the SDK still signs, retries and classifies errors.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_inspector2::types::{self as sdk, ExternalReportStatus};
use aws_sdk_inspector2::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use super::{aws_error, build_error};
use crate::export::ports::{Destination, FindingPages, FindingSource, Page, ReportService, ReportState, ReportStatus};
use crate::filter::FilterCriteria;
use crate::Error;

/// The API's page size limit, and the issue's.
pub const PAGE_SIZE: i32 = 100;

/// Inspector2 findings and reports through one SDK client.
#[derive(Clone, Debug)]
pub struct Inspector2Findings {
    client: Client,
}

impl Inspector2Findings {
    /// Builds the client from the process's shared configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self::from_client(Client::new(config))
    }

    /// Wraps an existing client (tests use a mocked one).
    pub fn from_client(client: Client) -> Self {
        Inspector2Findings { client }
    }
}

/// Keeps the raw body of the last answer that deserialized.
#[derive(Debug, Clone, Default)]
struct BodyCapture(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for BodyCapture {
    fn name(&self) -> &'static str {
        "ListFindingsBodyCapture"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.response().body().bytes().map(<[u8]>::to_vec);
        if let Ok(mut slot) = self.0.lock() {
            *slot = body;
        }
        Ok(())
    }
}

struct ListFindingsPages<'a> {
    client: &'a Client,
    criteria: sdk::FilterCriteria,
}

#[derive(serde::Deserialize)]
struct ListFindingsBody {
    #[serde(default)]
    findings: Vec<Value>,
}

fn unreadable(detail: String) -> Error {
    Error::retryable("inspector2", "ListFindings", detail)
}

#[async_trait]
impl FindingPages for ListFindingsPages<'_> {
    async fn page(&self, token: Option<String>) -> Result<Page, Error> {
        let capture = BodyCapture::default();
        let output = self
            .client
            .list_findings()
            .filter_criteria(self.criteria.clone())
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| aws_error("inspector2", "ListFindings", e))?;
        let body = capture
            .0
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .ok_or_else(|| unreadable("the answer's body was not kept".into()))?;
        let parsed: ListFindingsBody = serde_json::from_slice(&body)
            .map_err(|e| unreadable(format!("the answer is not the JSON the SDK just read: {e}")))?;
        let next = output.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
        Ok((parsed.findings, next))
    }
}

impl FindingSource for Inspector2Findings {
    fn pages(&self, criteria: &FilterCriteria) -> Result<Box<dyn FindingPages + '_>, Error> {
        let criteria = criteria
            .to_sdk()
            .map_err(|e| build_error("inspector2", "ListFindings", e))?;
        Ok(Box::new(ListFindingsPages {
            client: &self.client,
            criteria,
        }))
    }
}

fn sdk_destination(destination: &Destination, operation: &'static str) -> Result<sdk::Destination, Error> {
    sdk::Destination::builder()
        .bucket_name(&destination.bucket)
        .key_prefix(&destination.key_prefix)
        .kms_key_arn(&destination.kms_key_arn)
        .build()
        .map_err(|e| build_error("inspector2", operation, e))
}

fn our_destination(destination: Option<&sdk::Destination>) -> Option<Destination> {
    destination.map(|d| Destination {
        bucket: d.bucket_name().to_owned(),
        key_prefix: d.key_prefix().unwrap_or_default().to_owned(),
        kms_key_arn: d.kms_key_arn().to_owned(),
    })
}

fn state(status: Option<&ExternalReportStatus>) -> ReportState {
    match status {
        Some(ExternalReportStatus::Succeeded) => ReportState::Succeeded,
        Some(ExternalReportStatus::Failed) => ReportState::Failed,
        Some(ExternalReportStatus::Cancelled) => ReportState::Cancelled,
        // In progress, missing, or a state this SDK does not know: keep polling until the deadline.
        _ => ReportState::InProgress,
    }
}

/// Inspector refuses a second report while one runs. The API reference names no error for it,
/// so any refusal that says "in progress" counts, whatever its code.
fn is_busy<E: ProvideErrorMetadata>(err: &E) -> bool {
    let message = err.message().unwrap_or_default().to_ascii_lowercase();
    matches!(
        err.code(),
        Some("ConflictException" | "ValidationException" | "ServiceQuotaExceededException")
    ) && (message.contains("in progress") || message.contains("in-progress"))
}

fn missing_id(operation: &'static str) -> Error {
    Error::retryable("inspector2", operation, "the answer has no reportId")
}

#[async_trait]
impl ReportService for Inspector2Findings {
    async fn create_findings_report(
        &self,
        format: &str,
        criteria: &FilterCriteria,
        destination: &Destination,
    ) -> Result<String, Error> {
        let criteria = criteria
            .to_sdk()
            .map_err(|e| build_error("inspector2", "CreateFindingsReport", e))?;
        let output = self
            .client
            .create_findings_report()
            .report_format(sdk::ReportFormat::from(format))
            .s3_destination(sdk_destination(destination, "CreateFindingsReport")?)
            .filter_criteria(criteria)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(service) if is_busy(service) => Error::ReportBusy {
                    what: "findings report",
                },
                _ => aws_error("inspector2", "CreateFindingsReport", e),
            })?;
        output
            .report_id()
            .map(str::to_owned)
            .ok_or_else(|| missing_id("CreateFindingsReport"))
    }

    async fn findings_report_status(&self, report_id: Option<&str>) -> Result<Option<ReportStatus>, Error> {
        let result = self
            .client
            .get_findings_report_status()
            .set_report_id(report_id.map(str::to_owned))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            // Asking for the latest of an account that never ran a report.
            Err(e) if report_id.is_none() && e.code() == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(aws_error("inspector2", "GetFindingsReportStatus", e)),
        };
        let Some(id) = output.report_id().or(report_id) else {
            return Ok(None);
        };
        Ok(Some(ReportStatus {
            report_id: id.to_owned(),
            state: state(output.status()),
            error_code: output.error_code().map(|c| c.as_str().to_owned()),
            error_message: output.error_message().map(str::to_owned),
            destination: our_destination(output.destination()),
        }))
    }

    async fn create_sbom_export(&self, format: &str, destination: &Destination) -> Result<String, Error> {
        let output = self
            .client
            .create_sbom_export()
            .report_format(sdk::SbomReportFormat::from(format))
            .s3_destination(sdk_destination(destination, "CreateSbomExport")?)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(service) if is_busy(service) => Error::ReportBusy { what: "SBOM export" },
                _ => aws_error("inspector2", "CreateSbomExport", e),
            })?;
        output
            .report_id()
            .map(str::to_owned)
            .ok_or_else(|| missing_id("CreateSbomExport"))
    }

    async fn sbom_export_status(&self, report_id: &str) -> Result<ReportStatus, Error> {
        let output = self
            .client
            .get_sbom_export()
            .report_id(report_id)
            .send()
            .await
            .map_err(|e| aws_error("inspector2", "GetSbomExport", e))?;
        Ok(ReportStatus {
            report_id: output.report_id().unwrap_or(report_id).to_owned(),
            state: state(output.status()),
            error_code: output.error_code().map(|c| c.as_str().to_owned()),
            error_message: output.error_message().map(str::to_owned),
            destination: our_destination(output.s3_destination()),
        })
    }
}

#[cfg(test)]
#[path = "findings_tests.rs"]
mod tests;
