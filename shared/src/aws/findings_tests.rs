//! aws-smithy-mocks tests of the Inspector2 findings adapter, driven through the export flow:
//! `ListFindings` paging that keeps the API's JSON and rides out a throttle, and the report jobs
//! moto lacks (`CreateFindingsReport`, `GetFindingsReportStatus`, `CreateSbomExport`,
//! `GetSbomExport`) on paused time. Compiled only under #[cfg(test)] (declared in findings.rs).

use std::time::{Duration, SystemTime};

use aws_sdk_inspector2::config::retry::RetryConfig;
use aws_sdk_inspector2::operation::create_findings_report::CreateFindingsReportOutput;
use aws_sdk_inspector2::operation::create_sbom_export::CreateSbomExportOutput;
use aws_sdk_inspector2::operation::get_findings_report_status::GetFindingsReportStatusOutput;
use aws_sdk_inspector2::operation::get_sbom_export::GetSbomExportOutput;
use aws_sdk_inspector2::types::{ReportFormat, ReportingErrorCode, SbomReportFormat};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use serde_json::json;
use tokio::time::Instant;

use super::*;
use crate::export::flow::{ExportTarget, Exporter};
use crate::export::request::{Defaults, ExportRequest, Mode, StatusSelection};
use crate::fakes::FakeBucket;
use crate::ErrorClass;

const KEY: &str = "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
/// 2026-12-04T21:34:56Z.
const STARTED: u64 = 1_796_420_096;

fn retrying(builder: aws_sdk_inspector2::config::Builder) -> aws_sdk_inspector2::config::Builder {
    builder.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1)),
    )
}

fn exporter(client: Client, bucket: &FakeBucket) -> Exporter {
    let adapter = Arc::new(Inspector2Findings::from_client(client));
    Exporter::new(
        ExportTarget {
            bucket: "exports".into(),
            prefix: "inspector/findings".into(),
            kms_key_arn: KEY.into(),
        },
        adapter.clone(),
        Arc::new(bucket.clone()),
        adapter,
    )
    .with_clock(Arc::new(|| SystemTime::UNIX_EPOCH + Duration::from_secs(STARTED)))
}

fn defaults(mode: Mode) -> Defaults {
    Defaults {
        mode,
        format: None,
        status: StatusSelection::Active,
    }
}

fn api_finding(n: usize) -> Value {
    json!({
        "findingArn": format!("arn:aws:inspector2:ap-northeast-2:123456789012:finding/{n:032x}"),
        "awsAccountId": "123456789012",
        "type": "PACKAGE_VULNERABILITY",
        "title": format!("CVE-2026-{n:05} - pkg"),
        "description": "a description, with a comma",
        "severity": "HIGH",
        "status": "ACTIVE",
        "firstObservedAt": 1.796e9,
        "lastObservedAt": 1.796e9,
        "updatedAt": 1_796_000_000 + n,
        "remediation": {"recommendation": {"text": "upgrade"}},
        "resources": [{"type": "AWS_EC2_INSTANCE", "id": "i-0123456789abcdef0"}],
        "aFieldFromTheFuture": {"kept": [n]}
    })
}

fn http(status: u16, body: String) -> Response {
    Response::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

/// What one `ListFindings` call asked for: `nextToken`, `maxResults` and the status values.
type Asked = (Option<String>, Option<i32>, Vec<String>);

/// Records what each `ListFindings` call asked for (once per call, not per attempt).
#[derive(Debug, Clone, Default)]
struct Requests(Arc<Mutex<Vec<Asked>>>);

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "RecordListFindings"
    }

    fn read_before_execution(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(input) = context
            .input()
            .downcast_ref::<aws_sdk_inspector2::operation::list_findings::ListFindingsInput>()
        {
            let statuses = input
                .filter_criteria()
                .map(|c| c.finding_status().iter().map(|f| f.value().to_owned()).collect())
                .unwrap_or_default();
            self.0
                .lock()
                .unwrap()
                .push((input.next_token().map(str::to_owned), input.max_results(), statuses));
        }
        Ok(())
    }
}

fn findings_page(page: usize) -> Response {
    let findings: Vec<Value> = (page * 100..page * 100 + 100).map(api_finding).collect();
    let mut body = json!({"findings": findings});
    if page < 9 {
        body["nextToken"] = json!(format!("token-{}", page + 1));
    }
    http(200, body.to_string())
}

#[tokio::test]
async fn list_findings_pages_keep_the_api_json_and_ride_out_a_throttle_on_page_7() {
    // GIVEN 10 pages of 100 findings, page 7 throttled once
    let mut sequence = mock!(Client::list_findings).sequence();
    for page in 0..10 {
        if page == 6 {
            sequence = sequence.http_status(
                429,
                Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
            );
        }
        sequence = sequence.http_response(move || findings_page(page));
    }
    let rule = sequence.build();
    let requests = Requests::default();
    let recorder = requests.clone();
    let client = mock_client!(aws_sdk_inspector2, RuleMode::Sequential, [&rule], move |b| retrying(b)
        .interceptor(recorder.clone()));
    let bucket = FakeBucket::default();
    // WHEN a stream export runs
    let answer = exporter(client, &bucket)
        .run(&ExportRequest::scheduled(&defaults(Mode::Stream)), None)
        .await
        .unwrap();
    // THEN every finding is there exactly as the API sent it, in order
    assert_eq!(answer.count, Some(1_000));
    assert_eq!(rule.num_calls(), 11, "10 pages and one retry");
    let key = answer.objects[0].trim_start_matches("s3://exports/");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&bucket.state().objects[key][..]),
        &mut text,
    )
    .unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1_000);
    assert_eq!(lines[678], api_finding(678));
    // AND each call followed the token and asked for 100 ACTIVE findings
    let requests = requests.0.lock().unwrap();
    let tokens: Vec<Option<String>> = requests.iter().map(|(t, _, _)| t.clone()).collect();
    let expected: Vec<Option<String>> = (0..10).map(|p| (p > 0).then(|| format!("token-{p}"))).collect();
    assert_eq!(tokens, expected);
    assert!(
        requests
            .iter()
            .all(|(_, max, statuses)| *max == Some(100) && statuses == &["ACTIVE"]),
        "{requests:?}"
    );
}

#[tokio::test]
async fn a_persistent_list_findings_throttle_aborts_the_upload_as_retryable() {
    let rule = mock!(Client::list_findings)
        .sequence()
        .http_status(
            429,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .times(3)
        .build();
    let client = mock_client!(aws_sdk_inspector2, RuleMode::Sequential, [&rule], retrying);
    let bucket = FakeBucket::default();
    let err = exporter(client, &bucket)
        .run(&ExportRequest::scheduled(&defaults(Mode::Stream)), None)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Retryable);
    let state = bucket.state();
    assert_eq!(state.aborted.len(), 1);
    assert!(state.objects.is_empty());
}

fn status(id: &str, status: ExternalReportStatus, prefix: &str) -> GetFindingsReportStatusOutput {
    GetFindingsReportStatusOutput::builder()
        .report_id(id)
        .status(status)
        .destination(
            sdk::Destination::builder()
                .bucket_name("exports")
                .key_prefix(prefix)
                .kms_key_arn(KEY)
                .build()
                .unwrap(),
        )
        .build()
}

fn failed(id: &str, code: ReportingErrorCode) -> GetFindingsReportStatusOutput {
    GetFindingsReportStatusOutput::builder()
        .report_id(id)
        .status(ExternalReportStatus::Failed)
        .error_code(code)
        .error_message("scripted")
        .build()
}

const OURS: &str = "inspector/findings/2026/12/04";

/// No report has ever run in the account.
fn no_latest() -> Rule {
    mock!(Client::get_findings_report_status)
        .match_requests(|r| r.report_id().is_none())
        .then_output(|| GetFindingsReportStatusOutput::builder().build())
}

fn create_ok(id: &'static str) -> Rule {
    mock!(Client::create_findings_report)
        .match_requests(|r| {
            let destination = r.s3_destination().unwrap();
            r.report_format() == Some(&ReportFormat::Csv)
                && destination.bucket_name() == "exports"
                && destination.key_prefix() == Some(OURS)
                && destination.kms_key_arn() == KEY
                && r.filter_criteria().unwrap().finding_status()[0].value() == "ACTIVE"
        })
        .then_output(move || CreateFindingsReportOutput::builder().report_id(id).build())
}

fn report_request() -> ExportRequest {
    ExportRequest::scheduled(&defaults(Mode::Report))
}

fn deadline_in(secs: u64) -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(secs))
}

#[tokio::test(start_paused = true)]
async fn a_report_is_created_and_polled_to_success() {
    let latest = no_latest();
    let create = create_ok("r-1");
    let poll = mock!(Client::get_findings_report_status)
        .match_requests(|r| r.report_id() == Some("r-1"))
        .sequence()
        .output(|| status("r-1", ExternalReportStatus::InProgress, OURS))
        .output(|| status("r-1", ExternalReportStatus::Succeeded, OURS))
        .build();
    let client = mock_client!(aws_sdk_inspector2, RuleMode::MatchAny, [&latest, &create, &poll]);
    let bucket = FakeBucket::default();
    bucket.insert(&format!("{OURS}/r-1.csv"), b"header\nrow\n");
    let answer = exporter(client, &bucket)
        .run(&report_request(), deadline_in(300))
        .await
        .unwrap();
    assert_eq!(answer.outcome, "exported");
    assert_eq!(answer.report_id.as_deref(), Some("r-1"));
    assert_eq!(answer.objects, [format!("s3://exports/{OURS}/r-1.csv")]);
    assert_eq!(answer.bytes, Some(11));
    assert_eq!((latest.num_calls(), create.num_calls(), poll.num_calls()), (1, 1, 2));
}

#[tokio::test(start_paused = true)]
async fn a_throttled_create_is_retried_then_succeeds() {
    let latest = no_latest();
    let create = mock!(Client::create_findings_report)
        .sequence()
        .http_status(
            429,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .output(|| CreateFindingsReportOutput::builder().report_id("r-1").build())
        .build();
    let poll = mock!(Client::get_findings_report_status)
        .match_requests(|r| r.report_id() == Some("r-1"))
        .then_output(|| status("r-1", ExternalReportStatus::Succeeded, OURS));
    let client = mock_client!(
        aws_sdk_inspector2,
        RuleMode::MatchAny,
        [&latest, &create, &poll],
        retrying
    );
    let answer = exporter(client, &FakeBucket::default())
        .run(&report_request(), deadline_in(300))
        .await
        .unwrap();
    assert_eq!(answer.report_id.as_deref(), Some("r-1"));
    assert_eq!(create.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_report_past_the_deadline_is_in_progress_and_the_next_invocation_resumes_it() {
    // GIVEN a report that never finishes within the first invocation
    let latest = no_latest();
    let create = create_ok("r-1");
    let poll = mock!(Client::get_findings_report_status)
        .match_requests(|r| r.report_id() == Some("r-1"))
        .sequence()
        .output(|| status("r-1", ExternalReportStatus::InProgress, OURS))
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_inspector2, RuleMode::MatchAny, [&latest, &create, &poll]);
    let bucket = FakeBucket::default();
    let first = exporter(client, &bucket)
        .run(&report_request(), deadline_in(60))
        .await
        .unwrap();
    // THEN the answer comes before the deadline, in progress, with the id
    assert_eq!(first.outcome, "in-progress");
    assert_eq!(first.report_id.as_deref(), Some("r-1"));
    assert!(poll.num_calls() >= 3, "{}", poll.num_calls());

    // WHEN the next invocation finds our report as the account's latest
    let latest = mock!(Client::get_findings_report_status)
        .match_requests(|r| r.report_id().is_none())
        .then_output(|| status("r-1", ExternalReportStatus::InProgress, OURS));
    let poll = mock!(Client::get_findings_report_status)
        .match_requests(|r| r.report_id() == Some("r-1"))
        .then_output(|| status("r-1", ExternalReportStatus::Succeeded, OURS));
    let create = create_ok("r-2");
    let client = mock_client!(aws_sdk_inspector2, RuleMode::MatchAny, [&latest, &poll, &create]);
    let second = exporter(client, &bucket)
        .run(&report_request(), deadline_in(900))
        .await
        .unwrap();
    // THEN it finishes that one and starts no other
    assert_eq!(second.outcome, "exported");
    assert_eq!(second.report_id.as_deref(), Some("r-1"));
    assert_eq!(create.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_conflicting_report_is_waited_for_then_ours_starts() {
    // GIVEN someone else's report running, and a create that still races with it once
    let latest = mock!(Client::get_findings_report_status)
        .match_requests(|r| r.report_id().is_none())
        .then_output(|| status("theirs", ExternalReportStatus::InProgress, "elsewhere"));
    let theirs = mock!(Client::get_findings_report_status)
        .match_requests(|r| r.report_id() == Some("theirs"))
        .sequence()
        .output(|| status("theirs", ExternalReportStatus::InProgress, "elsewhere"))
        .output(|| status("theirs", ExternalReportStatus::Succeeded, "elsewhere"))
        .repeatedly()
        .build();
    let create = mock!(Client::create_findings_report)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ValidationException","message":"A report is already in progress"}"#.into()),
        )
        .output(|| CreateFindingsReportOutput::builder().report_id("r-1").build())
        .build();
    let ours = mock!(Client::get_findings_report_status)
        .match_requests(|r| r.report_id() == Some("r-1"))
        .then_output(|| status("r-1", ExternalReportStatus::Succeeded, OURS));
    let client = mock_client!(
        aws_sdk_inspector2,
        RuleMode::MatchAny,
        [&latest, &theirs, &create, &ours]
    );
    let answer = exporter(client, &FakeBucket::default())
        .run(&report_request(), deadline_in(600))
        .await
        .unwrap();
    assert_eq!(answer.report_id.as_deref(), Some("r-1"));
    assert!(theirs.num_calls() >= 2);
    assert_eq!(create.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn no_findings_found_is_exported_with_zero_findings() {
    let latest = no_latest();
    let create = create_ok("r-1");
    let poll = mock!(Client::get_findings_report_status)
        .match_requests(|r| r.report_id() == Some("r-1"))
        .then_output(|| failed("r-1", ReportingErrorCode::NoFindingsFound));
    let client = mock_client!(aws_sdk_inspector2, RuleMode::MatchAny, [&latest, &create, &poll]);
    let answer = exporter(client, &FakeBucket::default())
        .run(&report_request(), deadline_in(300))
        .await
        .unwrap();
    assert_eq!((answer.outcome, answer.count), ("exported", Some(0)));
}

#[tokio::test(start_paused = true)]
async fn each_error_code_is_classified_with_what_to_fix() {
    for (code, class) in [
        (ReportingErrorCode::InvalidPermissions, ErrorClass::Config),
        (ReportingErrorCode::BucketNotFound, ErrorClass::Config),
        (ReportingErrorCode::MalformedKmsKey, ErrorClass::Config),
        (ReportingErrorCode::IncompatibleBucketRegion, ErrorClass::Config),
        (ReportingErrorCode::InternalError, ErrorClass::Retryable),
    ] {
        let latest = no_latest();
        let create = create_ok("r-1");
        let code_out = code.clone();
        let poll = mock!(Client::get_findings_report_status)
            .match_requests(|r| r.report_id() == Some("r-1"))
            .then_output(move || failed("r-1", code_out.clone()));
        let client = mock_client!(aws_sdk_inspector2, RuleMode::MatchAny, [&latest, &create, &poll]);
        let err = exporter(client, &FakeBucket::default())
            .run(&report_request(), deadline_in(300))
            .await
            .unwrap_err();
        assert_eq!(err.class(), class, "{code:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("findings report r-1 failed: {}: scripted. ", code.as_str())),
            "{err}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn access_denied_on_create_is_a_config_error() {
    let latest = no_latest();
    let create = mock!(Client::create_findings_report).then_http_response(|| {
        http(
            403,
            r#"{"__type":"AccessDeniedException","message":"not authorized to perform inspector2:CreateFindingsReport"}"#
                .into(),
        )
    });
    let client = mock_client!(aws_sdk_inspector2, RuleMode::MatchAny, [&latest, &create]);
    let err = exporter(client, &FakeBucket::default())
        .run(&report_request(), deadline_in(300))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Config);
    assert!(err
        .to_string()
        .contains("inspector2 CreateFindingsReport failed: AccessDeniedException"));
}

#[tokio::test(start_paused = true)]
async fn an_sbom_export_is_created_in_the_format_and_polled() {
    let create = mock!(Client::create_sbom_export)
        .match_requests(|r| {
            r.report_format() == Some(&SbomReportFormat::Cyclonedx14)
                && r.s3_destination().and_then(|d| d.key_prefix()) == Some(OURS)
        })
        .then_output(|| CreateSbomExportOutput::builder().report_id("s-1").build());
    let poll = mock!(Client::get_sbom_export)
        .match_requests(|r| r.report_id() == Some("s-1"))
        .sequence()
        .output(|| {
            GetSbomExportOutput::builder()
                .report_id("s-1")
                .status(ExternalReportStatus::InProgress)
                .build()
        })
        .output(|| {
            GetSbomExportOutput::builder()
                .report_id("s-1")
                .status(ExternalReportStatus::Succeeded)
                .s3_destination(
                    sdk::Destination::builder()
                        .bucket_name("exports")
                        .key_prefix(OURS)
                        .kms_key_arn(KEY)
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_inspector2, RuleMode::MatchAny, [&create, &poll]);
    let bucket = FakeBucket::default();
    bucket.insert(&format!("{OURS}/s-1/resource.json"), b"{}");
    let request = ExportRequest::from_payload(&json!({"mode": "sbom"}), &defaults(Mode::Report)).unwrap();
    let answer = exporter(client, &bucket).run(&request, deadline_in(300)).await.unwrap();
    assert_eq!(answer.outcome, "exported");
    assert_eq!(answer.objects, [format!("s3://exports/{OURS}/s-1/resource.json")]);
    assert_eq!(poll.num_calls(), 2);
}
