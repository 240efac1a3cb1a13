"""Local moto stack shared by the end-to-end run and the benchmarks.

Starts moto server on a free loopback port and provisions what agent-installer needs there,
with the same names the SAM template uses. Everything runs on 127.0.0.1 only.
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
REGION = "ap-northeast-2"
RULES_BUCKET = "inspector-autopilot-rules-123456789012"
RULES_KEY = "rules/inspector-autopilot.json"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {seconds}s")


@contextlib.contextmanager
def process(args, **kwargs):
    """A child process that is always stopped on the way out, even on failure or Ctrl-C."""
    child = subprocess.Popen(args, **kwargs)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@contextlib.contextmanager
def moto_server():
    port = free_port()
    (ROOT / "target").mkdir(exist_ok=True)
    log = open(ROOT / "target" / "moto.log", "wb")
    with log, process([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                 stdout=log, stderr=subprocess.STDOUT) as child:
        wait_for_port(port)
        urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=10).read()
        yield f"http://127.0.0.1:{port}", child


def client(service: str, endpoint: str):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def provision(endpoint: str) -> dict:
    """An instance profile, one running instance without a profile, and the SNS topic."""
    iam = client("iam", endpoint)
    iam.create_role(RoleName="inspector-autopilot-ssm-instance",
                    AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole"}]}))
    # The real role also gets AmazonSSMManagedInstanceCore; moto does not load AWS managed
    # policies unless asked to, and the flow under test does not read the role's policies.
    profile = iam.create_instance_profile(InstanceProfileName="inspector-autopilot-ssm-instance")
    iam.add_role_to_instance_profile(InstanceProfileName="inspector-autopilot-ssm-instance",
                                     RoleName="inspector-autopilot-ssm-instance")
    ec2 = client("ec2", endpoint)
    image_id = ec2.describe_images()["Images"][0]["ImageId"]
    instance_id = ec2.run_instances(ImageId=image_id, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                    TagSpecifications=[{"ResourceType": "instance",
                                                        "Tags": [{"Key": "Name", "Value": "demo-web-1"}]}],
                                    )["Instances"][0]["InstanceId"]
    topic_arn = client("sns", endpoint).create_topic(Name="inspector-autopilot")["TopicArn"]
    return {"profile_arn": profile["InstanceProfile"]["Arn"], "instance_id": instance_id, "topic_arn": topic_arn}


def provision_rules(endpoint: str) -> dict:
    """The rules bucket with the example rules file, and one suppression filter made by a person
    (no managed tag), which suppression-sync must never touch. Returns the rules."""
    rules = json.loads((ROOT / "tests" / "fixtures" / "rules" / "example.json").read_text())
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket=RULES_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=RULES_BUCKET, Key=RULES_KEY, Body=json.dumps(rules, indent=2).encode())
    client("inspector2", endpoint).create_filter(
        action="SUPPRESS", name="console-made-rule", reason="made in the console",
        filterCriteria={"title": [{"comparison": "PREFIX", "value": "CVE-2019"}]}, tags={"team": "security"})
    return rules


def seed_findings(endpoint: str, findings: list) -> None:
    """Gives moto's ListFindings `findings` for the next distinct query, through moto's own API."""
    body = json.dumps({"results": [findings], "region": REGION}).encode()
    request = urllib.request.Request(f"{endpoint}/moto-api/static/inspector2/findings-results", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=60).read()


def api_shaped(value):
    """A finding as ListFindings returns it: the EventBridge fixtures carry Inspector's event
    timestamps (`Mon Nov 30 18:14:32.123 UTC 2026`), the API epoch seconds."""
    if isinstance(value, dict):
        shaped = {}
        for key, item in value.items():
            if key.endswith("At") and isinstance(item, str):
                at = datetime.strptime(item, "%a %b %d %H:%M:%S.%f UTC %Y").replace(tzinfo=timezone.utc)
                shaped[key] = at.timestamp()
            else:
                shaped[key] = api_shaped(item)
        return shaped
    if isinstance(value, list):
        return [api_shaped(item) for item in value]
    return value


def function_env(endpoint: str, stack: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(CREDENTIALS)
    env.update({
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
    })
    if stack:
        env.update({
            "INSTANCE_PROFILE_ARN": stack["profile_arn"],
            "RUN_COMMAND_OUTPUT_BUCKET": "inspector-autopilot-runcommand-123456789012",
            "NOTIFY_TOPIC_ARN": stack["topic_arn"],
            "SSM_WAIT_SECONDS": "5",
        })
    return env


def invoke(port: int, payload, function: str = "", timeout: float = 120) -> dict:
    """One `cargo lambda invoke [FUNCTION] --data-file F` against the emulator on `port`; returns
    the answer, or {"error": ...} with what cargo-lambda printed."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(payload if isinstance(payload, str) else json.dumps(payload))
    try:
        run = subprocess.run([str(VENV_BIN / "cargo-lambda"), "lambda", "invoke", *([function] if function else []),
                              "-A", "127.0.0.1", "-P", str(port), "--data-file", f.name, "--output-format", "json"],
                             capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    finally:
        Path(f.name).unlink()
    if run.returncode != 0:
        return {"error": (run.stderr or run.stdout).strip()}
    return json.loads(run.stdout)


def fixture(name: str) -> dict:
    return json.loads((ROOT / "tests" / "fixtures" / "events" / name).read_text())


if __name__ == "__main__":
    sys.exit("import this module; see scripts/lambda_e2e.py")
