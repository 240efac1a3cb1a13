//! S3 multipart adapter: [`MultipartSink`] over `aws-sdk-s3`, every part under SSE-KMS with the
//! configured key (set on `CreateMultipartUpload`, which covers the whole object).

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use aws_sdk_s3::Client;

use super::aws_error;
use crate::export::stream::MultipartSink;
use crate::Error;

/// One object's multipart upload.
#[derive(Clone, Debug)]
pub struct S3Multipart {
    client: Client,
    bucket: String,
    key: String,
    kms_key_arn: String,
    content_type: &'static str,
}

impl S3Multipart {
    /// An upload of gzip `content_type` to `s3://bucket/key`, encrypted with `kms_key_arn`.
    pub fn new(client: Client, bucket: &str, key: &str, kms_key_arn: &str, content_type: &'static str) -> Self {
        S3Multipart {
            client,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            kms_key_arn: kms_key_arn.to_owned(),
            content_type,
        }
    }
}

pub(crate) fn missing(operation: &'static str, what: &str) -> Error {
    Error::retryable("s3", operation, format!("the answer has no {what}"))
}

#[async_trait]
impl MultipartSink for S3Multipart {
    async fn start(&self) -> Result<String, Error> {
        let output = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type(self.content_type)
            .content_encoding("gzip")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.kms_key_arn)
            .send()
            .await
            .map_err(|e| aws_error("s3", "CreateMultipartUpload", e))?;
        output
            .upload_id()
            .map(str::to_owned)
            .ok_or_else(|| missing("CreateMultipartUpload", "UploadId"))
    }

    async fn part(&self, upload_id: &str, number: i32, bytes: Vec<u8>) -> Result<String, Error> {
        let output = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| aws_error("s3", "UploadPart", e))?;
        output
            .e_tag()
            .map(str::to_owned)
            .ok_or_else(|| missing("UploadPart", "ETag"))
    }

    async fn complete(&self, upload_id: &str, parts: Vec<(i32, String)>) -> Result<(), Error> {
        let parts = parts
            .into_iter()
            .map(|(number, etag)| CompletedPart::builder().part_number(number).e_tag(etag).build())
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| aws_error("s3", "CompleteMultipartUpload", e))?;
        Ok(())
    }

    async fn abort(&self, upload_id: &str) -> Result<(), Error> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|e| aws_error("s3", "AbortMultipartUpload", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! S3's own error answers, which moto does not give (it answers 500 for a vanished upload).

    use aws_smithy_mocks::{mock, mock_client};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;
    use crate::ErrorClass;

    fn sink_answering(status: u16, code: &str) -> S3Multipart {
        let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected</Message><RequestId>r</RequestId></Error>");
        let rule = mock!(Client::upload_part).then_http_response(move || {
            Response::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body.clone()))
        });
        let client = mock_client!(aws_sdk_s3, [&rule]);
        S3Multipart::new(
            client,
            "exports",
            "k.ndjson.gz",
            "arn:aws:kms:ap-northeast-2:123456789012:key/k",
            "application/x-ndjson",
        )
    }

    #[tokio::test]
    async fn an_upload_that_vanished_under_us_is_retryable() {
        let err = sink_answering(404, "NoSuchUpload")
            .part("u", 2, vec![1])
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Retryable, "{err}");
        assert!(err.to_string().contains("NoSuchUpload"), "{err}");
    }

    #[tokio::test]
    async fn a_part_refused_by_the_key_policy_is_a_config_error() {
        let err = sink_answering(403, "AccessDenied")
            .part("u", 1, vec![1])
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Config, "{err}");
    }
}
