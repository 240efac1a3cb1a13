//! Sync tests over a fake FilterStore: create, update, delete, expiry, foreign filters, dry run,
//! triggers, and nothing changed when validation fails. Compiled only under #[cfg(test)].

use std::sync::Arc;

use aws_smithy_types::DateTime;
use serde_json::json;

use super::*;
use crate::fakes::{FakeFilters, FakeRules, FilterCall};
use crate::filter::FilterCriteria;

/// 2026-12-04T00:00:00Z: both example rules are unexpired.
const NOW: i64 = 1_796_342_400;
/// 2027-02-15: after the CVE rule's expiry (2027-01-31), before the sandbox rule's.
const FEBRUARY: i64 = 1_802_563_200;

fn example() -> String {
    let path = format!("{}/../tests/fixtures/rules/example.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

fn tag() -> (String, String) {
    ("ManagedBy".into(), "inspector-autopilot".into())
}

fn syncer(filters: &FakeFilters, rules: &FakeRules) -> Syncer {
    let uri = RulesUri::parse("s3://rules-bucket/rules.json").unwrap();
    Syncer::new(
        RulesCache::new(uri, Arc::new(rules.clone())),
        Arc::new(filters.clone()),
        tag(),
    )
}

fn criteria(json: serde_json::Value) -> FilterCriteria {
    FilterCriteria::from_json(&json, "c").unwrap()
}

async fn run(syncer: &Syncer, dry_run: bool, at: i64) -> SyncReport {
    syncer.run(dry_run, DateTime::from_secs(at)).await.unwrap()
}

#[tokio::test]
async fn first_sync_creates_the_rules_with_tags_and_a_second_is_a_no_op() {
    let filters = FakeFilters::new();
    let syncer = syncer(&filters, &FakeRules::new("e1", &example()));

    let report = run(&syncer, false, NOW).await;
    assert_eq!(report.outcome, "synced");
    assert_eq!(
        report.created,
        ["sandbox-images-low", "accepted-risk-CVE-2021-3592-dev"]
    );
    assert!(report.updated.is_empty() && report.deleted.is_empty() && report.expired.is_empty());

    {
        let state = filters.state();
        let sandbox = &state.filters[0];
        assert_eq!(
            sandbox.reason.as_deref(),
            Some("Rebuilt nightly from patched bases (ticket SEC-1412)")
        );
        assert_eq!(
            sandbox.description.as_deref(),
            Some("Sandbox images are rebuilt nightly; low and medium findings are noise there.")
        );
        assert_eq!(sandbox.tags["ManagedBy"], "inspector-autopilot");
        assert_eq!(sandbox.tags["Owner"], "platform-team");
        assert_eq!(sandbox.tags["ExpiresAt"], "2027-03-31T00:00:00Z");
    }

    let again = run(&syncer, false, NOW).await;
    assert_eq!(
        again.unchanged,
        ["sandbox-images-low", "accepted-risk-CVE-2021-3592-dev"]
    );
    assert!(again.created.is_empty() && again.plan.is_empty());
    assert_eq!(filters.changes().len(), 2, "only the two creates, ever");
}

#[tokio::test]
async fn a_changed_rule_is_updated_in_place_and_retagged() {
    let filters = FakeFilters::new();
    let rules = FakeRules::new("e1", &example());
    let syncer = syncer(&filters, &rules);
    run(&syncer, false, NOW).await;
    let arn = filters.state().filters[0].arn.clone();

    let changed = example()
        .replace("\"value\": \"sandbox-\"", "\"value\": \"sbx-\"")
        .replace("\"owner\": \"platform-team\"", "\"owner\": \"platform-oncall\"");
    rules.set("e2", &changed);
    let report = run(&syncer, false, NOW).await;
    assert_eq!(report.updated, ["sandbox-images-low"]);
    assert_eq!(report.unchanged, ["accepted-risk-CVE-2021-3592-dev"]);
    assert_eq!(report.plan[0].changes, ["filterCriteria", "tags"]);
    assert_eq!(report.plan[0].arn.as_deref(), Some(arn.as_str()));

    let changes = filters.changes();
    assert_eq!(changes[2], FilterCall::Update(arn.clone()));
    let FilterCall::Retag(retagged, put, removed) = &changes[3] else {
        panic!("{changes:?}")
    };
    assert_eq!(retagged, &arn);
    assert_eq!(put.len(), 1);
    assert_eq!(put["Owner"], "platform-oncall");
    assert!(removed.is_empty());
    let state = filters.state();
    assert_eq!(
        state.filters[0].arn, arn,
        "updated in place, never deleted and re-created"
    );
    assert!(state.filters[0]
        .criteria
        .as_ref()
        .unwrap()
        .to_json()
        .to_string()
        .contains("sbx-"));
}

#[tokio::test]
async fn only_a_tag_change_retags_without_update_filter() {
    let filters = FakeFilters::new();
    let rules = FakeRules::new("e1", &example());
    let syncer = syncer(&filters, &rules);
    run(&syncer, false, NOW).await;
    rules.set("e2", &example().replace("\"expiresAt\": \"2027-03-31T00:00:00Z\",", ""));
    let report = run(&syncer, false, NOW).await;
    assert_eq!(report.plan[0].changes, ["tags"]);
    let arn = filters.state().filters[0].arn.clone();
    assert_eq!(
        filters.changes()[2..],
        [FilterCall::Retag(arn, Default::default(), vec!["ExpiresAt".into()])]
    );
}

#[tokio::test]
async fn an_expired_rule_is_reported_and_its_filter_deleted() {
    let filters = FakeFilters::new();
    let syncer = syncer(&filters, &FakeRules::new("e1", &example()));
    run(&syncer, false, NOW).await;

    let report = run(&syncer, false, FEBRUARY).await;
    assert_eq!(report.expired, ["accepted-risk-CVE-2021-3592-dev"]);
    assert_eq!(report.deleted, ["accepted-risk-CVE-2021-3592-dev"]);
    assert_eq!(report.plan[0].why, "the rule expired");
    assert_eq!(filters.names(), ["sandbox-images-low"]);

    // Still expired next time: reported, nothing left to delete.
    let later = run(&syncer, false, FEBRUARY).await;
    assert_eq!(later.expired, ["accepted-risk-CVE-2021-3592-dev"]);
    assert!(later.deleted.is_empty());
}

#[tokio::test]
async fn an_already_expired_rule_is_never_created() {
    let filters = FakeFilters::new();
    let body = example().replace("2027-01-31T00:00:00Z", "2020-01-01T00:00:00Z");
    let report = run(&syncer(&filters, &FakeRules::new("e1", &body)), false, NOW).await;
    assert_eq!(report.created, ["sandbox-images-low"]);
    assert_eq!(report.expired, ["accepted-risk-CVE-2021-3592-dev"]);
    assert_eq!(filters.names(), ["sandbox-images-low"]);
}

#[tokio::test]
async fn a_removed_rule_is_deleted_but_foreign_filters_are_never_touched() {
    let filters = FakeFilters::new();
    let foreign = filters.insert(
        "console-made-rule",
        criteria(json!({"severity": [{"comparison": "EQUALS", "value": "INFORMATIONAL"}]})),
        &[("ManagedBy", "someone-else")],
    );
    let untagged = filters.insert(
        "another-console-rule",
        criteria(json!({"title": [{"comparison": "PREFIX", "value": "x"}]})),
        &[],
    );
    let stale = filters.insert(
        "old-managed-rule",
        criteria(json!({"title": [{"comparison": "PREFIX", "value": "y"}]})),
        &[("ManagedBy", "inspector-autopilot")],
    );
    let report = run(&syncer(&filters, &FakeRules::new("e1", &example())), false, NOW).await;
    assert_eq!(report.deleted, ["old-managed-rule"]);
    assert_eq!(
        report.plan.last().unwrap().why,
        "the rule is no longer in the rules file"
    );
    let touched: Vec<String> = filters
        .changes()
        .iter()
        .filter_map(|c| match c {
            FilterCall::Update(arn) | FilterCall::Delete(arn) | FilterCall::Retag(arn, ..) => Some(arn.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(touched, [stale]);
    let names = filters.names();
    assert!(names.contains(&"console-made-rule".to_owned()) && names.contains(&"another-console-rule".to_owned()));
    assert!(!touched.contains(&foreign) && !touched.contains(&untagged));
}

#[tokio::test]
async fn a_dry_run_plans_everything_and_changes_nothing() {
    let filters = FakeFilters::new();
    filters.insert(
        "old-managed-rule",
        criteria(json!({"title": [{"comparison": "PREFIX", "value": "y"}]})),
        &[("ManagedBy", "inspector-autopilot")],
    );
    let report = run(&syncer(&filters, &FakeRules::new("e1", &example())), true, NOW).await;
    assert_eq!(report.outcome, "planned");
    assert!(report.dry_run);
    assert_eq!(report.created.len(), 2);
    assert_eq!(report.deleted, ["old-managed-rule"]);
    assert!(filters.changes().is_empty(), "a dry run calls nothing that changes");
    let plan = serde_json::to_value(&report.plan).unwrap();
    assert_eq!(plan[0]["action"], "create");
    assert_eq!(plan[0]["filter"]["action"], "SUPPRESS");
    assert_eq!(plan[0]["filter"]["tags"]["Owner"], "platform-team");
    assert_eq!(
        plan[0]["filter"]["filterCriteria"]["ecrImageRepositoryName"][0]["value"],
        "sandbox-"
    );
    assert_eq!(plan[2]["action"], "delete");
    assert!(plan[2]["arn"].as_str().unwrap().starts_with("arn:aws:inspector2:"));
}

#[tokio::test]
async fn an_invalid_rules_file_changes_nothing() {
    let filters = FakeFilters::new();
    let stale = filters.insert(
        "old-managed-rule",
        criteria(json!({"title": [{"comparison": "PREFIX", "value": "y"}]})),
        &[("ManagedBy", "inspector-autopilot")],
    );
    let invalid = example().replace("\"EQUALS\", \"value\": \"LOW\"", "\"LIKE\", \"value\": \"LOW\"");
    let err = syncer(&filters, &FakeRules::new("e1", &invalid))
        .run(false, DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "InvalidRules");
    assert!(
        err.to_string()
            .contains("suppressions[0].filterCriteria.severity[0].comparison"),
        "{err}"
    );
    assert!(filters.changes().is_empty());
    assert_eq!(filters.state().filters[0].arn, stale);
}

#[tokio::test]
async fn a_rule_named_like_a_foreign_filter_is_refused_before_any_change() {
    let filters = FakeFilters::new();
    filters.insert(
        "sandbox-images-low",
        criteria(json!({"title": [{"comparison": "PREFIX", "value": "x"}]})),
        &[],
    );
    let err = syncer(&filters, &FakeRules::new("e1", &example()))
        .run(false, DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(err.class(), crate::ErrorClass::Config);
    assert!(
        err.to_string()
            .contains("suppressions[0].name: \"sandbox-images-low\" is the name of filter arn:aws:inspector2:"),
        "{err}"
    );
    assert!(filters.changes().is_empty());
}

#[tokio::test]
async fn a_duplicate_managed_filter_is_healed_and_a_failed_run_converges_next_time() {
    let filters = FakeFilters::new();
    let rules = FakeRules::new("e1", &example());
    let syncer = syncer(&filters, &rules);
    filters.state().fail_after_changes = Some(1);
    let err = syncer.run(false, DateTime::from_secs(NOW)).await.unwrap_err();
    assert_eq!(err.class(), crate::ErrorClass::Retryable);
    assert_eq!(filters.names(), ["sandbox-images-low"]);

    // The same filter made twice (say, by two overlapping runs): the later one goes.
    filters.state().fail_after_changes = None;
    let twin = filters.insert(
        "sandbox-images-low",
        criteria(json!({"title": [{"comparison": "PREFIX", "value": "x"}]})),
        &[("ManagedBy", "inspector-autopilot")],
    );
    let report = run(&syncer, false, NOW).await;
    assert_eq!(report.created, ["accepted-risk-CVE-2021-3592-dev"]);
    assert_eq!(report.deleted, ["sandbox-images-low"]);
    assert_eq!(report.plan.last().unwrap().arn.as_deref(), Some(twin.as_str()));
    assert_eq!(
        filters.names(),
        ["sandbox-images-low", "accepted-risk-CVE-2021-3592-dev"]
    );
    assert!(run(&syncer, false, NOW).await.plan.is_empty());
}

#[test]
fn criteria_compare_regardless_of_order_and_sub_millisecond_float_noise() {
    let a = criteria(
        json!({"severity": [{"comparison": "EQUALS", "value": "LOW"}, {"comparison": "EQUALS", "value": "MEDIUM"}],
                             "updatedAt": [{"startInclusive": "2026-11-30T18:14:32.123Z"}]}),
    );
    let b = criteria(
        json!({"severity": [{"comparison": "EQUALS", "value": "MEDIUM"}, {"comparison": "EQUALS", "value": "LOW"}],
                             "updatedAt": [{"startInclusive": 1_796_062_472.123_000_1}]}),
    );
    assert!(a.same_as(&b));
    let c = criteria(json!({"severity": [{"comparison": "EQUALS", "value": "LOW"}]}));
    assert!(!a.same_as(&c));
}

#[test]
fn triggers_follow_the_design() {
    let uri = RulesUri::parse("s3://rules-bucket/inspector/rules.json").unwrap();
    let fixture = |name: &str| -> serde_json::Value {
        let path = format!("{}/../tests/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let s3 = |bucket: &str, key: &str| {
        json!({"source": "aws.s3", "detail-type": "Object Created",
               "detail": {"bucket": {"name": bucket}, "object": {"key": key}}})
    };
    let run = |dry_run, cause| Trigger::Run { dry_run, cause };
    assert_eq!(
        Trigger::from_event(&fixture("scheduled-event.json"), &uri),
        run(false, "schedule")
    );
    assert_eq!(Trigger::from_event(&json!({}), &uri), run(false, "on-demand"));
    assert_eq!(
        Trigger::from_event(&json!({"dryRun": true}), &uri),
        run(true, "on-demand")
    );
    assert_eq!(
        Trigger::from_event(&json!({"dryRun": false}), &uri),
        run(false, "on-demand")
    );
    assert_eq!(
        Trigger::from_event(&s3("rules-bucket", "inspector/rules.json"), &uri),
        run(false, "rules-changed")
    );
    let ignored = [
        (
            s3("rules-bucket", "other.json"),
            "s3://rules-bucket/other.json is not the rules object s3://rules-bucket/inspector/rules.json",
        ),
        (
            json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}),
            "S3 Object Created event without detail.bucket.name and detail.object.key",
        ),
        (
            fixture("ec2-state-running.json"),
            "aws.ec2 / EC2 Instance State-change Notification is not a trigger of suppression-sync",
        ),
        (json!({"dryRun": "yes"}), "dryRun must be true or false, got \"yes\""),
        (
            json!({"dryrun": true}),
            "unknown key \"dryrun\": an on-demand invoke takes only {\"dryRun\": true|false}",
        ),
        (json!([1, 2]), "expected a JSON object, got [1,2]"),
        (json!(null), "expected a JSON object, got null"),
    ];
    for (event, reason) in ignored {
        assert_eq!(
            Trigger::from_event(&event, &uri),
            Trigger::Ignored(reason.into()),
            "{event}"
        );
    }
    let ssm = RulesUri::parse("ssm:/rules").unwrap();
    assert!(matches!(
        Trigger::from_event(&s3("rules-bucket", "inspector/rules.json"), &ssm),
        Trigger::Ignored(_)
    ));
}
