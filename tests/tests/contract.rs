//! Contract tests: one suite of port behaviours, run against the recording fakes that the unit
//! tests rely on and against the real adapters on moto, so the fakes cannot drift from AWS.
//! Needs moto (run `make test`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use integration_tests::{run_instance, Moto};
use shared::aws::{ec2::Ec2Adapter, inspector2::Inspector2Adapter, ssm::SsmAdapter};
use shared::fakes::{instance, FakeAws, FakeFilters};
use shared::filter::FilterCriteria;
use shared::ports::{CommandRequest, CommandSender, FilterSpec, FilterStore, InstanceDirectory};

const DOCUMENT: &str = "AWS-ConfigureAWSPackage";

/// What every `InstanceDirectory` + `CommandSender` pair must do for agent-installer to be right.
async fn port_contract(instances: Arc<dyn InstanceDirectory>, commands: Arc<dyn CommandSender>, instance_id: &str) {
    // An unknown instance is None, not an error: the flow answers `ignored`.
    assert_eq!(
        instances
            .describe_instance("i-0000000000000dead")
            .await
            .expect("describe unknown"),
        None
    );

    // A known running instance is described with its id and state.
    let found = instances
        .describe_instance(instance_id)
        .await
        .expect("describe known")
        .expect("instance exists");
    assert_eq!(found.id, instance_id);
    assert_eq!(found.state, "running");

    // No history before the first send.
    let since = SystemTime::now() - Duration::from_secs(3600);
    assert!(commands
        .recent_commands(instance_id, DOCUMENT, since)
        .await
        .expect("history")
        .is_empty());

    // A send shows up in the history of that instance and document, with a status that the
    // dedup check counts as live.
    let command_id = commands
        .send_command(&CommandRequest {
            instance_id: instance_id.to_owned(),
            document: DOCUMENT.to_owned(),
            parameters: [("action".to_owned(), vec!["Install".to_owned()])].into(),
            output_bucket: None,
            output_prefix: None,
            comment: "contract".to_owned(),
        })
        .await
        .expect("send");
    let history = commands
        .recent_commands(instance_id, DOCUMENT, since)
        .await
        .expect("history");
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].command_id, command_id);
    assert!(
        ["Pending", "InProgress", "Success"].contains(&history[0].status.as_str()),
        "{history:?}"
    );

    // Another document's history stays empty.
    assert!(commands
        .recent_commands(instance_id, "AWS-RunShellScript", since)
        .await
        .expect("history")
        .is_empty());
}

#[tokio::test]
async fn fakes_honour_the_port_contract() {
    let fake = FakeAws::new();
    fake.state()
        .instances
        .insert("i-0123456789abcdef0".into(), instance("i-0123456789abcdef0"));
    let ports = fake.ports();
    port_contract(ports.instances, ports.commands, "i-0123456789abcdef0").await;
}

#[tokio::test]
async fn real_adapters_on_moto_honour_the_port_contract() {
    let moto = Moto::start();
    let sdk_config = moto.sdk_config().await;
    let instance_id = run_instance(&aws_sdk_ec2::Client::new(&sdk_config), &[]).await;
    port_contract(
        Arc::new(Ec2Adapter::new(&sdk_config)),
        Arc::new(SsmAdapter::new(&sdk_config)),
        &instance_id,
    )
    .await;
}

/// What every `FilterStore` must do for suppression-sync to be right: listing shows what was
/// created with its tags and criteria, retagging and deleting act on that filter only.
async fn filter_store_contract(store: Arc<dyn FilterStore>) {
    let before = store.list_suppression_filters().await.expect("list");
    let criteria = serde_json::json!({
        "severity": [{"comparison": "EQUALS", "value": "LOW"}],
        "resourceTags": [{"comparison": "EQUALS", "key": "env", "value": "dev"}],
        "inspectorScore": [{"lowerInclusive": 1.5, "upperInclusive": 4.0}],
        "updatedAt": [{"startInclusive": "2026-11-30T18:14:32Z"}]
    });
    let spec = FilterSpec {
        name: "contract-rule".into(),
        description: "contract".into(),
        reason: "contract test".into(),
        criteria: FilterCriteria::from_json(&criteria, "c").expect("criteria"),
        tags: BTreeMap::from([
            ("ManagedBy".into(), "inspector-autopilot".into()),
            ("Owner".into(), "platform".into()),
            ("ExpiresAt".into(), "2027-01-01T00:00:00Z".into()),
        ]),
    };
    let arn = store.create(&spec).await.expect("create");
    let listed = store.list_suppression_filters().await.expect("list");
    assert_eq!(listed.len(), before.len() + 1);
    let ours = listed.iter().find(|f| f.arn == arn).expect("created filter is listed");
    assert_eq!(ours.name, "contract-rule");
    assert_eq!(ours.reason.as_deref(), Some("contract test"));
    assert_eq!(ours.description.as_deref(), Some("contract"));
    assert_eq!(ours.tags, spec.tags);
    assert!(ours
        .criteria
        .as_ref()
        .expect("criteria read back")
        .same_as(&spec.criteria));

    let put = BTreeMap::from([("Owner".to_owned(), "security".to_owned())]);
    store.retag(&arn, &put, &["ExpiresAt".to_owned()]).await.expect("retag");
    let listed = store.list_suppression_filters().await.expect("list");
    let ours = listed.iter().find(|f| f.arn == arn).expect("still listed");
    assert_eq!(ours.tags.get("Owner").map(String::as_str), Some("security"));
    assert!(!ours.tags.contains_key("ExpiresAt"));
    assert_eq!(
        ours.tags.get("ManagedBy").map(String::as_str),
        Some("inspector-autopilot")
    );

    store.delete(&arn).await.expect("delete");
    let after = store.list_suppression_filters().await.expect("list");
    assert_eq!(after, before, "only the filter deleted is gone");
}

#[tokio::test]
async fn fake_filter_store_honours_the_contract() {
    let fake = FakeFilters::new();
    fake.insert("someone-elses", FilterCriteria::default(), &[("team", "x")]);
    filter_store_contract(Arc::new(fake)).await;
}

#[tokio::test]
async fn inspector2_adapter_on_moto_honours_the_contract() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let title = aws_sdk_inspector2::types::StringFilter::builder()
        .comparison(aws_sdk_inspector2::types::StringComparison::Equals)
        .value("x")
        .build()
        .expect("filter");
    aws_sdk_inspector2::Client::new(&config)
        .create_filter()
        .action(aws_sdk_inspector2::types::FilterAction::Suppress)
        .name("someone-elses")
        .filter_criteria(
            aws_sdk_inspector2::types::FilterCriteria::builder()
                .title(title)
                .build(),
        )
        .send()
        .await
        .expect("moto CreateFilter");
    filter_store_contract(Arc::new(Inspector2Adapter::new(&config))).await;
}
