//! The export bucket over `aws-sdk-s3`: [`ExportStore`], every object SSE-KMS with the
//! configured key, multipart uploads through [`S3Multipart`].

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_sdk_s3::Client;

use super::aws_error;
use super::multipart::S3Multipart;
use crate::export::ports::{ExportStore, Listing, MultipartSink};
use crate::Error;

/// Pages of `ListObjectsV2` read at most for one folder (1 000 keys a page).
const MAX_PAGES: usize = 100;

/// One bucket and the key that encrypts what is written to it.
#[derive(Clone, Debug)]
pub struct S3ExportStore {
    client: Client,
    bucket: String,
    kms_key_arn: String,
}

impl S3ExportStore {
    /// The store for `bucket`, writing with `kms_key_arn`, from the process's shared configuration.
    pub fn new(config: &SdkConfig, bucket: &str, kms_key_arn: &str) -> Self {
        Self::from_client(Client::new(config), bucket, kms_key_arn)
    }

    /// The same over an existing client (tests use a mocked one).
    pub fn from_client(client: Client, bucket: &str, kms_key_arn: &str) -> Self {
        S3ExportStore {
            client,
            bucket: bucket.to_owned(),
            kms_key_arn: kms_key_arn.to_owned(),
        }
    }
}

#[async_trait]
impl ExportStore for S3ExportStore {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    fn upload(&self, key: &str, content_type: &'static str) -> Box<dyn MultipartSink + '_> {
        Box::new(S3Multipart::new(
            self.client.clone(),
            &self.bucket,
            key,
            &self.kms_key_arn,
            content_type,
        ))
    }

    async fn put(&self, key: &str, body: Vec<u8>, content_type: &'static str) -> Result<(), Error> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&self.kms_key_arn)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| aws_error("s3", "PutObject", e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, Error> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| aws_error("s3", "GetObject", e))?;
        let body = output.body.collect().await.map_err(|e| Error::Aws {
            service: "s3",
            operation: "GetObject",
            code: None,
            class: crate::ErrorClass::Retryable,
            detail: format!("reading the body failed: {e}"),
            source: Box::new(e),
        })?;
        Ok(body.to_vec())
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| aws_error("s3", "DeleteObject", e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Listing, Error> {
        let mut listing = Listing::default();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .delimiter("/")
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| aws_error("s3", "ListObjectsV2", e))?;
            listing.folders.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
            listing.objects.extend(page.contents().iter().filter_map(|o| {
                let size = o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
                o.key().map(|k| (k.to_owned(), size))
            }));
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => return Ok(listing),
            }
        }
        tracing::warn!(
            prefix,
            pages = MAX_PAGES,
            "ListObjectsV2 still had pages; the rest are not read"
        );
        Ok(listing)
    }
}
