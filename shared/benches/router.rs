//! Per-event time of finding-router's decision on a warm function, with 100 rules loaded and
//! the network left out (a no-op notifier): parse of the event, suppression and route matching,
//! and, for a notified finding, the whole message. Target ≤ 200 µs. Run with
//! `cargo bench -p shared --bench router --features fakes`.

use std::hint::black_box;
use std::sync::Arc;

use async_trait::async_trait;
use aws_smithy_types::DateTime;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use shared::config::RouterConfig;
use shared::fakes::FakeRules;
use shared::ports::{Notification, Notifier};
use shared::router::Router;
use shared::rules::source::{RulesCache, RulesUri};

/// Publishes nowhere: the benchmark measures our work, not SNS.
struct NoNetwork;

#[async_trait]
impl Notifier for NoNetwork {
    async fn publish(&self, notification: &Notification) -> Result<String, shared::Error> {
        Ok(black_box(notification.message.len()).to_string())
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// The example's three rules plus 97 that look like real ones and match none of the fixtures.
fn hundred_rules() -> String {
    let mut rules: Value = serde_json::from_str(&read("rules/example.json")).expect("json");
    let suppressions = rules["suppressions"].as_array_mut().expect("list");
    for i in 0..60 {
        suppressions.push(json!({
            "name": format!("accepted-risk-{i}"), "description": "d", "reason": "r", "owner": "security",
            "filterCriteria": {
                "vulnerabilityId": [{"comparison": "EQUALS", "value": format!("CVE-2020-{i:04}")}],
                "resourceTags": [{"comparison": "EQUALS", "key": "env", "value": "dev"}]
            }
        }));
    }
    let routes = rules["routes"].as_array_mut().expect("list");
    for i in 0..37 {
        routes.push(json!({
            "name": format!("team-{i}"), "topicArn": "arn:aws:sns:ap-northeast-2:123456789012:team",
            "filterCriteria": {"resourceTags": [{"comparison": "EQUALS", "key": "team", "value": format!("team-{i}")}],
                               "severity": [{"comparison": "EQUALS", "value": "CRITICAL"}]}
        }));
    }
    rules.to_string()
}

fn bench(c: &mut Criterion) {
    let env = [
        ("AWS_REGION", "ap-northeast-2"),
        (
            "NOTIFY_TOPIC_ARN",
            "arn:aws:sns:ap-northeast-2:123456789012:inspector-autopilot",
        ),
    ];
    let config = RouterConfig::from_lookup(&|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
        .expect("config");
    let rules = RulesCache::new(
        RulesUri::parse("s3://rules/rules.json").expect("uri"),
        Arc::new(FakeRules::new("e1", &hundred_rules())),
    );
    let router = Router::new(config, Some(rules), Arc::new(NoNetwork));
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let now = DateTime::from_secs(1_796_342_400);
    let mut group = c.benchmark_group("finding-router, 100 rules");
    for (label, name, outcome) in [
        ("suppressed", "inspector2-finding-ec2-package.json", "suppressed"),
        ("notified", "inspector2-finding-ecr-image.json", "notified"),
        ("below-threshold", "inspector2-finding-network.json", "below-threshold"),
    ] {
        let event: Value = serde_json::from_str(&read(&format!("events/{name}"))).expect("json");
        let report = runtime.block_on(router.handle_event(&event, now)).expect("handled");
        assert_eq!(report.outcome, outcome, "{label}");
        group.bench_function(label, |b| {
            b.iter(|| runtime.block_on(router.handle_event(black_box(&event), now)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
