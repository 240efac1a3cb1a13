//! [`Account`] over `aws-sdk-inspector2` and `aws-sdk-ssm`.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_inspector2::types::{ResourceScanType, State};
use shared::aws::aws_error;
use shared::Error;

use crate::handler::Account;

/// SSM's setting that names Default Host Management Configuration's role.
pub const DHMC_SETTING: &str = "/ssm/managed-instance/default-ec2-instance-management-role";

/// The two clients the custom resources need.
#[derive(Clone, Debug)]
pub struct AwsAccount {
    inspector: aws_sdk_inspector2::Client,
    ssm: aws_sdk_ssm::Client,
}

impl AwsAccount {
    /// Both clients from the process's shared configuration (no network).
    pub fn new(config: &SdkConfig) -> Self {
        Self::from_clients(
            aws_sdk_inspector2::Client::new(config),
            aws_sdk_ssm::Client::new(config),
        )
    }

    /// Wraps existing clients (tests use mocked ones).
    pub fn from_clients(inspector: aws_sdk_inspector2::Client, ssm: aws_sdk_ssm::Client) -> Self {
        AwsAccount { inspector, ssm }
    }
}

fn status(state: Option<&State>) -> String {
    state.map_or_else(|| "UNKNOWN".to_owned(), |s| s.status().as_str().to_owned())
}

#[async_trait]
impl Account for AwsAccount {
    async fn enable_inspector(&self, account_id: &str, resource_types: &[String]) -> Result<(), Error> {
        let types = resource_types
            .iter()
            .map(|t| ResourceScanType::from(t.as_str()))
            .collect();
        self.inspector
            .enable()
            .account_ids(account_id)
            .set_resource_types(Some(types))
            .send()
            .await
            .map_err(|e| aws_error("inspector2", "Enable", e))?;
        Ok(())
    }

    async fn inspector_status(&self, account_id: &str) -> Result<Vec<(String, String)>, Error> {
        let output = self
            .inspector
            .batch_get_account_status()
            .account_ids(account_id)
            .send()
            .await
            .map_err(|e| aws_error("inspector2", "BatchGetAccountStatus", e))?;
        let mine = output.accounts().iter().find(|a| a.account_id() == account_id);
        let Some(resources) = mine.and_then(|a| a.resource_state()) else {
            return Ok(Vec::new());
        };
        Ok(vec![
            ("EC2".into(), status(resources.ec2())),
            ("ECR".into(), status(resources.ecr())),
            ("LAMBDA".into(), status(resources.lambda())),
            ("LAMBDA_CODE".into(), status(resources.lambda_code())),
            ("CODE_REPOSITORY".into(), status(resources.code_repository())),
        ])
    }

    async fn set_default_host_management_role(&self, role_name: &str) -> Result<(), Error> {
        self.ssm
            .update_service_setting()
            .setting_id(DHMC_SETTING)
            .setting_value(role_name)
            .send()
            .await
            .map_err(|e| aws_error("ssm", "UpdateServiceSetting", e))?;
        Ok(())
    }

    async fn reset_default_host_management(&self) -> Result<(), Error> {
        self.ssm
            .reset_service_setting()
            .setting_id(DHMC_SETTING)
            .send()
            .await
            .map_err(|e| aws_error("ssm", "ResetServiceSetting", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! aws-smithy-mocks: moto has no BatchGetAccountStatus resource states worth trusting here.

    use aws_sdk_inspector2::operation::batch_get_account_status::BatchGetAccountStatusOutput;
    use aws_sdk_inspector2::operation::enable::EnableOutput;
    use aws_sdk_inspector2::types::{AccountState, ErrorCode, ResourceState, Status};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;

    fn state(status: Status) -> State {
        State::builder()
            .status(status)
            .error_code(ErrorCode::AlreadyEnabled)
            .error_message("")
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn enable_sends_the_types_and_status_reads_each_resource_state() {
        let enable = mock!(aws_sdk_inspector2::Client::enable)
            .match_requests(|r| r.resource_types().len() == 3 && r.account_ids() == ["123456789012"])
            .then_output(|| EnableOutput::builder().set_accounts(Some(Vec::new())).build().unwrap());
        let status = mock!(aws_sdk_inspector2::Client::batch_get_account_status).then_output(|| {
            BatchGetAccountStatusOutput::builder()
                .accounts(
                    AccountState::builder()
                        .account_id("123456789012")
                        .state(state(Status::Enabled))
                        .resource_state(
                            ResourceState::builder()
                                .ec2(state(Status::Enabled))
                                .ecr(state(Status::Enabling))
                                .lambda(state(Status::Disabled))
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        });
        let inspector = mock_client!(aws_sdk_inspector2, RuleMode::MatchAny, [&enable, &status]);
        let ssm = mock_client!(aws_sdk_ssm, []);
        let account = AwsAccount::from_clients(inspector, ssm);
        account
            .enable_inspector("123456789012", &["EC2".into(), "ECR".into(), "LAMBDA".into()])
            .await
            .unwrap();
        let states = account.inspector_status("123456789012").await.unwrap();
        assert_eq!(states[0], ("EC2".into(), "ENABLED".into()));
        assert_eq!(states[1], ("ECR".into(), "ENABLING".into()));
        assert_eq!(states[2], ("LAMBDA".into(), "DISABLED".into()));
        assert_eq!(states[3], ("LAMBDA_CODE".into(), "UNKNOWN".into()));
        assert_eq!(enable.num_calls(), 1);
    }

    #[tokio::test]
    async fn the_dhmc_setting_is_set_to_the_role_and_reset() {
        let update = mock!(aws_sdk_ssm::Client::update_service_setting)
            .match_requests(|r| r.setting_id() == Some(DHMC_SETTING) && r.setting_value() == Some("dhmc-role"))
            .then_output(|| {
                aws_sdk_ssm::operation::update_service_setting::UpdateServiceSettingOutput::builder().build()
            });
        let reset = mock!(aws_sdk_ssm::Client::reset_service_setting)
            .match_requests(|r| r.setting_id() == Some(DHMC_SETTING))
            .then_output(|| {
                aws_sdk_ssm::operation::reset_service_setting::ResetServiceSettingOutput::builder().build()
            });
        let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&update, &reset]);
        let account = AwsAccount::from_clients(mock_client!(aws_sdk_inspector2, []), ssm);
        account.set_default_host_management_role("dhmc-role").await.unwrap();
        account.reset_default_host_management().await.unwrap();
        assert_eq!((update.num_calls(), reset.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn access_denied_on_enable_is_a_config_error() {
        let enable = mock!(aws_sdk_inspector2::Client::enable).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
                aws_smithy_types::body::SdkBody::from(r#"{"__type":"AccessDeniedException","message":"no"}"#),
            )
        });
        let account = AwsAccount::from_clients(
            mock_client!(aws_sdk_inspector2, [&enable]),
            mock_client!(aws_sdk_ssm, []),
        );
        let err = account
            .enable_inspector("123456789012", &["EC2".into()])
            .await
            .unwrap_err();
        assert_eq!(err.class(), shared::ErrorClass::Config, "{err}");
    }
}
