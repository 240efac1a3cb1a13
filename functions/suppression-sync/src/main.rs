//! suppression-sync's entry point: wiring only (tracing, config, one SdkConfig, adapters, run).

use std::sync::Arc;

use lambda_runtime::{service_fn, Error};
use shared::aws::{inspector2::Inspector2Adapter, rules::AwsRulesStore};
use shared::config::SyncConfig;
use shared::rules::source::RulesCache;
use shared::sync::Syncer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = SyncConfig::from_env().inspect_err(|err| tracing::error!(error = %err, "init failed"))?;
    let sdk_config = shared::aws::load_sdk_config().await;
    let store = Arc::new(AwsRulesStore::for_uri(&config.rules_uri, &sdk_config));
    let rules = RulesCache::new(config.rules_uri, store);
    let filters = Arc::new(Inspector2Adapter::new(&sdk_config));
    let syncer = Syncer::new(rules, filters, config.managed_tag);
    lambda_runtime::run(service_fn(|event| suppression_sync::handler::handle(&syncer, event))).await
}
