//! The stream export loop into moto's S3 through the real multipart adapter: parts of 8 MiB,
//! SSE-KMS with a key created in moto, and an upload aborted on failure leaves no object.
//! Needs moto (run `make test`).

use std::io::Read;

use async_trait::async_trait;
use integration_tests::{create_bucket, Moto};
use serde_json::{json, Value};
use shared::aws::multipart::S3Multipart;
use shared::export::stream::{export, FindingPages, MultipartSink, Page};
use shared::export::{RowFormat, PART_SIZE};
use shared::Error;

/// 60 pages of 100 findings of hex text, about 12 MiB of gzip: two parts.
struct Noisy {
    fail_on_page: Option<usize>,
}

#[async_trait]
impl FindingPages for Noisy {
    async fn page(&self, token: Option<String>) -> Result<Page, Error> {
        let index: usize = token.map_or(0, |t| t.parse().unwrap_or(0));
        if self.fail_on_page == Some(index) {
            return Err(Error::config("TEST", "injected page failure"));
        }
        let findings = (0..100)
            .map(|i| {
                let n = (index * 100 + i) as u64;
                let noise: String = (0..256u64)
                    .map(|k| {
                        format!(
                            "{:016x}",
                            (n * 256 + k + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (k << 32)
                        )
                    })
                    .collect();
                json!({"findingArn": format!("arn:f/{n}"), "severity": "LOW", "description": noise})
            })
            .collect();
        Ok((findings, (index + 1 < 60).then(|| (index + 1).to_string())))
    }
}

#[tokio::test]
async fn a_stream_export_lands_in_moto_encrypted_with_the_key() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    create_bucket(&s3, "exports").await;
    let key_id = aws_sdk_kms::Client::new(&config)
        .create_key()
        .send()
        .await
        .expect("moto CreateKey")
        .key_metadata()
        .expect("metadata")
        .arn()
        .expect("arn")
        .to_owned();
    let sink = S3Multipart::new(
        s3.clone(),
        "exports",
        "inspector/findings.ndjson.gz",
        &key_id,
        "application/x-ndjson",
    );

    let streamed = export(&Noisy { fail_on_page: None }, &sink, RowFormat::Ndjson, PART_SIZE)
        .await
        .expect("export");
    assert_eq!(streamed.object.count, 6_000);
    assert!(streamed.parts >= 2, "{}", streamed.parts);

    let head = s3
        .head_object()
        .bucket("exports")
        .key("inspector/findings.ndjson.gz")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.server_side_encryption().map(|s| s.as_str()), Some("aws:kms"));
    assert_eq!(head.ssekms_key_id(), Some(key_id.as_str()));
    assert_eq!(head.content_length(), Some(streamed.object.bytes as i64));
    let body = s3
        .get_object()
        .bucket("exports")
        .key("inspector/findings.ndjson.gz")
        .send()
        .await
        .expect("GetObject")
        .body
        .collect()
        .await
        .expect("body")
        .to_vec();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .expect("gzip");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines.len(), 6_000);
    assert_eq!(lines[5_999]["findingArn"], "arn:f/5999");

    // A failure after the first part: aborted, nothing at the final key, nothing left pending.
    let failed_key = "inspector/failed.ndjson.gz";
    let sink = S3Multipart::new(s3.clone(), "exports", failed_key, &key_id, "application/x-ndjson");
    assert!(
        export(&Noisy { fail_on_page: Some(55) }, &sink, RowFormat::Ndjson, PART_SIZE)
            .await
            .is_err()
    );
    let missing = s3.head_object().bucket("exports").key(failed_key).send().await;
    assert!(missing.is_err(), "no object at the final key");
    let pending = s3
        .list_multipart_uploads()
        .bucket("exports")
        .send()
        .await
        .expect("ListMultipartUploads");
    assert!(pending.uploads().is_empty(), "the upload was aborted");
}

#[tokio::test]
async fn an_upload_aborted_under_us_is_retryable() {
    // GIVEN an upload that someone else (a lifecycle rule, a cleanup) aborts after it started
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    create_bucket(&s3, "exports").await;
    let key_id = integration_tests::create_kms_key(&config).await;
    let sink = S3Multipart::new(
        s3.clone(),
        "exports",
        "inspector/gone.ndjson.gz",
        &key_id,
        "application/x-ndjson",
    );
    let upload_id = sink.start().await.expect("CreateMultipartUpload");
    s3.abort_multipart_upload()
        .bucket("exports")
        .key("inspector/gone.ndjson.gz")
        .upload_id(&upload_id)
        .send()
        .await
        .expect("AbortMultipartUpload");
    // WHEN the next part goes up
    let err = sink.part(&upload_id, 1, vec![0; 16]).await.unwrap_err();
    // THEN it is retryable: a rerun of the whole export is the cure. (S3 answers 404
    // NoSuchUpload, moto a 500; shared/src/aws/multipart.rs tests S3's answer with mocks.)
    assert_eq!(err.class(), shared::ErrorClass::Retryable, "{err}");
}
