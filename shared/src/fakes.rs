//! Recording fakes of the ports, for unit tests here and in the function crates.
//! Built only for tests or with the `fakes` feature (a dev-dependency feature).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;

use crate::installer::Ports;
use crate::ports::{
    CommandRequest, CommandSender, CommandSummary, Instance, InstanceDirectory, ManagedInstances, NetworkDirectory,
    Notification, Notifier, Platform,
};
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
        match state.publish_failure {
            Some(class) => Err(fake_error("Publish", class)),
            None => Ok(format!("message-{}", state.calls.len())),
        }
    }
}
