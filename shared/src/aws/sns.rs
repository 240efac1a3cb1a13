//! SNS adapter: [`Notifier`] over `aws-sdk-sns`.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use super::{aws_error, build_error};
use crate::ports::{Notification, Notifier};
use crate::Error;

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
                .map_err(|err| build_error("sns", "Publish", err))?;
            request = request.message_attributes(name, attribute);
        }
        let output = request.send().await.map_err(|err| aws_error("sns", "Publish", err))?;
        Ok(output.message_id().unwrap_or_default().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sns::operation::publish::PublishOutput;
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;
    use crate::ErrorClass;

    #[tokio::test]
    async fn publish_sends_subject_message_and_string_attributes() {
        let rule = mock!(Client::publish)
            .match_requests(|r| {
                let attribute = |name: &str| {
                    r.message_attributes()
                        .and_then(|a| a.get(name))
                        .and_then(|v| (v.data_type() == "String").then(|| v.string_value()).flatten())
                        .map(str::to_owned)
                };
                r.topic_arn() == Some("arn:aws:sns:us-east-1:123456789012:t")
                    && r.subject() == Some("subject")
                    && r.message() == Some("body")
                    && attribute("severity").as_deref() == Some("error")
                    && attribute("instanceId").as_deref() == Some("i-12345678")
            })
            .then_output(|| PublishOutput::builder().message_id("m-1").build());
        let notifier = SnsNotifier::from_client(mock_client!(aws_sdk_sns, [&rule]));
        let notification = Notification {
            topic_arn: "arn:aws:sns:us-east-1:123456789012:t".into(),
            subject: "subject".into(),
            message: "body".into(),
            attributes: [("severity", "error"), ("instanceId", "i-12345678")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        };
        assert_eq!(notifier.publish(&notification).await.unwrap(), "m-1");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_server_error_after_retries_is_retryable() {
        let rule = mock!(Client::publish)
            .sequence()
            .http_status(500, None)
            .times(2)
            .build();
        let client = mock_client!(aws_sdk_sns, aws_smithy_mocks::RuleMode::Sequential, [&rule], |b| b
            .retry_config(
                aws_sdk_sns::config::retry::RetryConfig::standard()
                    .with_max_attempts(2)
                    .with_initial_backoff(std::time::Duration::from_millis(1))
            ));
        let notification = Notification {
            topic_arn: "arn:aws:sns:us-east-1:123456789012:t".into(),
            subject: "s".into(),
            message: "m".into(),
            attributes: Default::default(),
        };
        let err = SnsNotifier::from_client(client)
            .publish(&notification)
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Retryable);
        assert_eq!(rule.num_calls(), 2);
    }
}
