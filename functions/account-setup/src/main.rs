//! account-setup's entry point: wiring only (tracing, one SdkConfig, adapters, run).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

use account_setup::aws::AwsAccount;
use account_setup::handler::handle;
use account_setup::respond::HttpsResponder;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let sdk_config = shared::aws::load_sdk_config().await;
    let account = AwsAccount::new(&sdk_config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let account = &account;
        async move {
            let deadline = shared::runtime::deadline(&event.context);
            handle(account, &HttpsResponder, &event.payload, deadline).await
        }
    }))
    .await
}
