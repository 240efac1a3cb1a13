//! One test per branch of the agent-installer flow, against recording fakes of the ports.
//! Compiled only under #[cfg(test)] (declared in mod.rs), so unwrap is fine here.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::*;
use crate::fakes::{instance, Call, FakeAws};
use crate::ports::Platform;

const ID: &str = "i-0abcd1111efab2222";
const TOPIC: &str = "arn:aws:sns:ap-northeast-2:123456789012:inspector-autopilot";
const PROFILE: &str = "arn:aws:iam::123456789012:instance-profile/SSMInstanceProfile";

fn config(vars: &[(&str, &str)]) -> InstallerConfig {
    let mut map: HashMap<String, String> = HashMap::from([("AWS_REGION".into(), "ap-northeast-2".into())]);
    map.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    InstallerConfig::from_lookup(&move |name| map.get(name).cloned()).unwrap()
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/../tests/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn running_event(instance_id: &str) -> Value {
    let mut event = fixture("ec2-state-running.json");
    event["detail"]["instance-id"] = json!(instance_id);
    event
}

fn command_failed_event(status: &str, document: &str) -> Value {
    json!({
        "version": "0", "id": "5f9c1c2e-0000-4000-8000-000000000001", "source": "aws.ssm",
        "detail-type": "EC2 Command Invocation Status-change Notification",
        "account": "123456789012", "time": "2026-11-30T21:40:00Z", "region": "ap-northeast-2",
        "resources": [format!("arn:aws:ec2:ap-northeast-2:123456789012:instance/{ID}")],
        "detail": {"command-id": "0b1c2d3e-aaaa-bbbb-cccc-000000000001", "document-name": document,
                   "instance-id": ID, "requested-date-time": "2026-11-30T21:30:00.000Z", "status": status}
    })
}

/// A fake AWS holding one running instance, and an installer over it.
fn setup(vars: &[(&str, &str)], arrange: impl FnOnce(&mut crate::fakes::FakeState)) -> (FakeAws, Installer) {
    let fake = FakeAws::new();
    {
        let mut state = fake.state();
        state.instances.insert(ID.into(), instance(ID));
        arrange(&mut state);
    }
    let installer = Installer::new(config(vars), fake.ports());
    (fake, installer)
}

fn is_send(call: &Call) -> bool {
    matches!(call, Call::SendCommand(_))
}

#[tokio::test]
async fn stopped_instance_is_ignored() {
    let (fake, installer) = setup(&[], |_| {});
    let report = installer.handle(fixture("ec2-state-stopped.json"), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::Ignored);
    assert_eq!(
        report.reason.as_deref(),
        Some("instance i-0abcd1111efgh2222 is stopped, not running")
    );
    assert!(fake.calls().is_empty(), "a stopped event makes no AWS call");
}

#[tokio::test]
async fn terminated_instance_is_ignored() {
    let (fake, installer) = setup(&[], |s| s.instances.get_mut(ID).unwrap().state = "terminated".into());
    let report = installer.handle(running_event(ID), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::Ignored);
    assert_eq!(
        report.reason.as_deref(),
        Some("instance i-0abcd1111efab2222 is terminated")
    );
    assert_eq!(fake.calls(), vec![Call::DescribeInstance(ID.into())]);
}

#[tokio::test]
async fn missing_instance_is_ignored() {
    let (fake, installer) = setup(&[], |s| s.instances.clear());
    let report = installer.handle(running_event(ID), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::Ignored);
    assert_eq!(
        report.reason.as_deref(),
        Some("instance i-0abcd1111efab2222 does not exist")
    );
    assert_eq!(fake.calls(), vec![Call::DescribeInstance(ID.into())]);
}

#[tokio::test]
async fn excluded_instance_is_ignored() {
    let (fake, installer) = setup(&[], |s| {
        s.instances
            .get_mut(ID)
            .unwrap()
            .tags
            .insert("InspectorEc2Exclusion".into(), "true".into());
    });
    let report = installer.handle(running_event(ID), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::Ignored);
    assert_eq!(
        report.reason.as_deref(),
        Some("instance i-0abcd1111efab2222 has the exclusion tag InspectorEc2Exclusion")
    );
    assert_eq!(fake.calls(), vec![Call::DescribeInstance(ID.into())]);
}

#[tokio::test]
async fn custom_exclusion_tag_is_honoured() {
    let (fake, installer) = setup(&[("EXCLUSION_TAG", "NoScan")], |s| {
        s.instances.get_mut(ID).unwrap().tags.insert("NoScan".into(), "".into());
    });
    let report = installer.handle(running_event(ID), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::Ignored);
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn instance_without_profile_gets_the_profile_associated() {
    let (fake, installer) = setup(&[("INSTANCE_PROFILE_ARN", PROFILE)], |_| {});
    let report = installer.handle(running_event(ID), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::CommandSent);
    assert_eq!(report.profile_associated.as_deref(), Some(PROFILE));
    let calls = fake.calls();
    assert_eq!(
        calls[..2],
        [
            Call::DescribeInstance(ID.into()),
            Call::AssociateProfile {
                instance_id: ID.into(),
                profile_arn: PROFILE.into()
            },
        ]
    );
}

#[tokio::test]
async fn existing_profile_is_never_replaced() {
    let existing = "arn:aws:iam::123456789012:instance-profile/AppRole";
    let (fake, installer) = setup(&[("INSTANCE_PROFILE_ARN", PROFILE)], |s| {
        s.instances.get_mut(ID).unwrap().instance_profile_arn = Some(existing.into());
    });
    let report = installer.handle(running_event(ID), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::CommandSent);
    assert_eq!(report.profile_associated, None);
    assert!(!fake.calls().iter().any(|c| matches!(c, Call::AssociateProfile { .. })));
}

#[tokio::test]
async fn no_profile_and_none_configured_sends_without_associating() {
    let (fake, installer) = setup(&[], |_| {});
    let report = installer.handle(running_event(ID), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::CommandSent);
    assert!(!fake.calls().iter().any(|c| matches!(c, Call::AssociateProfile { .. })));
}

#[tokio::test]
async fn command_sent_carries_the_exact_document_parameters_instance_and_output() {
    let (fake, installer) = setup(
        &[
            ("RUN_COMMAND_OUTPUT_BUCKET", "ssm-output-123456789012"),
            ("RUN_COMMAND_OUTPUT_PREFIX", "inspector/install"),
        ],
        |_| {},
    );
    let report = installer.handle(running_event(ID), None).await.unwrap();

    let expected = CommandRequest {
        instance_id: ID.into(),
        document: "AWS-ConfigureAWSPackage".into(),
        parameters: [
            ("action".to_owned(), vec!["Install".to_owned()]),
            (
                "name".to_owned(),
                vec!["AmazonInspector2-InspectorSsmPlugin".to_owned()],
            ),
        ]
        .into(),
        output_bucket: Some("ssm-output-123456789012".into()),
        output_prefix: Some("inspector/install".into()),
        comment: "inspector-autopilot event 7bf73129-1428-4cd3-a780-95db273d1602".into(),
    };
    assert_eq!(
        fake.calls(),
        vec![
            Call::DescribeInstance(ID.into()),
            Call::RecentCommands {
                instance_id: ID.into(),
                document: "AWS-ConfigureAWSPackage".into()
            },
            Call::SendCommand(expected),
        ]
    );
    assert_eq!(report.outcome, Outcome::CommandSent);
    assert_eq!(report.command_id.as_deref(), Some("command-1"));
    assert_eq!(report.instance_id.as_deref(), Some(ID));
    assert_eq!(report.document.as_deref(), Some("AWS-ConfigureAWSPackage"));
    assert_eq!(
        report.output_location.as_deref(),
        Some("s3://ssm-output-123456789012/inspector/install")
    );
}

#[tokio::test]
async fn classic_document_is_sent_when_configured() {
    let (fake, installer) = setup(
        &[
            ("AGENT_DOCUMENT", "AmazonInspector-ManageAWSAgent"),
            ("AGENT_PARAMETERS", r#"{"Operation":["Install"]}"#),
        ],
        |_| {},
    );
    installer.handle(running_event(ID), None).await.unwrap();
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].document, "AmazonInspector-ManageAWSAgent");
    assert_eq!(
        sent[0].parameters,
        [("Operation".to_owned(), vec!["Install".to_owned()])].into()
    );
    assert_eq!(sent[0].output_bucket, None);
    assert_eq!(sent[0].output_prefix, None, "no prefix without a bucket");
}

#[tokio::test]
async fn second_event_within_the_dedup_window_is_already_sent() {
    let (fake, installer) = setup(&[], |_| {});
    let first = installer.handle(running_event(ID), None).await.unwrap();
    let second = installer.handle(running_event(ID), None).await.unwrap();
    assert_eq!(first.outcome, Outcome::CommandSent);
    assert_eq!(second.outcome, Outcome::AlreadySent);
    assert_eq!(second.command_id, first.command_id);
    assert_eq!(fake.sent().len(), 1, "the duplicate sends nothing");
}

#[tokio::test]
async fn failed_earlier_send_does_not_block_a_new_one() {
    let (fake, installer) = setup(&[], |s| {
        s.history.insert(
            (ID.into(), "AWS-ConfigureAWSPackage".into()),
            vec![crate::ports::CommandSummary {
                command_id: "old".into(),
                status: "Failed".into(),
            }],
        );
    });
    let report = installer.handle(running_event(ID), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::CommandSent);
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn dedup_hours_zero_skips_the_history_lookup() {
    let (fake, installer) = setup(&[("DEDUP_HOURS", "0")], |_| {});
    installer.handle(running_event(ID), None).await.unwrap();
    assert!(!fake.calls().iter().any(|c| matches!(c, Call::RecentCommands { .. })));
}

#[tokio::test(start_paused = true)]
async fn invalid_instance_id_then_success_is_sent() {
    let (fake, installer) = setup(&[], |s| s.not_managed_sends = 2);
    let started = Instant::now();
    let report = installer.handle(running_event(ID), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::CommandSent);
    assert_eq!(report.command_id.as_deref(), Some("command-3"));
    assert_eq!(fake.calls().iter().filter(|c| is_send(c)).count(), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(2 + 4), "backoff 2 s then 4 s");
    assert!(
        !fake.calls().iter().any(|c| matches!(c, Call::PingStatus(_))),
        "no diagnosis after success"
    );
}

#[tokio::test(start_paused = true)]
async fn unmanaged_instance_on_a_public_subnet_is_retryable() {
    let (fake, installer) = setup(&[("NOTIFY_TOPIC_ARN", TOPIC)], |s| {
        s.not_managed_sends = usize::MAX;
        s.instances.get_mut(ID).unwrap().public_ip = Some("203.0.113.10".into());
        s.route_targets.insert("subnet-1".into(), "igw-0a1b2c3d".into());
    });
    let started = Instant::now();
    let err = installer.handle(running_event(ID), None).await.unwrap_err();

    assert_eq!(
        started.elapsed(),
        Duration::from_secs(240),
        "waits exactly SSM_WAIT_SECONDS"
    );
    assert_eq!(err.class(), crate::ErrorClass::Retryable);
    let Error::StillUnmanaged {
        diagnosis, waited_secs, ..
    } = &err
    else {
        panic!("expected StillUnmanaged, got {err:?}");
    };
    assert_eq!(*waited_secs, 240);
    assert!(diagnosis.contains("not registered with SSM"), "{diagnosis}");
    assert!(diagnosis.contains("default route via igw-0a1b2c3d"), "{diagnosis}");
    assert!(diagnosis.contains("AmazonSSMManagedInstanceCore"), "{diagnosis}");
    // 2+4+8+16+30+30+30+30+30+30 = 210, then a last 30 s pause ends exactly at 240 s.
    assert_eq!(fake.calls().iter().filter(|c| is_send(c)).count(), 12);
    assert!(fake.published().is_empty(), "a retryable case notifies nobody");
}

#[tokio::test(start_paused = true)]
async fn unmanaged_private_instance_without_endpoints_is_unreachable_and_notified() {
    let (fake, installer) = setup(&[("NOTIFY_TOPIC_ARN", TOPIC), ("SSM_WAIT_SECONDS", "10")], |s| {
        s.not_managed_sends = usize::MAX;
        s.endpoint_services.insert(
            "vpc-1".into(),
            vec![
                "com.amazonaws.ap-northeast-2.ssm".into(),
                "com.amazonaws.ap-northeast-2.s3".into(),
            ],
        );
    });
    let report = installer.handle(running_event(ID), None).await.unwrap();

    assert_eq!(report.outcome, Outcome::Unreachable);
    assert_eq!(
        report.missing_endpoints,
        vec![
            "com.amazonaws.ap-northeast-2.ssmmessages",
            "com.amazonaws.ap-northeast-2.ec2messages"
        ]
    );
    let reason = report.reason.as_deref().unwrap();
    assert!(reason.contains("no default route in subnet subnet-1"), "{reason}");
    assert!(reason.contains("com.amazonaws.ap-northeast-2.ssmmessages, com.amazonaws.ap-northeast-2.ec2messages"));
    assert!(
        !reason.contains("com.amazonaws.ap-northeast-2.ssm,"),
        "ssm itself is present"
    );

    let published = fake.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].topic_arn, TOPIC);
    assert_eq!(
        published[0].subject,
        "inspector-autopilot: i-0abcd1111efab2222 cannot reach SSM"
    );
    assert_eq!(published[0].attributes["eventType"], "instance-unreachable");
    assert_eq!(published[0].attributes["instanceId"], ID);
    assert!(published[0]
        .message
        .contains("com.amazonaws.ap-northeast-2.ec2messages"));
    assert_eq!(
        report.message_id.as_deref(),
        Some(format!("message-{}", fake.calls().len()).as_str())
    );
}

#[tokio::test(start_paused = true)]
async fn igw_route_without_public_ip_counts_as_private() {
    let (_, installer) = setup(&[("SSM_WAIT_SECONDS", "0")], |s| {
        s.not_managed_sends = usize::MAX;
        s.route_targets.insert("subnet-1".into(), "igw-0a1b2c3d".into());
    });
    let report = installer.handle(running_event(ID), None).await.unwrap();
    assert_eq!(report.outcome, Outcome::Unreachable);
    assert_eq!(report.missing_endpoints.len(), 3);
    assert!(report
        .reason
        .unwrap()
        .contains("default route via igw-0a1b2c3d but no public IP"));
}

#[tokio::test(start_paused = true)]
async fn unmanaged_private_instance_with_all_endpoints_is_retryable() {
    let (fake, installer) = setup(&[("NOTIFY_TOPIC_ARN", TOPIC), ("SSM_WAIT_SECONDS", "10")], |s| {
        s.not_managed_sends = usize::MAX;
        s.ping.insert(ID.into(), "ConnectionLost".into());
        s.endpoint_services.insert(
            "vpc-1".into(),
            ["ssm", "ssmmessages", "ec2messages"]
                .iter()
                .map(|e| format!("com.amazonaws.ap-northeast-2.{e}"))
                .collect(),
        );
    });
    let err = installer.handle(running_event(ID), None).await.unwrap_err();
    assert_eq!(err.class(), crate::ErrorClass::Retryable);
    let message = err.to_string();
    assert!(message.contains("all SSM endpoints present"), "{message}");
    assert!(message.contains("SSM ping status ConnectionLost"), "{message}");
    assert!(fake.published().is_empty());
    assert!(fake.calls().contains(&Call::Endpoints { vpc_id: "vpc-1".into() }));
}

#[tokio::test(start_paused = true)]
async fn the_lambda_deadline_cuts_the_wait_short() {
    let (fake, installer) = setup(&[], |s| {
        s.not_managed_sends = usize::MAX;
        s.route_targets.insert("subnet-1".into(), "nat-0123".into());
    });
    let started = Instant::now();
    let deadline = started + Duration::from_secs(40);
    let err = installer.handle(running_event(ID), Some(deadline)).await.unwrap_err();
    assert!(matches!(err, Error::StillUnmanaged { waited_secs: 30, .. }), "{err:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(30), "keeps 10 s for diagnosis");
    assert!(fake.calls().iter().filter(|c| is_send(c)).count() >= 4);
}

#[tokio::test]
async fn coverage_trigger_sends_the_command() {
    let (fake, installer) = setup(&[], |s| {
        s.instances
            .insert("i-0abcd1111efgh2222".into(), instance("i-0abcd1111efgh2222"));
    });
    let report = installer
        .handle(fixture("inspector2-coverage-unmanaged.json"), None)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::CommandSent);
    assert_eq!(report.instance_id.as_deref(), Some("i-0abcd1111efgh2222"));
    assert_eq!(
        fake.sent()[0].comment,
        "inspector-autopilot event c0ffee00-1234-5678-9abc-def012345678"
    );
}

#[tokio::test]
async fn coverage_for_another_reason_is_ignored() {
    let (fake, installer) = setup(&[], |_| {});
    let mut event = fixture("inspector2-coverage-unmanaged.json");
    event["detail"]["scanStatus"]["reason"] = json!("SCAN_ELIGIBILITY_EXPIRED");
    let report = installer.handle(event, None).await.unwrap();
    assert_eq!(report.outcome, Outcome::Ignored);
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn failed_run_command_on_an_unmanaged_instance_notifies_an_error() {
    let (fake, installer) = setup(
        &[("NOTIFY_TOPIC_ARN", TOPIC), ("RUN_COMMAND_OUTPUT_BUCKET", "ssm-output")],
        |_| {},
    );
    let report = installer
        .handle(command_failed_event("Failed", "AWS-ConfigureAWSPackage"), None)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Notified);
    assert_eq!(
        report.command_id.as_deref(),
        Some("0b1c2d3e-aaaa-bbbb-cccc-000000000001")
    );
    let published = fake.published();
    assert_eq!(published.len(), 1);
    let n = &published[0];
    assert_eq!(
        n.subject,
        "inspector-autopilot: Run Command Failed on i-0abcd1111efab2222"
    );
    assert_eq!(n.attributes["severity"], "error");
    assert_eq!(n.attributes["eventType"], "run-command-failed");
    assert!(n.message.contains("not SSM-managed"), "{}", n.message);
    assert!(n
        .message
        .contains("s3://ssm-output/runcommand/0b1c2d3e-aaaa-bbbb-cccc-000000000001/"));
    assert_eq!(fake.calls()[0], Call::PingStatus(ID.into()));
}

#[tokio::test]
async fn timed_out_run_command_on_a_managed_instance_is_a_warning() {
    let (fake, installer) = setup(&[("NOTIFY_TOPIC_ARN", TOPIC)], |s| {
        s.ping.insert(ID.into(), "Online".into());
    });
    let report = installer
        .handle(command_failed_event("TimedOut", "AWS-ConfigureAWSPackage"), None)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Notified);
    let n = &fake.published()[0];
    assert_eq!(n.attributes["severity"], "warning");
    assert!(n
        .message
        .contains("Inspector's own associations will still install the plugin"));
}

#[tokio::test]
async fn run_command_of_another_document_or_status_is_ignored() {
    let (fake, installer) = setup(&[("NOTIFY_TOPIC_ARN", TOPIC)], |_| {});
    for event in [
        command_failed_event("Failed", "AWS-RunShellScript"),
        command_failed_event("Success", "AWS-ConfigureAWSPackage"),
    ] {
        let report = installer.handle(event, None).await.unwrap();
        assert_eq!(report.outcome, Outcome::Ignored);
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn failed_run_command_without_a_topic_is_reported_in_the_answer() {
    let (fake, installer) = setup(&[], |_| {});
    let report = installer
        .handle(command_failed_event("Failed", "AWS-ConfigureAWSPackage"), None)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::CommandFailed);
    assert!(report.reason.unwrap().contains("NOTIFY_TOPIC_ARN is not set"));
    assert!(fake.published().is_empty());
}

#[tokio::test]
async fn a_failing_publish_is_a_retryable_error() {
    let (_, installer) = setup(&[("NOTIFY_TOPIC_ARN", TOPIC)], |s| {
        s.publish_failure = Some(crate::ErrorClass::Retryable);
    });
    let err = installer
        .handle(command_failed_event("Failed", "AWS-ConfigureAWSPackage"), None)
        .await
        .unwrap_err();
    assert_eq!(err.class(), crate::ErrorClass::Retryable);
}

#[tokio::test]
async fn windows_and_linux_instances_get_the_same_plugin_install() {
    for platform in [Platform::Linux, Platform::Windows] {
        let (fake, installer) = setup(&[], |s| s.instances.get_mut(ID).unwrap().platform = platform);
        let report = installer.handle(running_event(ID), None).await.unwrap();
        assert_eq!(report.outcome, Outcome::CommandSent);
        assert_eq!(report.platform, Some(platform.as_str()));
        let sent = fake.sent();
        assert_eq!(sent[0].document, "AWS-ConfigureAWSPackage");
        assert_eq!(sent[0].parameters["name"], vec!["AmazonInspector2-InspectorSsmPlugin"]);
    }
}

#[tokio::test]
async fn answer_serialises_with_the_contract_fields() {
    let (_, installer) = setup(&[], |_| {});
    let report = installer.handle(running_event(ID), None).await.unwrap();
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["outcome"], "command-sent");
    assert_eq!(value["instanceId"], ID);
    assert_eq!(value["commandId"], "command-1");
    assert_eq!(value["reason"], "sent AWS-ConfigureAWSPackage to i-0abcd1111efab2222");
    let ignored = serde_json::to_value(Report::ignored("x")).unwrap();
    assert_eq!(
        ignored,
        json!({"outcome": "ignored", "reason": "x", "instanceId": null, "commandId": null})
    );
}
