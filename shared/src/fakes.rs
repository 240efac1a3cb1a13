//! Recording fakes of the ports, for unit tests here and in the function crates.
//! Built only for tests or with the `fakes` feature (a dev-dependency feature).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;

use crate::filter::FilterCriteria;
use crate::installer::Ports;
use crate::ports::{
    CommandRequest, CommandSender, CommandSummary, FilterSpec, FilterStore, Instance, InstanceDirectory,
    ManagedInstances, NetworkDirectory, Notification, Notifier, Platform, StoredFilter,
};
use crate::rules::source::{Fetched, RulesStore, RulesUri};
use crate::{Error, ErrorClass};

/// One call a fake received, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `InstanceDirectory::describe_instance`.
    DescribeInstance(String),
    /// `InstanceDirectory::associate_instance_profile`.
    AssociateProfile {
        /// Instance.
        instance_id: String,
        /// Profile ARN.
        profile_arn: String,
    },
    /// `NetworkDirectory::default_route_target`.
    DefaultRoute {
        /// Subnet.
        subnet_id: String,
    },
    /// `NetworkDirectory::interface_endpoint_services`.
    Endpoints {
        /// VPC.
        vpc_id: String,
    },
    /// `CommandSender::send_command`.
    SendCommand(CommandRequest),
    /// `CommandSender::recent_commands`.
    RecentCommands {
        /// Instance.
        instance_id: String,
        /// Document.
        document: String,
    },
    /// `ManagedInstances::ping_status`.
    PingStatus(String),
    /// `Notifier::publish`.
    Publish(Notification),
}

/// What the fake AWS holds and how it answers.
#[derive(Debug, Default)]
pub struct FakeState {
    /// Instances by id.
    pub instances: BTreeMap<String, Instance>,
    /// Default route target by subnet.
    pub route_targets: BTreeMap<String, String>,
    /// Interface endpoint service names by VPC.
    pub endpoint_services: BTreeMap<String, Vec<String>>,
    /// Earlier sends by (instance, document), newest first.
    pub history: BTreeMap<(String, String), Vec<CommandSummary>>,
    /// How many sends answer `InvalidInstanceId` before one succeeds (`usize::MAX`: always).
    pub not_managed_sends: usize,
    /// SSM ping status by instance.
    pub ping: BTreeMap<String, String>,
    /// When set, `publish` fails with this class.
    pub publish_failure: Option<ErrorClass>,
    /// When set, `publish` fails (retryably) for messages whose body contains this text.
    pub publish_failure_on: Option<String>,
    /// Every call, in order.
    pub calls: Vec<Call>,
    sends: usize,
}

/// A fake of every agent-installer port, sharing one [`FakeState`].
#[derive(Debug, Default, Clone)]
pub struct FakeAws {
    state: Arc<Mutex<FakeState>>,
}

impl FakeAws {
    /// An empty fake AWS.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state, to arrange or to inspect.
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The commands sent so far.
    pub fn sent(&self) -> Vec<CommandRequest> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::SendCommand(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// The notifications published so far.
    pub fn published(&self) -> Vec<Notification> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Publish(n) => Some(n),
                _ => None,
            })
            .collect()
    }

    /// Ports that all lead to this fake.
    pub fn ports(&self) -> Ports {
        let this = Arc::new(self.clone());
        Ports {
            instances: this.clone(),
            network: this.clone(),
            commands: this.clone(),
            managed: this.clone(),
            notifier: this,
        }
    }

    fn record(&self, call: Call) -> MutexGuard<'_, FakeState> {
        let mut state = self.state();
        state.calls.push(call);
        state
    }
}

/// A running Linux instance in subnet `subnet-1` of `vpc-1`, with no profile and no public IP.
pub fn instance(id: &str) -> Instance {
    Instance {
        id: id.to_owned(),
        state: "running".to_owned(),
        platform: Platform::Linux,
        tags: BTreeMap::new(),
        instance_profile_arn: None,
        subnet_id: Some("subnet-1".to_owned()),
        vpc_id: Some("vpc-1".to_owned()),
        public_ip: None,
    }
}

fn fake_error(operation: &'static str, class: ErrorClass) -> Error {
    Error::Aws {
        service: "fake",
        operation,
        code: Some("FakeFailure".to_owned()),
        class,
        detail: "the fake was told to fail".to_owned(),
        source: "fake failure".into(),
    }
}

#[async_trait]
impl InstanceDirectory for FakeAws {
    async fn describe_instance(&self, instance_id: &str) -> Result<Option<Instance>, Error> {
        Ok(self
            .record(Call::DescribeInstance(instance_id.to_owned()))
            .instances
            .get(instance_id)
            .cloned())
    }

    async fn associate_instance_profile(&self, instance_id: &str, profile_arn: &str) -> Result<(), Error> {
        let mut state = self.record(Call::AssociateProfile {
            instance_id: instance_id.to_owned(),
            profile_arn: profile_arn.to_owned(),
        });
        if let Some(instance) = state.instances.get_mut(instance_id) {
            instance.instance_profile_arn = Some(profile_arn.to_owned());
        }
        Ok(())
    }
}

#[async_trait]
impl NetworkDirectory for FakeAws {
    async fn default_route_target(&self, subnet_id: &str, _vpc_id: &str) -> Result<Option<String>, Error> {
        Ok(self
            .record(Call::DefaultRoute {
                subnet_id: subnet_id.to_owned(),
            })
            .route_targets
            .get(subnet_id)
            .cloned())
    }

    async fn interface_endpoint_services(&self, vpc_id: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .record(Call::Endpoints {
                vpc_id: vpc_id.to_owned(),
            })
            .endpoint_services
            .get(vpc_id)
            .cloned()
            .unwrap_or_default())
    }
}

#[async_trait]
impl CommandSender for FakeAws {
    async fn send_command(&self, request: &CommandRequest) -> Result<String, Error> {
        let mut state = self.record(Call::SendCommand(request.clone()));
        state.sends += 1;
        if state.sends <= state.not_managed_sends {
            return Err(Error::NotManaged {
                instance_id: request.instance_id.clone(),
            });
        }
        let command_id = format!("command-{}", state.sends);
        state
            .history
            .entry((request.instance_id.clone(), request.document.clone()))
            .or_default()
            .insert(
                0,
                CommandSummary {
                    command_id: command_id.clone(),
                    status: "Pending".to_owned(),
                },
            );
        Ok(command_id)
    }

    async fn recent_commands(
        &self,
        instance_id: &str,
        document: &str,
        _since: SystemTime,
    ) -> Result<Vec<CommandSummary>, Error> {
        Ok(self
            .record(Call::RecentCommands {
                instance_id: instance_id.to_owned(),
                document: document.to_owned(),
            })
            .history
            .get(&(instance_id.to_owned(), document.to_owned()))
            .cloned()
            .unwrap_or_default())
    }
}

#[async_trait]
impl ManagedInstances for FakeAws {
    async fn ping_status(&self, instance_id: &str) -> Result<Option<String>, Error> {
        Ok(self
            .record(Call::PingStatus(instance_id.to_owned()))
            .ping
            .get(instance_id)
            .cloned())
    }
}

#[async_trait]
impl Notifier for FakeAws {
    async fn publish(&self, notification: &Notification) -> Result<String, Error> {
        let state = self.record(Call::Publish(notification.clone()));
        let targeted = state
            .publish_failure_on
            .as_deref()
            .is_some_and(|text| notification.message.contains(text));
        match (state.publish_failure, targeted) {
            (Some(class), _) => Err(fake_error("Publish", class)),
            (None, true) => Err(fake_error("Publish", ErrorClass::Retryable)),
            (None, false) => Ok(format!("message-{}", state.calls.len())),
        }
    }
}

/// One call [`FakeFilters`] received.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterCall {
    /// `list_suppression_filters`.
    List,
    /// `create`, by name.
    Create(String),
    /// `update`, by ARN.
    Update(String),
    /// `retag`: ARN, tags put, keys removed.
    Retag(String, BTreeMap<String, String>, Vec<String>),
    /// `delete`, by ARN.
    Delete(String),
}

/// What [`FakeFilters`] holds and has seen.
#[derive(Debug, Default)]
pub struct FakeFilterState {
    /// The account's suppression filters, in creation order.
    pub filters: Vec<StoredFilter>,
    /// Every call, in order.
    pub calls: Vec<FilterCall>,
    /// Fail every call after this many changes (create/update/retag/delete), with a throttle.
    pub fail_after_changes: Option<usize>,
    next_id: usize,
}

impl FakeFilterState {
    /// Stores `filter` under a new ARN, as `CreateFilter` does, and returns the ARN.
    fn push(&mut self, mut filter: StoredFilter) -> String {
        self.next_id += 1;
        filter.arn = format!(
            "arn:aws:inspector2:ap-northeast-2:123456789012:owner/123456789012/filter/f{}",
            self.next_id
        );
        let arn = filter.arn.clone();
        self.filters.push(filter);
        arn
    }
}

/// An in-memory Inspector2 filter store with Inspector's behaviour: ARNs on create, tags kept
/// with the filter, `UpdateFilter` leaving tags alone.
#[derive(Clone, Default)]
pub struct FakeFilters {
    state: Arc<Mutex<FakeFilterState>>,
}

impl FakeFilters {
    /// An empty account.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state, for setting up and checking.
    pub fn state(&self) -> MutexGuard<'_, FakeFilterState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a filter as if made elsewhere (a person, or an earlier run); returns its ARN.
    pub fn insert(&self, name: &str, criteria: FilterCriteria, tags: &[(&str, &str)]) -> String {
        self.state().push(StoredFilter {
            arn: String::new(),
            name: name.to_owned(),
            description: None,
            reason: None,
            criteria: Some(criteria),
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        })
    }

    /// The filters, by name.
    pub fn names(&self) -> Vec<String> {
        self.state().filters.iter().map(|f| f.name.clone()).collect()
    }

    /// The calls that change something.
    pub fn changes(&self) -> Vec<FilterCall> {
        self.state()
            .calls
            .iter()
            .filter(|c| !matches!(c, FilterCall::List))
            .cloned()
            .collect()
    }

    fn record(&self, call: FilterCall) -> Result<MutexGuard<'_, FakeFilterState>, Error> {
        let mut state = self.state();
        let is_change = !matches!(call, FilterCall::List);
        state.calls.push(call);
        let changes = state.calls.iter().filter(|c| !matches!(c, FilterCall::List)).count();
        if is_change && state.fail_after_changes.is_some_and(|n| changes > n) {
            return Err(Error::Aws {
                service: "inspector2",
                operation: "fake",
                code: Some("ThrottlingException".into()),
                class: ErrorClass::Retryable,
                detail: "ThrottlingException: injected".into(),
                source: "injected".into(),
            });
        }
        Ok(state)
    }
}

fn not_found(arn: &str) -> Error {
    Error::Aws {
        service: "inspector2",
        operation: "fake",
        code: Some("ResourceNotFoundException".into()),
        class: ErrorClass::Config,
        detail: format!("no filter {arn}"),
        source: "not found".into(),
    }
}

#[async_trait]
impl FilterStore for FakeFilters {
    async fn list_suppression_filters(&self) -> Result<Vec<StoredFilter>, Error> {
        Ok(self.record(FilterCall::List)?.filters.clone())
    }

    async fn create(&self, spec: &FilterSpec) -> Result<String, Error> {
        let mut state = self.record(FilterCall::Create(spec.name.clone()))?;
        Ok(state.push(StoredFilter {
            arn: String::new(),
            name: spec.name.clone(),
            description: Some(spec.description.clone()),
            reason: Some(spec.reason.clone()),
            criteria: Some(spec.criteria.clone()),
            tags: spec.tags.clone(),
        }))
    }

    async fn update(&self, arn: &str, spec: &FilterSpec) -> Result<(), Error> {
        let mut state = self.record(FilterCall::Update(arn.to_owned()))?;
        let filter = state
            .filters
            .iter_mut()
            .find(|f| f.arn == arn)
            .ok_or_else(|| not_found(arn))?;
        filter.name = spec.name.clone();
        filter.description = Some(spec.description.clone());
        filter.reason = Some(spec.reason.clone());
        filter.criteria = Some(spec.criteria.clone());
        Ok(())
    }

    async fn retag(&self, arn: &str, put: &BTreeMap<String, String>, remove: &[String]) -> Result<(), Error> {
        let mut state = self.record(FilterCall::Retag(arn.to_owned(), put.clone(), remove.to_vec()))?;
        let filter = state
            .filters
            .iter_mut()
            .find(|f| f.arn == arn)
            .ok_or_else(|| not_found(arn))?;
        filter.tags.extend(put.iter().map(|(k, v)| (k.clone(), v.clone())));
        filter.tags.retain(|k, _| !remove.contains(k));
        Ok(())
    }

    async fn delete(&self, arn: &str) -> Result<(), Error> {
        let mut state = self.record(FilterCall::Delete(arn.to_owned()))?;
        let before = state.filters.len();
        state.filters.retain(|f| f.arn != arn);
        match state.filters.len() < before {
            true => Ok(()),
            false => Err(not_found(arn)),
        }
    }
}

/// A rules store that serves a body at a version and counts fetches.
#[derive(Clone, Default)]
pub struct FakeRules {
    inner: Arc<Mutex<(Option<Fetched>, usize)>>,
}

impl FakeRules {
    /// A store that serves `body` at `version`.
    pub fn new(version: &str, body: &str) -> Self {
        let rules = Self::default();
        rules.set(version, body);
        rules
    }

    /// Replaces the file.
    pub fn set(&self, version: &str, body: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.0 = Some(Fetched {
                version: version.to_owned(),
                body: body.as_bytes().to_vec(),
            });
        }
    }

    /// How many fetches returned a body.
    pub fn downloads(&self) -> usize {
        self.inner.lock().map(|inner| inner.1).unwrap_or_default()
    }
}

#[async_trait]
impl RulesStore for FakeRules {
    async fn fetch(&self, uri: &RulesUri, known_version: Option<&str>) -> Result<Option<Fetched>, Error> {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(fetched) = inner.0.clone() else {
            return Err(Error::Aws {
                service: "s3",
                operation: "GetObject",
                code: Some("NoSuchKey".into()),
                class: ErrorClass::Config,
                detail: format!("NoSuchKey: {uri}"),
                source: "no such key".into(),
            });
        };
        if known_version == Some(fetched.version.as_str()) {
            return Ok(None);
        }
        inner.1 += 1;
        Ok(Some(fetched))
    }
}

#[path = "fakes_export.rs"]
mod export;
pub use export::{BucketFault, FakeBucket, FakeFindings, FakeReports};
