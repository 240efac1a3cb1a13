//! account-setup against moto server: a `Custom::InspectorEnablement` Create enables Inspector
//! in moto through the real adapter, and the real HTTPS/HTTP responder PUTs the answer to a
//! presigned S3 URL made by moto, as CloudFormation's `ResponseURL` is. Needs moto (`make test`).

use std::time::Duration;

use account_setup::aws::AwsAccount;
use account_setup::handler::handle;
use account_setup::respond::HttpsResponder;
use aws_sdk_s3::presigning::PresigningConfig;
use integration_tests::{create_bucket, Moto};
use serde_json::{json, Value};

#[tokio::test]
async fn inspector_is_enabled_and_the_answer_lands_at_the_presigned_url() {
    // GIVEN moto, and a presigned PUT URL standing in for CloudFormation's ResponseURL
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    create_bucket(&s3, "cfn-responses").await;
    let presigned = s3
        .put_object()
        .bucket("cfn-responses")
        .key("answer")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let request = json!({
        "RequestType": "Create",
        "ResponseURL": presigned.uri(),
        "StackId": "arn:aws:cloudformation:ap-northeast-2:123456789012:stack/ia/1",
        "RequestId": "req-1",
        "ResourceType": "Custom::InspectorEnablement",
        "LogicalResourceId": "InspectorEnablement",
        "ResourceProperties": {"ResourceTypes": ["EC2", "ECR", "LAMBDA"]},
    });
    // WHEN the custom resource runs
    let outcome = handle(&AwsAccount::new(&sdk), &HttpsResponder, &request, None)
        .await
        .unwrap();
    // THEN Inspector is enabled in moto for the three types
    assert_eq!(outcome["status"], "SUCCESS", "{outcome}");
    let status = aws_sdk_inspector2::Client::new(&sdk)
        .batch_get_account_status()
        .account_ids("123456789012")
        .send()
        .await
        .unwrap();
    let resources = status.accounts()[0].resource_state().unwrap();
    assert_eq!(resources.ec2().unwrap().status().as_str(), "ENABLED");
    assert_eq!(resources.lambda().unwrap().status().as_str(), "ENABLED");
    // AND the answer is at the URL, as CloudFormation would read it
    let body = s3
        .get_object()
        .bucket("cfn-responses")
        .key("answer")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&body.to_vec()).unwrap();
    assert_eq!(answer["Status"], "SUCCESS");
    assert_eq!(answer["PhysicalResourceId"], "inspector2-enablement");
    assert_eq!(answer["RequestId"], "req-1");
}
