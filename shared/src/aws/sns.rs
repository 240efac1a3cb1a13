//! SNS adapter: [`Notifier`] over `aws-sdk-sns`.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use super::aws_error;
use crate::ports::{Notification, Notifier};
use crate::{Error, ErrorClass};

/// SNS through one SDK client.
#[derive(Clone, Debug)]
pub struct SnsNotifier {
    client: Client,
}

impl SnsNotifier {
    /// Builds the client from the process's shared configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self::from_client(Client::new(config))
    }

    /// Wraps an existing client (tests use a mocked one).
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(&self, notification: &Notification) -> Result<String, Error> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&notification.topic_arn)
            .subject(&notification.subject)
            .message(&notification.message);
        for (name, value) in &notification.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|err| Error::Aws {
                    service: "sns",
                    operation: "Publish",
                    code: None,
                    class: ErrorClass::Config,
                    detail: err.to_string(),
                    source: Box::new(err),
                })?;
            request = request.message_attributes(name, attribute);
        }
        let output = request.send().await.map_err(|err| aws_error("sns", "Publish", err))?;
        Ok(output.message_id().unwrap_or_default().to_owned())
    }
}
