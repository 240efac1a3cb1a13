//! finding-router's entry point: wiring only (tracing, config, one SdkConfig, adapters, run).

use std::sync::Arc;

use lambda_runtime::{service_fn, Error};
use shared::aws::{rules::AwsRulesStore, sns::SnsNotifier};
use shared::config::RouterConfig;
use shared::router::Router;
use shared::rules::source::RulesCache;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = RouterConfig::from_env().inspect_err(|err| tracing::error!(error = %err, "init failed"))?;
    let sdk_config = shared::aws::load_sdk_config().await;
    let rules = config.rules_uri.clone().map(|uri| {
        let store = Arc::new(AwsRulesStore::for_uri(&uri, &sdk_config));
        RulesCache::new(uri, store)
    });
    let router = Router::new(config, rules, Arc::new(SnsNotifier::new(&sdk_config)));
    lambda_runtime::run(service_fn(|event| finding_router::handler::handle(&router, event))).await
}
