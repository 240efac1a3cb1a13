//! agent-installer against moto server: real SDK clients, the real handler, and moto's view of
//! what was sent. Needs moto (run `make test`).

use std::sync::Arc;

use agent_installer::handler::handle;
use integration_tests::{fixture, run_instance, Moto, REGION};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use shared::aws::{ec2::Ec2Adapter, sns::SnsNotifier, ssm::SsmAdapter};
use shared::config::InstallerConfig;
use shared::installer::{Installer, Outcome, Ports};
use shared::ports::NetworkDirectory;

struct Stack {
    moto: Moto,
    ec2: aws_sdk_ec2::Client,
    ssm: aws_sdk_ssm::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    sdk_config: aws_config::SdkConfig,
}

async fn stack() -> Stack {
    let moto = Moto::start();
    let sdk_config = moto.sdk_config().await;
    Stack {
        ec2: aws_sdk_ec2::Client::new(&sdk_config),
        ssm: aws_sdk_ssm::Client::new(&sdk_config),
        sns: aws_sdk_sns::Client::new(&sdk_config),
        sqs: aws_sdk_sqs::Client::new(&sdk_config),
        sdk_config,
        moto,
    }
}

impl Stack {
    fn installer(&self, vars: &[(&str, &str)]) -> Installer {
        let mut env: Vec<(String, String)> = vec![("AWS_REGION".into(), REGION.into())];
        env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config =
            InstallerConfig::from_lookup(&move |name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
                .expect("valid config");
        let ec2 = Arc::new(Ec2Adapter::new(&self.sdk_config));
        let ssm = Arc::new(SsmAdapter::new(&self.sdk_config));
        let ports = Ports {
            instances: ec2.clone(),
            network: ec2,
            commands: ssm.clone(),
            managed: ssm,
            notifier: Arc::new(SnsNotifier::new(&self.sdk_config)),
        };
        Installer::new(config, ports)
    }

    async fn commands_for(&self, instance_id: &str) -> Vec<aws_sdk_ssm::types::Command> {
        self.ssm
            .list_commands()
            .instance_id(instance_id)
            .send()
            .await
            .expect("moto ListCommands")
            .commands()
            .to_vec()
    }
}

fn running_event(instance_id: &str) -> Value {
    let mut event = fixture("ec2-state-running.json");
    event["detail"]["instance-id"] = json!(instance_id);
    event
}

async fn invoke(installer: &Installer, payload: Value) -> Result<shared::installer::Report, shared::Error> {
    handle(installer, LambdaEvent::new(payload, Context::default())).await
}

#[tokio::test]
async fn running_instance_gets_the_plugin_command_with_s3_output() {
    // GIVEN a running instance in moto
    let stack = stack().await;
    let instance_id = run_instance(&stack.ec2, &[("Name", "web-1")]).await;
    let installer = stack.installer(&[
        ("RUN_COMMAND_OUTPUT_BUCKET", "ssm-output-123456789012"),
        ("RUN_COMMAND_OUTPUT_PREFIX", "inspector/runcommand"),
    ]);

    // WHEN its running event arrives
    let report = invoke(&installer, running_event(&instance_id)).await.expect("handled");

    // THEN the command is sent, and moto's ListCommands shows exactly what we asked for
    assert_eq!(report.outcome, Outcome::CommandSent, "{report:?}");
    let commands = stack.commands_for(&instance_id).await;
    assert_eq!(commands.len(), 1);
    let command = &commands[0];
    assert_eq!(command.command_id(), report.command_id.as_deref());
    assert_eq!(command.document_name(), Some("AWS-ConfigureAWSPackage"));
    let parameters = command.parameters().expect("parameters");
    assert_eq!(parameters["action"], vec!["Install"]);
    assert_eq!(parameters["name"], vec!["AmazonInspector2-InspectorSsmPlugin"]);
    assert_eq!(command.output_s3_bucket_name(), Some("ssm-output-123456789012"));
    assert_eq!(command.output_s3_key_prefix(), Some("inspector/runcommand"));
    assert_eq!(
        command.comment(),
        Some("inspector-autopilot event 7bf73129-1428-4cd3-a780-95db273d1602")
    );
    assert!(command.instance_ids().contains(&instance_id));
}

#[tokio::test]
async fn duplicate_event_does_no_harm() {
    let stack = stack().await;
    let instance_id = run_instance(&stack.ec2, &[]).await;
    let installer = stack.installer(&[]);

    let first = invoke(&installer, running_event(&instance_id)).await.expect("first");
    let second = invoke(&installer, running_event(&instance_id)).await.expect("second");

    assert_eq!(first.outcome, Outcome::CommandSent);
    assert_eq!(second.outcome, Outcome::AlreadySent);
    assert_eq!(second.command_id, first.command_id);
    assert_eq!(stack.commands_for(&instance_id).await.len(), 1, "one command, not two");
}

#[tokio::test]
async fn excluded_and_terminated_instances_are_ignored_in_moto() {
    let stack = stack().await;
    let excluded = run_instance(&stack.ec2, &[("InspectorEc2Exclusion", "true")]).await;
    let doomed = run_instance(&stack.ec2, &[]).await;
    stack
        .ec2
        .terminate_instances()
        .instance_ids(&doomed)
        .send()
        .await
        .expect("moto TerminateInstances");
    let installer = stack.installer(&[]);

    let report = invoke(&installer, running_event(&excluded)).await.expect("handled");
    assert_eq!(report.outcome, Outcome::Ignored);
    assert!(report.reason.unwrap().contains("exclusion tag InspectorEc2Exclusion"));

    let report = invoke(&installer, running_event(&doomed)).await.expect("handled");
    assert_eq!(report.outcome, Outcome::Ignored);
    assert!(report.reason.unwrap().ends_with("is terminated"));

    let report = invoke(&installer, running_event("i-0000000000000dead"))
        .await
        .expect("handled");
    assert_eq!(report.outcome, Outcome::Ignored);
    assert!(report.reason.unwrap().ends_with("does not exist"));

    assert!(stack.commands_for(&excluded).await.is_empty());
}

#[tokio::test]
async fn run_command_failure_notification_arrives_on_a_subscribed_queue() {
    // GIVEN a topic with an SQS subscription
    let stack = stack().await;
    let instance_id = run_instance(&stack.ec2, &[]).await;
    let topic_arn = stack
        .sns
        .create_topic()
        .name("inspector-autopilot")
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn()
        .expect("topic arn")
        .to_owned();
    let queue_url = stack
        .sqs
        .create_queue()
        .queue_name("notifications")
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .expect("queue url")
        .to_owned();
    let queue_arn = format!("arn:aws:sqs:{REGION}:123456789012:notifications");
    stack
        .sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .expect("Subscribe");
    let installer = stack.installer(&[("NOTIFY_TOPIC_ARN", &topic_arn)]);

    // WHEN our document fails on the instance
    let event = json!({
        "version": "0", "id": "3c1d7c2e-1111-4222-8333-444455556666", "source": "aws.ssm",
        "detail-type": "EC2 Command Invocation Status-change Notification",
        "account": "123456789012", "time": "2026-11-30T21:40:00Z", "region": REGION,
        "resources": [format!("arn:aws:ec2:{REGION}:123456789012:instance/{instance_id}")],
        "detail": {"command-id": "5e0a0bd6-aaaa-bbbb-cccc-ddddeeeeffff", "document-name": "AWS-ConfigureAWSPackage",
                   "instance-id": instance_id, "requested-date-time": "2026-11-30T21:30:00.000Z", "status": "Failed"}
    });
    let report = invoke(&installer, event).await.expect("handled");

    // THEN a notification with its attributes arrives on the queue
    assert_eq!(report.outcome, Outcome::Notified, "{report:?}");
    let messages = stack
        .sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("ReceiveMessage")
        .messages()
        .to_vec();
    assert_eq!(messages.len(), 1);
    let envelope: Value = serde_json::from_str(messages[0].body().expect("body")).expect("SNS envelope");
    assert_eq!(
        envelope["Subject"],
        format!("inspector-autopilot: Run Command Failed on {instance_id}")
    );
    assert_eq!(
        Some(envelope["MessageId"].as_str().unwrap()),
        report.message_id.as_deref()
    );
    let message = envelope["Message"].as_str().expect("message");
    assert!(message.contains("Run Command 5e0a0bd6-aaaa-bbbb-cccc-ddddeeeeffff (AWS-ConfigureAWSPackage) Failed"));
    assert_eq!(
        envelope["MessageAttributes"]["eventType"]["Value"],
        "run-command-failed"
    );
    assert_eq!(
        envelope["MessageAttributes"]["instanceId"]["Value"],
        instance_id.as_str()
    );
    // moto has no DescribeInstanceInformation: the SSM status is unknown, reported as an error.
    assert_eq!(envelope["MessageAttributes"]["severity"]["Value"], "error");
}

#[tokio::test]
async fn ec2_adapter_finds_missing_ssm_endpoints_in_a_private_vpc() {
    // GIVEN a VPC with a subnet that has no default route, and one of the three SSM endpoints
    let stack = stack().await;
    let vpc_id = stack
        .ec2
        .create_vpc()
        .cidr_block("10.10.0.0/16")
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_owned();
    let subnet_id = stack
        .ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.10.1.0/24")
        .send()
        .await
        .expect("CreateSubnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_owned();
    stack
        .ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc_id)
        .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
        .service_name(format!("com.amazonaws.{REGION}.ssm"))
        .subnet_ids(&subnet_id)
        .send()
        .await
        .expect("CreateVpcEndpoint");
    let adapter = Ec2Adapter::new(&stack.sdk_config);

    // THEN the adapter sees no way out and exactly the one endpoint
    assert_eq!(
        adapter.default_route_target(&subnet_id, &vpc_id).await.expect("routes"),
        None
    );
    assert_eq!(
        adapter.interface_endpoint_services(&vpc_id).await.expect("endpoints"),
        vec![format!("com.amazonaws.{REGION}.ssm")]
    );

    // AND after an internet gateway route, the default route is found through the main table
    let igw = stack
        .ec2
        .create_internet_gateway()
        .send()
        .await
        .expect("CreateInternetGateway")
        .internet_gateway()
        .and_then(|g| g.internet_gateway_id())
        .expect("igw id")
        .to_owned();
    stack
        .ec2
        .attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc_id)
        .send()
        .await
        .expect("AttachInternetGateway");
    let main_table = stack
        .ec2
        .describe_route_tables()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc_id)
                .build(),
        )
        .send()
        .await
        .expect("DescribeRouteTables")
        .route_tables()
        .first()
        .and_then(|t| t.route_table_id())
        .expect("main table")
        .to_owned();
    stack
        .ec2
        .create_route()
        .route_table_id(&main_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .expect("CreateRoute");
    assert_eq!(
        adapter.default_route_target(&subnet_id, &vpc_id).await.expect("routes"),
        Some(igw)
    );
    drop(stack.moto);
}
