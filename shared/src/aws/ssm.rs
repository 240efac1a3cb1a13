//! SSM adapter: [`CommandSender`] and [`ManagedInstances`] over `aws-sdk-ssm`.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ssm::types::{CommandFilter, CommandFilterKey, InstanceInformationStringFilter};
use aws_sdk_ssm::Client;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

use super::{aws_error, build_error};
use crate::ports::{CommandRequest, CommandSender, CommandSummary, ManagedInstances};
use crate::{Error, ErrorClass};

/// Pages of `ListCommands` read at most: a dedup window holds few sends of one document.
const MAX_HISTORY_PAGES: usize = 5;

/// SSM through one SDK client.
#[derive(Clone, Debug)]
pub struct SsmAdapter {
    client: Client,
}

impl SsmAdapter {
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
impl CommandSender for SsmAdapter {
    async fn send_command(&self, request: &CommandRequest) -> Result<String, Error> {
        let parameters = request.parameters.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let result = self
            .client
            .send_command()
            .document_name(&request.document)
            .instance_ids(&request.instance_id)
            .set_parameters(Some(parameters))
            .comment(&request.comment)
            .set_output_s3_bucket_name(request.output_bucket.clone())
            .set_output_s3_key_prefix(request.output_prefix.clone())
            .send()
            .await;
        match result {
            Ok(output) => output
                .command()
                .and_then(|c| c.command_id())
                .map(str::to_owned)
                .ok_or_else(|| Error::Aws {
                    service: "ssm",
                    operation: "SendCommand",
                    code: None,
                    class: ErrorClass::Retryable,
                    detail: "the answer carried no command id".to_owned(),
                    source: "SendCommand answered without Command.CommandId".into(),
                }),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_invalid_instance_id()) => Err(Error::NotManaged {
                instance_id: request.instance_id.clone(),
            }),
            Err(err) => Err(aws_error("ssm", "SendCommand", err)),
        }
    }

    async fn recent_commands(
        &self,
        instance_id: &str,
        document: &str,
        since: SystemTime,
    ) -> Result<Vec<CommandSummary>, Error> {
        let since = DateTime::from(since);
        let invoked_after = since.fmt(Format::DateTime).map_err(|err| {
            build_error(
                "ssm",
                "ListCommands",
                aws_smithy_types::error::operation::BuildError::other(err),
            )
        })?;
        let filters = [
            (CommandFilterKey::DocumentName, document.to_owned()),
            (CommandFilterKey::InvokedAfter, invoked_after),
        ]
        .into_iter()
        .map(|(key, value)| CommandFilter::builder().key(key).value(value).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| build_error("ssm", "ListCommands", err))?;

        let mut pages = self
            .client
            .list_commands()
            .instance_id(instance_id)
            .set_filters(Some(filters))
            .into_paginator()
            .send();
        let mut commands = Vec::new();
        let mut read = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| aws_error("ssm", "ListCommands", err))?;
            // SSM filters on the server; the checks are repeated here so that a partial
            // implementation (moto ignores Filters) cannot turn into a false "already sent".
            commands.extend(
                page.commands()
                    .iter()
                    .filter(|c| c.document_name() == Some(document))
                    .filter(|c| c.requested_date_time().is_none_or(|t| *t >= since))
                    .filter_map(|c| {
                        Some(CommandSummary {
                            command_id: c.command_id()?.to_owned(),
                            status: c
                                .status()
                                .map_or_else(|| "Unknown".to_owned(), |s| s.as_str().to_owned()),
                        })
                    }),
            );
            read += 1;
            if read == MAX_HISTORY_PAGES {
                break;
            }
        }
        Ok(commands)
    }
}

#[async_trait]
impl ManagedInstances for SsmAdapter {
    async fn ping_status(&self, instance_id: &str) -> Result<Option<String>, Error> {
        let filter = InstanceInformationStringFilter::builder()
            .key("InstanceIds")
            .values(instance_id)
            .build()
            .map_err(|err| build_error("ssm", "DescribeInstanceInformation", err))?;
        match self.client.describe_instance_information().filters(filter).send().await {
            Ok(output) => Ok(output
                .instance_information_list()
                .iter()
                .find(|i| i.instance_id() == Some(instance_id))
                .and_then(|i| i.ping_status())
                .map(|s| s.as_str().to_owned())),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_invalid_instance_id()) => Ok(None),
            Err(err) => Err(aws_error("ssm", "DescribeInstanceInformation", err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use aws_sdk_ssm::config::retry::RetryConfig;
    use aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationOutput;
    use aws_sdk_ssm::operation::list_commands::ListCommandsOutput;
    use aws_sdk_ssm::operation::send_command::{SendCommandError, SendCommandOutput};
    use aws_sdk_ssm::types::{Command, CommandStatus, InstanceInformation, PingStatus};
    use aws_sdk_ssm::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;

    fn request() -> CommandRequest {
        CommandRequest {
            instance_id: "i-0123456789abcdef0".into(),
            document: "AWS-ConfigureAWSPackage".into(),
            parameters: [("action".to_owned(), vec!["Install".to_owned()])].into(),
            output_bucket: Some("out-bucket".into()),
            output_prefix: Some("runcommand".into()),
            comment: "inspector-autopilot event e-1".into(),
        }
    }

    fn sent() -> SendCommandOutput {
        SendCommandOutput::builder()
            .command(Command::builder().command_id("cmd-1").build())
            .build()
    }

    fn retrying(builder: aws_sdk_ssm::config::Builder) -> aws_sdk_ssm::config::Builder {
        builder.retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    }

    #[tokio::test]
    async fn send_command_passes_every_field() {
        let rule = mock!(Client::send_command)
            .match_requests(|r| {
                r.document_name() == Some("AWS-ConfigureAWSPackage")
                    && r.instance_ids() == ["i-0123456789abcdef0"]
                    && r.parameters().and_then(|p| p.get("action")) == Some(&vec!["Install".to_owned()])
                    && r.output_s3_bucket_name() == Some("out-bucket")
                    && r.output_s3_key_prefix() == Some("runcommand")
                    && r.comment() == Some("inspector-autopilot event e-1")
            })
            .then_output(sent);
        let adapter = SsmAdapter::from_client(mock_client!(aws_sdk_ssm, [&rule]));
        assert_eq!(adapter.send_command(&request()).await.unwrap(), "cmd-1");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn send_command_retries_a_throttle_then_succeeds() {
        let rule = mock!(Client::send_command)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
            )
            .output(sent)
            .build();
        let client = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&rule], retrying);
        let adapter = SsmAdapter::from_client(client);
        assert_eq!(adapter.send_command(&request()).await.unwrap(), "cmd-1");
        assert_eq!(rule.num_calls(), 2, "one throttled attempt, one success");
    }

    #[tokio::test]
    async fn persistent_throttling_is_retryable_after_the_sdk_retries() {
        let rule = mock!(Client::send_command)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
            )
            .times(3)
            .build();
        let client = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&rule], retrying);
        let err = SsmAdapter::from_client(client)
            .send_command(&request())
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Retryable);
        assert!(
            matches!(&err, Error::Aws { code: Some(c), operation: "SendCommand", .. } if c == "ThrottlingException")
        );
        assert_eq!(
            err.to_string(),
            "ssm SendCommand failed: ThrottlingException: Rate exceeded"
        );
        assert_eq!(rule.num_calls(), 3);
    }

    #[tokio::test]
    async fn invalid_instance_id_means_not_managed() {
        let rule = mock!(Client::send_command).then_error(|| {
            SendCommandError::InvalidInstanceId(aws_sdk_ssm::types::error::InvalidInstanceId::builder().build())
        });
        let adapter = SsmAdapter::from_client(mock_client!(aws_sdk_ssm, [&rule]));
        let err = adapter.send_command(&request()).await.unwrap_err();
        assert!(matches!(err, Error::NotManaged { ref instance_id } if instance_id == "i-0123456789abcdef0"));
        assert_eq!(rule.num_calls(), 1, "InvalidInstanceId is not retried by the SDK");
    }

    #[tokio::test]
    async fn access_denied_is_a_config_error() {
        let rule = mock!(Client::send_command).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    r#"{"__type":"AccessDeniedException","message":"not authorized to perform ssm:SendCommand"}"#,
                ),
            )
        });
        let adapter = SsmAdapter::from_client(mock_client!(aws_sdk_ssm, [&rule]));
        let err = adapter.send_command(&request()).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Config);
        assert!(err.to_string().contains("AccessDeniedException"));
    }

    #[tokio::test]
    async fn recent_commands_keeps_only_our_document_within_the_window() {
        let now = SystemTime::now();
        let since = now - Duration::from_secs(3600);
        let command = |id: &str, doc: &str, at: SystemTime, status: CommandStatus| {
            Command::builder()
                .command_id(id)
                .document_name(doc)
                .requested_date_time(DateTime::from(at))
                .status(status)
                .build()
        };
        let rule = mock!(Client::list_commands)
            .match_requests(|r| {
                r.instance_id() == Some("i-0123456789abcdef0")
                    && r.filters()
                        .iter()
                        .any(|f| f.key() == &CommandFilterKey::DocumentName && f.value() == "AWS-ConfigureAWSPackage")
                    && r.filters().iter().any(|f| f.key() == &CommandFilterKey::InvokedAfter)
            })
            .then_output(move || {
                ListCommandsOutput::builder()
                    .commands(command("ours", "AWS-ConfigureAWSPackage", now, CommandStatus::Success))
                    .commands(command("other-doc", "AWS-RunShellScript", now, CommandStatus::Success))
                    .commands(command(
                        "too-old",
                        "AWS-ConfigureAWSPackage",
                        now - Duration::from_secs(7200),
                        CommandStatus::Success,
                    ))
                    .build()
            });
        let adapter = SsmAdapter::from_client(mock_client!(aws_sdk_ssm, [&rule]));
        let commands = adapter
            .recent_commands("i-0123456789abcdef0", "AWS-ConfigureAWSPackage", since)
            .await
            .unwrap();
        assert_eq!(
            commands,
            vec![CommandSummary {
                command_id: "ours".into(),
                status: "Success".into()
            }]
        );
    }

    #[tokio::test]
    async fn ping_status_reads_the_instance_information() {
        let rule = mock!(Client::describe_instance_information)
            .match_requests(|r| {
                r.filters()
                    .iter()
                    .any(|f| f.key() == "InstanceIds" && f.values() == ["i-0123456789abcdef0"])
            })
            .then_output(|| {
                DescribeInstanceInformationOutput::builder()
                    .instance_information_list(
                        InstanceInformation::builder()
                            .instance_id("i-0123456789abcdef0")
                            .ping_status(PingStatus::ConnectionLost)
                            .build(),
                    )
                    .build()
            });
        let adapter = SsmAdapter::from_client(mock_client!(aws_sdk_ssm, [&rule]));
        assert_eq!(
            adapter.ping_status("i-0123456789abcdef0").await.unwrap().as_deref(),
            Some("ConnectionLost")
        );
    }

    #[tokio::test]
    async fn unknown_instance_has_no_ping_status() {
        let rule = mock!(Client::describe_instance_information)
            .then_output(|| DescribeInstanceInformationOutput::builder().build());
        let adapter = SsmAdapter::from_client(mock_client!(aws_sdk_ssm, [&rule]));
        assert_eq!(adapter.ping_status("i-0123456789abcdef0").await.unwrap(), None);
    }
}
