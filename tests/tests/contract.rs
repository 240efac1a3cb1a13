//! Contract tests: one suite of port behaviours, run against the recording fakes that the unit
//! tests rely on and against the real adapters on moto, so the fakes cannot drift from AWS.
//! Needs moto (run `make test`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use integration_tests::{run_instance, Moto};
use shared::aws::{ec2::Ec2Adapter, ssm::SsmAdapter};
use shared::fakes::{instance, FakeAws};
use shared::ports::{CommandRequest, CommandSender, InstanceDirectory};

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
