//! finding-router against moto server: the example rules in moto's S3, an SNS topic with an SQS
//! subscription, the real handler and adapters. The queue is the judge: the right messages with
//! their attributes, and none for a suppressed or below-threshold finding. Needs moto (run
//! `make test`).

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::DateTime;
use finding_router::handler::handle_at;
use integration_tests::{create_bucket, fixture, project_root, Moto, REGION};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use shared::aws::{rules::AwsRulesStore, sns::SnsNotifier};
use shared::config::RouterConfig;
use shared::router::Router;
use shared::rules::source::{RulesCache, RulesUri};

/// 2026-12-04T00:00:00Z: both example suppressions are unexpired.
const NOW: i64 = 1_796_342_400;

struct Stack {
    _moto: Moto,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    router: Router,
}

async fn stack() -> Stack {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    create_bucket(&s3, "rules").await;
    let rules = std::fs::read(project_root().join("tests/fixtures/rules/example.json")).unwrap();
    s3.put_object()
        .bucket("rules")
        .key("rules.json")
        .body(ByteStream::from(rules))
        .send()
        .await
        .expect("moto PutObject");
    let sns = aws_sdk_sns::Client::new(&config);
    let topic_arn = sns
        .create_topic()
        .name("inspector-autopilot")
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn()
        .expect("arn")
        .to_owned();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url = sqs
        .create_queue()
        .queue_name("findings")
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .expect("url")
        .to_owned();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:{REGION}:123456789012:findings"))
        .send()
        .await
        .expect("Subscribe");
    let env = [
        ("AWS_REGION", REGION.to_owned()),
        ("NOTIFY_TOPIC_ARN", topic_arn),
        ("RULES_URI", "s3://rules/rules.json".to_owned()),
    ];
    let router_config =
        RouterConfig::from_lookup(&|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
    let uri = RulesUri::parse("s3://rules/rules.json").unwrap();
    let rules = RulesCache::new(uri.clone(), Arc::new(AwsRulesStore::for_uri(&uri, &config)));
    Stack {
        router: Router::new(router_config, Some(rules), Arc::new(SnsNotifier::new(&config))),
        sqs,
        queue_url,
        _moto: moto,
    }
}

impl Stack {
    async fn invoke(&self, payload: Value) -> Value {
        let event = LambdaEvent::new(payload, Context::default());
        serde_json::to_value(
            handle_at(&self.router, event, DateTime::from_secs(NOW))
                .await
                .expect("handled"),
        )
        .unwrap()
    }

    /// The SNS envelopes on the queue, in any order.
    async fn received(&self) -> Vec<Value> {
        let mut envelopes = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("ReceiveMessage");
            if output.messages().is_empty() {
                return envelopes;
            }
            for message in output.messages() {
                envelopes.push(serde_json::from_str(message.body().expect("body")).expect("SNS envelope"));
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle().expect("handle"))
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
    }
}

fn attribute(envelope: &Value, name: &str) -> Value {
    envelope["MessageAttributes"][name]["Value"].clone()
}

#[tokio::test]
async fn fixtures_reach_the_queue_with_attributes_and_suppressed_ones_do_not() {
    let stack = stack().await;

    let suppressed = stack.invoke(fixture("inspector2-finding-ec2-package.json")).await;
    assert_eq!(suppressed["outcome"], "suppressed");
    assert_eq!(suppressed["rule"], "accepted-risk-CVE-2021-3592-dev");
    let below = stack.invoke(fixture("inspector2-finding-network.json")).await;
    assert_eq!(below["outcome"], "below-threshold");
    assert!(
        stack.received().await.is_empty(),
        "nothing sent for suppressed or below-threshold"
    );

    let mut prod = fixture("inspector2-finding-ec2-package.json");
    prod["detail"]["resources"][0]["tags"] = json!({"Name": "web-1", "env": "prod"});
    let notified = stack.invoke(prod).await;
    assert_eq!(notified["outcome"], "notified");
    let critical = stack.invoke(fixture("inspector2-finding-ecr-image.json")).await;
    assert_eq!(critical["outcome"], "notified");

    let mut envelopes = stack.received().await;
    envelopes.sort_by_key(|e| e["Subject"].as_str().unwrap_or_default().to_owned());
    assert_eq!(envelopes.len(), 2);
    let prod = envelopes
        .iter()
        .find(|e| attribute(e, "severity") == "HIGH")
        .expect("the prod finding");
    assert_eq!(
        prod["Subject"],
        "[HIGH] CVE-2021-3592 - libslirp0 on i-0abcd1111efgh2222"
    );
    assert_eq!(prod["MessageId"], notified["messageId"]);
    assert_eq!(attribute(prod, "findingType"), "PACKAGE_VULNERABILITY");
    assert_eq!(attribute(prod, "resourceType"), "AWS_EC2_INSTANCE");
    assert_eq!(attribute(prod, "awsAccountId"), "123456789012");
    assert_eq!(attribute(prod, "vulnerabilityId"), "CVE-2021-3592");
    let body = prod["Message"].as_str().unwrap();
    assert!(body.contains("libslirp0 4.1.0 -> fixed in 4.1.0-2ubuntu0.1"), "{body}");
    assert!(body.contains("Name=web-1, env=prod"), "{body}");
    let image = envelopes
        .iter()
        .find(|e| attribute(e, "severity") == "CRITICAL")
        .expect("the image finding");
    assert_eq!(attribute(image, "resourceType"), "AWS_ECR_CONTAINER_IMAGE");
}

#[tokio::test]
async fn an_sqs_batch_of_ten_is_delivered_with_no_failures() {
    let stack = stack().await;
    let records: Vec<Value> = (0..10)
        .map(|i| {
            let mut event = fixture("inspector2-finding-ecr-image.json");
            event["detail"]["findingArn"] = json!(format!("arn:aws:inspector2:{REGION}:123456789012:finding/{i}"));
            json!({"messageId": format!("m-{i}"), "body": event.to_string(), "eventSource": "aws:sqs",
                   "eventSourceARN": format!("arn:aws:sqs:{REGION}:123456789012:in"), "awsRegion": REGION})
        })
        .collect();
    let answer = stack.invoke(json!({"Records": records})).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(stack.received().await.len(), 10);
}
