//! account-setup's flow with fakes of its two ports: every request is answered, SUCCESS or
//! FAILED with a reason, and what each resource type does on Create, Update and Delete.

use std::sync::Mutex;
use std::time::Duration;

use account_setup::handler::{handle, Account, Responder};
use async_trait::async_trait;
use serde_json::{json, Value};
use shared::{Error, ErrorClass};
use tokio::time::Instant;

#[derive(Default)]
struct FakeAccount {
    calls: Mutex<Vec<String>>,
    /// Each status read takes the next; the last repeats.
    statuses: Mutex<Vec<&'static str>>,
    refuse: bool,
}

fn refused(operation: &'static str) -> Error {
    Error::Aws {
        service: "inspector2",
        operation,
        code: Some("AccessDeniedException".into()),
        class: ErrorClass::Config,
        detail: "AccessDeniedException: not authorized".into(),
        source: "denied".into(),
    }
}

#[async_trait]
impl Account for FakeAccount {
    async fn enable_inspector(&self, account_id: &str, resource_types: &[String]) -> Result<(), Error> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("Enable {account_id} {}", resource_types.join(",")));
        if self.refuse {
            return Err(refused("Enable"));
        }
        Ok(())
    }
    async fn inspector_status(&self, _account_id: &str) -> Result<Vec<(String, String)>, Error> {
        self.calls.lock().unwrap().push("BatchGetAccountStatus".into());
        let mut statuses = self.statuses.lock().unwrap();
        let status = if statuses.len() > 1 {
            statuses.remove(0)
        } else {
            statuses[0]
        };
        Ok(["EC2", "ECR", "LAMBDA"]
            .iter()
            .map(|t| ((*t).to_owned(), status.to_owned()))
            .collect())
    }
    async fn set_default_host_management_role(&self, role_name: &str) -> Result<(), Error> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("UpdateServiceSetting {role_name}"));
        Ok(())
    }
    async fn reset_default_host_management(&self) -> Result<(), Error> {
        self.calls.lock().unwrap().push("ResetServiceSetting".into());
        Ok(())
    }
}

#[derive(Default)]
struct FakeResponder {
    answers: Mutex<Vec<(String, Value)>>,
    fail: bool,
}

#[async_trait]
impl Responder for FakeResponder {
    async fn respond(&self, url: &str, body: Vec<u8>) -> Result<(), Error> {
        if self.fail {
            return Err(Error::Aws {
                service: "cloudformation",
                operation: "ResponseURL PUT",
                code: None,
                class: ErrorClass::Retryable,
                detail: "PUT answered 403".into(),
                source: "403".into(),
            });
        }
        self.answers
            .lock()
            .unwrap()
            .push((url.to_owned(), serde_json::from_slice(&body).unwrap()));
        Ok(())
    }
}

fn request(request_type: &str, resource_type: &str, properties: Value) -> Value {
    json!({
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response-apnortheast2.s3.amazonaws.com/signed",
        "StackId": "arn:aws:cloudformation:ap-northeast-2:123456789012:stack/ia/1",
        "RequestId": "req-1",
        "ResourceType": resource_type,
        "LogicalResourceId": "Thing",
        "PhysicalResourceId": if request_type == "Create" { Value::Null } else if resource_type == "Custom::DefaultHostManagement" { json!("default-host-management") } else { json!("inspector2-enablement") },
        "ResourceProperties": properties,
    })
}

fn account(statuses: &[&'static str]) -> FakeAccount {
    FakeAccount {
        statuses: Mutex::new(statuses.to_vec()),
        ..FakeAccount::default()
    }
}

async fn answer(account: &FakeAccount, payload: Value) -> Value {
    let responder = FakeResponder::default();
    handle(account, &responder, &payload, None).await.unwrap();
    let answers = responder.answers.lock().unwrap();
    assert_eq!(answers.len(), 1, "exactly one answer");
    assert!(answers[0].0.starts_with("https://"));
    answers[0].1.clone()
}

#[tokio::test(start_paused = true)]
async fn create_enables_the_three_types_and_waits_until_enabled() {
    let account = account(&["ENABLING", "ENABLING", "ENABLED"]);
    let answer = answer(&account, request("Create", "Custom::InspectorEnablement", json!({}))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], "inspector2-enablement");
    assert_eq!(answer["RequestId"], "req-1");
    assert_eq!(answer["LogicalResourceId"], "Thing");
    assert!(answer["Reason"].as_str().unwrap().contains("EC2=ENABLED"));
    let calls = account.calls.lock().unwrap();
    assert_eq!(calls[0], "Enable 123456789012 EC2,ECR,LAMBDA");
    assert_eq!(calls.iter().filter(|c| *c == "BatchGetAccountStatus").count(), 3);
}

#[tokio::test(start_paused = true)]
async fn still_enabling_near_the_deadline_is_a_success() {
    let account = account(&["ENABLING"]);
    let responder = FakeResponder::default();
    let deadline = Some(Instant::now() + Duration::from_secs(60));
    handle(
        &account,
        &responder,
        &request("Create", "Custom::InspectorEnablement", json!({})),
        deadline,
    )
    .await
    .unwrap();
    let answer = responder.answers.lock().unwrap()[0].1.clone();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert!(answer["Reason"].as_str().unwrap().contains("ENABLING"));
}

#[tokio::test(start_paused = true)]
async fn a_type_that_stays_suspended_fails_with_the_states() {
    let account = account(&["SUSPENDED"]);
    let responder = FakeResponder::default();
    let deadline = Some(Instant::now() + Duration::from_secs(60));
    handle(
        &account,
        &responder,
        &request(
            "Update",
            "Custom::InspectorEnablement",
            json!({"ResourceTypes": ["EC2"]}),
        ),
        deadline,
    )
    .await
    .unwrap();
    let answer = responder.answers.lock().unwrap()[0].1.clone();
    assert_eq!(answer["Status"], "FAILED");
    assert!(answer["Reason"].as_str().unwrap().contains("EC2=SUSPENDED"), "{answer}");
}

#[tokio::test(start_paused = true)]
async fn a_refused_enable_is_answered_failed_with_the_error() {
    let account = FakeAccount {
        refuse: true,
        ..account(&["DISABLED"])
    };
    let answer = answer(&account, request("Create", "Custom::InspectorEnablement", json!({}))).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(answer["Reason"].as_str().unwrap().contains("AccessDeniedException"));
    assert_eq!(answer["PhysicalResourceId"], "Thing-failed");
}

#[tokio::test]
async fn delete_leaves_inspector_enabled() {
    let account = account(&["ENABLED"]);
    let answer = answer(&account, request("Delete", "Custom::InspectorEnablement", json!({}))).await;
    assert_eq!(answer["Status"], "SUCCESS");
    assert!(account.calls.lock().unwrap().is_empty(), "no call on delete");
}

#[tokio::test]
async fn bad_resource_types_fail_without_a_call() {
    for properties in [
        json!({"ResourceTypes": "EC2"}),
        json!({"ResourceTypes": []}),
        json!({"ResourceTypes": ["EC2", "S3"]}),
    ] {
        let account = account(&["ENABLED"]);
        let answer = answer(
            &account,
            request("Create", "Custom::InspectorEnablement", properties.clone()),
        )
        .await;
        assert_eq!(answer["Status"], "FAILED", "{properties}");
        assert!(account.calls.lock().unwrap().is_empty(), "{properties}");
    }
}

#[tokio::test]
async fn default_host_management_is_set_then_reset() {
    let account = account(&["ENABLED"]);
    let created = answer(
        &account,
        request("Create", "Custom::DefaultHostManagement", json!({"RoleName": "dhmc"})),
    )
    .await;
    assert_eq!(created["Status"], "SUCCESS");
    assert_eq!(created["Data"]["RoleName"], "dhmc");
    let deleted = answer(
        &account,
        request("Delete", "Custom::DefaultHostManagement", json!({"RoleName": "dhmc"})),
    )
    .await;
    assert_eq!(deleted["Status"], "SUCCESS");
    assert_eq!(
        *account.calls.lock().unwrap(),
        vec!["UpdateServiceSetting dhmc".to_owned(), "ResetServiceSetting".to_owned()]
    );
    let missing = answer(&account, request("Create", "Custom::DefaultHostManagement", json!({}))).await;
    assert_eq!(missing["Status"], "FAILED");
}

#[tokio::test]
async fn an_unknown_resource_type_is_answered_failed() {
    let account = account(&["ENABLED"]);
    let answer = answer(&account, request("Create", "Custom::Other", json!({}))).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(answer["Reason"].as_str().unwrap().contains("Custom::Other"));
}

#[tokio::test]
async fn what_is_not_a_custom_resource_request_is_ignored_and_never_panics() {
    for payload in [
        json!("x"),
        json!([]),
        json!({}),
        json!({"RequestType": "Create"}),
        json!({"RequestType": 1, "ResponseURL": "https://x"}),
    ] {
        let account = account(&["ENABLED"]);
        let responder = FakeResponder::default();
        let answer = handle(&account, &responder, &payload, None).await.unwrap();
        assert_eq!(answer["outcome"], "ignored", "{payload}");
        assert!(responder.answers.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn an_answer_that_cannot_be_sent_is_a_retryable_error() {
    let account = account(&["ENABLED"]);
    let responder = FakeResponder {
        fail: true,
        ..FakeResponder::default()
    };
    let err = handle(
        &account,
        &responder,
        &request("Delete", "Custom::InspectorEnablement", json!({})),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("403"));
    assert_eq!(err.class(), ErrorClass::Retryable);
}
