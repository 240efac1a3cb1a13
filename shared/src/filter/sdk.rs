//! Lossless conversion between [`FilterCriteria`] and the SDK's
//! `aws_sdk_inspector2::types::FilterCriteria`, field by field (feature `inspector2`).

use std::collections::BTreeMap;

use aws_sdk_inspector2::types as sdk;
use aws_smithy_types::error::operation::BuildError;

use super::{
    DateFilter, FilterCriteria, Filters, MapFilter, NumberFilter, PackageFilter, PortRangeFilter, StringComparison,
    StringFilter,
};

/// Why an SDK FilterCriteria cannot be represented: a value this build does not know, which a
/// newer API may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrepresentable(pub String);

impl std::fmt::Display for Unrepresentable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One filter type's two-way conversion.
trait Convert: Sized {
    type Sdk;
    fn to_sdk(&self) -> Result<Self::Sdk, BuildError>;
    fn from_sdk(sdk: &Self::Sdk) -> Result<Self, Unrepresentable>;
}

impl Convert for StringFilter {
    type Sdk = sdk::StringFilter;

    fn to_sdk(&self) -> Result<sdk::StringFilter, BuildError> {
        let comparison = match self.comparison {
            StringComparison::Equals => sdk::StringComparison::Equals,
            StringComparison::Prefix => sdk::StringComparison::Prefix,
            StringComparison::NotEquals => sdk::StringComparison::NotEquals,
        };
        sdk::StringFilter::builder()
            .comparison(comparison)
            .value(&self.value)
            .build()
    }

    fn from_sdk(sdk: &sdk::StringFilter) -> Result<Self, Unrepresentable> {
        let comparison = StringComparison::parse(sdk.comparison().as_str())
            .ok_or_else(|| Unrepresentable(format!("string comparison {:?}", sdk.comparison().as_str())))?;
        Ok(StringFilter {
            comparison,
            value: sdk.value().to_owned(),
        })
    }
}

impl Convert for NumberFilter {
    type Sdk = sdk::NumberFilter;

    fn to_sdk(&self) -> Result<sdk::NumberFilter, BuildError> {
        Ok(sdk::NumberFilter::builder()
            .set_lower_inclusive(self.lower_inclusive)
            .set_upper_inclusive(self.upper_inclusive)
            .build())
    }

    fn from_sdk(sdk: &sdk::NumberFilter) -> Result<Self, Unrepresentable> {
        Ok(NumberFilter {
            lower_inclusive: sdk.lower_inclusive(),
            upper_inclusive: sdk.upper_inclusive(),
        })
    }
}

impl Convert for DateFilter {
    type Sdk = sdk::DateFilter;

    fn to_sdk(&self) -> Result<sdk::DateFilter, BuildError> {
        Ok(sdk::DateFilter::builder()
            .set_start_inclusive(self.start_inclusive)
            .set_end_inclusive(self.end_inclusive)
            .build())
    }

    fn from_sdk(sdk: &sdk::DateFilter) -> Result<Self, Unrepresentable> {
        Ok(DateFilter {
            start_inclusive: sdk.start_inclusive().copied(),
            end_inclusive: sdk.end_inclusive().copied(),
        })
    }
}

impl Convert for MapFilter {
    type Sdk = sdk::MapFilter;

    fn to_sdk(&self) -> Result<sdk::MapFilter, BuildError> {
        sdk::MapFilter::builder()
            .comparison(sdk::MapComparison::Equals)
            .key(&self.key)
            .set_value(self.value.clone())
            .build()
    }

    fn from_sdk(sdk: &sdk::MapFilter) -> Result<Self, Unrepresentable> {
        if *sdk.comparison() != sdk::MapComparison::Equals {
            return Err(Unrepresentable(format!(
                "map comparison {:?}",
                sdk.comparison().as_str()
            )));
        }
        Ok(MapFilter {
            key: sdk.key().to_owned(),
            value: sdk.value().map(str::to_owned),
        })
    }
}

impl Convert for PortRangeFilter {
    type Sdk = sdk::PortRangeFilter;

    fn to_sdk(&self) -> Result<sdk::PortRangeFilter, BuildError> {
        Ok(sdk::PortRangeFilter::builder()
            .set_begin_inclusive(self.begin_inclusive)
            .set_end_inclusive(self.end_inclusive)
            .build())
    }

    fn from_sdk(sdk: &sdk::PortRangeFilter) -> Result<Self, Unrepresentable> {
        Ok(PortRangeFilter {
            begin_inclusive: sdk.begin_inclusive(),
            end_inclusive: sdk.end_inclusive(),
        })
    }
}

impl Convert for PackageFilter {
    type Sdk = sdk::PackageFilter;

    fn to_sdk(&self) -> Result<sdk::PackageFilter, BuildError> {
        let string = |part: &Option<StringFilter>| part.as_ref().map(StringFilter::to_sdk).transpose();
        Ok(sdk::PackageFilter::builder()
            .set_name(string(&self.name)?)
            .set_version(string(&self.version)?)
            .set_epoch(self.epoch.as_ref().map(NumberFilter::to_sdk).transpose()?)
            .set_release(string(&self.release)?)
            .set_architecture(string(&self.architecture)?)
            .set_source_layer_hash(string(&self.source_layer_hash)?)
            .set_source_lambda_layer_arn(string(&self.source_lambda_layer_arn)?)
            .set_file_path(string(&self.file_path)?)
            .build())
    }

    fn from_sdk(sdk: &sdk::PackageFilter) -> Result<Self, Unrepresentable> {
        let string = |part: Option<&sdk::StringFilter>| part.map(StringFilter::from_sdk).transpose();
        Ok(PackageFilter {
            name: string(sdk.name())?,
            version: string(sdk.version())?,
            epoch: sdk.epoch().map(NumberFilter::from_sdk).transpose()?,
            release: string(sdk.release())?,
            architecture: string(sdk.architecture())?,
            source_layer_hash: string(sdk.source_layer_hash())?,
            source_lambda_layer_arn: string(sdk.source_lambda_layer_arn())?,
            file_path: string(sdk.file_path())?,
        })
    }
}

fn to_sdk_list<T: Convert>(list: &[T]) -> Result<Option<Vec<T::Sdk>>, BuildError> {
    list.iter().map(T::to_sdk).collect::<Result<_, _>>().map(Some)
}

fn from_sdk_list<T: Convert>(list: &[T::Sdk]) -> Result<Vec<T>, Unrepresentable> {
    list.iter().map(T::from_sdk).collect()
}

/// Writes the two conversions and the SDK field list from one table of
/// `jsonName => sdk_getter, sdk_setter, FiltersVariant;` rows.
macro_rules! sdk_fields {
    ($($json:ident => $get:ident, $set:ident, $variant:ident;)*) => {
        /// The SDK member name of every field, as `(JSON name, SDK name)`.
        pub const SDK_FIELDS: &[(&str, &str)] = &[$((stringify!($json), stringify!($get))),*];

        impl FilterCriteria {
            /// The SDK's FilterCriteria, for `CreateFilter`, `UpdateFilter` and `ListFindings`. The
            /// SDK's builders fail only on a missing required member, which validation rules out.
            pub fn to_sdk(&self) -> Result<sdk::FilterCriteria, BuildError> {
                let mut builder = sdk::FilterCriteria::builder();
                $(
                    if let Some(Filters::$variant(list)) = self.get(stringify!($json)) {
                        builder = builder.$set(to_sdk_list(list)?);
                    }
                )*
                Ok(builder.build())
            }

            /// Reads the SDK's FilterCriteria, for example a `ListFilters` item's. An empty list is
            /// the same as an absent field. Fails only on a comparison this build does not know.
            pub fn from_sdk(criteria: &sdk::FilterCriteria) -> Result<Self, Unrepresentable> {
                let mut fields = BTreeMap::new();
                $(
                    if !criteria.$get().is_empty() {
                        let list = from_sdk_list(criteria.$get())
                            .map_err(|e| Unrepresentable(format!("{}: {e}", stringify!($json))))?;
                        fields.insert(stringify!($json), Filters::$variant(list));
                    }
                )*
                Ok(FilterCriteria { fields })
            }
        }
    };
}

sdk_fields! {
    findingArn => finding_arn, set_finding_arn, String;
    awsAccountId => aws_account_id, set_aws_account_id, String;
    findingType => finding_type, set_finding_type, String;
    severity => severity, set_severity, String;
    firstObservedAt => first_observed_at, set_first_observed_at, Date;
    lastObservedAt => last_observed_at, set_last_observed_at, Date;
    updatedAt => updated_at, set_updated_at, Date;
    findingStatus => finding_status, set_finding_status, String;
    title => title, set_title, String;
    inspectorScore => inspector_score, set_inspector_score, Number;
    resourceType => resource_type, set_resource_type, String;
    resourceId => resource_id, set_resource_id, String;
    resourceTags => resource_tags, set_resource_tags, Map;
    ec2InstanceImageId => ec2_instance_image_id, set_ec2_instance_image_id, String;
    ec2InstanceVpcId => ec2_instance_vpc_id, set_ec2_instance_vpc_id, String;
    ec2InstanceSubnetId => ec2_instance_subnet_id, set_ec2_instance_subnet_id, String;
    ecrImagePushedAt => ecr_image_pushed_at, set_ecr_image_pushed_at, Date;
    ecrImageArchitecture => ecr_image_architecture, set_ecr_image_architecture, String;
    ecrImageRegistry => ecr_image_registry, set_ecr_image_registry, String;
    ecrImageRepositoryName => ecr_image_repository_name, set_ecr_image_repository_name, String;
    ecrImageTags => ecr_image_tags, set_ecr_image_tags, String;
    ecrImageHash => ecr_image_hash, set_ecr_image_hash, String;
    ecrImageLastInUseAt => ecr_image_last_in_use_at, set_ecr_image_last_in_use_at, Date;
    ecrImageInUseCount => ecr_image_in_use_count, set_ecr_image_in_use_count, Number;
    portRange => port_range, set_port_range, PortRange;
    networkProtocol => network_protocol, set_network_protocol, String;
    componentId => component_id, set_component_id, String;
    componentType => component_type, set_component_type, String;
    vulnerabilityId => vulnerability_id, set_vulnerability_id, String;
    vulnerabilitySource => vulnerability_source, set_vulnerability_source, String;
    vendorSeverity => vendor_severity, set_vendor_severity, String;
    vulnerablePackages => vulnerable_packages, set_vulnerable_packages, Package;
    relatedVulnerabilities => related_vulnerabilities, set_related_vulnerabilities, String;
    fixAvailable => fix_available, set_fix_available, String;
    lambdaFunctionName => lambda_function_name, set_lambda_function_name, String;
    lambdaFunctionLayers => lambda_function_layers, set_lambda_function_layers, String;
    lambdaFunctionRuntime => lambda_function_runtime, set_lambda_function_runtime, String;
    lambdaFunctionLastModifiedAt => lambda_function_last_modified_at, set_lambda_function_last_modified_at, Date;
    lambdaFunctionExecutionRoleArn => lambda_function_execution_role_arn, set_lambda_function_execution_role_arn, String;
    exploitAvailable => exploit_available, set_exploit_available, String;
    codeVulnerabilityDetectorName => code_vulnerability_detector_name, set_code_vulnerability_detector_name, String;
    codeVulnerabilityDetectorTags => code_vulnerability_detector_tags, set_code_vulnerability_detector_tags, String;
    codeVulnerabilityFilePath => code_vulnerability_file_path, set_code_vulnerability_file_path, String;
    epssScore => epss_score, set_epss_score, Number;
    codeRepositoryProjectName => code_repository_project_name, set_code_repository_project_name, String;
    codeRepositoryProviderType => code_repository_provider_type, set_code_repository_provider_type, String;
    machineImageId => machine_image_id, set_machine_image_id, String;
    machineImageName => machine_image_name, set_machine_image_name, String;
    machineImageOwnerAccountId => machine_image_owner_account_id, set_machine_image_owner_account_id, String;
    machineImagePlatform => machine_image_platform, set_machine_image_platform, String;
    cloudProvider => cloud_provider, set_cloud_provider, String;
    cloudProviderRegion => cloud_provider_region, set_cloud_provider_region, String;
    cloudProviderAccountId => cloud_provider_account_id, set_cloud_provider_account_id, String;
    cloudProviderOrgId => cloud_provider_org_id, set_cloud_provider_org_id, String;
    cloudVmImageReference => cloud_vm_image_reference, set_cloud_vm_image_reference, String;
    cloudVmNetworkId => cloud_vm_network_id, set_cloud_vm_network_id, String;
    cloudVmSubnetIds => cloud_vm_subnet_ids, set_cloud_vm_subnet_ids, String;
    cloudImageRepositoryName => cloud_image_repository_name, set_cloud_image_repository_name, String;
    cloudImageRegistry => cloud_image_registry, set_cloud_image_registry, String;
    cloudImageDigest => cloud_image_digest, set_cloud_image_digest, String;
    cloudImageTags => cloud_image_tags, set_cloud_image_tags, String;
    cloudImagePushedAt => cloud_image_pushed_at, set_cloud_image_pushed_at, Date;
    cloudImageArchitecture => cloud_image_architecture, set_cloud_image_architecture, String;
    cloudImageLastInUseAt => cloud_image_last_in_use_at, set_cloud_image_last_in_use_at, Date;
    cloudImageInUseCount => cloud_image_in_use_count, set_cloud_image_in_use_count, Number;
    cloudServerlessFunctionName => cloud_serverless_function_name, set_cloud_serverless_function_name, String;
    cloudServerlessFunctionRuntime => cloud_serverless_function_runtime, set_cloud_serverless_function_runtime, String;
    cloudServerlessFunctionLastModifiedAt => cloud_serverless_function_last_modified_at, set_cloud_serverless_function_last_modified_at, Date;
    cloudServerlessFunctionExecutionRole => cloud_serverless_function_execution_role, set_cloud_serverless_function_execution_role, String;
}

#[cfg(test)]
mod tests;
