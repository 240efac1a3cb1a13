//! suppression-sync against moto server: the rules object in moto's S3 (or a SecureString in
//! moto's SSM), the real handler and adapters, and moto's `ListFilters` as the judge. moto lacks
//! `UpdateFilter`, which the aws-smithy-mocks tests in `shared::aws::inspector2` cover.
//! Needs moto (run `make test`).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_inspector2::types::{FilterAction, StringComparison, StringFilter};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::DateTime;
use integration_tests::{create_bucket, project_root, Moto};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use shared::aws::{inspector2::Inspector2Adapter, rules::AwsRulesStore};
use shared::rules::source::{RulesCache, RulesStore, RulesUri};
use shared::sync::Syncer;
use suppression_sync::handler::handle_at;

/// 2026-12-04T00:00:00Z: both example rules are unexpired.
const NOW: i64 = 1_796_342_400;
/// 2027-02-15: the CVE rule (expiring 2027-01-31) has expired.
const FEBRUARY: i64 = 1_802_563_200;
const BUCKET: &str = "rules-bucket";
const KEY: &str = "inspector/rules.json";

struct Stack {
    _moto: Moto,
    s3: aws_sdk_s3::Client,
    inspector: aws_sdk_inspector2::Client,
    sdk_config: aws_config::SdkConfig,
}

fn example() -> String {
    std::fs::read_to_string(project_root().join("tests/fixtures/rules/example.json")).unwrap()
}

async fn stack() -> Stack {
    let moto = Moto::start();
    let sdk_config = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::new(&sdk_config);
    create_bucket(&s3, BUCKET).await;
    Stack {
        inspector: aws_sdk_inspector2::Client::new(&sdk_config),
        s3,
        sdk_config,
        _moto: moto,
    }
}

impl Stack {
    async fn put_rules(&self, body: &str) {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(KEY)
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .expect("moto PutObject");
    }

    fn syncer(&self) -> Syncer {
        let uri = RulesUri::parse(&format!("s3://{BUCKET}/{KEY}")).unwrap();
        let store = Arc::new(AwsRulesStore::for_uri(&uri, &self.sdk_config));
        Syncer::new(
            RulesCache::new(uri, store),
            Arc::new(Inspector2Adapter::new(&self.sdk_config)),
            ("ManagedBy".into(), "inspector-autopilot".into()),
        )
    }

    /// A filter made by a person in the console: no managed tag.
    async fn user_filter(&self, name: &str) -> String {
        let title = StringFilter::builder()
            .comparison(StringComparison::Prefix)
            .value("CVE-2019")
            .build()
            .unwrap();
        self.inspector
            .create_filter()
            .action(FilterAction::Suppress)
            .name(name)
            .filter_criteria(
                aws_sdk_inspector2::types::FilterCriteria::builder()
                    .title(title)
                    .build(),
            )
            .tags("team", "security")
            .send()
            .await
            .expect("moto CreateFilter")
            .arn()
            .to_owned()
    }

    /// moto's filters: name → tags.
    async fn filters(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let listed = self.inspector.list_filters().send().await.expect("moto ListFilters");
        listed
            .filters()
            .iter()
            .map(|f| {
                let tags = f
                    .tags()
                    .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                (f.name().to_owned(), tags)
            })
            .collect()
    }
}

async fn invoke(syncer: &Syncer, payload: Value, at: i64) -> Value {
    let event = LambdaEvent::new(payload, Context::default());
    let answer = handle_at(syncer, event, DateTime::from_secs(at)).await.expect("sync");
    serde_json::to_value(answer).unwrap()
}

#[tokio::test]
async fn sync_leaves_exactly_the_managed_set_keeps_user_filters_and_is_then_a_no_op() {
    let stack = stack().await;
    stack.put_rules(&example()).await;
    stack.user_filter("console-made-rule").await;
    let syncer = stack.syncer();

    let first = invoke(
        &syncer,
        json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
        NOW,
    )
    .await;
    assert_eq!(first["outcome"], "synced");
    assert_eq!(
        first["created"],
        json!(["sandbox-images-low", "accepted-risk-CVE-2021-3592-dev"])
    );

    let filters = stack.filters().await;
    let names: Vec<&str> = filters.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "accepted-risk-CVE-2021-3592-dev",
            "console-made-rule",
            "sandbox-images-low"
        ]
    );
    let managed: Vec<&str> = filters
        .iter()
        .filter(|(_, tags)| tags.get("ManagedBy").map(String::as_str) == Some("inspector-autopilot"))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(managed, ["accepted-risk-CVE-2021-3592-dev", "sandbox-images-low"]);
    assert_eq!(filters["sandbox-images-low"]["Owner"], "platform-team");
    assert_eq!(filters["sandbox-images-low"]["ExpiresAt"], "2027-03-31T00:00:00Z");
    assert_eq!(
        filters["console-made-rule"],
        BTreeMap::from([("team".into(), "security".into())])
    );

    // moto keeps the criteria as sent: they read back equal, so the second run changes nothing.
    let second = invoke(&syncer, json!({}), NOW).await;
    assert_eq!(
        second["unchanged"],
        json!(["sandbox-images-low", "accepted-risk-CVE-2021-3592-dev"])
    );
    for list in ["created", "updated", "deleted", "expired", "plan"] {
        assert_eq!(second[list], json!([]), "{list}");
    }
    assert_eq!(stack.filters().await, filters);
}

#[tokio::test]
async fn an_expired_rule_is_deleted_and_a_dry_run_only_plans() {
    let stack = stack().await;
    stack.put_rules(&example()).await;
    let syncer = stack.syncer();
    invoke(&syncer, json!({}), NOW).await;

    let planned = invoke(&syncer, json!({"dryRun": true}), FEBRUARY).await;
    assert_eq!(planned["outcome"], "planned");
    assert_eq!(planned["deleted"], json!(["accepted-risk-CVE-2021-3592-dev"]));
    assert_eq!(stack.filters().await.len(), 2, "a dry run changes nothing");

    let synced = invoke(&syncer, json!({}), FEBRUARY).await;
    assert_eq!(synced["expired"], json!(["accepted-risk-CVE-2021-3592-dev"]));
    assert_eq!(synced["deleted"], json!(["accepted-risk-CVE-2021-3592-dev"]));
    let names: Vec<String> = stack.filters().await.into_keys().collect();
    assert_eq!(names, ["sandbox-images-low"]);
}

#[tokio::test]
async fn an_invalid_rules_object_changes_nothing_in_moto() {
    let stack = stack().await;
    stack.put_rules(&example()).await;
    let syncer = stack.syncer();
    invoke(&syncer, json!({}), NOW).await;
    let before = stack.filters().await;

    // Drops one rule (which would delete its filter) and breaks another: nothing may happen.
    let mut rules: Value = serde_json::from_str(&example()).unwrap();
    let suppressions = rules["suppressions"].as_array_mut().unwrap();
    suppressions.remove(1);
    suppressions[0]["filterCriteria"]["severity"][0]["comparison"] = json!("GREATER_THAN");
    stack.put_rules(&rules.to_string()).await;
    let event = LambdaEvent::new(json!({}), Context::default());
    let err = handle_at(&syncer, event, DateTime::from_secs(NOW)).await.unwrap_err();
    assert_eq!(err.kind(), "InvalidRules");
    assert!(
        err.to_string()
            .contains("suppressions[0].filterCriteria.severity[0].comparison"),
        "{err}"
    );
    assert_eq!(stack.filters().await, before);
}

#[tokio::test]
async fn the_s3_store_skips_an_unchanged_object_by_etag() {
    let stack = stack().await;
    stack.put_rules(&example()).await;
    let uri = RulesUri::parse(&format!("s3://{BUCKET}/{KEY}")).unwrap();
    let store = AwsRulesStore::for_uri(&uri, &stack.sdk_config);

    let first = store.fetch(&uri, None).await.unwrap().expect("a body");
    assert_eq!(first.body, example().as_bytes());
    assert!(!first.version.is_empty());
    assert_eq!(
        store.fetch(&uri, Some(&first.version)).await.unwrap(),
        None,
        "304 Not Modified"
    );

    stack.put_rules("{\"version\": 1}").await;
    let changed = store
        .fetch(&uri, Some(&first.version))
        .await
        .unwrap()
        .expect("new body");
    assert_ne!(changed.version, first.version);

    let missing = RulesUri::parse(&format!("s3://{BUCKET}/missing.json")).unwrap();
    let err = store.fetch(&missing, None).await.unwrap_err();
    assert_eq!(err.class(), shared::ErrorClass::Config);
    assert!(err.to_string().contains("NoSuchKey"), "{err}");
}

#[tokio::test]
async fn the_ssm_store_reads_a_secure_string_and_skips_an_unchanged_version() {
    let stack = stack().await;
    let ssm = aws_sdk_ssm::Client::new(&stack.sdk_config);
    let put = |value: String| {
        ssm.put_parameter()
            .name("/inspector-autopilot/rules")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .value(value)
            .overwrite(true)
            .send()
    };
    put("{\"version\": 1, \"suppressions\": []}".into())
        .await
        .expect("moto PutParameter");
    let uri = RulesUri::parse("ssm:/inspector-autopilot/rules").unwrap();
    let store = AwsRulesStore::for_uri(&uri, &stack.sdk_config);

    let first = store.fetch(&uri, None).await.unwrap().expect("a value");
    assert_eq!(first.body, b"{\"version\": 1, \"suppressions\": []}", "decrypted");
    assert_eq!(first.version, "1");
    assert_eq!(store.fetch(&uri, Some("1")).await.unwrap(), None);

    put(example()).await.expect("moto PutParameter");
    let second = store.fetch(&uri, Some("1")).await.unwrap().expect("version 2");
    assert_eq!(second.version, "2");
    assert_eq!(second.body, example().as_bytes());
}
