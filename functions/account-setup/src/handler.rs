//! CloudFormation custom resources for what CloudFormation has no resource type for:
//! - `Custom::InspectorEnablement`: `Enable` Inspector v2 for the listed resource types in this
//!   account and wait until each is ENABLING or ENABLED. Delete leaves Inspector on: removing
//!   the stack must not switch off vulnerability scanning.
//! - `Custom::DefaultHostManagement`: point SSM's Default Host Management Configuration at the
//!   role the stack made; Delete resets the setting, since that role goes with the stack.
//!
//! Every request that carries a `ResponseURL` gets an answer, SUCCESS or FAILED with the reason,
//! so that a stack never hangs for an hour on a silent custom resource.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use shared::Error;
use tokio::time::Instant;

/// Resource types `Enable` takes.
pub const RESOURCE_TYPES: [&str; 5] = ["EC2", "ECR", "LAMBDA", "LAMBDA_CODE", "CODE_REPOSITORY"];
/// What `Custom::InspectorEnablement` enables when `ResourceTypes` is not given.
pub const DEFAULT_RESOURCE_TYPES: [&str; 3] = ["EC2", "ECR", "LAMBDA"];
/// The first wait between status checks; it doubles up to 20 s.
const FIRST_POLL: Duration = Duration::from_secs(2);
/// How long before the Lambda deadline waiting stops, so that the answer still goes out.
const DEADLINE_MARGIN: Duration = Duration::from_secs(15);

/// The account-level calls, behind a port so that the flow is tested without AWS.
#[async_trait]
pub trait Account: Send + Sync {
    /// `inspector2:Enable` for `resource_types` in `account_id` (the stack's own).
    async fn enable_inspector(&self, account_id: &str, resource_types: &[String]) -> Result<(), Error>;
    /// `inspector2:BatchGetAccountStatus` for `account_id`: `(resource type, status)` pairs.
    async fn inspector_status(&self, account_id: &str) -> Result<Vec<(String, String)>, Error>;
    /// `ssm:UpdateServiceSetting` of the Default Host Management role.
    async fn set_default_host_management_role(&self, role_name: &str) -> Result<(), Error>;
    /// `ssm:ResetServiceSetting` of the Default Host Management role.
    async fn reset_default_host_management(&self) -> Result<(), Error>;
}

/// Sends the custom resource's answer: an HTTPS PUT of the JSON body to the `ResponseURL`.
#[async_trait]
pub trait Responder: Send + Sync {
    /// PUTs `body` to `url`.
    async fn respond(&self, url: &str, body: Vec<u8>) -> Result<(), Error>;
}

/// One custom resource request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `Create`, `Update` or `Delete`.
    pub request_type: String,
    /// Where the answer goes.
    pub response_url: String,
    /// `Custom::InspectorEnablement` or `Custom::DefaultHostManagement`.
    pub resource_type: String,
    /// Echoed back.
    pub stack_id: String,
    /// Echoed back.
    pub request_id: String,
    /// Echoed back.
    pub logical_resource_id: String,
    /// Given on Update and Delete.
    pub physical_resource_id: Option<String>,
    /// `ResourceProperties`.
    pub properties: Value,
}

impl Request {
    /// Reads a custom resource request; `Err` names what is missing.
    pub fn parse(payload: &Value) -> Result<Self, String> {
        let text = |key: &str| -> Result<String, String> {
            payload
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("{key} is missing or not a string"))
        };
        Ok(Request {
            request_type: text("RequestType")?,
            response_url: text("ResponseURL")?,
            resource_type: text("ResourceType")?,
            stack_id: text("StackId")?,
            request_id: text("RequestId")?,
            logical_resource_id: text("LogicalResourceId")?,
            physical_resource_id: text("PhysicalResourceId").ok(),
            properties: payload.get("ResourceProperties").cloned().unwrap_or(json!({})),
        })
    }
}

/// What the resource did: its physical id, data, or why it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// SUCCESS or FAILED.
    pub succeeded: bool,
    /// The physical resource id answered.
    pub physical_id: String,
    /// Why, in words.
    pub reason: String,
    /// `Data` for `Fn::GetAtt`.
    pub data: Value,
}

/// Handles one invocation: the work, then the answer. Returns what was answered; an `Err` only
/// when the answer itself could not be sent (Lambda's async retry then tries again).
pub async fn handle(
    account: &dyn Account,
    responder: &dyn Responder,
    payload: &Value,
    deadline: Option<Instant>,
) -> Result<Value, Error> {
    let request = match Request::parse(payload) {
        Ok(request) => request,
        Err(reason) => {
            tracing::warn!(outcome = "ignored", reason, "not a custom resource request");
            return Ok(
                json!({"outcome": "ignored", "reason": format!("not a CloudFormation custom resource request: {reason}")}),
            );
        }
    };
    let deadline = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(300));
    let outcome = run(account, &request, deadline).await;
    let status = if outcome.succeeded { "SUCCESS" } else { "FAILED" };
    let answer = json!({
        "Status": status,
        "Reason": outcome.reason,
        "PhysicalResourceId": outcome.physical_id,
        "StackId": request.stack_id,
        "RequestId": request.request_id,
        "LogicalResourceId": request.logical_resource_id,
        "NoEcho": false,
        "Data": outcome.data,
    });
    // The URL is a presigned credential: it is never logged.
    responder
        .respond(&request.response_url, serde_json::to_vec(&answer).unwrap_or_default())
        .await?;
    tracing::info!(
        outcome = if outcome.succeeded { "succeeded" } else { "failed" },
        request_type = request.request_type,
        resource_type = request.resource_type,
        reason = outcome.reason,
        "answered CloudFormation"
    );
    Ok(
        json!({"outcome": if outcome.succeeded { "succeeded" } else { "failed" }, "status": status, "reason": outcome.reason, "physicalResourceId": answer["PhysicalResourceId"]}),
    )
}

fn failed(request: &Request, reason: String) -> Outcome {
    Outcome {
        succeeded: false,
        // A failed Create must still answer an id; CloudFormation then deletes it.
        physical_id: request
            .physical_resource_id
            .clone()
            .unwrap_or_else(|| format!("{}-failed", request.logical_resource_id)),
        reason,
        data: json!({}),
    }
}

async fn run(account: &dyn Account, request: &Request, deadline: Instant) -> Outcome {
    match (request.resource_type.as_str(), request.request_type.as_str()) {
        ("Custom::InspectorEnablement", "Create" | "Update") => enable(account, request, deadline).await,
        ("Custom::InspectorEnablement", "Delete") => Outcome {
            succeeded: true,
            physical_id: request.physical_resource_id.clone().unwrap_or_default(),
            reason: "Inspector stays enabled: deleting the stack does not switch off scanning".into(),
            data: json!({}),
        },
        ("Custom::DefaultHostManagement", "Create" | "Update") => {
            let Some(role) = request.properties.get("RoleName").and_then(Value::as_str) else {
                return failed(request, "ResourceProperties.RoleName is missing".into());
            };
            match account.set_default_host_management_role(role).await {
                Ok(()) => Outcome {
                    succeeded: true,
                    physical_id: "default-host-management".into(),
                    reason: format!("Default Host Management Configuration uses role {role}"),
                    data: json!({"RoleName": role}),
                },
                Err(err) => failed(request, err.to_string()),
            }
        }
        ("Custom::DefaultHostManagement", "Delete") => {
            if request.physical_resource_id.as_deref() != Some("default-host-management") {
                // A Create that failed never set anything; there is nothing to reset.
                return Outcome {
                    succeeded: true,
                    physical_id: request.physical_resource_id.clone().unwrap_or_default(),
                    reason: "nothing was set".into(),
                    data: json!({}),
                };
            }
            match account.reset_default_host_management().await {
                Ok(()) => Outcome {
                    succeeded: true,
                    physical_id: "default-host-management".into(),
                    reason: "Default Host Management Configuration reset".into(),
                    data: json!({}),
                },
                Err(err) => failed(request, err.to_string()),
            }
        }
        (resource_type, request_type) => failed(
            request,
            format!("{request_type} of {resource_type} is not handled here (Custom::InspectorEnablement, Custom::DefaultHostManagement)"),
        ),
    }
}

fn resource_types(properties: &Value) -> Result<Vec<String>, String> {
    let Some(given) = properties.get("ResourceTypes") else {
        return Ok(DEFAULT_RESOURCE_TYPES.iter().map(|t| (*t).to_owned()).collect());
    };
    let list = given.as_array().ok_or("ResourceTypes must be a list")?;
    if list.is_empty() {
        return Err("ResourceTypes is empty".into());
    }
    list.iter()
        .map(|t| match t.as_str() {
            Some(t) if RESOURCE_TYPES.contains(&t) => Ok(t.to_owned()),
            _ => Err(format!(
                "ResourceTypes: {t} is not one of {}",
                RESOURCE_TYPES.join(", ")
            )),
        })
        .collect()
}

async fn enable(account: &dyn Account, request: &Request, deadline: Instant) -> Outcome {
    let wanted = match resource_types(&request.properties) {
        Ok(wanted) => wanted,
        Err(reason) => return failed(request, reason),
    };
    // arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>
    let Some(account_id) = request.stack_id.split(':').nth(4).filter(|a| a.len() == 12) else {
        return failed(request, format!("StackId {} names no account", request.stack_id));
    };
    if let Err(err) = account.enable_inspector(account_id, &wanted).await {
        return failed(request, err.to_string());
    }
    let mut delay = FIRST_POLL;
    loop {
        let status = match account.inspector_status(account_id).await {
            Ok(status) => status,
            Err(err) => return failed(request, err.to_string()),
        };
        let of = |t: &str| {
            status
                .iter()
                .find(|(k, _)| k == t)
                .map_or("UNKNOWN", |(_, s)| s.as_str())
        };
        let states: Vec<String> = wanted.iter().map(|t| format!("{t}={}", of(t))).collect();
        let stuck: Vec<&String> = wanted
            .iter()
            .filter(|t| matches!(of(t), "DISABLED" | "SUSPENDED" | "SUSPENDING" | "DISABLING"))
            .collect();
        if wanted.iter().all(|t| of(t) == "ENABLED")
            || (stuck.is_empty() && Instant::now() + delay + DEADLINE_MARGIN > deadline)
        {
            // ENABLING finishes on its own; waiting for it is not worth a stack timeout.
            return Outcome {
                succeeded: wanted.iter().all(|t| matches!(of(t), "ENABLED" | "ENABLING")),
                physical_id: "inspector2-enablement".into(),
                reason: format!("Inspector v2: {}", states.join(", ")),
                data: json!({"ResourceTypes": wanted.join(",")}),
            };
        }
        if !stuck.is_empty() && Instant::now() + delay + DEADLINE_MARGIN > deadline {
            return failed(request, format!("Inspector v2 did not enable: {}", states.join(", ")));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(20));
    }
}
