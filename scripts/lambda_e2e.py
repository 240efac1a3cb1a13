"""The release binaries under cargo-lambda's Lambda Runtime API, against moto.

Usage: lambda_e2e.py BIN_DIR   (the directory holding the five release binaries)

agent-installer: the running fixture rewritten to a moto instance is answered `command-sent`;
the stopped fixture `ignored`; garbage gets a classified answer with no panic and no hang.
suppression-sync: with the example rules file in moto's S3 and a user-made filter beside it, a
dry run plans and changes nothing, a sync leaves exactly the managed set, a second sync reports
it unchanged, and a broken rules file is a Config error that changes nothing.
finding-router: with the example rules in moto's S3 and an SNS topic with an SQS subscription,
the dev-host CVE is suppressed, its prod copy and the critical sandbox image are notified and
arrive on the queue with their attributes, the medium network finding is below the threshold,
and an SQS batch is answered with `batchItemFailures`.
findings-export: with 8000 findings seeded in moto, a KMS key and a bucket, a stream export whose
upload is aborted under it mid-way is a Retryable error that leaves nothing; the rerun writes the
object, manifest and summary under the dated, partitioned key, all aws:kms with the key, and the
object decompresses to exactly the seeded findings.
account-setup: a Custom::InspectorEnablement Create enables Inspector in moto and its answer lands at
a presigned S3 URL made by moto, as at CloudFormation's ResponseURL; Delete leaves Inspector on.
Exits non-zero, naming the failing step, if anything is off.
"""

import concurrent.futures
import contextlib
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import moto_stack
from moto_stack import ROOT, RULES_BUCKET, RULES_KEY, VENV_BIN, api_shaped, client, fixture, free_port, \
    function_env, moto_server, process, provision, provision_rules, seed_findings, wait_for_port

INVOKE_TIMEOUT = 60


def invoke(port: int, payload) -> dict:
    return moto_stack.invoke(port, payload, timeout=INVOKE_TIMEOUT)


def bad_input(port: int, fn, check, payloads: list) -> None:
    """Each payload is answered `ignored`; a non-JSON payload is a classified error and the
    process keeps serving."""
    for label, payload in payloads:
        answer = invoke(port, payload)
        check(f"garbage ({label}) -> ignored", answer.get("outcome") == "ignored", json.dumps(answer))
    answer = invoke(port, "this is not JSON")
    check("non-JSON payload -> classified error, no crash", "error" in answer and fn.poll() is None,
          answer.get("error", json.dumps(answer))[:200])


@contextlib.contextmanager
def function(binary: Path, env: dict, port: int):
    """One function process bound to the Runtime API on `port`; its log goes to target/<name>-e2e.log."""
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"http://127.0.0.1:{port}/.rt", AWS_LAMBDA_FUNCTION_NAME="_",
               AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128")
    log_path = ROOT / "target" / f"{binary.name}-e2e.log"
    with open(log_path, "wb") as log, process([str(binary)], env=env, stdout=log, stderr=subprocess.STDOUT) as fn:
        yield fn


def agent_installer(binary: Path, endpoint: str, port: int, check) -> None:
    stack = provision(endpoint)
    instance_id = stack["instance_id"]
    with function(binary, function_env(endpoint, stack), port) as fn:
        running = fixture("ec2-state-running.json")
        running["detail"]["instance-id"] = instance_id
        answer = invoke(port, running)
        check("running fixture -> command-sent", answer.get("outcome") == "command-sent", json.dumps(answer))

        commands = client("ssm", endpoint).list_commands(InstanceId=instance_id)["Commands"]
        ours = [c for c in commands if c["CommandId"] == answer.get("commandId")]
        check("moto ListCommands shows the command",
              len(ours) == 1 and ours[0]["DocumentName"] == "AWS-ConfigureAWSPackage"
              and ours[0]["Parameters"] == {"action": ["Install"], "name": ["AmazonInspector2-InspectorSsmPlugin"]}
              and ours[0]["OutputS3BucketName"] == "inspector-autopilot-runcommand-123456789012"
              and ours[0]["OutputS3KeyPrefix"] == "runcommand",
              json.dumps([{k: c[k] for k in ("CommandId", "DocumentName", "Parameters", "OutputS3BucketName",
                                             "OutputS3KeyPrefix")} for c in ours]))

        associations = client("ec2", endpoint).describe_iam_instance_profile_associations()[
            "IamInstanceProfileAssociations"]
        check("instance profile associated",
              any(a["InstanceId"] == instance_id and a["IamInstanceProfile"]["Arn"] == stack["profile_arn"]
                  for a in associations),
              f"{len(associations)} association(s)")

        again = invoke(port, running)
        check("duplicate event -> already-sent", again.get("outcome") == "already-sent", json.dumps(again))

        stopped = fixture("ec2-state-stopped.json")
        stopped["detail"]["instance-id"] = instance_id
        answer = invoke(port, stopped)
        check("stopped fixture -> ignored", answer.get("outcome") == "ignored", json.dumps(answer))

        bad_input(port, fn, check, [("string", "\"garbage\""), ("array", "[1, 2, 3]"), ("empty object", "{}"),
                                    ("finding event", json.dumps(fixture("inspector2-finding-ec2-package.json")))])

        answer = invoke(port, running)
        check("still serving after bad input", answer.get("outcome") == "already-sent", json.dumps(answer))
        check("no panic, process alive", fn.poll() is None, f"exit code {fn.poll()}")


def suppression_sync(binary: Path, endpoint: str, port: int, check) -> None:
    rules = provision_rules(endpoint)
    inspector = client("inspector2", endpoint)

    def filters() -> dict:
        return {f["name"]: f.get("tags", {}) for f in inspector.list_filters()["filters"]}

    # The rules in force today: the example's two, until their expiresAt passes.
    now = datetime.now(timezone.utc)
    wanted = sorted(r["name"] for r in rules["suppressions"]
                    if datetime.fromisoformat(r["expiresAt"].replace("Z", "+00:00")) > now)
    env = function_env(endpoint, {})
    env["RULES_URI"] = f"s3://{RULES_BUCKET}/{RULES_KEY}"
    with function(binary, env, port) as fn:
        answer = invoke(port, {"dryRun": True})
        check("dry run -> planned, nothing changed",
              answer.get("outcome") == "planned" and sorted(answer.get("created", [])) == wanted
              and list(filters()) == ["console-made-rule"], json.dumps(answer)[:300])

        answer = invoke(port, fixture("scheduled-event.json"))
        check("schedule -> synced, managed filters created",
              answer.get("outcome") == "synced" and sorted(answer.get("created", [])) == wanted, json.dumps(answer)[:300])

        now_filters = filters()
        managed = sorted(n for n, t in now_filters.items() if t.get("ManagedBy") == "inspector-autopilot")
        check(f"moto ListFilters: exactly the {len(wanted)} managed filters", managed == wanted, json.dumps(now_filters))
        check("user-made filter untouched",
              now_filters.get("console-made-rule") == {"team": "security"}, json.dumps(now_filters))

        rules_event = {"version": "0", "id": "e2e", "source": "aws.s3", "detail-type": "Object Created",
                       "detail": {"bucket": {"name": RULES_BUCKET}, "object": {"key": RULES_KEY}}}
        answer = invoke(port, rules_event)
        check("second sync -> all unchanged",
              answer.get("outcome") == "synced" and sorted(answer.get("unchanged", [])) == wanted
              and not answer.get("created") and not answer.get("updated") and not answer.get("deleted"),
              json.dumps(answer)[:300])

        bad_input(port, fn, check, [("string", "\"garbage\""), ("dryRun not a boolean", "{\"dryRun\": \"yes\"}"),
                                    ("finding event", json.dumps(fixture("inspector2-finding-ec2-package.json")))])

        broken = json.loads(json.dumps(rules))
        broken["suppressions"][0]["filterCriteria"]["severity"][0]["comparison"] = "GREATER_THAN"
        broken["suppressions"].pop()
        client("s3", endpoint).put_object(Bucket=RULES_BUCKET, Key=RULES_KEY, Body=json.dumps(broken).encode())
        answer = invoke(port, {})
        check("broken rules file -> Config.InvalidRules with its path, nothing changed",
              "Config.InvalidRules" in answer.get("error", "")
              and "suppressions[0].filterCriteria.severity[0].comparison" in answer.get("error", "")
              and filters() == now_filters, answer.get("error", json.dumps(answer))[:300])
        check("no panic, process alive", fn.poll() is None, f"exit code {fn.poll()}")


def finding_router(binary: Path, endpoint: str, port: int, check) -> None:
    provision_rules(endpoint)
    sns, sqs = client("sns", endpoint), client("sqs", endpoint)
    topic_arn = sns.create_topic(Name="inspector-autopilot-findings")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="findings")["QueueUrl"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint="arn:aws:sqs:ap-northeast-2:123456789012:findings")

    def received() -> list:
        envelopes = []
        while True:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", [])
            if not messages:
                return envelopes
            for m in messages:
                envelopes.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])

    def attributes(envelope: dict) -> dict:
        return {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}

    env = function_env(endpoint, {})
    env.update({"NOTIFY_TOPIC_ARN": topic_arn, "RULES_URI": f"s3://{RULES_BUCKET}/{RULES_KEY}"})
    with function(binary, env, port) as fn:
        answer = invoke(port, fixture("inspector2-finding-ec2-package.json"))
        check("dev-host CVE -> suppressed by accepted-risk-CVE-2021-3592-dev",
              answer.get("outcome") == "suppressed" and answer.get("rule") == "accepted-risk-CVE-2021-3592-dev",
              json.dumps(answer))
        answer = invoke(port, fixture("inspector2-finding-network.json"))
        check("medium network finding -> below-threshold", answer.get("outcome") == "below-threshold",
              json.dumps(answer))
        check("nothing on the queue for those two", received() == [], "")

        prod = fixture("inspector2-finding-ec2-package.json")
        prod["detail"]["resources"][0]["tags"]["env"] = "prod"
        answer = invoke(port, prod)
        check("same CVE on env=prod -> notified (HIGH >= HIGH)", answer.get("outcome") == "notified",
              json.dumps(answer))
        answer = invoke(port, fixture("inspector2-finding-ecr-image.json"))
        check("critical sandbox image -> notified, not suppressed", answer.get("outcome") == "notified",
              json.dumps(answer))
        envelopes = received()
        by_severity = {attributes(e).get("severity"): e for e in envelopes}
        high = attributes(by_severity.get("HIGH", {}))
        check("queue: the prod finding with its attributes",
              len(envelopes) == 2 and high == {"severity": "HIGH", "findingType": "PACKAGE_VULNERABILITY",
                                                "resourceType": "AWS_EC2_INSTANCE", "awsAccountId": "123456789012",
                                                "vulnerabilityId": "CVE-2021-3592"}
              and by_severity["HIGH"]["Subject"] == "[HIGH] CVE-2021-3592 - libslirp0 on i-0abcd1111efgh2222",
              json.dumps([(e.get("Subject"), attributes(e)) for e in envelopes]))
        check("queue: the critical image with its attributes",
              attributes(by_severity.get("CRITICAL", {})).get("resourceType") == "AWS_ECR_CONTAINER_IMAGE", "")

        records = [{"messageId": f"m-{i}", "body": body, "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:ap-northeast-2:123456789012:in", "awsRegion": "ap-northeast-2"}
                   for i, body in enumerate([json.dumps(fixture("inspector2-finding-ecr-image.json")),
                                             json.dumps(fixture("inspector2-finding-ec2-package.json")),
                                             "{not json"])]
        answer = invoke(port, {"Records": records})
        check("SQS batch (one malformed record) -> no batchItemFailures",
              answer == {"batchItemFailures": []} and len(received()) == 1, json.dumps(answer))

        bad_input(port, fn, check, [("string", "\"garbage\"")])
        check("no panic, process alive", fn.poll() is None, f"exit code {fn.poll()}")


EXPORT_BUCKET = "inspector-autopilot-exports-123456789012"


def noisy_findings(count: int) -> list:
    """The three finding fixtures as the API returns them, then copies with 4 KiB of hex noise
    each: about 19 MB of gzip, so that an upload can fail in the middle. (moto answers
    ListFindings in one page, so its first 16 MiB go up as one part, then the rest.)"""
    base = [api_shaped(fixture(name)["detail"]) for name in
            ("inspector2-finding-ec2-package.json", "inspector2-finding-ecr-image.json",
             "inspector2-finding-network.json")]
    findings = list(base)
    for i in range(count - len(base)):
        finding = json.loads(json.dumps(base[i % 3]))
        finding["findingArn"] = f"arn:aws:inspector2:ap-northeast-2:123456789012:finding/{i:032x}"
        finding["description"] = os.urandom(2048).hex()
        findings.append(finding)
    return findings


def findings_export(binary: Path, endpoint: str, port: int, check) -> None:
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket=EXPORT_BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    key_arn = client("kms", endpoint).create_key(Description="inspector-autopilot exports")["KeyMetadata"]["Arn"]
    findings = noisy_findings(8_000)
    seed_findings(endpoint, findings)

    def keys() -> list:
        return [o["Key"] for o in s3.list_objects_v2(Bucket=EXPORT_BUCKET).get("Contents", [])]

    env = function_env(endpoint, {})
    env.update({"EXPORT_BUCKET": EXPORT_BUCKET, "EXPORT_KMS_KEY_ARN": key_arn, "EXPORT_MODE": "stream"})
    with function(binary, env, port) as fn:
        # S3 fails mid-upload: the upload is aborted under the function once it has started.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pending = pool.submit(invoke, port, fixture("scheduled-event.json"))
            victim = None
            while victim is None and not pending.done():
                uploads = s3.list_multipart_uploads(Bucket=EXPORT_BUCKET).get("Uploads", [])
                victim = uploads[0] if uploads else None
                time.sleep(0.01)
            if victim:
                s3.abort_multipart_upload(Bucket=EXPORT_BUCKET, Key=victim["Key"], UploadId=victim["UploadId"])
            answer = pending.result()
        check("upload aborted mid-way -> Retryable error", victim is not None
              and "Retryable" in answer.get("error", ""), answer.get("error", json.dumps(answer))[:300])
        check("... nothing at the final key, no manifest, nothing pending",
              keys() == [] and not s3.list_multipart_uploads(Bucket=EXPORT_BUCKET).get("Uploads"),
              json.dumps(keys()))

        answer = invoke(port, fixture("scheduled-event.json"))
        objects = answer.get("objects", [])
        check("rerun on the schedule -> exported, 8000 findings", answer.get("outcome") == "exported"
              and answer.get("count") == 8_000 and len(objects) == 3, json.dumps(answer)[:300])
        data_key = objects[0].removeprefix(f"s3://{EXPORT_BUCKET}/") if objects else ""
        check("object under EXPORT_PREFIX/year=/month=/day=/findings-<ts>.ndjson.gz",
              re.fullmatch(r"inspector/findings/year=\d{4}/month=\d{2}/day=\d{2}/findings-\d{8}T\d{6}(\.\d{3})?Z"
                           r"\.ndjson\.gz", data_key) is not None, data_key)
        heads = {uri: s3.head_object(Bucket=EXPORT_BUCKET, Key=uri.removeprefix(f"s3://{EXPORT_BUCKET}/"))
                 for uri in objects}
        check("object, manifest and summary are aws:kms with the configured key",
              len(heads) == 3 and all(h.get("ServerSideEncryption") == "aws:kms" and h.get("SSEKMSKeyId") == key_arn
                                      for h in heads.values()),
              json.dumps({u: [h.get("ServerSideEncryption"), h.get("SSEKMSKeyId")] for u, h in heads.items()}))
        body = s3.get_object(Bucket=EXPORT_BUCKET, Key=data_key)["Body"].read() if data_key else b""
        lines = [json.loads(line) for line in gzip.decompress(body).splitlines()] if body else []
        check("the object decompresses to exactly the seeded findings", lines == findings,
              f"{len(lines)} line(s), {len(body)} bytes")
        manifest = json.loads(s3.get_object(Bucket=EXPORT_BUCKET, Key=data_key.replace(
            ".ndjson.gz", ".manifest.json"))["Body"].read()) if data_key else {}
        check("manifest: count, bytes, sha256, watermark, ACTIVE filter",
              manifest.get("count") == 8_000 and manifest.get("bytes") == len(body)
              and manifest.get("sha256") == hashlib.sha256(body).hexdigest() and manifest.get("parts", 0) >= 2
              and manifest.get("watermark") == "2026-12-01T05:00:00Z"
              and manifest.get("filterCriteria", {}).get("findingStatus") == [{"comparison": "EQUALS",
                                                                               "value": "ACTIVE"}],
              json.dumps({k: manifest.get(k) for k in ("count", "bytes", "parts", "watermark")}))

        bad_input(port, fn, check, [("unknown mode", "{\"mode\": \"parquet\"}"),
                                    ("bad filterCriteria", "{\"filterCriteria\": {\"severity\": "
                                                           "[{\"comparison\": \"LIKE\", \"value\": \"HIGH\"}]}}"),
                                    ("finding event", json.dumps(fixture("inspector2-finding-ec2-package.json")))])
        check("bad payloads wrote nothing", len(keys()) == 3, json.dumps(keys()))
        check("no panic, process alive", fn.poll() is None, f"exit code {fn.poll()}")


def account_setup(binary: Path, endpoint: str, port: int, check) -> None:
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket="cfn-responses", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})

    def custom_resource(request_type: str, key: str) -> dict:
        url = s3.generate_presigned_url("put_object", Params={"Bucket": "cfn-responses", "Key": key}, ExpiresIn=300)
        return {"RequestType": request_type, "ResponseURL": url, "RequestId": f"req-{key}",
                "StackId": "arn:aws:cloudformation:ap-northeast-2:123456789012:stack/ia/1",
                "ResourceType": "Custom::InspectorEnablement", "LogicalResourceId": "InspectorEnablement",
                "PhysicalResourceId": "inspector2-enablement",
                "ResourceProperties": {"ResourceTypes": ["EC2", "ECR", "LAMBDA"]}}

    def answered(key: str) -> dict:
        return json.loads(s3.get_object(Bucket="cfn-responses", Key=key)["Body"].read())

    def enabled() -> dict:
        accounts = client("inspector2", endpoint).batch_get_account_status(accountIds=["123456789012"])["accounts"]
        return {k: v["status"] for k, v in accounts[0]["resourceState"].items()} if accounts else {}

    with function(binary, function_env(endpoint, {}), port) as fn:
        answer = invoke(port, custom_resource("Create", "create"))
        check("Custom::InspectorEnablement Create -> SUCCESS", answer.get("status") == "SUCCESS", json.dumps(answer))
        cfn = answered("create")
        check("the answer is at the presigned ResponseURL", cfn.get("Status") == "SUCCESS"
              and cfn.get("RequestId") == "req-create" and cfn.get("PhysicalResourceId") == "inspector2-enablement",
              json.dumps(cfn))
        state = enabled()
        check("moto: Inspector enabled for EC2, ECR and LAMBDA",
              all(state.get(t) == "ENABLED" for t in ("ec2", "ecr", "lambda")), json.dumps(state))
        answer = invoke(port, custom_resource("Delete", "delete"))
        check("Delete -> SUCCESS, Inspector stays enabled",
              answered("delete").get("Status") == "SUCCESS" and enabled().get("ec2") == "ENABLED", json.dumps(answer))
        bad_input(port, fn, check, [("string", "\"garbage\""), ("scheduled event", json.dumps(fixture("scheduled-event.json")))])
        check("no panic, process alive", fn.poll() is None, f"exit code {fn.poll()}")


def main(bin_dir: str) -> int:
    results = []

    def check(step: str, ok: bool, detail: str) -> None:
        results.append((step, "ok" if ok else "FAILED", detail))

    suites = [("agent-installer", agent_installer), ("suppression-sync", suppression_sync),
              ("finding-router", finding_router), ("findings-export", findings_export),
              ("account-setup", account_setup)]
    port = free_port()
    with process([str(VENV_BIN / "cargo-lambda"), "lambda", "watch", "--only-lambda-apis",
                  "-A", "127.0.0.1", "-P", str(port)], cwd=ROOT,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        wait_for_port(port)
        for name, suite in suites:
            # A fresh moto per function, so that each starts from an empty account.
            with moto_server() as (endpoint, _moto):
                suite(Path(bin_dir) / name, endpoint, port, lambda step, ok, detail, n=name: check(
                    f"{n}: {step}", ok, detail))

    width = max(len(step) for step, _, _ in results)
    for step, status, detail in results:
        print(f"{step:<{width}}  {status:<6}  {detail[:160]}")
    failed = [step for step, status, _ in results if status != "ok"]
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        print(f"failing step(s): {', '.join(failed)}; function logs: target/<function>-e2e.log", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
