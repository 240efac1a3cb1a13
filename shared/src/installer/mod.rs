//! agent-installer's flow: make an EC2 instance SSM-managed and bring the Inspector plugin install
//! forward with Run Command, or say exactly why the instance cannot be reached.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::cloudwatch_events::ssm::EC2CommandInvocationStatusChange;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::InstallerConfig;
use crate::events::{dispatch, instance_id_of_resource, is_instance_id, Event};
use crate::ports::{
    CommandRequest, CommandSender, CommandSummary, Instance, InstanceDirectory, ManagedInstances, NetworkDirectory,
    Notification, Notifier,
};
use crate::text::clip;
use crate::Error;

/// First wait after `InvalidInstanceId`; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// Longest single wait between two sends.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Time kept before the Lambda deadline for the diagnosis and the notification.
const DEADLINE_RESERVE: Duration = Duration::from_secs(10);
/// Statuses of an earlier send that make a new one pointless.
const LIVE_STATUSES: [&str; 4] = ["Pending", "InProgress", "Delayed", "Success"];
/// The interface endpoints an instance without internet access needs to reach SSM.
const SSM_ENDPOINTS: [&str; 3] = ["ssm", "ssmmessages", "ec2messages"];
/// SSM's limit on a command comment.
const COMMENT_CHARS: usize = 100;
/// SNS's limit on a subject.
const SUBJECT_CHARS: usize = 100;
/// The longest piece of an event echoed back in a reason.
const ECHO_CHARS: usize = 64;

/// What happened, the answer's `outcome` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The Run Command was sent.
    CommandSent,
    /// A live or successful send of the document already exists within `DEDUP_HOURS`.
    AlreadySent,
    /// Not for us, or permanently unusable.
    Ignored,
    /// A private instance without the SSM endpoints: it can never become managed as it is.
    Unreachable,
    /// A failed Run Command was reported to `NOTIFY_TOPIC_ARN`.
    Notified,
    /// A failed Run Command, with no topic to report it to.
    CommandFailed,
}

/// agent-installer's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// What happened.
    pub outcome: Outcome,
    /// Why, in words.
    pub reason: Option<String>,
    /// The instance concerned.
    pub instance_id: Option<String>,
    /// The Run Command sent, found, or reported.
    pub command_id: Option<String>,
    /// The SSM document of a sent command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// `s3://bucket/prefix` of the command output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_location: Option<String>,
    /// `linux` or `windows`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<&'static str>,
    /// The instance profile this invocation associated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_associated: Option<String>,
    /// The SSM interface endpoints the instance's VPC lacks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_endpoints: Vec<String>,
    /// The SNS message id of a notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

impl Report {
    fn new(outcome: Outcome, reason: impl Into<String>) -> Self {
        Self {
            outcome,
            reason: Some(reason.into()),
            instance_id: None,
            command_id: None,
            document: None,
            output_location: None,
            platform: None,
            profile_associated: None,
            missing_endpoints: Vec::new(),
            message_id: None,
        }
    }

    /// An `ignored` answer with its reason.
    pub fn ignored(reason: impl Into<String>) -> Self {
        Self::new(Outcome::Ignored, reason)
    }

    fn for_instance(mut self, instance_id: &str) -> Self {
        self.instance_id = Some(instance_id.to_owned());
        self
    }
}

/// The message attributes of every agent-installer notification, for SNS filter policies.
fn message_attributes(event_type: &str, severity: &str, instance_id: &str) -> BTreeMap<String, String> {
    [
        ("eventType", event_type),
        ("severity", severity),
        ("instanceId", instance_id),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The ports agent-installer talks to.
#[derive(Clone)]
pub struct Ports {
    /// EC2 instances.
    pub instances: Arc<dyn InstanceDirectory>,
    /// EC2 route tables and VPC endpoints.
    pub network: Arc<dyn NetworkDirectory>,
    /// SSM Run Command.
    pub commands: Arc<dyn CommandSender>,
    /// SSM managed-instance inventory.
    pub managed: Arc<dyn ManagedInstances>,
    /// SNS.
    pub notifier: Arc<dyn Notifier>,
}

/// The result of sending until SSM knows the instance.
enum SendResult {
    Sent(String),
    NotManaged { waited: Duration },
}

/// agent-installer: configuration plus ports, built once at init.
pub struct Installer {
    config: InstallerConfig,
    ports: Ports,
}

impl Installer {
    /// Wires the flow to its configuration and ports.
    pub fn new(config: InstallerConfig, ports: Ports) -> Self {
        Self { config, ports }
    }

    /// Handles any JSON payload. `deadline` is the Lambda deadline, when known.
    pub async fn handle(&self, payload: Value, deadline: Option<Instant>) -> Result<Report, Error> {
        let event = match dispatch(payload) {
            Ok(event) => event,
            Err(ignored) => return Ok(Report::ignored(ignored.reason)),
        };
        let event_id = event.id().map(str::to_owned);
        match event {
            Event::InstanceStateChange(event) => {
                let detail = event.detail;
                if !is_instance_id(&detail.instance_id) {
                    return Ok(Report::ignored(format!(
                        "{:?} is not an EC2 instance id",
                        clip(&detail.instance_id, ECHO_CHARS)
                    )));
                }
                if detail.state != "running" {
                    return Ok(Report::ignored(format!(
                        "instance {} is {}, not running",
                        detail.instance_id,
                        clip(&detail.state, ECHO_CHARS)
                    ))
                    .for_instance(&detail.instance_id));
                }
                self.install(&detail.instance_id, event_id.as_deref(), deadline).await
            }
            Event::Coverage(event) => {
                let reason = &event.detail.scan_status.reason;
                if reason != "UNMANAGED_EC2_INSTANCE" {
                    return Ok(Report::ignored(format!(
                        "coverage reason is {:?}, not UNMANAGED_EC2_INSTANCE",
                        clip(reason, ECHO_CHARS)
                    )));
                }
                let resources = event.resources.unwrap_or_default();
                let Some(instance_id) = resources.iter().find_map(|r| instance_id_of_resource(r)) else {
                    return Ok(Report::ignored(format!(
                        "coverage event names no EC2 instance among its {} resources",
                        resources.len()
                    )));
                };
                self.install(instance_id, event_id.as_deref(), deadline).await
            }
            Event::CommandStatusChange(event) => self.report_failed_command(event.detail).await,
        }
    }

    async fn install(
        &self,
        instance_id: &str,
        event_id: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<Report, Error> {
        let Some(instance) = self.ports.instances.describe_instance(instance_id).await? else {
            return Ok(Report::ignored(format!("instance {instance_id} does not exist")).for_instance(instance_id));
        };
        if matches!(
            instance.state.as_str(),
            "shutting-down" | "terminated" | "stopping" | "stopped"
        ) {
            return Ok(
                Report::ignored(format!("instance {instance_id} is {}", instance.state)).for_instance(instance_id)
            );
        }
        if instance.tags.contains_key(&self.config.exclusion_tag) {
            return Ok(Report::ignored(format!(
                "instance {instance_id} has the exclusion tag {}",
                self.config.exclusion_tag
            ))
            .for_instance(instance_id));
        }

        let profile_associated = self.ensure_profile(&instance).await?;

        if let Some(earlier) = self.earlier_send(instance_id).await? {
            let mut report = Report::new(
                Outcome::AlreadySent,
                format!(
                    "{} was already sent to {instance_id} as command {} ({}) within {} hours",
                    self.config.document,
                    earlier.command_id,
                    earlier.status,
                    self.config.dedup.as_secs() / 3600
                ),
            )
            .for_instance(instance_id);
            report.command_id = Some(earlier.command_id);
            report.profile_associated = profile_associated;
            return Ok(report);
        }

        let request = self.command_request(instance_id, event_id);
        match self.send_until_managed(&request, deadline).await? {
            SendResult::Sent(command_id) => {
                tracing::info!(instance_id, command_id, document = %request.document, "run command sent");
                let mut report = Report::new(
                    Outcome::CommandSent,
                    format!("sent {} to {instance_id}", request.document),
                )
                .for_instance(instance_id);
                report.command_id = Some(command_id);
                report.document = Some(request.document);
                report.output_location = request
                    .output_bucket
                    .as_ref()
                    .map(|bucket| format!("s3://{bucket}/{}", request.output_prefix.as_deref().unwrap_or_default()));
                report.platform = Some(instance.platform.as_str());
                report.profile_associated = profile_associated;
                Ok(report)
            }
            SendResult::NotManaged { waited } => self.diagnose(&instance, waited, profile_associated).await,
        }
    }

    /// Associates `INSTANCE_PROFILE_ARN` when the instance has no profile at all. An existing
    /// profile is never replaced: that could widen the instance's IAM role.
    async fn ensure_profile(&self, instance: &Instance) -> Result<Option<String>, Error> {
        if instance.instance_profile_arn.is_some() {
            return Ok(None);
        }
        let Some(profile_arn) = &self.config.instance_profile_arn else {
            return Ok(None);
        };
        self.ports
            .instances
            .associate_instance_profile(&instance.id, profile_arn)
            .await?;
        tracing::info!(instance_id = %instance.id, profile_arn, "instance profile associated");
        Ok(Some(profile_arn.clone()))
    }

    async fn earlier_send(&self, instance_id: &str) -> Result<Option<CommandSummary>, Error> {
        if self.config.dedup.is_zero() {
            return Ok(None);
        }
        let since = SystemTime::now()
            .checked_sub(self.config.dedup)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let commands = self
            .ports
            .commands
            .recent_commands(instance_id, &self.config.document, since)
            .await?;
        Ok(commands
            .into_iter()
            .find(|c| LIVE_STATUSES.contains(&c.status.as_str())))
    }

    fn command_request(&self, instance_id: &str, event_id: Option<&str>) -> CommandRequest {
        let comment = match event_id {
            Some(id) => format!("inspector-autopilot event {id}"),
            None => "inspector-autopilot".to_owned(),
        };
        CommandRequest {
            instance_id: instance_id.to_owned(),
            document: self.config.document.clone(),
            parameters: self.config.parameters.clone(),
            output_bucket: self.config.output_bucket.clone(),
            output_prefix: self
                .config
                .output_bucket
                .as_ref()
                .map(|_| self.config.output_prefix.clone()),
            comment: clip(&comment, COMMENT_CHARS),
        }
    }

    /// Sends, retrying `InvalidInstanceId` with backoff for up to `SSM_WAIT_SECONDS`, and never
    /// past the Lambda deadline less [`DEADLINE_RESERVE`].
    async fn send_until_managed(
        &self,
        request: &CommandRequest,
        deadline: Option<Instant>,
    ) -> Result<SendResult, Error> {
        let started = Instant::now();
        let mut give_up = started + self.config.ssm_wait;
        if let Some(deadline) = deadline {
            give_up = give_up.min(deadline.checked_sub(DEADLINE_RESERVE).unwrap_or(started));
        }
        let mut delay = FIRST_BACKOFF;
        loop {
            match self.ports.commands.send_command(request).await {
                Ok(command_id) => return Ok(SendResult::Sent(command_id)),
                Err(Error::NotManaged { .. }) => {
                    let remaining = give_up.saturating_duration_since(Instant::now());
                    if remaining.is_zero() {
                        return Ok(SendResult::NotManaged {
                            waited: started.elapsed(),
                        });
                    }
                    let pause = delay.min(remaining);
                    tracing::info!(instance_id = %request.instance_id, wait_ms = pause.as_millis() as u64,
                        "instance not SSM-managed yet; waiting");
                    tokio::time::sleep(pause).await;
                    delay = (delay * 2).min(MAX_BACKOFF);
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// Finds out why SSM still does not know the instance. A private instance whose VPC lacks SSM
    /// endpoints is `unreachable` (notified); anything else may still resolve, so it is retryable.
    async fn diagnose(
        &self,
        instance: &Instance,
        waited: Duration,
        profile_associated: Option<String>,
    ) -> Result<Report, Error> {
        let id = instance.id.as_str();
        let ping = match self.ports.managed.ping_status(id).await {
            Ok(Some(status)) => format!("SSM ping status {status}"),
            Ok(None) => "not registered with SSM".to_owned(),
            Err(err) => {
                tracing::warn!(instance_id = id, error = %err, "could not read the SSM ping status");
                "SSM ping status unknown".to_owned()
            }
        };
        let profile = match (&instance.instance_profile_arn, &profile_associated) {
            (Some(arn), _) | (None, Some(arn)) => {
                format!("check that the role of {arn} has the AmazonSSMManagedInstanceCore policy")
            }
            (None, None) => "it has no IAM instance profile: attach one whose role has the \
                AmazonSSMManagedInstanceCore policy (or set INSTANCE_PROFILE_ARN), or turn on \
                Default Host Management Configuration"
                .to_owned(),
        };
        let (Some(subnet_id), Some(vpc_id)) = (&instance.subnet_id, &instance.vpc_id) else {
            return Err(Error::StillUnmanaged {
                instance_id: id.to_owned(),
                waited_secs: waited.as_secs(),
                diagnosis: format!("{ping}; the instance has no subnet or VPC to check; {profile}"),
            });
        };

        let route_target = self.ports.network.default_route_target(subnet_id, vpc_id).await?;
        let (has_egress, route) = match &route_target {
            Some(target) if target.starts_with("igw-") && instance.public_ip.is_none() => {
                (false, format!("default route via {target} but no public IP"))
            }
            Some(target) => (true, format!("default route via {target}")),
            None => (false, format!("no default route in subnet {subnet_id}")),
        };
        let services = self.ports.network.interface_endpoint_services(vpc_id).await?;
        let missing: Vec<String> = SSM_ENDPOINTS
            .iter()
            .filter(|short| !services.iter().any(|s| s.rsplit('.').next() == Some(**short)))
            .map(|short| format!("com.amazonaws.{}.{short}", self.config.region))
            .collect();

        if has_egress || missing.is_empty() {
            let endpoints = if missing.is_empty() {
                "all SSM endpoints present".to_owned()
            } else {
                format!("VPC endpoints missing: {}", missing.join(", "))
            };
            return Err(Error::StillUnmanaged {
                instance_id: id.to_owned(),
                waited_secs: waited.as_secs(),
                diagnosis: format!("{ping}; {route}; {endpoints}; {profile}"),
            });
        }

        let reason = format!(
            "instance {id} is in a private subnet ({route}) and VPC {vpc_id} lacks the SSM interface \
             endpoints {}; {profile}",
            missing.join(", ")
        );
        tracing::warn!(instance_id = id, %reason, "instance cannot reach SSM");
        let mut report = Report::new(Outcome::Unreachable, reason.clone()).for_instance(id);
        report.missing_endpoints = missing;
        report.platform = Some(instance.platform.as_str());
        report.profile_associated = profile_associated;
        if let Some(topic_arn) = &self.config.notify_topic_arn {
            let notification = Notification {
                topic_arn: topic_arn.clone(),
                subject: clip(&format!("inspector-autopilot: {id} cannot reach SSM"), SUBJECT_CHARS),
                message: format!(
                    "Amazon Inspector cannot scan EC2 instance {id}: it is not SSM-managed after {}s.\n\n\
                     {reason}.\n\nFix: create interface endpoints for {} in VPC {vpc_id} (private DNS on, \
                     security group allowing 443 from the VPC), or give the subnet a NAT route.\n\
                     Found: {ping}.",
                    waited.as_secs(),
                    report.missing_endpoints.join(", "),
                ),
                attributes: message_attributes("instance-unreachable", "error", id),
            };
            report.message_id = Some(self.ports.notifier.publish(&notification).await?);
        }
        Ok(report)
    }

    /// Reports a Run Command of our document that failed or timed out.
    async fn report_failed_command(&self, detail: EC2CommandInvocationStatusChange) -> Result<Report, Error> {
        if detail.document_name != self.config.document {
            return Ok(Report::ignored(format!(
                "command ran document {:?}, not {}",
                clip(&detail.document_name, ECHO_CHARS),
                self.config.document
            )));
        }
        if !matches!(detail.status.as_str(), "Failed" | "TimedOut") {
            return Ok(Report::ignored(format!(
                "command status is {:?}; only Failed and TimedOut are reported",
                clip(&detail.status, ECHO_CHARS)
            )));
        }
        let id = detail.instance_id.as_str();
        if !is_instance_id(id) {
            return Ok(Report::ignored(format!(
                "{:?} is not an EC2 instance id",
                clip(id, ECHO_CHARS)
            )));
        }
        let command_id = clip(&detail.command_id, ECHO_CHARS);
        let managed = match self.ports.managed.ping_status(id).await {
            Ok(status) => Some(status.as_deref() == Some("Online")),
            Err(err) => {
                tracing::warn!(instance_id = id, error = %err, "could not read the SSM ping status");
                None
            }
        };
        // A managed instance still gets the plugin from Inspector's own associations (DESIGN.md).
        let (severity, meaning) = match managed {
            Some(true) => (
                "warning",
                "The instance is SSM-managed and online, so Inspector's own associations will still install the plugin.",
            ),
            Some(false) => (
                "error",
                "The instance is not SSM-managed and online: Inspector cannot scan it until it is.",
            ),
            None => ("error", "The instance's SSM status could not be read."),
        };
        let reason = format!("run command {command_id} {} on {id} ({severity})", detail.status);
        tracing::warn!(instance_id = id, command_id, status = %detail.status, severity, "run command failed");

        let Some(topic_arn) = &self.config.notify_topic_arn else {
            let mut report =
                Report::new(Outcome::CommandFailed, format!("{reason}; NOTIFY_TOPIC_ARN is not set")).for_instance(id);
            report.command_id = Some(command_id);
            return Ok(report);
        };
        let output = match &self.config.output_bucket {
            Some(bucket) => format!("s3://{bucket}/{}/{command_id}/{id}/", self.config.output_prefix),
            None => "not kept (RUN_COMMAND_OUTPUT_BUCKET is not set)".to_owned(),
        };
        let notification = Notification {
            topic_arn: topic_arn.clone(),
            subject: clip(
                &format!("inspector-autopilot: Run Command {} on {id}", detail.status),
                SUBJECT_CHARS,
            ),
            message: format!(
                "Run Command {command_id} ({}) {} on EC2 instance {id}.\nRequested: {}\n\n{meaning}\n\n\
                 Output: {output}\nDetails: aws ssm list-command-invocations --command-id {command_id} --details",
                self.config.document,
                detail.status,
                clip(&detail.requested_date_time, ECHO_CHARS),
            ),
            attributes: message_attributes("run-command-failed", severity, id),
        };
        let message_id = self.ports.notifier.publish(&notification).await?;
        let mut report = Report::new(Outcome::Notified, reason).for_instance(id);
        report.command_id = Some(command_id);
        report.message_id = Some(message_id);
        Ok(report)
    }
}

#[cfg(test)]
mod tests;
