//! Rules file adapter: [`RulesStore`] over S3 (`GetObject` with `If-None-Match`, so an unchanged
//! object is not downloaded again) and SSM (`GetParameter` with decryption).

use async_trait::async_trait;
use aws_config::SdkConfig;

use super::aws_error;
use crate::filter::ValidationError;
use crate::rules::source::{Fetched, RulesStore, RulesUri};
use crate::rules::MAX_BYTES;
use crate::Error;

/// Reads the rules from S3 or SSM; only the client the URI needs is built.
#[derive(Clone, Debug)]
pub enum AwsRulesStore {
    /// `s3://` URIs.
    S3(aws_sdk_s3::Client),
    /// `ssm:/` URIs.
    Ssm(aws_sdk_ssm::Client),
}

impl AwsRulesStore {
    /// The store for `uri`, with a client built from the shared configuration (no network call).
    pub fn for_uri(uri: &RulesUri, config: &SdkConfig) -> Self {
        match uri {
            RulesUri::S3 { .. } => AwsRulesStore::S3(aws_sdk_s3::Client::new(config)),
            RulesUri::Ssm { .. } => AwsRulesStore::Ssm(aws_sdk_ssm::Client::new(config)),
        }
    }
}

fn too_large(uri: &RulesUri, bytes: usize) -> Error {
    Error::Rules {
        uri: uri.to_string(),
        problems: vec![ValidationError::new(
            "$",
            format!("the file is {bytes} bytes; the limit is {MAX_BYTES}"),
        )],
    }
}

fn mismatch(uri: &RulesUri) -> Error {
    Error::config(
        "RULES_URI",
        format!("{uri} does not match the store this function was built with"),
    )
}

#[async_trait]
impl RulesStore for AwsRulesStore {
    async fn fetch(&self, uri: &RulesUri, known_version: Option<&str>) -> Result<Option<Fetched>, Error> {
        match (self, uri) {
            (AwsRulesStore::S3(client), RulesUri::S3 { bucket, key }) => {
                let result = client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .set_if_none_match(known_version.map(str::to_owned))
                    .send()
                    .await;
                let output = match result {
                    Ok(output) => output,
                    Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 304) => return Ok(None),
                    Err(e) => return Err(aws_error("s3", "GetObject", e)),
                };
                let length = output.content_length().unwrap_or_default();
                if usize::try_from(length).map_or(true, |n| n > MAX_BYTES) {
                    return Err(too_large(uri, usize::try_from(length).unwrap_or(usize::MAX)));
                }
                let version = output.e_tag().unwrap_or_default().to_owned();
                let body = output.body.collect().await.map_err(|e| Error::Aws {
                    service: "s3",
                    operation: "GetObject",
                    code: None,
                    class: crate::ErrorClass::Retryable,
                    detail: format!("reading the body of {uri}: {e}"),
                    source: Box::new(e),
                })?;
                Ok(Some(Fetched {
                    version,
                    body: body.to_vec(),
                }))
            }
            (AwsRulesStore::Ssm(client), RulesUri::Ssm { name }) => {
                let output = client
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| aws_error("ssm", "GetParameter", e))?;
                let parameter = output.parameter();
                let version = parameter.map(|p| p.version()).unwrap_or_default().to_string();
                if known_version == Some(version.as_str()) {
                    return Ok(None);
                }
                let body = parameter.and_then(|p| p.value()).unwrap_or_default();
                if body.len() > MAX_BYTES {
                    return Err(too_large(uri, body.len()));
                }
                Ok(Some(Fetched {
                    version,
                    body: body.as_bytes().to_vec(),
                }))
            }
            _ => Err(mismatch(uri)),
        }
    }
}
