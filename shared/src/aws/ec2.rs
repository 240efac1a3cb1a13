//! EC2 adapter: [`InstanceDirectory`] and [`NetworkDirectory`] over `aws-sdk-ec2`.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{Filter, IamInstanceProfileSpecification, PlatformValues, RouteTable};
use aws_sdk_ec2::Client;

use super::aws_error;
use crate::ports::{Instance, InstanceDirectory, NetworkDirectory, Platform};
use crate::Error;

/// EC2 through one SDK client.
#[derive(Clone, Debug)]
pub struct Ec2Adapter {
    client: Client,
}

impl Ec2Adapter {
    /// Builds the client from the process's shared configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self::from_client(Client::new(config))
    }

    /// Wraps an existing client (tests use a mocked one).
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The target of a table's active default route (IPv4 first, then IPv6).
fn default_route_target(table: &RouteTable) -> Option<String> {
    let routes = table.routes();
    let is_default = |r: &&aws_sdk_ec2::types::Route, v6: bool| {
        let active = r.state().is_none_or(|s| s.as_str() != "blackhole");
        let default = if v6 {
            r.destination_ipv6_cidr_block() == Some("::/0")
        } else {
            r.destination_cidr_block() == Some("0.0.0.0/0")
        };
        active && default
    };
    let route = routes
        .iter()
        .find(|r| is_default(r, false))
        .or_else(|| routes.iter().find(|r| is_default(r, true)))?;
    [
        route.gateway_id(),
        route.nat_gateway_id(),
        route.transit_gateway_id(),
        route.egress_only_internet_gateway_id(),
        route.network_interface_id(),
        route.instance_id(),
        route.vpc_peering_connection_id(),
        route.local_gateway_id(),
        route.core_network_arn(),
    ]
    .into_iter()
    .flatten()
    .find(|target| *target != "local")
    .map(str::to_owned)
}

#[async_trait]
impl InstanceDirectory for Ec2Adapter {
    async fn describe_instance(&self, instance_id: &str) -> Result<Option<Instance>, Error> {
        let output = match self.client.describe_instances().instance_ids(instance_id).send().await {
            Ok(output) => output,
            Err(err) => {
                let code = err
                    .as_service_error()
                    .and_then(|e| aws_sdk_ec2::error::ProvideErrorMetadata::code(e));
                if matches!(code, Some("InvalidInstanceID.NotFound" | "InvalidInstanceID.Malformed")) {
                    return Ok(None);
                }
                return Err(aws_error("ec2", "DescribeInstances", err));
            }
        };
        let Some(found) = output
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance_id))
        else {
            return Ok(None);
        };
        Ok(Some(Instance {
            id: instance_id.to_owned(),
            state: found
                .state()
                .and_then(|s| s.name())
                .map_or_else(|| "unknown".to_owned(), |n| n.as_str().to_owned()),
            platform: match found.platform() {
                Some(PlatformValues::Windows) => Platform::Windows,
                _ => Platform::Linux,
            },
            tags: found
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect(),
            instance_profile_arn: found.iam_instance_profile().and_then(|p| p.arn()).map(str::to_owned),
            subnet_id: found.subnet_id().map(str::to_owned),
            vpc_id: found.vpc_id().map(str::to_owned),
            public_ip: found.public_ip_address().map(str::to_owned),
        }))
    }

    async fn associate_instance_profile(&self, instance_id: &str, profile_arn: &str) -> Result<(), Error> {
        let result = self
            .client
            .associate_iam_instance_profile()
            .instance_id(instance_id)
            .iam_instance_profile(IamInstanceProfileSpecification::builder().arn(profile_arn).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A duplicate event can race the first association: that one already did the job.
            Err(err)
                if err
                    .as_service_error()
                    .and_then(|e| aws_sdk_ec2::error::ProvideErrorMetadata::code(e))
                    == Some("IncorrectState") =>
            {
                tracing::info!(instance_id, "an instance profile association already exists");
                Ok(())
            }
            Err(err) => Err(aws_error("ec2", "AssociateIamInstanceProfile", err)),
        }
    }
}

#[async_trait]
impl NetworkDirectory for Ec2Adapter {
    async fn default_route_target(&self, subnet_id: &str, vpc_id: &str) -> Result<Option<String>, Error> {
        let explicit = self
            .client
            .describe_route_tables()
            .filters(filter("association.subnet-id", subnet_id))
            .send()
            .await
            .map_err(|err| aws_error("ec2", "DescribeRouteTables", err))?;
        if let Some(table) = explicit.route_tables().first() {
            return Ok(default_route_target(table));
        }
        let main = self
            .client
            .describe_route_tables()
            .filters(filter("vpc-id", vpc_id))
            .filters(filter("association.main", "true"))
            .send()
            .await
            .map_err(|err| aws_error("ec2", "DescribeRouteTables", err))?;
        Ok(main.route_tables().first().and_then(default_route_target))
    }

    async fn interface_endpoint_services(&self, vpc_id: &str) -> Result<Vec<String>, Error> {
        let mut services = Vec::new();
        let mut pages = self
            .client
            .describe_vpc_endpoints()
            .filters(filter("vpc-id", vpc_id))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| aws_error("ec2", "DescribeVpcEndpoints", err))?;
            services.extend(
                page.vpc_endpoints()
                    .iter()
                    .filter(|e| {
                        let usable = e.state().is_none_or(|s| {
                            matches!(s.as_str().to_ascii_lowercase().as_str(), "available" | "pending")
                        });
                        let interface = e
                            .vpc_endpoint_type()
                            .is_none_or(|t| t.as_str().eq_ignore_ascii_case("interface"));
                        usable && interface
                    })
                    .filter_map(|e| e.service_name().map(str::to_owned)),
            );
        }
        Ok(services)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::error::ErrorMetadata;
    use aws_sdk_ec2::operation::associate_iam_instance_profile::{
        AssociateIamInstanceProfileError, AssociateIamInstanceProfileOutput,
    };
    use aws_sdk_ec2::operation::describe_instances::{DescribeInstancesError, DescribeInstancesOutput};
    use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
    use aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsOutput;
    use aws_sdk_ec2::types::{
        IamInstanceProfile, Instance as Ec2Instance, InstanceState, InstanceStateName, Reservation, Route, State, Tag,
        VpcEndpoint, VpcEndpointType,
    };
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;

    const ID: &str = "i-0123456789abcdef0";

    #[tokio::test]
    async fn describe_instance_maps_the_fields_we_use() {
        let rule = mock!(Client::describe_instances)
            .match_requests(|r| r.instance_ids() == [ID])
            .then_output(|| {
                DescribeInstancesOutput::builder()
                    .reservations(
                        Reservation::builder()
                            .instances(
                                Ec2Instance::builder()
                                    .instance_id(ID)
                                    .state(InstanceState::builder().name(InstanceStateName::Running).build())
                                    .platform(PlatformValues::Windows)
                                    .tags(Tag::builder().key("Name").value("web").build())
                                    .iam_instance_profile(
                                        IamInstanceProfile::builder()
                                            .arn("arn:aws:iam::123456789012:instance-profile/p")
                                            .build(),
                                    )
                                    .subnet_id("subnet-1")
                                    .vpc_id("vpc-1")
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let adapter = Ec2Adapter::from_client(mock_client!(aws_sdk_ec2, [&rule]));
        let instance = adapter.describe_instance(ID).await.unwrap().unwrap();
        assert_eq!(instance.state, "running");
        assert_eq!(instance.platform, Platform::Windows);
        assert_eq!(instance.tags["Name"], "web");
        assert_eq!(
            instance.instance_profile_arn.as_deref(),
            Some("arn:aws:iam::123456789012:instance-profile/p")
        );
        assert_eq!(instance.subnet_id.as_deref(), Some("subnet-1"));
        assert_eq!(instance.public_ip, None);
    }

    #[tokio::test]
    async fn unknown_instance_is_none() {
        let rule = mock!(Client::describe_instances).then_error(|| {
            DescribeInstancesError::generic(ErrorMetadata::builder().code("InvalidInstanceID.NotFound").build())
        });
        let adapter = Ec2Adapter::from_client(mock_client!(aws_sdk_ec2, [&rule]));
        assert_eq!(adapter.describe_instance(ID).await.unwrap(), None);
    }

    #[tokio::test]
    async fn describe_retries_a_throttle_then_succeeds() {
        let throttle = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>"#;
        let rule = mock!(Client::describe_instances)
            .sequence()
            .http_status(503, Some(throttle.into()))
            .output(|| DescribeInstancesOutput::builder().build())
            .build();
        let client = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&rule], |b| b.retry_config(
            aws_sdk_ec2::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(1))
        ));
        let adapter = Ec2Adapter::from_client(client);
        assert_eq!(adapter.describe_instance(ID).await.unwrap(), None);
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn existing_association_counts_as_success() {
        let rule = mock!(Client::associate_iam_instance_profile).then_error(|| {
            AssociateIamInstanceProfileError::generic(
                ErrorMetadata::builder()
                    .code("IncorrectState")
                    .message("There is an existing association for instance i-0123456789abcdef0")
                    .build(),
            )
        });
        let adapter = Ec2Adapter::from_client(mock_client!(aws_sdk_ec2, [&rule]));
        adapter
            .associate_instance_profile(ID, "arn:aws:iam::123456789012:instance-profile/p")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn associate_passes_the_profile() {
        let rule = mock!(Client::associate_iam_instance_profile)
            .match_requests(|r| {
                r.instance_id() == Some(ID)
                    && r.iam_instance_profile().and_then(|p| p.arn())
                        == Some("arn:aws:iam::123456789012:instance-profile/p")
            })
            .then_output(|| AssociateIamInstanceProfileOutput::builder().build());
        let adapter = Ec2Adapter::from_client(mock_client!(aws_sdk_ec2, [&rule]));
        adapter
            .associate_instance_profile(ID, "arn:aws:iam::123456789012:instance-profile/p")
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn subnet_without_its_own_table_uses_the_main_table() {
        let explicit = mock!(Client::describe_route_tables)
            .match_requests(|r| r.filters().iter().any(|f| f.name() == Some("association.subnet-id")))
            .then_output(|| DescribeRouteTablesOutput::builder().build());
        let main = mock!(Client::describe_route_tables)
            .match_requests(|r| r.filters().iter().any(|f| f.name() == Some("association.main")))
            .then_output(|| {
                DescribeRouteTablesOutput::builder()
                    .route_tables(
                        RouteTable::builder()
                            .routes(
                                Route::builder()
                                    .destination_cidr_block("10.0.0.0/16")
                                    .gateway_id("local")
                                    .build(),
                            )
                            .routes(
                                Route::builder()
                                    .destination_cidr_block("0.0.0.0/0")
                                    .nat_gateway_id("nat-0abc")
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&explicit, &main]);
        let adapter = Ec2Adapter::from_client(client);
        assert_eq!(
            adapter
                .default_route_target("subnet-1", "vpc-1")
                .await
                .unwrap()
                .as_deref(),
            Some("nat-0abc")
        );
    }

    #[test]
    fn blackhole_and_local_routes_are_not_a_way_out() {
        let table = RouteTable::builder()
            .routes(
                Route::builder()
                    .destination_cidr_block("10.0.0.0/16")
                    .gateway_id("local")
                    .build(),
            )
            .routes(
                Route::builder()
                    .destination_cidr_block("0.0.0.0/0")
                    .gateway_id("igw-dead")
                    .state(aws_sdk_ec2::types::RouteState::Blackhole)
                    .build(),
            )
            .build();
        assert_eq!(default_route_target(&table), None);
    }

    #[tokio::test]
    async fn endpoints_keep_usable_interface_endpoints_only() {
        let rule = mock!(Client::describe_vpc_endpoints)
            .match_requests(|r| {
                r.filters()
                    .iter()
                    .any(|f| f.name() == Some("vpc-id") && f.values() == ["vpc-1"])
            })
            .then_output(|| {
                let endpoint = |service: &str, state: State, kind: VpcEndpointType| {
                    VpcEndpoint::builder()
                        .service_name(service)
                        .state(state)
                        .vpc_endpoint_type(kind)
                        .build()
                };
                DescribeVpcEndpointsOutput::builder()
                    .vpc_endpoints(endpoint(
                        "com.amazonaws.r.ssm",
                        State::Available,
                        VpcEndpointType::Interface,
                    ))
                    .vpc_endpoints(endpoint(
                        "com.amazonaws.r.ssmmessages",
                        State::Failed,
                        VpcEndpointType::Interface,
                    ))
                    .vpc_endpoints(endpoint(
                        "com.amazonaws.r.s3",
                        State::Available,
                        VpcEndpointType::Gateway,
                    ))
                    .build()
            });
        let adapter = Ec2Adapter::from_client(mock_client!(aws_sdk_ec2, [&rule]));
        assert_eq!(
            adapter.interface_endpoint_services("vpc-1").await.unwrap(),
            vec!["com.amazonaws.r.ssm"]
        );
    }
}
