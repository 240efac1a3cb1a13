//! Narrow ports to AWS, one small async trait per capability, returning our own types.

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::config::DocumentParameters;
use crate::filter::FilterCriteria;
use crate::Error;

/// An instance's operating-system family, as EC2 reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Anything EC2 does not flag as Windows.
    Linux,
    /// EC2 `Platform: windows`.
    Windows,
}

impl Platform {
    /// Lowercase name for answers and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Linux => "linux",
            Platform::Windows => "windows",
        }
    }
}

/// What agent-installer needs to know about an EC2 instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// `i-…`.
    pub id: String,
    /// EC2 state name: `pending`, `running`, `stopped`, `terminated`, …
    pub state: String,
    /// Linux or Windows.
    pub platform: Platform,
    /// Tag key → value.
    pub tags: BTreeMap<String, String>,
    /// The associated instance profile, if any.
    pub instance_profile_arn: Option<String>,
    /// The instance's subnet.
    pub subnet_id: Option<String>,
    /// The instance's VPC.
    pub vpc_id: Option<String>,
    /// Its public IPv4 address, if any: an internet gateway route is only useful with one.
    pub public_ip: Option<String>,
}

/// Reads and changes EC2 instances.
#[async_trait]
pub trait InstanceDirectory: Send + Sync {
    /// The instance, or `None` when EC2 does not know it.
    async fn describe_instance(&self, instance_id: &str) -> Result<Option<Instance>, Error>;

    /// Associates an instance profile. An association that already exists counts as success.
    async fn associate_instance_profile(&self, instance_id: &str, profile_arn: &str) -> Result<(), Error>;
}

/// Reads the network facts that decide whether an instance can reach SSM.
#[async_trait]
pub trait NetworkDirectory: Send + Sync {
    /// The target (`igw-…`, `nat-…`, `tgw-…`, …) of the subnet's default route, following the
    /// VPC's main route table when the subnet has no table of its own; `None` without one.
    async fn default_route_target(&self, subnet_id: &str, vpc_id: &str) -> Result<Option<String>, Error>;

    /// Service names (`com.amazonaws.<region>.ssm`, …) of the VPC's usable interface endpoints.
    async fn interface_endpoint_services(&self, vpc_id: &str) -> Result<Vec<String>, Error>;
}

/// One Run Command to send.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRequest {
    /// The target instance.
    pub instance_id: String,
    /// The SSM document.
    pub document: String,
    /// The document's parameters.
    pub parameters: DocumentParameters,
    /// S3 bucket for the command output.
    pub output_bucket: Option<String>,
    /// Key prefix for the command output (only with a bucket).
    pub output_prefix: Option<String>,
    /// At most 100 characters; carries the triggering event id.
    pub comment: String,
}

/// A Run Command seen in SSM's history.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSummary {
    /// The command id.
    pub command_id: String,
    /// SSM status: `Pending`, `InProgress`, `Success`, `Failed`, …
    pub status: String,
}

/// Sends Run Commands and reads their history.
#[async_trait]
pub trait CommandSender: Send + Sync {
    /// Sends the command and returns its id. `Error::NotManaged` when SSM does not know the
    /// instance yet (`InvalidInstanceId`).
    async fn send_command(&self, request: &CommandRequest) -> Result<String, Error>;

    /// Commands of `document` sent to `instance_id` since `since`, newest first.
    async fn recent_commands(
        &self,
        instance_id: &str,
        document: &str,
        since: SystemTime,
    ) -> Result<Vec<CommandSummary>, Error>;
}

/// Reads SSM's view of managed instances.
#[async_trait]
pub trait ManagedInstances: Send + Sync {
    /// The instance's SSM ping status (`Online`, `ConnectionLost`, `Inactive`), or `None` when SSM
    /// has never heard of it.
    async fn ping_status(&self, instance_id: &str) -> Result<Option<String>, Error>;
}

/// One message for people.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The SNS topic.
    pub topic_arn: String,
    /// At most 100 printable ASCII characters.
    pub subject: String,
    /// Plain text.
    pub message: String,
    /// String message attributes, for subscription filter policies.
    pub attributes: BTreeMap<String, String>,
}

/// Publishes notifications.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Publishes and returns the message id.
    async fn publish(&self, notification: &Notification) -> Result<String, Error>;
}

/// An Inspector2 suppression filter as Inspector holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFilter {
    /// The filter's ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// Its reason, if any.
    pub reason: Option<String>,
    /// Its criteria; `None` when they hold a value this build cannot represent, which then
    /// always counts as a difference.
    pub criteria: Option<FilterCriteria>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// What a managed suppression filter should be.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterSpec {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Reason.
    pub reason: String,
    /// Criteria.
    pub criteria: FilterCriteria,
    /// Every tag the filter should carry, the managed tag included.
    pub tags: BTreeMap<String, String>,
}

/// Inspector2's suppression filters (`action = SUPPRESS`).
#[async_trait]
pub trait FilterStore: Send + Sync {
    /// Every suppression filter of the account, managed or not, all pages.
    async fn list_suppression_filters(&self) -> Result<Vec<StoredFilter>, Error>;
    /// `CreateFilter` with action SUPPRESS and the spec's tags; returns the new ARN.
    async fn create(&self, spec: &FilterSpec) -> Result<String, Error>;
    /// `UpdateFilter`: name, description, reason, criteria and action SUPPRESS.
    async fn update(&self, arn: &str, spec: &FilterSpec) -> Result<(), Error>;
    /// `TagResource` with `put` and `UntagResource` with `remove` (each skipped when empty).
    async fn retag(&self, arn: &str, put: &BTreeMap<String, String>, remove: &[String]) -> Result<(), Error>;
    /// `DeleteFilter`.
    async fn delete(&self, arn: &str) -> Result<(), Error>;
}
