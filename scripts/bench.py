"""Benchmarks of a function binary: cold start, peak RSS over one invocation, sizes.

Usage: bench.py BINARY [ZIP]

- cold start: from process spawn to its first Runtime API `GET /invocation/next`, under the
  small loopback Runtime API below (the median of RUNS spawns);
- peak RSS: VmHWM of the process after it has answered one real invocation against moto server
  (agent-installer: the running fixture, rewritten to a moto instance; suppression-sync: the
  scheduled event, with the example rules file in moto's S3; finding-router: an SQS batch of 10
  notified findings; findings-export: a stream export of BENCH_FINDINGS (1 000) findings seeded
  in moto, which answers them in one page; account-setup: a Custom::InspectorEnablement Create,
  answered at a presigned moto URL);
- sizes: the stripped binary, and the deployment zip when given.
"""

import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from moto_stack import RULES_BUCKET, RULES_KEY, api_shaped, client, fixture, function_env, moto_server, provision, \
    provision_rules, seed_findings

RUNS = int(os.environ.get("BENCH_RUNS", "20"))
# findings-export: how many findings moto holds. moto answers ListFindings in one page, so this
# is also the page size (Inspector's is 100).
FINDINGS = int(os.environ.get("BENCH_FINDINGS", "1000"))


class RuntimeApi(http.server.ThreadingHTTPServer):
    """Just enough of the Lambda Runtime API for one invocation, on 127.0.0.1."""

    daemon_threads = True

    def __init__(self, event):
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = event
        self.first_next = None
        self.served = False
        self.answer = None
        self.answered = threading.Event()

    @property
    def address(self):
        return f"127.0.0.1:{self.server_address[1]}"


    def handle_error(self, request, client_address):
        """The function is killed while its next poll is held open: a reset is expected."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        server: RuntimeApi = self.server
        if server.first_next is None:
            server.first_next = time.perf_counter()
        if server.event is None or server.served:
            time.sleep(3600)  # hold the poll; the process is killed before this returns
            return
        server.served = True
        server.served_at = time.perf_counter()
        body = json.dumps(server.event).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:ap-northeast-2:123456789012:function:agent-installer")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.server.answer = (self.path, self.rfile.read(length).decode())
        self.server.answered_at = time.perf_counter()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.server.answered.set()


def run_once(binary, env, event):
    api = RuntimeApi(event)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=api.address, AWS_LAMBDA_FUNCTION_NAME=Path(binary).name,
               AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128")
    started = time.perf_counter()
    child = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        if event is None:
            while api.first_next is None and time.monotonic() < deadline and child.poll() is None:
                time.sleep(0.0005)
            if api.first_next is None:
                raise RuntimeError(f"no /next within 30 s (exit code {child.poll()})")
            return (api.first_next - started) * 1000, None, None
        if not api.answered.wait(60):
            raise RuntimeError(f"no answer within 60 s (exit code {child.poll()})")
        status = Path(f"/proc/{child.pid}/status").read_text()
        hwm_kb = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
        api.answer = (*api.answer, (api.answered_at - api.served_at) * 1000)
        return (api.first_next - started) * 1000, hwm_kb / 1024, api.answer
    finally:
        child.kill()
        child.wait()
        api.shutdown()
        api.server_close()


def setup(binary, endpoint):
    """The environment, the one real event, and the outcomes that count as success."""
    if Path(binary).name == "finding-router":
        provision_rules(endpoint)
        env = function_env(endpoint, {})
        topic = client("sns", endpoint).create_topic(Name="inspector-autopilot-findings")["TopicArn"]
        env.update({"NOTIFY_TOPIC_ARN": topic, "RULES_URI": f"s3://{RULES_BUCKET}/{RULES_KEY}"})
        records = []
        for i in range(10):
            finding = fixture("inspector2-finding-ecr-image.json")
            finding["detail"]["findingArn"] += f"-{i}"
            records.append({"messageId": f"m-{i}", "body": json.dumps(finding), "eventSource": "aws:sqs",
                            "eventSourceARN": "arn:aws:sqs:ap-northeast-2:123456789012:in",
                            "awsRegion": "ap-northeast-2"})
        # An SQS batch of 10 notified findings: 10 publishes to moto, 4 at a time.
        return env, {"Records": records}, ('"batchItemFailures":[]',)
    if Path(binary).name == "account-setup":
        s3 = client("s3", endpoint)
        s3.create_bucket(Bucket="cfn-responses", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        url = s3.generate_presigned_url("put_object", Params={"Bucket": "cfn-responses", "Key": "answer"},
                                        ExpiresIn=3600)
        # A Custom::InspectorEnablement Create: Enable, one status read, the PUT to the URL.
        event = {"RequestType": "Create", "ResponseURL": url, "RequestId": "bench",
                 "StackId": "arn:aws:cloudformation:ap-northeast-2:123456789012:stack/ia/1",
                 "ResourceType": "Custom::InspectorEnablement", "LogicalResourceId": "InspectorEnablement",
                 "ResourceProperties": {}}
        return function_env(endpoint, {}), event, ('"status":"SUCCESS"',)
    if Path(binary).name == "findings-export":
        s3 = client("s3", endpoint)
        s3.create_bucket(Bucket="exports", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        key_arn = client("kms", endpoint).create_key()["KeyMetadata"]["Arn"]
        templates = [api_shaped(fixture(name)["detail"]) for name in (
            "inspector2-finding-ec2-package.json", "inspector2-finding-ecr-image.json",
            "inspector2-finding-network.json")]
        findings = []
        for i in range(FINDINGS):
            finding = json.loads(json.dumps(templates[i % 3]))
            finding["findingArn"] = f"arn:aws:inspector2:ap-northeast-2:123456789012:finding/{i:032x}"
            findings.append(finding)
        # moto answers the same query with the same findings, so every run exports all of them.
        seed_findings(endpoint, findings)
        env = function_env(endpoint, {})
        env.update({"EXPORT_BUCKET": "exports", "EXPORT_KMS_KEY_ARN": key_arn, "EXPORT_MODE": "stream"})
        return env, fixture("scheduled-event.json"), ('"outcome":"exported"',)
    if Path(binary).name == "suppression-sync":
        provision_rules(endpoint)
        env = function_env(endpoint, {})
        env["RULES_URI"] = f"s3://{RULES_BUCKET}/{RULES_KEY}"
        return env, fixture("scheduled-event.json"), ('"outcome":"synced"',)
    stack = provision(endpoint)
    event = fixture("ec2-state-running.json")
    event["detail"]["instance-id"] = stack["instance_id"]
    return function_env(endpoint, stack), event, ('"outcome":"command-sent"', '"outcome":"already-sent"')


def main(binary, zip_path=None):
    with moto_server() as (endpoint, _):
        env, event, success = setup(binary, endpoint)
        env["AWS_LAMBDA_LOG_LEVEL"] = "WARN"
        cold = sorted(run_once(binary, env, None)[0] for _ in range(RUNS))
        peaks, answer, durations = [], None, []
        for _ in range(5):
            _, peak, answer = run_once(binary, env, event)
            peaks.append(peak)
            durations.append(answer[2])
    print(f"binary                 {binary}")
    print(f"cold start to /next    median {statistics.median(cold):.1f} ms, "
          f"min {cold[0]:.1f} ms, max {cold[-1]:.1f} ms ({RUNS} runs)")
    print(f"peak RSS, 1 invocation max {max(peaks):.1f} MB, median {statistics.median(peaks):.1f} MB (5 runs)")
    print(f"first invocation       median {statistics.median(durations):.1f} ms, max {max(durations):.1f} ms "
          f"(from /next served to answer, moto on loopback, 5 runs)")
    print(f"last answer            {answer[0]} {answer[1][:120]}")
    print(f"binary size (stripped) {os.path.getsize(binary) / 1e6:.2f} MB")
    if zip_path and os.path.exists(zip_path):
        print(f"zip size               {os.path.getsize(zip_path) / 1e6:.2f} MB ({zip_path})")
    if not any(outcome in answer[1] for outcome in success):
        print(f"the invocation did not succeed: expected one of {success}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
