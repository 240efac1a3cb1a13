//! Rules file tests: the example, every error kind with its exact path, bad files, 10 000 rules,
//! and the version-keyed cache. Compiled only under #[cfg(test)] (declared in mod.rs).

use std::sync::Arc;

use serde_json::{json, Value};

use super::source::{RulesCache, RulesUri};
use super::*;
use crate::fakes::FakeRules;

fn example() -> String {
    let path = format!("{}/../tests/fixtures/rules/example.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

fn problems(rules: Value) -> Vec<String> {
    Rules::from_json(&rules)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn suppression(name: &str) -> Value {
    json!({
        "name": name,
        "description": "d",
        "reason": "r",
        "owner": "platform-team",
        "filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "LOW"}]}
    })
}

#[test]
fn the_example_file_parses_with_its_two_suppressions_and_route() {
    let rules = Rules::parse(example().as_bytes()).unwrap();
    let names: Vec<&str> = rules.suppressions.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["sandbox-images-low", "accepted-risk-CVE-2021-3592-dev"]);
    assert_eq!(rules.suppressions[0].owner, "platform-team");
    assert_eq!(
        rules.suppressions[0].expires_at,
        Some(aws_smithy_types::DateTime::from_secs(1_806_451_200))
    );
    assert_eq!(rules.routes[0].name, "payments-team");
    assert_eq!(
        rules.routes[0].topic_arn,
        "arn:aws:sns:ap-northeast-2:123456789012:payments-security"
    );
}

#[test]
fn expiry_is_inclusive_of_the_instant() {
    let rules = Rules::parse(example().as_bytes()).unwrap();
    let at = rules.suppressions[1].expires_at.unwrap();
    assert!(!rules.suppressions[1].is_expired(aws_smithy_types::DateTime::from_secs(at.secs() - 1)));
    assert!(rules.suppressions[1].is_expired(at));
    let mut forever = rules.suppressions[0].clone();
    forever.expires_at = None;
    assert!(!forever.is_expired(aws_smithy_types::DateTime::from_secs(i64::MAX / 2)));
}

#[test]
fn every_error_kind_is_reported_at_once_with_its_exact_path() {
    let rules = json!({
        "version": 1,
        "suppressions": [
            suppression("fine-rule"),
            {
                "name": "no spaces allowed",
                "description": "",
                "reason": "x".repeat(513),
                "owner": "team<script>",
                "expiresAt": "next tuesday",
                "filterCriteria": {
                    "severity": [{"comparison": "CONTAINS", "value": "LOW"}],
                    "title": [],
                    "notAField": [{"comparison": "EQUALS", "value": "x"}],
                    "resourceId": (0..11).map(|i| json!({"comparison": "EQUALS", "value": format!("i-{i}")})).collect::<Vec<_>>(),
                    "vulnerabilityId": [{"comparison": "EQUALS", "value": "x".repeat(1025)}]
                },
                "extra": true
            },
            {"name": "ab", "filterCriteria": {}},
            suppression("fine-rule")
        ],
        "routes": [
            {"name": "to-nowhere", "topicArn": "arn:aws:sqs:eu-west-1:123456789012:q",
             "filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "HIGH"}]}}
        ]
    });
    let expected = [
        "suppressions[1].extra: unknown key; expected name, description, reason, owner, expiresAt, filterCriteria",
        "suppressions[1].name: \"no spaces allowed\" must be 3 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-' (Inspector's rule)",
        "suppressions[1].description: must not be empty",
        "suppressions[1].reason: is 513 characters; the limit is 512",
        "suppressions[1].owner: becomes a tag value: use letters, digits, spaces and _ . : / = + - @",
        "suppressions[1].expiresAt: \"next tuesday\" is not an RFC 3339 date-time, for example 2027-03-31T00:00:00Z",
        "suppressions[1].filterCriteria.notAField: unknown FilterCriteria field",
        "suppressions[1].filterCriteria.resourceId: has 11 filters; the limit is 10",
        "suppressions[1].filterCriteria.severity[0].comparison: \"CONTAINS\" is not EQUALS, PREFIX or NOT_EQUALS",
        "suppressions[1].filterCriteria.title: must not be an empty list",
        "suppressions[1].filterCriteria.vulnerabilityId[0].value: is 1025 characters; the limit is 1024",
        "suppressions[2].name: \"ab\" must be 3 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-' (Inspector's rule)",
        "suppressions[2].description: is required",
        "suppressions[2].reason: is required",
        "suppressions[2].owner: is required",
        "suppressions[2].filterCriteria: names no field; a filter must narrow the findings it applies to",
        "routes[0].topicArn: \"arn:aws:sqs:eu-west-1:123456789012:q\" is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)",
        "suppressions[3].name: \"fine-rule\" is already the name of suppressions[0]",
    ];
    assert_eq!(problems(rules), expected);
}

#[test]
fn bad_files_get_a_clear_error_not_a_panic() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "$: not valid JSON: EOF while parsing a value at line 1 column 0"),
        (b"{\"suppressions\": [", "$: not valid JSON: EOF while parsing a list at line 1 column 18"),
        (b"[]", "$: expected an object with version, suppressions, routes"),
        (b"{\"version\": 2}", "version: 2 is not a version this build reads; use 1"),
        (b"{\"suppressions\": {}}", "suppressions: must be a list"),
        (b"{\"suppresions\": []}", "$.suppresions: unknown key; expected version, suppressions, routes"),
        (b"{\"suppressions\": [42]}", "suppressions[0]: expected an object with name, description, reason, owner, expiresAt, filterCriteria"),
        (b"{\"routes\": [{\"name\": \"r-1\", \"topicArn\": 5, \"filterCriteria\": {\"severity\": [{\"comparison\": \"EQUALS\", \"value\": \"LOW\"}]}}]}", "routes[0].topicArn: must be a string"),
        (b"\xff\xfe", "$: not valid JSON: expected value at line 1 column 1"),
    ];
    for (body, first) in cases {
        let problems = Rules::parse(body).unwrap_err();
        assert_eq!(problems[0].to_string(), *first, "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn an_empty_file_object_is_no_rules() {
    assert_eq!(Rules::parse(b"{}").unwrap(), Rules::default());
    assert_eq!(
        Rules::parse(b"{\"version\": 1, \"suppressions\": [], \"routes\": null}").unwrap(),
        Rules::default()
    );
}

#[test]
fn a_past_expiry_is_valid_and_reported_as_expired_by_the_rule() {
    let mut rule = suppression("old-rule");
    rule["expiresAt"] = json!("2020-01-01T00:00:00Z");
    let rules = Rules::from_json(&json!({"suppressions": [rule]})).unwrap();
    assert!(rules.suppressions[0].is_expired(aws_smithy_types::DateTime::from_secs(1_800_000_000)));
}

#[test]
fn ten_thousand_rules_are_refused_before_any_rule_is_read() {
    let many: Vec<Value> = (0..10_000).map(|i| suppression(&format!("rule-{i:05}"))).collect();
    let body = serde_json::to_vec(&json!({"version": 1, "suppressions": many})).unwrap();
    let started = std::time::Instant::now();
    let problems = Rules::parse(&body).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].to_string(),
        "suppressions: has 10000 rules; the limit is 500"
    );
    // A bound, not a benchmark: the whole file is read once and nothing per rule.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn the_limit_itself_is_accepted() {
    let many: Vec<Value> = (0..MAX_SUPPRESSIONS)
        .map(|i| suppression(&format!("rule-{i:05}")))
        .collect();
    let rules = Rules::from_json(&json!({"suppressions": many})).unwrap();
    assert_eq!(rules.suppressions.len(), MAX_SUPPRESSIONS);
}

#[test]
fn a_file_over_the_size_limit_is_refused_unread() {
    let body = vec![b' '; MAX_BYTES + 1];
    let problems = Rules::parse(&body).unwrap_err();
    assert_eq!(
        problems[0].to_string(),
        format!("$: the file is {} bytes; the limit is {MAX_BYTES}", MAX_BYTES + 1)
    );
}

#[test]
fn rules_uri_round_trips_and_rejects_other_schemes() {
    for text in ["s3://bucket/dir/rules.json", "ssm:/inspector-autopilot/rules"] {
        assert_eq!(RulesUri::parse(text).unwrap().to_string(), text);
    }
    for text in [
        "s3://bucket",
        "s3:///key",
        "ssm:",
        "ssm:relative",
        "ssm://x",
        "file:///etc/passwd",
        "",
    ] {
        assert!(RulesUri::parse(text).is_err(), "{text}");
    }
}

#[tokio::test]
async fn the_cache_parses_once_per_version() {
    let store = FakeRules::new("\"etag-1\"", &example());
    let uri = RulesUri::parse("s3://rules/rules.json").unwrap();
    let cache = RulesCache::new(uri, Arc::new(store.clone()));

    let first = cache.load().await.unwrap();
    assert!(first.parsed);
    let second = cache.load().await.unwrap();
    assert!(!second.parsed, "an unchanged file is not parsed again");
    assert!(Arc::ptr_eq(&first.rules, &second.rules));
    assert_eq!(store.downloads(), 1);

    store.set("\"etag-2\"", "{\"version\": 1}");
    let third = cache.load().await.unwrap();
    assert!(third.parsed);
    assert_eq!(third.version, "\"etag-2\"");
    assert!(third.rules.suppressions.is_empty());
}

#[tokio::test]
async fn an_invalid_new_version_is_a_config_error_and_is_not_cached() {
    let store = FakeRules::new("v1", &example());
    let cache = RulesCache::new(RulesUri::parse("ssm:/rules").unwrap(), Arc::new(store.clone()));
    cache.load().await.unwrap();

    store.set("v2", "{not json");
    let err = cache.load().await.unwrap_err();
    assert_eq!(err.class(), crate::ErrorClass::Config);
    assert_eq!(err.kind(), "InvalidRules");
    assert!(
        err.to_string()
            .starts_with("rules file ssm:/rules is invalid (1 problem): $: not valid JSON"),
        "{err}"
    );
    // Asked again, the store still serves v2, which is parsed (and refused) again.
    assert!(cache.load().await.is_err());
    assert_eq!(store.downloads(), 3);
}

#[tokio::test]
async fn with_a_max_age_the_store_is_asked_at_most_once_per_age() {
    let store = FakeRules::new("v1", &example());
    let cache = RulesCache::new(RulesUri::parse("ssm:/rules").unwrap(), Arc::new(store.clone()))
        .with_max_age(std::time::Duration::from_secs(3600));
    cache.load().await.unwrap();
    store.set("v2", "{\"version\": 1}");
    let loaded = cache.load().await.unwrap();
    assert_eq!(loaded.version, "v1", "within the age, the cached rules stand");
    assert_eq!(store.downloads(), 1);

    let eager = RulesCache::new(RulesUri::parse("ssm:/rules").unwrap(), Arc::new(store.clone()));
    eager.load().await.unwrap();
    store.set("v3", &example());
    assert_eq!(
        eager.load().await.unwrap().version,
        "v3",
        "no max age: every load checks"
    );
}

#[tokio::test]
async fn an_invalid_file_is_refused_on_every_load_even_within_the_max_age() {
    let store = FakeRules::new("v1", &example());
    let age = std::time::Duration::from_millis(30);
    let cache = RulesCache::new(RulesUri::parse("ssm:/rules").unwrap(), Arc::new(store.clone())).with_max_age(age);
    cache.load().await.unwrap();
    store.set("v2", "not json");
    std::thread::sleep(age + std::time::Duration::from_millis(10));
    assert!(cache.load().await.is_err());
    assert!(
        cache.load().await.is_err(),
        "a failed check opens no window: the last good rules do not come back silently"
    );
    store.set("v3", &example());
    assert_eq!(cache.load().await.unwrap().version, "v3");
}
