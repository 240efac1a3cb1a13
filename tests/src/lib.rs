//! Integration-test harness shared by every function's tests: moto server on a free loopback
//! port, an `SdkConfig` pointed at it, and the fixtures.
//!
//! The tests here need moto server from the project's virtualenv. `make test` installs it; run
//! without it, they fail and say so rather than skip.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde_json::Value;

/// The region every integration test runs in, the fixtures' region.
pub const REGION: &str = "ap-northeast-2";

/// The project's root folder.
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fixture event from `tests/fixtures/events`.
pub fn fixture(name: &str) -> Value {
    let path = project_root().join("tests/fixtures/events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("fixture {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("fixture {}: {err}", path.display()))
}

fn moto_server_path() -> PathBuf {
    std::env::var_os("MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join(".venv/bin/moto_server"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|err| panic!("no free loopback port: {err}"))
}

/// One moto server process, stopped when dropped. Each test starts its own, so that no state
/// leaks between tests (moto's SendCommand targets every instance in the region).
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl Moto {
    /// Starts moto on a free loopback port and waits until it answers.
    pub fn start() -> Self {
        let server = moto_server_path();
        assert!(
            server.exists(),
            "moto server not found at {}: run `make test`, which installs moto[server] into .venv",
            server.display()
        );
        let port = free_port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {}: {err}", server.display()));
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not listen on {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// The SDK configuration a function would load with `AWS_ENDPOINT_URL` set to this server.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .test_credentials()
            .load()
            .await
    }
}

impl Moto {
    /// Queues `findings` as the answer to moto's next distinct `ListFindings` query, through
    /// its own API (`/moto-api/static/inspector2/findings-results`).
    pub fn seed_findings(&self, findings: &[Value]) {
        use std::io::{Read, Write};
        let body = serde_json::json!({"results": [findings], "region": REGION}).to_string();
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).unwrap_or_else(|err| panic!("moto at {address}: {err}"));
        let request = format!(
            "POST /moto-api/static/inspector2/findings-results HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("write to moto");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read from moto");
        assert!(
            answer.starts_with("HTTP/1.1 201"),
            "moto refused the findings: {answer}"
        );
    }
}

/// A finding as `ListFindings` returns it: the EventBridge fixtures carry Inspector's event
/// timestamps (`Mon Nov 30 18:14:32.123 UTC 2026`), the API epoch seconds.
pub fn api_shaped(finding: &Value) -> Value {
    match finding {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| {
                    let time = key
                        .ends_with("At")
                        .then(|| shared::filter::matcher::finding_time(value))
                        .flatten();
                    let value = match time {
                        Some(secs) => serde_json::json!(secs),
                        None => api_shaped(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(api_shaped).collect()),
        other => other.clone(),
    }
}

/// Creates a symmetric KMS key in moto and returns its ARN.
pub async fn create_kms_key(config: &SdkConfig) -> String {
    aws_sdk_kms::Client::new(config)
        .create_key()
        .send()
        .await
        .expect("moto CreateKey")
        .key_metadata()
        .and_then(|m| m.arn())
        .expect("a key ARN")
        .to_owned()
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs one EC2 instance in moto's default VPC and returns its id.
pub async fn run_instance(ec2: &aws_sdk_ec2::Client, tags: &[(&str, &str)]) -> String {
    let image_id = ec2
        .describe_images()
        .send()
        .await
        .expect("moto DescribeImages")
        .images()
        .iter()
        .find_map(|i| i.image_id().map(str::to_owned))
        .expect("moto ships at least one AMI");
    let mut request = ec2
        .run_instances()
        .image_id(image_id)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1);
    if !tags.is_empty() {
        let mut spec =
            aws_sdk_ec2::types::TagSpecification::builder().resource_type(aws_sdk_ec2::types::ResourceType::Instance);
        for (key, value) in tags {
            spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(*key).value(*value).build());
        }
        request = request.tag_specifications(spec.build());
    }
    request
        .send()
        .await
        .expect("moto RunInstances")
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .expect("an instance id")
        .to_owned()
}

/// Creates an S3 bucket in moto, in [`REGION`] (which needs a location constraint).
pub async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str) {
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .expect("moto CreateBucket");
}
