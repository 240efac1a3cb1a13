//! findings-export's handler through `LambdaEvent`, with fakes of the ports: the schedule
//! fixture, an on-demand stream, a table of bad payloads that write nothing, and classified
//! errors.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use findings_export::handler::handle;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{json, Value};
use shared::export::flow::{ExportTarget, Exporter};
use shared::export::ports::ReportState;
use shared::export::request::{Defaults, ExportFormat, Mode, StatusSelection};
use shared::fakes::{BucketFault, FakeBucket, FakeFindings, FakeReports};

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../tests/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

struct World {
    findings: Arc<FakeFindings>,
    bucket: FakeBucket,
    reports: FakeReports,
    exporter: Exporter,
}

fn world() -> World {
    let findings: Vec<Value> = [
        "inspector2-finding-ec2-package.json",
        "inspector2-finding-ecr-image.json",
    ]
    .iter()
    .map(|name| fixture(name)["detail"].clone())
    .collect();
    let findings = Arc::new(FakeFindings::new(findings));
    let bucket = FakeBucket::default();
    let reports = FakeReports::new(&[ReportState::Succeeded]);
    let exporter = Exporter::new(
        ExportTarget {
            bucket: "exports".into(),
            prefix: "inspector/findings".into(),
            kms_key_arn: "arn:aws:kms:ap-northeast-2:123456789012:key/k".into(),
        },
        findings.clone(),
        Arc::new(bucket.clone()),
        Arc::new(reports.clone()),
    )
    .with_clock(Arc::new(|| SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_420_096)));
    World {
        findings,
        bucket,
        reports,
        exporter,
    }
}

const DEFAULTS: Defaults = Defaults {
    mode: Mode::Report,
    format: None,
    status: StatusSelection::Active,
};

async fn answer(world: &World, defaults: &Defaults, payload: Value) -> Value {
    let event = LambdaEvent::new(payload, Context::default());
    serde_json::to_value(handle(&world.exporter, defaults, event).await.unwrap()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_schedule_fixture_runs_the_default_report() {
    let world = world();
    let answer = answer(&world, &DEFAULTS, fixture("scheduled-event.json")).await;
    assert_eq!(answer["outcome"], "exported");
    assert_eq!(answer["mode"], "report");
    assert_eq!(answer["format"], "CSV");
    assert_eq!(answer["reportId"], "report-1");
    let created = &world.reports.state().created;
    assert_eq!(created[0].2.key_prefix, "inspector/findings/2026/12/04");
    assert_eq!(created[0].1["findingStatus"][0]["value"], "ACTIVE");
}

#[tokio::test]
async fn an_on_demand_stream_answers_the_uris_count_and_bytes() {
    let world = world();
    let stream = Defaults {
        mode: Mode::Stream,
        format: Some(ExportFormat::Ndjson),
        ..DEFAULTS
    };
    let answer = answer(&world, &stream, json!({"status": "ALL"})).await;
    assert_eq!(answer["outcome"], "exported");
    assert_eq!(answer["mode"], "stream");
    assert_eq!(answer["count"], 2);
    assert_eq!(answer["status"], "ALL");
    let objects: Vec<&str> = answer["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert_eq!(objects.len(), 3);
    assert!(objects[0].starts_with("s3://exports/inspector/findings/year=2026/month=12/day=04/findings-"));
    assert!(objects[0].ends_with(".ndjson.gz"));
    assert_eq!(world.bucket.state().objects.len(), 3);
    assert!(answer["bytes"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn bad_payloads_are_ignored_with_a_reason_and_write_nothing() {
    let huge = "x".repeat(2 * 1024 * 1024);
    let cases = [
        (json!("export please"), "expected a JSON object"),
        (json!(42), "expected a JSON object"),
        (json!([]), "expected a JSON object"),
        (json!({"mode": "parquet"}), "mode: \"parquet\""),
        (json!({"mode": "stream", "format": "XLSX"}), "format: \"XLSX\""),
        (json!({"format": ["CSV"]}), "format: expected a string"),
        (json!({"status": "OPEN"}), "status: \"OPEN\""),
        (
            json!({"filterCriteria": {"severity": [{"comparison": "LIKE", "value": "HIGH"}]}}),
            "filterCriteria.severity[0].comparison",
        ),
        (json!({"filterCriteria": {"nope": []}}), "filterCriteria.nope"),
        (json!({"filterCriteria": []}), "filterCriteria"),
        (json!({"mode": huge}), "mode:"),
        (fixture("ec2-state-running.json"), "is not a trigger of findings-export"),
        (
            fixture("inspector2-finding-ec2-package.json"),
            "is not a trigger of findings-export",
        ),
    ];
    for (payload, expected) in cases {
        let world = world();
        let shown = payload.to_string().chars().take(80).collect::<String>();
        let answer = answer(&world, &DEFAULTS, payload).await;
        assert_eq!(answer["outcome"], "ignored", "{shown}");
        let reason = answer["reason"].as_str().unwrap();
        assert!(reason.contains(expected), "{shown}: {reason}");
        assert!(reason.len() < 2_000, "{shown}: the reason is clipped");
        assert!(world.bucket.state().objects.is_empty(), "{shown}");
        assert!(world.reports.state().created.is_empty(), "{shown}");
        assert!(world.findings.queries.lock().unwrap().is_empty(), "{shown}");
    }
}

#[tokio::test]
async fn a_failed_upload_is_a_retryable_diagnostic_and_leaves_nothing() {
    let world = world();
    world.bucket.state().fault = Some(BucketFault::Part(1));
    let event = LambdaEvent::new(json!({"mode": "stream"}), Context::default());
    let err = handle(&world.exporter, &DEFAULTS, event).await.unwrap_err();
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Retryable.AwsError");
    assert!(
        diagnostic.error_message.contains("UploadPart"),
        "{}",
        diagnostic.error_message
    );
    let state = world.bucket.state();
    assert!(state.objects.is_empty());
    assert_eq!(state.aborted.len(), 1);
}
