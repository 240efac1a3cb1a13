//! Export flow tests over the fakes: stream exports with manifest, summary and `since: "last"`,
//! all-or-nothing on every failure, and report/sbom polling across the deadline, conflicts and
//! error codes on paused time. Compiled only under #[cfg(test)] (declared in flow.rs).

use std::io::Read;

use serde_json::json;
use sha2::Digest;

use super::*;
use crate::export::request::{Defaults, StatusSelection};
use crate::fakes::{BucketFault, FakeBucket, FakeFindings, FakeReports};

/// 2026-12-04T21:34:56Z.
const STARTED: u64 = 1_796_420_096;
const KEY: &str = "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn finding(i: u64) -> Value {
    let severity = ["LOW", "MEDIUM", "HIGH", "CRITICAL"][(i % 4) as usize];
    json!({
        "findingArn": format!("arn:aws:inspector2:ap-northeast-2:123456789012:finding/{i:032x}"),
        "awsAccountId": "123456789012",
        "severity": severity,
        "type": "PACKAGE_VULNERABILITY",
        "status": "ACTIVE",
        "description": format!("finding, number {i}"),
        "updatedAt": 1_796_000_000 + i,
        "resources": [{"type": "AWS_EC2_INSTANCE", "id": format!("i-{i:017}")}],
        "packageVulnerabilityDetails": {"vulnerablePackages": [{"name": format!("pkg-{}", i % 7)}]}
    })
}

fn target() -> ExportTarget {
    ExportTarget {
        bucket: "exports".into(),
        prefix: "inspector/findings".into(),
        kms_key_arn: KEY.into(),
    }
}

struct World {
    findings: Arc<FakeFindings>,
    bucket: FakeBucket,
    reports: FakeReports,
}

impl World {
    fn new(count: u64) -> Self {
        World {
            findings: Arc::new(FakeFindings::new((0..count).map(finding).collect())),
            bucket: FakeBucket::default(),
            reports: FakeReports::default(),
        }
    }

    fn exporter_at(&self, secs: u64) -> Exporter {
        Exporter::new(
            target(),
            self.findings.clone(),
            Arc::new(self.bucket.clone()),
            Arc::new(self.reports.clone()),
        )
        .with_clock(Arc::new(move || SystemTime::UNIX_EPOCH + Duration::from_secs(secs)))
        .with_part_size(64 * 1024)
    }

    fn exporter(&self) -> Exporter {
        self.exporter_at(STARTED)
    }

    fn object(&self, key: &str) -> Vec<u8> {
        self.bucket
            .state()
            .objects
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("no {key}"))
    }

    fn json(&self, key: &str) -> Value {
        serde_json::from_slice(&self.object(key)).unwrap()
    }

    fn lines(&self, key: &str) -> Vec<String> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&self.object(key)[..])
            .read_to_string(&mut text)
            .unwrap();
        text.lines().map(str::to_owned).collect()
    }
}

fn defaults(mode: Mode) -> Defaults {
    Defaults {
        mode,
        format: None,
        status: StatusSelection::Active,
    }
}

fn request(payload: Value) -> ExportRequest {
    ExportRequest::from_payload(&payload, &defaults(Mode::Stream)).unwrap()
}

const DATA: &str = "inspector/findings/year=2026/month=12/day=04/findings-20261204T213456.000Z.ndjson.gz";
const MANIFEST: &str = "inspector/findings/year=2026/month=12/day=04/findings-20261204T213456.000Z.manifest.json";
const SUMMARY: &str = "inspector/findings/year=2026/month=12/day=04/findings-20261204T213456.000Z.summary.json";

#[tokio::test]
async fn a_stream_export_writes_the_object_then_summary_then_manifest() {
    // GIVEN 2 500 findings, 25 pages
    let world = World::new(2_500);
    // WHEN a scheduled stream export runs
    let answer = world
        .exporter()
        .run(&ExportRequest::scheduled(&defaults(Mode::Stream)), None)
        .await
        .unwrap();
    // THEN the three objects are written under the dated, partitioned key
    assert_eq!(answer.outcome, "exported");
    assert_eq!(answer.count, Some(2_500));
    assert_eq!(
        answer.objects,
        [DATA, MANIFEST, SUMMARY].map(|k| format!("s3://exports/{k}")).to_vec()
    );
    let lines = world.lines(DATA);
    assert_eq!(lines.len(), 2_500);
    assert_eq!(serde_json::from_str::<Value>(&lines[1_234]).unwrap(), finding(1_234));

    let manifest = world.json(MANIFEST);
    assert_eq!(manifest["count"], 2_500);
    assert_eq!(manifest["bytes"], world.object(DATA).len());
    assert_eq!(Some(manifest["bytes"].as_u64().unwrap()), answer.bytes);
    let digest: String = sha2::Sha256::digest(world.object(DATA))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(manifest["sha256"], digest);
    assert_eq!(manifest["watermark"], "2026-11-30T01:34:59Z"); // 1_796_002_499 s
    assert_eq!(manifest["startedAt"], "2026-12-04T21:34:56Z");
    assert_eq!(manifest["status"], "ACTIVE");
    assert_eq!(
        manifest["filterCriteria"],
        json!({"findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}]})
    );
    assert_eq!(answer.watermark.as_deref(), Some("2026-11-30T01:34:59Z"));

    let summary = world.json(SUMMARY);
    assert_eq!(summary["total"], 2_500);
    assert_eq!(summary["bySeverity"]["CRITICAL"], 625);
    assert_eq!(summary["byAccount"]["123456789012"], 2_500);
    assert_eq!(summary["byResourceType"]["AWS_EC2_INSTANCE"], 2_500);
    assert_eq!(summary["topPackages"].as_array().unwrap().len(), 7);
    // Every query carries the status filter.
    assert_eq!(
        world.findings.queries.lock().unwrap()[0]["findingStatus"][0]["value"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn csv_stream_has_the_header_and_one_row_per_finding() {
    let world = World::new(10);
    let answer = world
        .exporter()
        .run(&request(json!({"format": "CSV", "status": "ALL"})), None)
        .await
        .unwrap();
    let data = answer.objects[0].trim_start_matches("s3://exports/").to_owned();
    assert!(data.ends_with(".csv.gz"), "{data}");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&world.object(&data)[..])
        .read_to_string(&mut text)
        .unwrap();
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 10);
    assert_eq!(&rows[3][5], "finding, number 3");
    assert!(text.starts_with("AWS Account Id,Severity,"));
    let statuses = &world.findings.queries.lock().unwrap()[0]["findingStatus"];
    assert_eq!(statuses.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn since_last_starts_at_the_newest_manifest_watermark() {
    // GIVEN two earlier exports, the newest on 2026-12-03
    let world = World::new(5);
    world.bucket.insert(
        "inspector/findings/year=2026/month=11/day=30/findings-20261130T000000.000Z.manifest.json",
        br#"{"watermark": "2026-11-29T00:00:00Z"}"#,
    );
    world.bucket.insert(
        "inspector/findings/year=2026/month=12/day=03/findings-20261203T000000.000Z.manifest.json",
        br#"{"watermark": "2026-12-02T10:00:00.500Z"}"#,
    );
    world.bucket.insert(
        "inspector/findings/year=2026/month=12/day=03/findings-20261203T120000.000Z.ndjson.gz",
        b"an export whose manifest never landed",
    );
    // WHEN since=last
    let answer = world
        .exporter()
        .run(&request(json!({"since": "last"})), None)
        .await
        .unwrap();
    // THEN the query starts at the newest watermark, found in a few listings
    let query = world.findings.queries.lock().unwrap()[0].clone();
    assert_eq!(
        query["updatedAt"],
        json!([{"startInclusive": "2026-12-02T10:00:00.5Z"}])
    );
    assert_eq!(answer.since.as_deref(), Some("2026-12-02T10:00:00.5Z"));
    assert_eq!(
        world.bucket.state().listed,
        [
            "inspector/findings/",
            "inspector/findings/year=2026/",
            "inspector/findings/year=2026/month=12/",
            "inspector/findings/year=2026/month=12/day=03/",
        ]
    );
}

#[tokio::test]
async fn since_last_walks_back_past_a_day_without_a_manifest() {
    let world = World::new(0);
    world.bucket.insert(
        "inspector/findings/year=2025/month=12/day=31/findings-20251231T000000.000Z.manifest.json",
        br#"{"watermark": "2025-12-30T00:00:00Z"}"#,
    );
    world.bucket.insert(
        "inspector/findings/year=2026/month=01/day=01/findings-20260101T000000.000Z.ndjson.gz",
        b"orphan",
    );
    let answer = world
        .exporter()
        .run(&request(json!({"since": "last"})), None)
        .await
        .unwrap();
    assert_eq!(answer.since.as_deref(), Some("2025-12-30T00:00:00Z"));
    // No finding is newer: the watermark carries over for the next run.
    assert_eq!(answer.watermark.as_deref(), Some("2025-12-30T00:00:00Z"));
    assert_eq!(answer.count, Some(0));
}

#[tokio::test]
async fn since_last_without_any_manifest_exports_everything() {
    let world = World::new(3);
    let answer = world
        .exporter()
        .run(&request(json!({"since": "last"})), None)
        .await
        .unwrap();
    assert_eq!(answer.count, Some(3));
    assert!(answer.since.is_none());
    assert!(world.findings.queries.lock().unwrap()[0].get("updatedAt").is_none());
}

#[tokio::test]
async fn a_manifest_that_is_not_json_is_a_config_error() {
    let world = World::new(3);
    world.bucket.insert(
        "inspector/findings/year=2026/month=12/day=01/findings-20261201T000000.000Z.manifest.json",
        b"not json",
    );
    let err = world
        .exporter()
        .run(&request(json!({"since": "last"})), None)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Config);
    assert!(err.to_string().contains("is not JSON"), "{err}");
    assert!(world.bucket.state().uploads.is_empty());
}

#[tokio::test]
async fn s3_failing_on_part_3_of_5_aborts_writes_no_manifest_and_a_rerun_completes() {
    // GIVEN enough noisy findings for about five 64 KiB parts
    let mut world = World::new(0);
    let noisy: Vec<Value> = (0..2_500u64)
        .map(|i| {
            let mut f = finding(i);
            f["description"] = json!((0..16u64)
                .map(|k| format!("{:016x}", (i * 16 + k + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
                .collect::<String>());
            f
        })
        .collect();
    world.findings = Arc::new(FakeFindings::new(noisy));
    world.bucket.state().fault = Some(BucketFault::Part(3));
    // WHEN the export runs
    let err = world
        .exporter()
        .run(&ExportRequest::scheduled(&defaults(Mode::Stream)), None)
        .await
        .unwrap_err();
    // THEN it is retryable, the upload was aborted, and nothing is at any final key
    assert_eq!(err.class(), ErrorClass::Retryable);
    {
        let state = world.bucket.state();
        assert_eq!(state.aborted, [DATA]);
        assert!(state.objects.is_empty(), "{:?}", state.objects.keys());
        assert!(state.uploads.is_empty());
    }
    // AND a rerun completes
    world.bucket.state().fault = None;
    let answer = world
        .exporter()
        .run(&ExportRequest::scheduled(&defaults(Mode::Stream)), None)
        .await
        .unwrap();
    assert_eq!(answer.count, Some(2_500));
    let manifest = world.json(MANIFEST);
    assert!(manifest["parts"].as_u64().unwrap() >= 5, "{manifest}");
}

#[tokio::test]
async fn a_failed_manifest_write_deletes_the_object_and_summary() {
    let world = World::new(50);
    world.bucket.state().fault = Some(BucketFault::Put(".manifest.json".into()));
    let err = world
        .exporter()
        .run(&ExportRequest::scheduled(&defaults(Mode::Stream)), None)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Retryable);
    let state = world.bucket.state();
    assert!(state.objects.is_empty(), "{:?}", state.objects.keys());
    assert_eq!(state.deleted, [DATA, SUMMARY]);
}

#[tokio::test]
async fn a_failed_summary_write_deletes_the_object() {
    let world = World::new(50);
    world.bucket.state().fault = Some(BucketFault::Put(".summary.json".into()));
    assert!(world
        .exporter()
        .run(&ExportRequest::scheduled(&defaults(Mode::Stream)), None)
        .await
        .is_err());
    let state = world.bucket.state();
    assert!(state.objects.is_empty());
    assert_eq!(state.deleted, [DATA]);
}

#[tokio::test]
async fn a_duplicate_invocation_writes_a_second_complete_export() {
    let world = World::new(20);
    let first = world.exporter_at(STARTED).run(&request(json!({})), None).await.unwrap();
    let second = world
        .exporter_at(STARTED + 60)
        .run(&request(json!({})), None)
        .await
        .unwrap();
    assert_ne!(first.objects, second.objects);
    assert_eq!(world.bucket.state().objects.len(), 6);
}

fn report_request(payload: Value) -> ExportRequest {
    ExportRequest::from_payload(&payload, &defaults(Mode::Report)).unwrap()
}

fn deadline_in(secs: u64) -> Option<Instant> {
    Some(Instant::now() + Duration::from_secs(secs))
}

#[tokio::test(start_paused = true)]
async fn a_report_is_created_with_the_dated_prefix_and_polled_to_success() {
    let world = World::new(0);
    world.reports.state().next_script = vec![ReportState::InProgress, ReportState::InProgress, ReportState::Succeeded];
    world
        .bucket
        .insert("inspector/findings/2026/12/04/report-1.csv", b"a,b\n1,2\n");
    let answer = world
        .exporter()
        .run(
            &report_request(json!({"filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "CRITICAL"}]}})),
            deadline_in(300),
        )
        .await
        .unwrap();
    assert_eq!(answer.outcome, "exported");
    assert_eq!(answer.report_id.as_deref(), Some("report-1"));
    assert_eq!(
        answer.objects,
        ["s3://exports/inspector/findings/2026/12/04/report-1.csv"]
    );
    assert_eq!(answer.bytes, Some(8));
    let state = world.reports.state();
    let (format, criteria, destination) = &state.created[0];
    assert_eq!(format, "CSV");
    assert_eq!(criteria["findingStatus"][0]["value"], "ACTIVE");
    assert_eq!(criteria["severity"][0]["value"], "CRITICAL");
    assert_eq!(destination.key_prefix, "inspector/findings/2026/12/04");
    assert_eq!(destination.kms_key_arn, KEY);
    assert_eq!(state.checks, ["latest", "report-1", "report-1", "report-1"]);
}

#[tokio::test(start_paused = true)]
async fn a_report_still_running_at_the_deadline_is_in_progress_then_resumed() {
    // GIVEN a report that takes longer than one invocation
    let world = World::new(0);
    world.reports.state().next_script = vec![ReportState::InProgress; 12]
        .into_iter()
        .chain([ReportState::Succeeded])
        .collect();
    // WHEN the first invocation has 60 s
    let first = world
        .exporter()
        .run(&report_request(json!({})), deadline_in(60))
        .await
        .unwrap();
    // THEN it answers in-progress with the id, in time
    assert_eq!(first.outcome, "in-progress");
    assert_eq!(first.report_id.as_deref(), Some("report-1"));
    assert!(first.reason.unwrap().contains("reportId"));
    // WHEN the next (scheduled) invocation comes
    let second = world
        .exporter()
        .run(&ExportRequest::scheduled(&defaults(Mode::Report)), deadline_in(900))
        .await
        .unwrap();
    // THEN it finishes the same report rather than starting another
    assert_eq!(second.outcome, "exported");
    assert_eq!(second.report_id.as_deref(), Some("report-1"));
    assert_eq!(world.reports.state().created.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_explicit_report_id_is_resumed() {
    let world = World::new(0);
    world.reports.existing(
        "report-9",
        Destination {
            bucket: "exports".into(),
            key_prefix: "inspector/findings/2026/12/03".into(),
            kms_key_arn: KEY.into(),
        },
        &[ReportState::Succeeded],
    );
    let answer = world
        .exporter()
        .run(&report_request(json!({"reportId": "report-9"})), deadline_in(60))
        .await
        .unwrap();
    assert_eq!(answer.report_id.as_deref(), Some("report-9"));
    assert_eq!(answer.objects, ["s3://exports/inspector/findings/2026/12/03/"]);
    assert!(world.reports.state().created.is_empty());
}

#[tokio::test(start_paused = true)]
async fn another_report_running_is_waited_for_then_ours_starts() {
    let world = World::new(0);
    world.reports.existing(
        "theirs",
        Destination {
            bucket: "someone-elses".into(),
            key_prefix: "reports".into(),
            kms_key_arn: KEY.into(),
        },
        &[
            ReportState::InProgress,
            ReportState::InProgress,
            ReportState::InProgress,
            ReportState::Succeeded,
        ],
    );
    world.reports.state().next_script = vec![ReportState::Succeeded];
    let answer = world
        .exporter()
        .run(&report_request(json!({})), deadline_in(300))
        .await
        .unwrap();
    assert_eq!(answer.report_id.as_deref(), Some("report-1"));
    let state = world.reports.state();
    assert_eq!(state.checks.iter().filter(|c| *c == "theirs").count(), 4);
    assert_eq!(state.created.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn another_report_outlasting_the_deadline_leaves_ours_unstarted() {
    let world = World::new(0);
    world.reports.existing(
        "theirs",
        Destination {
            bucket: "someone-elses".into(),
            key_prefix: "reports".into(),
            kms_key_arn: KEY.into(),
        },
        &[ReportState::InProgress],
    );
    let answer = world
        .exporter()
        .run(&report_request(json!({})), deadline_in(40))
        .await
        .unwrap();
    assert_eq!(answer.outcome, "in-progress");
    assert!(answer.report_id.is_none());
    assert!(answer.reason.unwrap().contains("theirs"));
    assert!(world.reports.state().created.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_create_refused_as_busy_waits_and_tries_again() {
    let world = World::new(0);
    world.reports.state().busy_creates = 1;
    world.reports.state().next_script = vec![ReportState::Succeeded];
    let answer = world
        .exporter()
        .run(&report_request(json!({})), deadline_in(300))
        .await
        .unwrap();
    assert_eq!(answer.report_id.as_deref(), Some("report-1"));
}

#[tokio::test(start_paused = true)]
async fn no_findings_found_is_exported_with_zero() {
    let world = World::new(0);
    world.reports.state().next_script = vec![ReportState::Failed];
    world.reports.state().next_error_code = Some("NO_FINDINGS_FOUND".into());
    let answer = world
        .exporter()
        .run(&report_request(json!({})), deadline_in(300))
        .await
        .unwrap();
    assert_eq!(
        (answer.outcome, answer.count, answer.bytes),
        ("exported", Some(0), Some(0))
    );
    assert!(answer.objects.is_empty());
}

#[tokio::test(start_paused = true)]
async fn each_report_error_code_says_what_to_fix() {
    for (code, class, hint) in [
        ("INVALID_PERMISSIONS", ErrorClass::Config, "inspector2.amazonaws.com"),
        ("BUCKET_NOT_FOUND", ErrorClass::Config, "Create bucket exports"),
        ("MALFORMED_KMS_KEY", ErrorClass::Config, "EXPORT_KMS_KEY_ARN"),
        (
            "INCOMPATIBLE_BUCKET_REGION",
            ErrorClass::Config,
            "region Inspector runs in",
        ),
        ("INTERNAL_ERROR", ErrorClass::Retryable, "retry"),
    ] {
        let world = World::new(0);
        world.reports.state().next_script = vec![ReportState::InProgress, ReportState::Failed];
        world.reports.state().next_error_code = Some(code.into());
        let err = world
            .exporter()
            .run(&report_request(json!({})), deadline_in(300))
            .await
            .unwrap_err();
        assert_eq!(err.class(), class, "{code}");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("findings report report-1 failed: {code}: ")),
            "{text}"
        );
        assert!(text.contains(hint), "{code}: {text}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_report_is_a_config_error() {
    let world = World::new(0);
    world.reports.state().next_script = vec![ReportState::Cancelled];
    let err = world
        .exporter()
        .run(&report_request(json!({})), deadline_in(300))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Config);
    assert!(err.to_string().contains("CANCELLED"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_sbom_export_is_created_and_polled() {
    let world = World::new(0);
    world.reports.state().next_script = vec![ReportState::InProgress, ReportState::Succeeded];
    world
        .bucket
        .insert("inspector/findings/2026/12/04/report-1/sbom.json", b"{}");
    let request =
        ExportRequest::from_payload(&json!({"mode": "sbom", "format": "SPDX"}), &defaults(Mode::Report)).unwrap();
    let answer = world.exporter().run(&request, deadline_in(300)).await.unwrap();
    assert_eq!(answer.mode, "sbom");
    assert_eq!(answer.format, "SPDX_2_3");
    assert!(answer.status.is_none());
    assert_eq!(world.reports.state().created[0].0, "SPDX_2_3");
    assert_eq!(answer.outcome, "exported");
}

#[tokio::test(start_paused = true)]
async fn an_sbom_export_past_the_deadline_is_in_progress_and_resumable_by_id() {
    let world = World::new(0);
    world.reports.state().next_script = vec![ReportState::InProgress; 10]
        .into_iter()
        .chain([ReportState::Succeeded])
        .collect();
    let sbom = |payload| ExportRequest::from_payload(&payload, &defaults(Mode::Report)).unwrap();
    let first = world
        .exporter()
        .run(&sbom(json!({"mode": "sbom"})), deadline_in(30))
        .await
        .unwrap();
    assert_eq!(first.outcome, "in-progress");
    let id = first.report_id.unwrap();
    let second = world
        .exporter()
        .run(&sbom(json!({"mode": "sbom", "reportId": id})), deadline_in(900))
        .await
        .unwrap();
    assert_eq!(second.outcome, "exported");
    assert_eq!(world.reports.state().created.len(), 1);
}
