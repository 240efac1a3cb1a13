//! SSM adapter: [`CommandSender`] and [`ManagedInstances`] over `aws-sdk-ssm`.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ssm::types::{CommandFilter, CommandFilterKey, InstanceInformationStringFilter};
use aws_sdk_ssm::Client;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

use super::aws_error;
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

/// A request that could not even be built is a bug or bad configuration, never transient.
fn build_error(operation: &'static str, err: aws_smithy_types::error::operation::BuildError) -> Error {
    Error::Aws {
        service: "ssm",
        operation,
        code: None,
        class: ErrorClass::Config,
        detail: err.to_string(),
        source: Box::new(err),
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
        .map_err(|err| build_error("ListCommands", err))?;

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
            .map_err(|err| build_error("DescribeInstanceInformation", err))?;
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
