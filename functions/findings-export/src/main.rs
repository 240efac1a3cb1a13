//! findings-export's entry point: wiring only (tracing, config, one SdkConfig, adapters, run).

use std::sync::Arc;

use lambda_runtime::{service_fn, Error};
use shared::aws::{export_bucket::S3ExportStore, findings::Inspector2Findings};
use shared::config::ExportConfig;
use shared::export::flow::{ExportTarget, Exporter};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::export::keep_parts_off_the_heap();
    shared::telemetry::init();
    let config = ExportConfig::from_env().inspect_err(|err| tracing::error!(error = %err, "init failed"))?;
    let sdk_config = shared::aws::load_sdk_config().await;
    let inspector = Arc::new(Inspector2Findings::new(&sdk_config));
    let store = Arc::new(S3ExportStore::new(&sdk_config, &config.bucket, &config.kms_key_arn));
    let target = ExportTarget {
        bucket: config.bucket,
        prefix: config.prefix,
        kms_key_arn: config.kms_key_arn,
    };
    let exporter = Exporter::new(target, inspector.clone(), store, inspector);
    let defaults = config.defaults;
    lambda_runtime::run(service_fn(|event| {
        findings_export::handler::handle(&exporter, &defaults, event)
    }))
    .await
}
