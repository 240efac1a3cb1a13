//! finding-router's entry point: wiring only (tracing, config, one SdkConfig, adapters, run).

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{service_fn, Error};
use shared::aws::{rules::AwsRulesStore, sns::SnsNotifier};
use shared::config::RouterConfig;
use shared::router::Router;
use shared::rules::source::RulesCache;

/// How long the rules stay trusted before their ETag or version is checked again: a busy
/// function calls S3 or SSM at most once a minute, and a rules change applies within a minute.
const RULES_MAX_AGE: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = RouterConfig::from_env().inspect_err(|err| tracing::error!(error = %err, "init failed"))?;
    let sdk_config = shared::aws::load_sdk_config().await;
    let rules = config.rules_uri.clone().map(|uri| {
        let store = Arc::new(AwsRulesStore::for_uri(&uri, &sdk_config));
        RulesCache::new(uri, store).with_max_age(RULES_MAX_AGE)
    });
    let router = Router::new(config, rules, Arc::new(SnsNotifier::new(&sdk_config)));
    lambda_runtime::run(service_fn(|event| finding_router::handler::handle(&router, event))).await
}
