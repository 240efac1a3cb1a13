//! agent-installer's handler through `LambdaEvent`, with fakes of the ports: the fixtures, and a
//! table of malformed and edge-case events that must each get a classified answer.

use std::collections::HashMap;

use agent_installer::handler::handle;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{json, Value};
use shared::config::InstallerConfig;
use shared::fakes::{instance, FakeAws};
use shared::installer::{Installer, Outcome};
use shared::ErrorClass;

const FIXTURE_ID: &str = "i-0abcd1111efgh2222";

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../tests/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn installer(vars: &[(&str, &str)]) -> (FakeAws, Installer) {
    let fake = FakeAws::new();
    fake.state().instances.insert(FIXTURE_ID.into(), instance(FIXTURE_ID));
    let mut map: HashMap<String, String> = HashMap::from([("AWS_REGION".into(), "ap-northeast-2".into())]);
    map.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = InstallerConfig::from_lookup(&move |name| map.get(name).cloned()).unwrap();
    let installer = Installer::new(config, fake.ports());
    (fake, installer)
}

fn invoke(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

#[tokio::test]
async fn running_fixture_sends_the_command() {
    let (fake, installer) = installer(&[]);
    let report = handle(&installer, invoke(fixture("ec2-state-running.json")))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::CommandSent);
    assert_eq!(report.instance_id.as_deref(), Some(FIXTURE_ID));
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn stopped_fixture_is_ignored() {
    let (fake, installer) = installer(&[]);
    let report = handle(&installer, invoke(fixture("ec2-state-stopped.json")))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Ignored);
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn coverage_fixture_sends_the_command() {
    let (fake, installer) = installer(&[]);
    let report = handle(&installer, invoke(fixture("inspector2-coverage-unmanaged.json")))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::CommandSent);
    assert_eq!(fake.sent()[0].instance_id, FIXTURE_ID);
}

#[tokio::test]
async fn other_fixtures_are_ignored_as_unknown_events() {
    let (fake, installer) = installer(&[]);
    for name in [
        "inspector2-finding-ec2-package.json",
        "inspector2-finding-ecr-image.json",
        "inspector2-finding-network.json",
        "inspector2-scan-ec2.json",
        "scheduled-event.json",
    ] {
        let report = handle(&installer, invoke(fixture(name))).await.unwrap();
        assert_eq!(report.outcome, Outcome::Ignored, "{name}");
        assert!(report.reason.unwrap().starts_with("unknown event"), "{name}");
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_retryable_error_becomes_a_classified_lambda_diagnostic() {
    let (fake, installer) = installer(&[("SSM_WAIT_SECONDS", "0")]);
    {
        let mut state = fake.state();
        state.not_managed_sends = usize::MAX;
        state.route_targets.insert("subnet-1".into(), "nat-0abc".into());
    }
    let err = handle(&installer, invoke(fixture("ec2-state-running.json")))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Retryable);
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Retryable.InstanceStillUnmanaged");
    assert!(diagnostic.error_message.contains("default route via nat-0abc"));
}

/// Sets `pointer` (a JSON pointer into the running fixture) to `value`, or removes it for `None`.
fn running_with(pointer: &str, value: Option<Value>) -> Value {
    let mut event = fixture("ec2-state-running.json");
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = event.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    match value {
        Some(v) => target.insert(key.to_owned(), v),
        None => target.remove(key),
    };
    event
}

fn coverage_with_resources(resources: Option<Value>) -> Value {
    let mut event = fixture("inspector2-coverage-unmanaged.json");
    let object = event.as_object_mut().unwrap();
    match resources {
        Some(r) => object.insert("resources".into(), r),
        None => object.remove("resources"),
    };
    event
}

fn command_event(detail: Value) -> Value {
    json!({"version": "0", "id": "x", "source": "aws.ssm",
           "detail-type": "EC2 Command Invocation Status-change Notification",
           "account": "123456789012", "time": "2026-11-30T21:40:00Z", "region": "ap-northeast-2",
           "resources": [], "detail": detail})
}

#[tokio::test]
async fn malformed_and_edge_case_events_are_ignored_with_a_reason_and_never_panic() {
    let huge = "x".repeat(100_000);
    let many_bad: Value = (0..10_000).map(|i| json!(format!("arn:aws:s3:::bucket-{i}"))).collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("null payload", Value::Null, "event is null, not a JSON object"),
        ("boolean payload", json!(true), "event is a boolean"),
        ("number payload", json!(42), "event is a number"),
        ("string payload", json!("garbage"), "event is a string"),
        ("array payload", json!([]), "event is an array"),
        (
            "array of events",
            json!([fixture("ec2-state-running.json")]),
            "event is an array",
        ),
        ("empty object", json!({}), "no \"source\" field"),
        (
            "no detail-type",
            json!({"source": "aws.ec2"}),
            "no \"detail-type\" field",
        ),
        (
            "source is a number",
            json!({"source": 7, "detail-type": "x"}),
            "\"source\" is a number",
        ),
        (
            "detail-type is a list",
            json!({"source": "aws.ec2", "detail-type": ["a"]}),
            "\"detail-type\" is an array",
        ),
        (
            "unknown source",
            json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}),
            "unknown event",
        ),
        (
            "unknown detail-type",
            json!({"source": "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning", "detail": {}}),
            "unknown event",
        ),
        (
            "huge detail-type",
            json!({"source": "aws.ec2", "detail-type": huge}),
            "unknown event",
        ),
        (
            "detail missing",
            running_with("/detail", None),
            "malformed EC2 Instance State-change Notification event",
        ),
        ("detail null", running_with("/detail", Some(Value::Null)), "malformed"),
        (
            "detail is a string",
            running_with("/detail", Some(json!("running"))),
            "malformed",
        ),
        (
            "detail empty",
            running_with("/detail", Some(json!({}))),
            "missing field `instance-id`",
        ),
        (
            "instance-id is a number",
            running_with("/detail/instance-id", Some(json!(12345678))),
            "malformed",
        ),
        (
            "state is a number",
            running_with("/detail/state", Some(json!(16))),
            "malformed",
        ),
        (
            "state missing",
            running_with("/detail/state", None),
            "missing field `state`",
        ),
        (
            "unknown state",
            running_with("/detail/state", Some(json!("exploding"))),
            "is exploding, not running",
        ),
        (
            "pending state",
            running_with("/detail/state", Some(json!("pending"))),
            "is pending, not running",
        ),
        (
            "non-ASCII instance id",
            running_with("/detail/instance-id", Some(json!("i-ｆｆｆｆｆｆｆｆ"))),
            "is not an EC2 instance id",
        ),
        (
            "empty instance id",
            running_with("/detail/instance-id", Some(json!(""))),
            "is not an EC2 instance id",
        ),
        (
            "huge instance id",
            running_with("/detail/instance-id", Some(json!(huge))),
            "is not an EC2 instance id",
        ),
        (
            "time is not RFC 3339",
            running_with("/time", Some(json!("Mon Nov 30 18:14:32.123 UTC 2026"))),
            "malformed",
        ),
        (
            "resources is a string",
            running_with("/resources", Some(json!("i-12345678"))),
            "malformed",
        ),
        (
            "coverage with empty resources",
            coverage_with_resources(Some(json!([]))),
            "names no EC2 instance among its 0 resources",
        ),
        (
            "coverage without resources",
            coverage_with_resources(None),
            "names no EC2 instance among its 0 resources",
        ),
        (
            "coverage with 10 000 non-instance resources",
            coverage_with_resources(Some(many_bad)),
            "among its 10000 resources",
        ),
        (
            "coverage with numeric resources",
            coverage_with_resources(Some(json!([1, 2]))),
            "malformed",
        ),
        (
            "coverage without scanStatus",
            {
                let mut e = fixture("inspector2-coverage-unmanaged.json");
                e["detail"] = json!({"scanType": "PACKAGE"});
                e
            },
            "missing field `scanStatus`",
        ),
        (
            "command event with a numeric status",
            command_event(json!({"command-id": "c", "document-name": "AWS-ConfigureAWSPackage",
            "instance-id": FIXTURE_ID, "requested-date-time": "t", "status": 1})),
            "malformed",
        ),
        (
            "command event for a bad instance id",
            command_event(json!({"command-id": "c", "document-name": "AWS-ConfigureAWSPackage",
            "instance-id": "../../etc", "requested-date-time": "t", "status": "Failed"})),
            "is not an EC2 instance id",
        ),
    ];
    assert!(cases.len() >= 25);

    let (fake, installer) = installer(&[("NOTIFY_TOPIC_ARN", "arn:aws:sns:ap-northeast-2:123456789012:t")]);
    for (name, payload, expected) in cases {
        let report = handle(&installer, invoke(payload))
            .await
            .unwrap_or_else(|err| panic!("{name}: expected ignored, got error {err}"));
        assert_eq!(report.outcome, Outcome::Ignored, "{name}");
        let reason = report.reason.unwrap_or_default();
        assert!(
            reason.contains(expected),
            "{name}: reason {reason:?} lacks {expected:?}"
        );
        assert!(
            reason.chars().count() < 400,
            "{name}: reason is clipped, was {} chars",
            reason.chars().count()
        );
    }
    assert!(fake.calls().is_empty(), "no bad event reaches AWS: {:?}", fake.calls());
}

#[tokio::test]
async fn coverage_with_10_000_resources_finds_the_instance_among_them() {
    let (fake, installer) = installer(&[]);
    let mut resources: Vec<Value> = (0..9_999).map(|i| json!(format!("arn:aws:s3:::bucket-{i}"))).collect();
    resources.push(json!(format!(
        "arn:aws:ec2:ap-northeast-2:123456789012:instance/{FIXTURE_ID}"
    )));
    let report = handle(
        &installer,
        invoke(coverage_with_resources(Some(Value::Array(resources)))),
    )
    .await
    .unwrap();
    assert_eq!(report.outcome, Outcome::CommandSent);
    assert_eq!(fake.sent()[0].instance_id, FIXTURE_ID);
}
