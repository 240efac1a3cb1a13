//! finding-router's handler through `LambdaEvent`, with fakes of the ports: a direct EventBridge
//! event, an SQS batch, and payloads that are neither.

use std::sync::Arc;

use aws_smithy_types::DateTime;
use finding_router::handler::handle_at;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use shared::config::RouterConfig;
use shared::fakes::{FakeAws, FakeRules};
use shared::router::Router;
use shared::rules::source::{RulesCache, RulesUri};

/// 2026-12-04T00:00:00Z.
const NOW: i64 = 1_796_342_400;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(&read(&format!("events/{name}"))).unwrap()
}

fn router() -> (FakeAws, Router) {
    let fake = FakeAws::new();
    let env = [
        ("AWS_REGION", "ap-northeast-2"),
        (
            "NOTIFY_TOPIC_ARN",
            "arn:aws:sns:ap-northeast-2:123456789012:inspector-autopilot",
        ),
    ];
    let config =
        RouterConfig::from_lookup(&|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())).unwrap();
    let rules = RulesCache::new(
        RulesUri::parse("s3://rules/rules.json").unwrap(),
        Arc::new(FakeRules::new("e1", &read("rules/example.json"))),
    );
    (fake.clone(), Router::new(config, Some(rules), Arc::new(fake)))
}

async fn answer(router: &Router, payload: Value) -> Value {
    let event = LambdaEvent::new(payload, Context::default());
    serde_json::to_value(handle_at(router, event, DateTime::from_secs(NOW)).await.unwrap()).unwrap()
}

fn sqs_record(id: &str, body: &str) -> Value {
    json!({"messageId": id, "receiptHandle": "r", "body": body, "attributes": {}, "messageAttributes": {},
           "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:ap-northeast-2:123456789012:q",
           "awsRegion": "ap-northeast-2"})
}

#[tokio::test]
async fn a_direct_event_answers_its_decision() {
    let (fake, router) = router();
    let suppressed = answer(&router, fixture("inspector2-finding-ec2-package.json")).await;
    assert_eq!(suppressed["outcome"], "suppressed");
    assert_eq!(suppressed["rule"], "accepted-risk-CVE-2021-3592-dev");
    let notified = answer(&router, fixture("inspector2-finding-ecr-image.json")).await;
    assert_eq!(notified["outcome"], "notified");
    assert_eq!(notified["messageId"], "message-1");
    assert_eq!(fake.published().len(), 1);
}

#[tokio::test]
async fn an_sqs_batch_answers_batch_item_failures_only() {
    let (fake, router) = router();
    let records: Vec<Value> = [
        "inspector2-finding-ec2-package.json",
        "inspector2-finding-ecr-image.json",
        "inspector2-finding-network.json",
        "inspector2-scan-ec2.json",
    ]
    .iter()
    .enumerate()
    .map(|(i, name)| sqs_record(&format!("m-{i}"), &fixture(name).to_string()))
    .chain([sqs_record("m-bad", "][")])
    .collect();
    let response = answer(&router, json!({"Records": records})).await;
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert_eq!(fake.published().len(), 2, "the critical image and the scan digest");
}

#[tokio::test]
async fn payloads_that_are_neither_are_ignored() {
    let (fake, router) = router();
    for payload in [
        json!(null),
        json!({"Records": []}),
        json!({"Records": [{"eventSource": "aws:sqs", "body": 5}]}),
        json!({"Records": [{"eventSource": "aws:s3"}]}),
        fixture("ec2-state-running.json"),
        fixture("scheduled-event.json"),
    ] {
        let answer = answer(&router, payload.clone()).await;
        assert_eq!(answer["outcome"], "ignored", "{payload}");
    }
    assert!(fake.published().is_empty());
}
