//! Router tests with fakes: one per decision branch, route precedence, rules caching, the SQS
//! batch with a malformed record and a failing publish, and a table of bad finding events.
//! Compiled only under #[cfg(test)] (declared in mod.rs), so unwrap is fine here.

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use serde_json::{json, Value};

use super::*;
use crate::fakes::{Call, FakeAws, FakeRules};
use crate::rules::source::RulesUri;
use crate::ErrorClass;

const TOPIC: &str = "arn:aws:sns:ap-northeast-2:123456789012:inspector-autopilot";
const PAYMENTS: &str = "arn:aws:sns:ap-northeast-2:123456789012:payments-security";
/// 2026-12-04T00:00:00Z.
const NOW: i64 = 1_796_342_400;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(&read(&format!("events/{name}"))).unwrap()
}

fn router_with(rules: Option<FakeRules>, vars: &[(&str, &str)]) -> (FakeAws, Router) {
    let fake = FakeAws::new();
    let mut env: Vec<(String, String)> = vec![
        ("AWS_REGION".into(), "ap-northeast-2".into()),
        ("NOTIFY_TOPIC_ARN".into(), TOPIC.into()),
    ];
    env.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let config =
        RouterConfig::from_lookup(&|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap();
    let cache = rules.map(|r| RulesCache::new(RulesUri::parse("s3://rules/rules.json").unwrap(), Arc::new(r)));
    (fake.clone(), Router::new(config, cache, Arc::new(fake)))
}

fn router() -> (FakeAws, Router) {
    router_with(Some(FakeRules::new("e1", &read("rules/example.json"))), &[])
}

async fn route(router: &Router, event: &Value) -> RouteReport {
    router.handle_event(event, DateTime::from_secs(NOW)).await.unwrap()
}

fn with_tags(mut event: Value, tags: Value) -> Value {
    event["detail"]["resources"][0]["tags"] = tags;
    event
}

#[tokio::test]
async fn the_dev_host_cve_is_suppressed_by_the_accepted_risk_rule() {
    let (fake, router) = router();
    let report = route(&router, &fixture("inspector2-finding-ec2-package.json")).await;
    assert_eq!(report.outcome, "suppressed");
    assert_eq!(report.rule.as_deref(), Some("accepted-risk-CVE-2021-3592-dev"));
    assert!(fake.published().is_empty());
}

#[tokio::test]
async fn the_same_finding_on_a_prod_host_is_notified_as_high_reaches_high() {
    let (fake, router) = router();
    let prod = with_tags(
        fixture("inspector2-finding-ec2-package.json"),
        json!({"Name": "web", "env": "prod"}),
    );
    let report = route(&router, &prod).await;
    assert_eq!(report.outcome, "notified", "{report:?}");
    assert_eq!(report.topic_arn.as_deref(), Some(TOPIC));
    assert_eq!(report.reason, "HIGH reaches NOTIFY_MIN_SEVERITY HIGH");
    assert_eq!(fake.published().len(), 1);
    assert_eq!(report.message_id.as_deref(), Some("message-1"));
}

#[tokio::test]
async fn a_critical_sandbox_image_is_not_suppressed_by_the_low_medium_rule() {
    let (fake, router) = router();
    let report = route(&router, &fixture("inspector2-finding-ecr-image.json")).await;
    assert_eq!(report.outcome, "notified", "{report:?}");
    assert_eq!(fake.published()[0].attributes["severity"], "CRITICAL");
}

#[tokio::test]
async fn the_medium_network_finding_is_below_threshold() {
    let (fake, router) = router();
    let report = route(&router, &fixture("inspector2-finding-network.json")).await;
    assert_eq!(report.outcome, "below-threshold");
    assert_eq!(report.reason, "MEDIUM is below NOTIFY_MIN_SEVERITY HIGH");
    assert!(fake.published().is_empty());
}

#[tokio::test]
async fn a_route_wins_over_the_default_topic_even_below_threshold() {
    let (fake, router) = router();
    let payments = with_tags(fixture("inspector2-finding-network.json"), json!({"team": "payments"}));
    let report = route(&router, &payments).await;
    assert_eq!(report.outcome, "notified");
    assert_eq!(report.rule.as_deref(), Some("payments-team"));
    assert_eq!(report.topic_arn.as_deref(), Some(PAYMENTS));
    assert_eq!(fake.published()[0].topic_arn, PAYMENTS);
}

#[tokio::test]
async fn suppression_wins_over_a_route() {
    let (fake, router) = router();
    let both = with_tags(
        fixture("inspector2-finding-ec2-package.json"),
        json!({"env": "dev", "team": "payments"}),
    );
    assert_eq!(route(&router, &both).await.outcome, "suppressed");
    assert!(fake.published().is_empty());
}

#[tokio::test]
async fn an_expired_suppression_no_longer_suppresses() {
    let (_, router) = router();
    let after_expiry = router
        .handle_event(
            &fixture("inspector2-finding-ec2-package.json"),
            DateTime::from_secs(1_802_563_200),
        )
        .await
        .unwrap();
    assert_eq!(after_expiry.outcome, "notified");
}

#[tokio::test]
async fn inactive_findings_are_ignored() {
    let (fake, router) = router();
    for status in ["SUPPRESSED", "CLOSED"] {
        let mut event = fixture("inspector2-finding-ecr-image.json");
        event["detail"]["status"] = json!(status);
        let report = route(&router, &event).await;
        assert_eq!(report.outcome, "ignored");
        assert_eq!(report.reason, format!("status {status} is not ACTIVE"));
    }
    assert!(fake.published().is_empty());
}

#[tokio::test]
async fn without_rules_the_threshold_alone_decides() {
    let (_, router) = router_with(None, &[("NOTIFY_MIN_SEVERITY", "MEDIUM")]);
    assert_eq!(
        route(&router, &fixture("inspector2-finding-ec2-package.json"))
            .await
            .outcome,
        "notified"
    );
    assert_eq!(
        route(&router, &fixture("inspector2-finding-network.json"))
            .await
            .outcome,
        "notified"
    );
}

#[tokio::test]
async fn untriaged_and_unknown_severities_are_notified() {
    let (_, router) = router_with(None, &[("NOTIFY_MIN_SEVERITY", "CRITICAL")]);
    for severity in [json!("UNTRIAGED"), json!("SEVERE"), json!(null)] {
        let mut event = fixture("inspector2-finding-network.json");
        event["detail"]["severity"] = severity.clone();
        assert_eq!(route(&router, &event).await.outcome, "notified", "{severity}");
    }
}

#[tokio::test]
async fn scan_digests_are_sent_only_with_critical_or_high_unless_all() {
    let (fake, router) = router();
    assert_eq!(
        route(&router, &fixture("inspector2-scan-ec2.json")).await.outcome,
        "notified"
    );
    let mut quiet = fixture("inspector2-scan-ec2.json");
    quiet["detail"]["finding-severity-counts"] = json!({"CRITICAL": 0, "HIGH": 0, "MEDIUM": 2, "TOTAL": 2});
    assert_eq!(route(&router, &quiet).await.outcome, "below-threshold");
    assert_eq!(fake.published().len(), 1);

    let (fake, all) = router_with(None, &[("NOTIFY_SCAN_DIGEST", "all")]);
    assert_eq!(route(&all, &quiet).await.outcome, "notified");
    assert!(fake.published()[0].subject.ends_with("0 critical, 0 high, 2 medium"));
}

#[tokio::test]
async fn a_failed_publish_is_an_error_of_its_class() {
    let (fake, router) = router();
    fake.state().publish_failure = Some(ErrorClass::Retryable);
    let err = router
        .handle_event(&fixture("inspector2-finding-ecr-image.json"), DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Retryable);
}

#[tokio::test]
async fn a_bad_rules_file_is_a_config_error() {
    let (_, router) = router_with(Some(FakeRules::new("e1", "{\"suppressions\": 5}")), &[]);
    let err = router
        .handle_event(&fixture("inspector2-finding-ecr-image.json"), DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "InvalidRules");
}

#[tokio::test]
async fn rules_are_compiled_once_per_version() {
    let rules = FakeRules::new("e1", &read("rules/example.json"));
    let (_, router) = router_with(Some(rules.clone()), &[]);
    for _ in 0..3 {
        route(&router, &fixture("inspector2-finding-network.json")).await;
    }
    assert_eq!(rules.downloads(), 1);
    let first = router.compiled().await.unwrap().unwrap();
    let again = router.compiled().await.unwrap().unwrap();
    assert!(Arc::ptr_eq(&first, &again));
    rules.set("e2", "{\"version\": 1}");
    assert_eq!(
        route(&router, &fixture("inspector2-finding-ec2-package.json"))
            .await
            .outcome,
        "notified"
    );
}

fn sqs(bodies: Vec<Option<String>>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("m-{i}"));
            message.body = body;
            message
        })
        .collect();
    event
}

#[tokio::test]
async fn sqs_batch_reports_exactly_the_record_whose_publish_failed() {
    let (fake, router) = router();
    let mut bodies: Vec<Option<String>> = (0..8)
        .map(|i| {
            let mut event = fixture("inspector2-finding-ecr-image.json");
            event["detail"]["findingArn"] =
                json!(format!("arn:aws:inspector2:ap-northeast-2:123456789012:finding/{i}"));
            Some(event.to_string())
        })
        .collect();
    bodies.push(Some("{not json".into()));
    let mut failing = fixture("inspector2-finding-ecr-image.json");
    failing["detail"]["title"] = json!("THIS ONE FAILS");
    bodies.push(Some(failing.to_string()));
    fake.state().publish_failure_on = Some("THIS ONE FAILS".into());

    let response = router.handle_sqs(&sqs(bodies), DateTime::from_secs(NOW)).await.unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m-9"]);
    let published = fake.calls().iter().filter(|c| matches!(c, Call::Publish(_))).count();
    assert_eq!(published, 9, "8 sent and 1 failed; the malformed record sent nothing");
}

#[tokio::test]
async fn bad_finding_events_are_classified_and_never_panic() {
    let (fake, router) = router();
    let base = fixture("inspector2-finding-ec2-package.json");
    let with = |pointer: &str, value: Value| {
        let mut event = base.clone();
        *event.pointer_mut(pointer).unwrap() = value;
        event
    };
    let many_resources = json!((0..10)
        .map(|i| json!({"id": format!("i-{i}"), "type": "AWS_EC2_INSTANCE"}))
        .collect::<Vec<_>>());
    let huge_packages = json!((0..20_000)
        .map(|i| json!({"name": format!("pkg-{i}"), "version": "1"}))
        .collect::<Vec<_>>());
    let cases: Vec<(Value, &str)> = vec![
        (json!(null), "ignored"),
        (json!("finding"), "ignored"),
        (json!([base.clone()]), "ignored"),
        (json!({}), "ignored"),
        (json!({"source": "aws.inspector2"}), "ignored"),
        (
            json!({"source": "aws.inspector2", "detail-type": "Inspector2 Finding"}),
            "ignored",
        ),
        (
            json!({"source": "aws.inspector2", "detail-type": "Inspector2 Finding", "detail": "x"}),
            "ignored",
        ),
        (
            json!({"source": "aws.inspector2", "detail-type": "Inspector2 Finding", "detail": {}}),
            "ignored",
        ),
        (
            json!({"source": "aws.inspector2", "detail-type": "Inspector2 Coverage", "detail": {}}),
            "ignored",
        ),
        (json!({"source": 7, "detail-type": ["x"]}), "ignored"),
        (with("/detail/status", json!(null)), "ignored"),
        (with("/detail/status", json!(3)), "ignored"),
        (with("/detail/findingArn", json!(42)), "ignored"),
        (with("/detail/severity", json!(null)), "suppressed"),
        (with("/detail/severity", json!("CATASTROPHIC")), "suppressed"),
        (with("/detail/resources", json!([])), "notified"),
        (with("/detail/resources", json!(null)), "notified"),
        (with("/detail/resources", many_resources), "notified"),
        (with("/detail/resources/0/tags", json!(null)), "notified"),
        (with("/detail/resources/0/tags", json!({"env": 5})), "notified"),
        (
            with("/detail/packageVulnerabilityDetails/vulnerablePackages", huge_packages),
            "suppressed",
        ),
        (with("/detail/packageVulnerabilityDetails", json!(null)), "notified"),
        (with("/detail/title", json!("취약점 🚨 — ünïcode título")), "suppressed"),
        (with("/detail/title", json!(null)), "suppressed"),
        (with("/detail/inspectorScore", json!("high")), "suppressed"),
        (with("/detail/updatedAt", json!("not a date")), "suppressed"),
        (with("/detail/firstObservedAt", json!(12)), "suppressed"),
        (with("/detail/description", json!("é".repeat(100_000))), "suppressed"),
        (
            with("/detail/remediation", json!({"recommendation": null})),
            "suppressed",
        ),
    ];
    assert!(cases.len() >= 25);
    for (event, outcome) in cases {
        let report = route(&router, &event).await;
        let shown = event.to_string();
        assert_eq!(
            report.outcome,
            outcome,
            "{}: {}",
            &shown[..shown.len().min(120)],
            report.reason
        );
        assert!(!report.reason.is_empty() && report.reason.len() < 500);
    }
    for published in fake.published() {
        assert!(published.subject.len() <= 100 && published.subject.is_ascii());
        assert!(published.message.len() < 256 * 1024);
    }
}
