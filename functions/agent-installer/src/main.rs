//! agent-installer's entry point: wiring only (tracing, config, one SdkConfig, adapters, run).

use std::sync::Arc;

use lambda_runtime::{service_fn, Error};
use shared::aws::{ec2::Ec2Adapter, sns::SnsNotifier, ssm::SsmAdapter};
use shared::config::InstallerConfig;
use shared::installer::{Installer, Ports};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = InstallerConfig::from_env().inspect_err(|err| tracing::error!(error = %err, "init failed"))?;
    let sdk_config = shared::aws::load_sdk_config().await;
    let ec2 = Arc::new(Ec2Adapter::new(&sdk_config));
    let ssm = Arc::new(SsmAdapter::new(&sdk_config));
    let ports = Ports {
        instances: ec2.clone(),
        network: ec2,
        commands: ssm.clone(),
        managed: ssm,
        notifier: Arc::new(SnsNotifier::new(&sdk_config)),
    };
    let installer = Installer::new(config, ports);
    lambda_runtime::run(service_fn(|event| agent_installer::handler::handle(&installer, event))).await
}
