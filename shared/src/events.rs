//! Typed EventBridge events and the one dispatcher that turns any JSON value into a known event
//! or an `ignored` reason.

use aws_lambda_events::event::cloudwatch_events::ec2::InstanceStateChange;
use aws_lambda_events::event::cloudwatch_events::ssm::EC2CommandInvocationStatusChange;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::text::clip;

/// The longest piece of an event echoed back in a reason.
const ECHO_CHARS: usize = 64;

/// `detail` of an `Inspector2 Coverage` event, only the fields we use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageDetail {
    /// Why the resource is or is not scanned.
    pub scan_status: ScanStatus,
    /// `PACKAGE`, `NETWORK`, `CODE`.
    #[serde(default)]
    pub scan_type: Option<String>,
}

/// `detail.scanStatus` of an `Inspector2 Coverage` event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanStatus {
    /// For example `UNMANAGED_EC2_INSTANCE`.
    pub reason: String,
    /// `ACTIVE` or `INACTIVE`.
    #[serde(default)]
    pub status_code_value: Option<String>,
}

/// An event the dispatcher recognised.
#[derive(Debug, Clone)]
pub enum Event {
    /// `aws.ec2` / `EC2 Instance State-change Notification`.
    InstanceStateChange(EventBridgeEvent<InstanceStateChange>),
    /// `aws.inspector2` / `Inspector2 Coverage`.
    Coverage(EventBridgeEvent<CoverageDetail>),
    /// `aws.ssm` / `EC2 Command Invocation Status-change Notification`.
    CommandStatusChange(EventBridgeEvent<EC2CommandInvocationStatusChange>),
}

impl Event {
    /// The EventBridge event id, where the event had one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Event::InstanceStateChange(e) => e.id.as_deref(),
            Event::Coverage(e) => e.id.as_deref(),
            Event::CommandStatusChange(e) => e.id.as_deref(),
        }
    }
}

/// Why an event was not handled: it is not for us, or it is permanently unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// In words, for the answer's `reason` and the warning log.
    pub reason: String,
}

impl Ignored {
    /// An ignored event with this reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self { reason: reason.into() }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse<T: Serialize + DeserializeOwned>(value: Value, detail_type: &str) -> Result<EventBridgeEvent<T>, Ignored> {
    serde_json::from_value(value).map_err(|err| {
        Ignored::new(format!(
            "malformed {detail_type} event: {}",
            clip(&err.to_string(), 160)
        ))
    })
}

/// Turns any JSON value into a known event, or says why it is ignored. Never panics.
pub fn dispatch(value: Value) -> Result<Event, Ignored> {
    let Value::Object(map) = &value else {
        return Err(Ignored::new(format!(
            "event is {}, not a JSON object",
            type_name(&value)
        )));
    };
    let field = |name: &str| match map.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(Ignored::new(format!(
            "event field {name:?} is {}, not a string",
            type_name(other)
        ))),
        None => Err(Ignored::new(format!(
            "event has no {name:?} field; not an EventBridge event"
        ))),
    };
    let source = field("source")?;
    let detail_type = field("detail-type")?;
    match (source.as_str(), detail_type.as_str()) {
        ("aws.ec2", "EC2 Instance State-change Notification") => {
            parse(value, &detail_type).map(Event::InstanceStateChange)
        }
        ("aws.inspector2", "Inspector2 Coverage") => parse(value, &detail_type).map(Event::Coverage),
        ("aws.ssm", "EC2 Command Invocation Status-change Notification") => {
            parse(value, &detail_type).map(Event::CommandStatusChange)
        }
        _ => Err(Ignored::new(format!(
            "unknown event: source {:?}, detail-type {:?}",
            clip(&source, ECHO_CHARS),
            clip(&detail_type, ECHO_CHARS)
        ))),
    }
}

/// Whether `id` has the shape of an EC2 instance id: `i-` and 8 or 17 lowercase ASCII letters or
/// digits. Deliberately looser than hex: EC2 stays the authority and answers "not found".
pub fn is_instance_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("i-") else {
        return false;
    };
    matches!(rest.len(), 8 | 17) && rest.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// The instance id in an EventBridge resource: a bare id, or an ARN ending in `instance/<id>`.
pub fn instance_id_of_resource(resource: &str) -> Option<&str> {
    let candidate = resource.rsplit_once("instance/").map_or(resource, |(_, id)| id);
    is_instance_id(candidate).then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../tests/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn running_fixture_parses_as_state_change() {
        let Ok(Event::InstanceStateChange(e)) = dispatch(fixture("ec2-state-running.json")) else {
            panic!("not a state change");
        };
        assert_eq!(e.detail.instance_id, "i-0abcd1111efgh2222");
        assert_eq!(e.detail.state, "running");
        assert_eq!(e.id.as_deref(), Some("7bf73129-1428-4cd3-a780-95db273d1602"));
        assert_eq!(e.region.as_deref(), Some("ap-northeast-2"));
    }

    #[test]
    fn stopped_fixture_parses_as_state_change() {
        let Ok(Event::InstanceStateChange(e)) = dispatch(fixture("ec2-state-stopped.json")) else {
            panic!("not a state change");
        };
        assert_eq!(e.detail.state, "stopped");
    }

    #[test]
    fn coverage_fixture_parses() {
        let Ok(Event::Coverage(e)) = dispatch(fixture("inspector2-coverage-unmanaged.json")) else {
            panic!("not a coverage event");
        };
        assert_eq!(e.detail.scan_status.reason, "UNMANAGED_EC2_INSTANCE");
        assert_eq!(e.resources.as_deref(), Some(&["i-0abcd1111efgh2222".to_owned()][..]));
    }

    #[test]
    fn command_status_change_parses() {
        let event = json!({
            "version": "0", "id": "e1", "source": "aws.ssm",
            "detail-type": "EC2 Command Invocation Status-change Notification",
            "account": "123456789012", "time": "2026-11-30T21:40:00Z", "region": "ap-northeast-2",
            "resources": ["arn:aws:ec2:ap-northeast-2:123456789012:instance/i-0abcd1111efgh2222"],
            "detail": {"command-id": "c-1", "document-name": "AWS-ConfigureAWSPackage",
                       "instance-id": "i-0abcd1111efgh2222", "requested-date-time": "2026-11-30T21:30:00.000Z",
                       "status": "Failed"}
        });
        let Ok(Event::CommandStatusChange(e)) = dispatch(event) else {
            panic!("not a command status change");
        };
        assert_eq!(e.detail.status, "Failed");
        assert_eq!(e.detail.command_id, "c-1");
    }

    #[test]
    fn finding_fixtures_are_not_agent_installer_events() {
        for name in ["inspector2-finding-ec2-package.json", "scheduled-event.json"] {
            let ignored = dispatch(fixture(name)).unwrap_err();
            assert!(
                ignored.reason.starts_with("unknown event"),
                "{name}: {}",
                ignored.reason
            );
        }
    }

    #[test]
    fn instance_ids_are_recognised_in_every_form() {
        assert_eq!(
            instance_id_of_resource("i-0abcd1111efab2222"),
            Some("i-0abcd1111efab2222")
        );
        assert_eq!(
            instance_id_of_resource("arn:aws:ec2:us-east-1:123456789012:instance/i-12345678"),
            Some("i-12345678")
        );
        for bad in [
            "",
            "i-",
            "i-XYZ",
            "vol-12345678",
            "i-1234567",
            "i-12345678é",
            "i-ｆｆｆｆｆｆｆｆ",
            "I-12345678",
        ] {
            assert_eq!(instance_id_of_resource(bad), None, "{bad:?}");
        }
        assert!(
            is_instance_id("i-0abcd1111efgh2222"),
            "the fixtures' id has the right shape"
        );
    }
}
