//! findings-export against moto server: findings seeded through moto's `findings-results` API,
//! the real handler and adapters, a KMS key and bucket created in moto. The bucket is the judge:
//! the object decompresses to exactly the seeded findings, everything is `aws:kms` with the key,
//! the manifest and summary are right, and `since: "last"` starts at the manifest's watermark.
//! Needs moto (run `make test`).

use std::io::Read;
use std::sync::Arc;

use findings_export::handler::handle;
use integration_tests::{api_shaped, create_bucket, create_kms_key, fixture, Moto};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use shared::aws::{export_bucket::S3ExportStore, findings::Inspector2Findings};
use shared::config::ExportConfig;
use shared::export::flow::{ExportTarget, Exporter};

struct Stack {
    moto: Moto,
    s3: aws_sdk_s3::Client,
    key_arn: String,
    exporter: Exporter,
    config: ExportConfig,
}

async fn stack() -> Stack {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    create_bucket(&s3, "inspector-exports").await;
    let key_arn = create_kms_key(&sdk).await;
    let env = [
        ("AWS_REGION", integration_tests::REGION.to_owned()),
        ("EXPORT_BUCKET", "inspector-exports".to_owned()),
        ("EXPORT_KMS_KEY_ARN", key_arn.clone()),
        ("EXPORT_MODE", "stream".to_owned()),
    ];
    let config =
        ExportConfig::from_lookup(&|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
    let inspector = Arc::new(Inspector2Findings::new(&sdk));
    let exporter = Exporter::new(
        ExportTarget {
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
            kms_key_arn: config.kms_key_arn.clone(),
        },
        inspector.clone(),
        Arc::new(S3ExportStore::new(&sdk, &config.bucket, &config.kms_key_arn)),
        inspector,
    );
    Stack {
        moto,
        s3,
        key_arn,
        exporter,
        config,
    }
}

/// The three finding fixtures plus `extra` generated ones, as the API returns them.
fn seeded(extra: usize) -> Vec<Value> {
    let mut findings: Vec<Value> = [
        "inspector2-finding-ec2-package.json",
        "inspector2-finding-ecr-image.json",
        "inspector2-finding-network.json",
    ]
    .iter()
    .map(|name| api_shaped(&fixture(name)["detail"]))
    .collect();
    for i in 0..extra {
        let mut finding = findings[i % 3].clone();
        finding["findingArn"] = json!(format!(
            "arn:aws:inspector2:ap-northeast-2:123456789012:finding/{i:032x}"
        ));
        finding["updatedAt"] = json!(1_796_000_000 + i);
        findings.push(finding);
    }
    findings
}

impl Stack {
    async fn invoke(&self, payload: Value) -> Value {
        let event = LambdaEvent::new(payload, Context::default());
        let answer = handle(&self.exporter, &self.config.defaults, event)
            .await
            .expect("export");
        serde_json::to_value(answer).unwrap()
    }

    async fn get(&self, uri: &str) -> (Vec<u8>, aws_sdk_s3::operation::get_object::GetObjectOutput) {
        let key = uri.trim_start_matches("s3://inspector-exports/");
        let output = self
            .s3
            .get_object()
            .bucket("inspector-exports")
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetObject {key}: {e:?}"));
        let mut output = output;
        let body = std::mem::take(&mut output.body).collect().await.unwrap().to_vec();
        (body, output)
    }
}

#[tokio::test]
async fn a_stream_export_of_seeded_findings_lands_encrypted_with_manifest_and_summary() {
    // GIVEN 53 findings seeded in moto
    let stack = stack().await;
    let findings = seeded(50);
    stack.moto.seed_findings(&findings);
    // WHEN the schedule runs a stream export
    let answer = stack.invoke(fixture("scheduled-event.json")).await;
    // THEN the object, manifest and summary are under the dated, partitioned key
    assert_eq!(answer["outcome"], "exported", "{answer}");
    assert_eq!(answer["count"], 53);
    let objects: Vec<String> = answer["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_owned())
        .collect();
    let partition = regex_like_partition(&objects[0]);
    assert!(partition, "{}", objects[0]);
    assert!(objects[1].ends_with(".manifest.json") && objects[2].ends_with(".summary.json"));
    // AND each is aws:kms with the configured key
    for uri in &objects {
        let (_, head) = stack.get(uri).await;
        assert_eq!(
            head.server_side_encryption().map(|s| s.as_str()),
            Some("aws:kms"),
            "{uri}"
        );
        assert_eq!(head.ssekms_key_id(), Some(stack.key_arn.as_str()), "{uri}");
    }
    // AND the object decompresses to exactly the seeded findings
    let (body, head) = stack.get(&objects[0]).await;
    assert_eq!(head.content_encoding(), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, findings);
    // AND the manifest and summary tell the truth
    let manifest: Value = serde_json::from_slice(&stack.get(&objects[1]).await.0).unwrap();
    assert_eq!(manifest["object"], objects[0]);
    assert_eq!(manifest["count"], 53);
    assert_eq!(manifest["bytes"], body.len());
    assert_eq!(manifest["watermark"], "2026-12-01T05:00:00Z");
    assert_eq!(manifest["filterCriteria"]["findingStatus"][0]["value"], "ACTIVE");
    let summary: Value = serde_json::from_slice(&stack.get(&objects[2]).await.0).unwrap();
    assert_eq!(summary["total"], 53);
    let by_severity: u64 = summary["bySeverity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_severity, 53);
    assert_eq!(summary["byAccount"]["123456789012"], 53);
    assert!(!summary["topPackages"].as_array().unwrap().is_empty());

    // WHEN the next export asks for what changed since the last one
    stack.moto.seed_findings(&findings[..2]);
    let next = stack.invoke(json!({"since": "last", "format": "CSV"})).await;
    // THEN it starts at the manifest's watermark and writes CSV
    assert_eq!(next["since"], "2026-12-01T05:00:00Z", "{next}");
    assert_eq!(next["count"], 2);
    let csv_uri = next["objects"][0].as_str().unwrap();
    assert!(csv_uri.ends_with(".csv.gz"));
    let (body, head) = stack.get(csv_uri).await;
    assert_eq!(head.content_type(), Some("text/csv"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.starts_with("AWS Account Id,Severity,Fix Available,"));
    assert_eq!(text.lines().count(), 3, "{text}");
}

/// `…/inspector/findings/year=YYYY/month=MM/day=DD/findings-YYYYMMDDTHHMMSS.mmmZ.ndjson.gz`.
fn regex_like_partition(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("s3://inspector-exports/inspector/findings/") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    parts.len() == 4
        && parts[0].starts_with("year=")
        && parts[1].starts_with("month=")
        && parts[2].starts_with("day=")
        && parts[3].starts_with("findings-")
        && parts[3].ends_with(".ndjson.gz")
}

#[tokio::test]
async fn an_export_to_a_missing_bucket_leaves_nothing_and_is_a_config_error() {
    let stack = stack().await;
    stack.moto.seed_findings(&seeded(5));
    let sdk = stack.moto.sdk_config().await;
    let inspector = Arc::new(Inspector2Findings::new(&sdk));
    let exporter = Exporter::new(
        ExportTarget {
            bucket: "no-such-bucket".into(),
            prefix: "inspector/findings".into(),
            kms_key_arn: stack.key_arn.clone(),
        },
        inspector.clone(),
        Arc::new(S3ExportStore::new(&sdk, "no-such-bucket", &stack.key_arn)),
        inspector,
    );
    let event = LambdaEvent::new(json!({"mode": "stream"}), Context::default());
    let err = handle(&exporter, &stack.config.defaults, event).await.unwrap_err();
    assert_eq!(err.class(), shared::ErrorClass::Config);
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
}
