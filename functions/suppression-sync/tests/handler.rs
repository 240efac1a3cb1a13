//! suppression-sync's handler through `LambdaEvent`, with fakes of the ports: every trigger, a
//! table of payloads that are not triggers, and the classified errors of a bad rules file.

use std::sync::Arc;

use aws_smithy_types::DateTime;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{json, Value};
use shared::fakes::{FakeFilters, FakeRules};
use shared::rules::source::{RulesCache, RulesUri};
use shared::sync::Syncer;
use suppression_sync::handler::{handle_at, Answer};

/// 2026-12-04T00:00:00Z.
const NOW: i64 = 1_796_342_400;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(&read(&format!("events/{name}"))).unwrap()
}

fn syncer(rules: &str) -> (FakeFilters, Syncer) {
    let filters = FakeFilters::new();
    let uri = RulesUri::parse("s3://rules-bucket/inspector/rules.json").unwrap();
    let cache = RulesCache::new(uri, Arc::new(FakeRules::new("\"e1\"", rules)));
    let syncer = Syncer::new(
        cache,
        Arc::new(filters.clone()),
        ("ManagedBy".into(), "inspector-autopilot".into()),
    );
    (filters, syncer)
}

async fn answer(syncer: &Syncer, payload: Value) -> Value {
    let event = LambdaEvent::new(payload, Context::default());
    let answer = handle_at(syncer, event, DateTime::from_secs(NOW)).await.unwrap();
    serde_json::to_value(answer).unwrap()
}

#[tokio::test]
async fn the_schedule_fixture_syncs_and_answers_every_list() {
    let (filters, syncer) = syncer(&read("rules/example.json"));
    let answer = answer(&syncer, fixture("scheduled-event.json")).await;
    assert_eq!(answer["outcome"], "synced");
    assert_eq!(answer["dryRun"], false);
    assert_eq!(answer["rulesUri"], "s3://rules-bucket/inspector/rules.json");
    assert_eq!(answer["rulesVersion"], "\"e1\"");
    assert_eq!(
        answer["created"],
        json!(["sandbox-images-low", "accepted-risk-CVE-2021-3592-dev"])
    );
    for list in ["updated", "deleted", "unchanged", "expired"] {
        assert_eq!(answer[list], json!([]), "{list}");
    }
    assert_eq!(filters.names().len(), 2);
}

#[tokio::test]
async fn an_on_demand_dry_run_answers_planned_and_changes_nothing() {
    let (filters, syncer) = syncer(&read("rules/example.json"));
    let answer = answer(&syncer, json!({"dryRun": true})).await;
    assert_eq!(answer["outcome"], "planned");
    assert_eq!(answer["plan"].as_array().unwrap().len(), 2);
    assert_eq!(answer["plan"][1]["filter"]["tags"]["ExpiresAt"], "2027-01-31T00:00:00Z");
    assert!(filters.changes().is_empty());
}

#[tokio::test]
async fn the_rules_object_created_event_syncs() {
    let (filters, syncer) = syncer(&read("rules/example.json"));
    let event = json!({"version": "0", "id": "1", "source": "aws.s3", "detail-type": "Object Created",
                       "detail": {"bucket": {"name": "rules-bucket"}, "object": {"key": "inspector/rules.json", "etag": "e1"}}});
    assert_eq!(answer(&syncer, event).await["outcome"], "synced");
    assert_eq!(filters.names().len(), 2);
}

#[tokio::test]
async fn payloads_that_are_not_triggers_are_ignored_with_a_reason_and_call_nothing() {
    let (filters, syncer) = syncer(&read("rules/example.json"));
    let huge = "x".repeat(1_000_000);
    let cases = [
        json!(null),
        json!("dryRun"),
        json!(42),
        json!([]),
        json!({"dryRun": 1}),
        json!({"dryRun": null}),
        json!({"dryRun": true, "force": true}),
        json!({huge.clone(): true}),
        json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "other"}, "object": {"key": huge}}}),
        json!({"source": "aws.s3", "detail-type": "Object Created", "detail": "not an object"}),
        json!({"source": "aws.s3", "detail-type": "Object Deleted", "detail": {}}),
        json!({"source": 5, "detail-type": "Scheduled Event"}),
        fixture("ec2-state-running.json"),
        fixture("inspector2-finding-ecr-image.json"),
    ];
    for payload in cases {
        let answer = answer(&syncer, payload.clone()).await;
        assert_eq!(
            answer["outcome"],
            "ignored",
            "{}",
            &payload.to_string()[..payload.to_string().len().min(80)]
        );
        let reason = answer["reason"].as_str().unwrap();
        assert!(
            !reason.is_empty() && reason.len() < 500,
            "reason is short and clipped: {}",
            reason.len()
        );
    }
    assert!(
        filters.state().calls.is_empty(),
        "no call for a payload that is not a trigger"
    );
}

#[tokio::test]
async fn a_bad_rules_file_is_a_config_error_with_every_path_and_changes_nothing() {
    let bad = r#"{"version": 1, "suppressions": [
        {"name": "a", "description": "d", "reason": "r", "owner": "o",
         "filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "LOW"}]}},
        {"name": "dup-name", "description": "d", "reason": "r", "owner": "o",
         "filterCriteria": {"severity": [{"comparison": "SOUNDS_LIKE", "value": "LOW"}]}},
        {"name": "dup-name", "description": "d", "reason": "r", "owner": "o", "expiresAt": "soon",
         "filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "LOW"}]}}]}"#;
    let (filters, syncer) = syncer(bad);
    let event = LambdaEvent::new(json!({}), Context::default());
    let err = handle_at(&syncer, event, DateTime::from_secs(NOW)).await.unwrap_err();
    let message = err.to_string();
    for path in [
        "suppressions[0].name",
        "suppressions[1].filterCriteria.severity[0].comparison",
        "suppressions[2].expiresAt",
        "suppressions[2].name: \"dup-name\" is already the name of suppressions[1]",
    ] {
        assert!(message.contains(path), "{path} in {message}");
    }
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Config.InvalidRules");
    assert!(filters.changes().is_empty());
}

#[tokio::test]
async fn invalid_json_rules_are_a_config_error() {
    let (filters, syncer) = syncer("{\"suppressions\": [}");
    let event = LambdaEvent::new(json!({"dryRun": true}), Context::default());
    let err = handle_at(&syncer, event, DateTime::from_secs(NOW)).await.unwrap_err();
    assert!(err.to_string().contains("$: not valid JSON"), "{err}");
    assert!(
        filters.state().calls.is_empty(),
        "invalid rules stop before listing filters"
    );
}

#[test]
fn the_ignored_answer_has_outcome_and_reason_only() {
    let answer = Answer::Ignored {
        outcome: "ignored",
        reason: "why".into(),
    };
    assert_eq!(
        serde_json::to_value(answer).unwrap(),
        json!({"outcome": "ignored", "reason": "why"})
    );
}
