"""make demo: the whole product on this machine, with no AWS account.

Usage: demo.py BIN_DIR [--quick] [--up]
       demo.py --down

BIN_DIR holds the five release binaries. The demo starts moto server (a local AWS emulator) and
cargo-lambda's Lambda runtime emulator on free loopback ports, runs every binary under the
emulator, deploys infra/template.yaml to moto's CloudFormation (translated by
aws-sam-translator, as `sam deploy` would), and then drives the four flows with
EventBridge-shaped events. Each function runs with the environment the stack gave it.

--quick  fewer generated findings and placeholder code zips: the run `make test` makes.
--up     leave moto, the emulator and the functions running, and say how to use them.
--down   stop what --up left running.

Exits 0 only if every flow did what it should; otherwise names the failing step.
"""

import contextlib
import gzip
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
import zipfile
from pathlib import Path

from moto_stack import CREDENTIALS, REGION, ROOT, RULES_BUCKET, RULES_KEY, VENV_BIN, api_shaped, client, fixture, \
    free_port, function_env, invoke, seed_findings, wait_for_port

STATE_DIR = ROOT / ".demo"
STATE = STATE_DIR / "state.json"
LOGS = ROOT / "target" / "demo"
STACK = "inspector-autopilot"
ACCOUNT = "123456789012"
CODE_BUCKET = f"inspector-autopilot-artifacts-{ACCOUNT}"
# The template's logical id of each function, by the name DESIGN.md gives it.
FUNCTIONS = {"agent-installer": "AgentInstallerFunction", "suppression-sync": "SuppressionSyncFunction",
             "finding-router": "FindingRouterFunction", "findings-export": "FindingsExportFunction",
             "account-setup": "AccountSetupFunction"}
INVOKE_TIMEOUT = 120


class StepFailed(Exception):
    """A flow did not do what it should; the message says what was seen instead."""


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise StepFailed(what)


def say(text: str = "", indent: int = 6) -> None:
    """One line of the story, wrapped at 110 columns (never inside a word, ARN or URI)."""
    print(textwrap.fill(text, 110, initial_indent=" " * indent, subsequent_indent=" " * (indent + 2),
                        break_long_words=False, break_on_hyphens=False) if text else "", flush=True)


# ----------------------------------------------------------------------------------------
# Processes: started in their own session, recorded in .demo/state.json, always stopped.
# ----------------------------------------------------------------------------------------
class Processes:
    def __init__(self):
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.ports: list[int] = []
        self.facts: dict = {}

    def start(self, name: str, args: list, env=None, port=None) -> subprocess.Popen:
        LOGS.mkdir(parents=True, exist_ok=True)
        with open(LOGS / f"{name}.log", "wb") as log:
            child = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.children.append((name, child))
        if port:
            self.ports.append(port)
        self.save()
        return child

    def save(self) -> None:
        STATE_DIR.mkdir(exist_ok=True)
        STATE.write_text(json.dumps({"pids": {n: c.pid for n, c in self.children},
                                     "commands": {n: c.args[0] for n, c in self.children}, "ports": self.ports,
                                     **self.facts}, indent=2))

    def stop(self) -> list[str]:
        """Stops every child; returns what is still alive or bound (nothing, normally)."""
        leftovers = stop_pids({name: child.pid for name, child in reversed(self.children)},
                              {child.pid: child for _, child in self.children})
        leftovers += bound(self.ports)
        STATE.unlink(missing_ok=True)
        return leftovers


def stop_pids(pids: dict, children: dict | None = None) -> list[str]:
    children = children or {}
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    alive = dict(pids)
    while alive and time.monotonic() < deadline:
        for name, pid in list(alive.items()):
            if not running(pid, children.get(pid)):
                del alive[name]
        time.sleep(0.05)
    for pid in alive.values():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    time.sleep(0.2 if alive else 0)
    return [f"{name} (pid {pid})" for name, pid in alive.items() if running(pid, children.get(pid))]


def running(pid: int, child: subprocess.Popen | None) -> bool:
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        # A zombie of a parent that is gone counts as stopped.
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    return True


def runs(pid: int, command: str) -> bool:
    try:
        # argv[0], or argv[1] under an interpreter (moto_server is a Python script).
        return command in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:2]
    except OSError:
        return False


def bound(ports: list) -> list[str]:
    taken = []
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"port {port} still bound")
    return taken


def down() -> int:
    """Stops what `make demo-up` (or an interrupted demo) left running."""
    if not STATE.exists():
        print("demo-down: nothing is running (no .demo/state.json)")
        return 0
    state = json.loads(STATE.read_text())
    commands = state.get("commands", {})
    # Only processes that still run what the demo started: after a reboot a pid may be another's.
    ours = {name: pid for name, pid in state.get("pids", {}).items() if runs(pid, commands.get(name, "?"))}
    leftovers = stop_pids(ours) + bound(state.get("ports", []))
    STATE.unlink(missing_ok=True)
    (STATE_DIR / "env").unlink(missing_ok=True)
    if leftovers:
        print(f"demo-down: still there: {', '.join(leftovers)}", file=sys.stderr)
        return 1
    print(f"demo-down: stopped {', '.join(ours) or 'nothing (all had exited)'}; ports {state.get('ports')} are free")
    return 0


# ----------------------------------------------------------------------------------------
# The demo
# ----------------------------------------------------------------------------------------
class Demo:
    def __init__(self, bin_dir: Path, quick: bool, procs: Processes):
        self.bin_dir, self.quick, self.procs = bin_dir, quick, procs
        self.endpoint = ""
        self.runtime_port = 0
        self.outputs: dict = {}
        self.env: dict = {}
        self.rows: list[tuple[str, str, str]] = []

    # -- helpers -----------------------------------------------------------------------
    def aws(self, service: str):
        return client(service, self.endpoint)

    def start_function(self, name: str, variables: dict, deployed_name: str) -> None:
        """The release binary, polling the emulator's Runtime API under its own name, with the
        environment the stack gave the function plus what Lambda itself sets."""
        env = function_env(self.endpoint, {})
        env.update(variables)
        env.update({"AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{self.runtime_port}/.rt/{name}",
                    "AWS_LAMBDA_FUNCTION_NAME": deployed_name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"})
        self.env[name] = variables
        self.procs.start(name, [str(self.bin_dir / name)], env=env)

    def invoke(self, name: str, payload: dict) -> dict:
        """`cargo lambda invoke NAME --data-file F`, as a person would type it."""
        answer = invoke(self.runtime_port, payload, name, INVOKE_TIMEOUT)
        if "error" in answer:
            raise StepFailed(f"{name} answered an error: {answer['error'][:400]} (log: target/demo/{name}.log)")
        return answer

    # -- 1 -----------------------------------------------------------------------------
    def start_emulators(self) -> None:
        moto_port, self.runtime_port = free_port(), free_port()
        self.procs.start("moto", [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                         port=moto_port)
        self.procs.start("runtime-emulator", [str(VENV_BIN / "cargo-lambda"), "lambda", "watch",
                                              "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(self.runtime_port)],
                         port=self.runtime_port)
        wait_for_port(moto_port)
        wait_for_port(self.runtime_port)
        self.endpoint = f"http://127.0.0.1:{moto_port}"
        # CloudFormation would run the custom resources' Lambda in Docker; here the real
        # account-setup binary answers them instead (step 2).
        request = urllib.request.Request(f"{self.endpoint}/moto-api/config", method="POST",
                                         data=json.dumps({"lambda": {"use_docker": False}}).encode(),
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).read()
        self.procs.facts.update({"endpoint": self.endpoint, "runtimePort": self.runtime_port})
        self.procs.save()
        say(f"moto server (local AWS)     {self.endpoint}        log: target/demo/moto.log")
        say(f"Lambda runtime emulator     cargo lambda watch on 127.0.0.1:{self.runtime_port}")

    # -- 2 -----------------------------------------------------------------------------
    def deploy_stack(self) -> None:
        ec2 = self.aws("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "demo"}]}])["Vpc"]["VpcId"]
        public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24")["Subnet"]["SubnetId"]
        gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
        ec2.associate_route_table(RouteTableId=table, SubnetId=public)
        self.procs.facts.update({"vpc": vpc, "publicSubnet": public, "privateSubnet": private})
        say(f"VPC {vpc} 10.0.0.0/16: public subnet {public} (internet gateway), private subnet {private}")

        template = self.translated_template()
        self.upload_code(template)
        s3 = self.aws("s3")
        s3.create_bucket(Bucket=RULES_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        parameters = {"RulesBucketName": RULES_BUCKET, "RulesObjectKey": RULES_KEY, "ExportMode": "stream",
                      "CreateSsmEndpoints": "true", "VpcId": vpc, "SubnetIds": private}
        cfn = self.aws("cloudformation")
        stack_id = cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(template),
                                    Parameters=[{"ParameterKey": k, "ParameterValue": v}
                                                for k, v in parameters.items()],
                                    Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])["StackId"]
        say(f"stack {STACK}: parameters " + ", ".join(f"{k}={v}" for k, v in parameters.items())
            + " (ExportMode=stream: moto has no findings reports)")
        status = cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]
        say(f"stack {STACK}: {status}, waiting for its Custom::InspectorEnablement")
        resources = {r["LogicalResourceId"]: r for r in
                     cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]}
        failed = [k for k, r in resources.items() if r["ResourceStatus"].endswith("FAILED")]
        expect(not failed, f"moto could not create {failed}")

        lam = self.aws("lambda")
        configs = {name: lam.get_function_configuration(FunctionName=resources[logical]["PhysicalResourceId"])
                   for name, logical in FUNCTIONS.items()}
        for name, config in configs.items():
            self.start_function(name, config.get("Environment", {}).get("Variables", {}), config["FunctionName"])
        say("functions (release binaries, each with the environment the stack gave it; logs: target/demo/<name>.log):")
        say(", ".join(FUNCTIONS), indent=8)

        # What CloudFormation sends to a custom resource's ServiceToken. moto takes a
        # cfnresponse PUT's region from an amazonaws.com host in the URL, as in the real
        # ResponseURL (https://cloudformation-custom-resource-response-<region>.s3.<region>.amazonaws.com/...).
        event = {"RequestType": "Create", "ServiceToken": configs["account-setup"]["FunctionArn"],
                 "ResponseURL": f"{self.endpoint}/cloudformation_{REGION}/cfnresponse?stack={stack_id}"
                                f"&host=s3.{REGION}.amazonaws.com",
                 "StackId": stack_id, "RequestId": "demo-create", "LogicalResourceId": "InspectorEnablement",
                 "ResourceType": "Custom::InspectorEnablement",
                 "ResourceProperties": dict(template["Resources"]["InspectorEnablement"]["Properties"],
                                            ServiceToken=configs["account-setup"]["FunctionArn"])}
        answer = self.invoke("account-setup", event)
        expect(answer.get("status") == "SUCCESS", f"account-setup answered {json.dumps(answer)}")
        stack = {}
        for _ in range(100):
            stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
            if not stack["StackStatus"].endswith("IN_PROGRESS"):
                break
            time.sleep(0.1)
        expect(stack.get("StackStatus") == "CREATE_COMPLETE", f"stack is {stack.get('StackStatus')}")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        self.note_skipped(template, resources)
        accounts = self.aws("inspector2").batch_get_account_status(accountIds=[ACCOUNT])["accounts"]
        enabled = sorted(k.upper() for k, v in (accounts[0]["resourceState"] if accounts else {}).items()
                         if v["status"] == "ENABLED")
        expect(enabled == ["EC2", "ECR", "LAMBDA"], f"Inspector2 resource types enabled: {enabled}")
        say(f"Custom::InspectorEnablement -> account-setup -> {answer['status']}: Inspector2 enabled for "
            f"{', '.join(enabled)}")
        say(f"stack {STACK}: {stack['StackStatus']}, {len(resources)} resources")
        self.show_stack()
        self.rows.append(("deploy + account-setup", f"{stack['StackStatus']}, Inspector2 on",
                          f"aws cloudformation describe-stack-resources --stack-name {STACK}"))

    def note_skipped(self, template: dict, resources: dict) -> None:
        """moto's CloudFormation has no model for some types and skips them without a word."""
        skipped = sorted({r["Type"] for k, r in template["Resources"].items()
                          if k not in resources and "Condition" not in r})
        say(f"moto's CloudFormation skips {', '.join(skipped)}. The demo plays the schedules by sending their "
            "Scheduled Event. moto would apply the bucket policy without its conditions (denying everything), "
            "so its TLS-only and aws:kms-only statements are checked by `make validate` instead.")

    def translated_template(self) -> dict:
        os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
        from samcli.yamlhelper import yaml_parse
        from samtranslator.translator.transform import transform

        class NoManagedPolicies:
            def load(self):
                return {}

        template = yaml_parse((ROOT / "infra" / "template.yaml").read_text())
        for logical in FUNCTIONS.values():
            template["Resources"][logical]["Properties"]["CodeUri"] = f"s3://{CODE_BUCKET}/{logical}.zip"
        return transform(template, {}, NoManagedPolicies())

    def upload_code(self, template: dict) -> None:
        """What `sam deploy` uploads: each function's binary as `bootstrap` in a zip (host
        architecture here; moto stores it and never runs it)."""
        s3 = self.aws("s3")
        s3.create_bucket(Bucket=CODE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        for name, logical in FUNCTIONS.items():
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                if self.quick:
                    archive.writestr("bootstrap", b"placeholder: --quick uploads no code")
                else:
                    archive.write(self.bin_dir / name, "bootstrap")
            s3.put_object(Bucket=CODE_BUCKET, Key=f"{logical}.zip", Body=buffer.getvalue())
        say(f"infra/template.yaml translated by aws-sam-translator: "
            f"{len(template['Resources'])} CloudFormation resources; code in s3://{CODE_BUCKET}/")

    def show_stack(self) -> None:
        s3 = self.aws("s3")
        bucket, key_arn = self.outputs["ExportBucketName"], self.outputs["KeyArn"]
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        default = rule["ApplyServerSideEncryptionByDefault"]
        expect(default["SSEAlgorithm"] == "aws:kms" and default.get("KMSMasterKeyID") == key_arn,
               f"export bucket default encryption: {default}")
        endpoints = self.aws("ec2").describe_vpc_endpoints()["VpcEndpoints"]
        say(f"KMS key          {key_arn}")
        say(f"export bucket    {bucket}: default encryption aws:kms with that key")
        say(f"topic            {self.outputs['TopicArn']}")
        say(f"SSM endpoints    {', '.join(sorted(e['ServiceName'].rsplit('.', 1)[-1] for e in endpoints))} "
            f"in the private subnet")

    # -- 3 -----------------------------------------------------------------------------
    def provision_account(self) -> None:
        """What an account already has: instances, the rules file, a subscriber, findings."""
        sns, sqs = self.aws("sns"), self.aws("sqs")
        self.inbox = sqs.create_queue(QueueName="demo-subscriber")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=self.inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.outputs["TopicArn"], Protocol="sqs", Endpoint=inbox_arn)
        payments = sns.create_topic(Name="payments-security")["TopicArn"]
        say(f"subscriber       SQS queue demo-subscriber on the topic, to see what a subscriber receives")

        rules = json.loads((ROOT / "tests" / "fixtures" / "rules" / "example.json").read_text())
        for route in rules.get("routes", []):
            route["topicArn"] = payments
        self.rules = rules
        self.aws("s3").put_object(Bucket=RULES_BUCKET, Key=RULES_KEY, Body=json.dumps(rules, indent=2).encode(),
                                  ServerSideEncryption="aws:kms", SSEKMSKeyId=self.outputs["KeyArn"])
        say(f"rules file       s3://{RULES_BUCKET}/{RULES_KEY}: {len(rules['suppressions'])} suppressions, "
            f"{len(rules['routes'])} route (topic rewritten to {payments})")

        self.findings = seeded_findings(12 if self.quick else 45)
        seed_findings(self.endpoint, self.findings)
        say(f"findings         {len(self.findings)} seeded for ListFindings: the 3 finding fixtures "
            f"+ {len(self.findings) - 3} generated")

    # -- 4 -----------------------------------------------------------------------------
    def agent_installer(self) -> None:
        """Launches the instances one by one, each followed by its running event, as EventBridge
        would deliver it. (One at a time because moto's SendCommand also lists every instance
        that exists at the time as a target.)"""
        ec2, ssm = self.aws("ec2"), self.aws("ssm")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        self.instances, sent = {}, 0
        for name, subnet in (("web-1", self.procs.facts["publicSubnet"]), ("db-1", self.procs.facts["privateSubnet"])):
            instance_id = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                            SubnetId=subnet, TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                                {"Key": "Name", "Value": name}]}])["Instances"][0]["InstanceId"]
            self.instances[name] = instance_id
            where = "public" if subnet == self.procs.facts["publicSubnet"] else "private"
            event = fixture("ec2-state-running.json")
            event["detail"]["instance-id"] = instance_id
            event["resources"] = [f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}"]
            answer = self.invoke("agent-installer", event)
            expect(answer.get("outcome") == "command-sent", f"{name}: {json.dumps(answer)}")
            command = next((c for c in ssm.list_commands(CommandId=answer["commandId"])["Commands"]), {})
            expect(command.get("DocumentName") == self.env["agent-installer"]["AGENT_DOCUMENT"]
                   and command.get("OutputS3BucketName") == self.outputs["ExportBucketName"],
                   f"SSM ListCommands shows {json.dumps(command, default=str)[:300]}")
            say(f"{name} {instance_id} ({where} subnet, no instance profile) launched; its EC2 Instance "
                f"State-change Notification (running) -> {answer['outcome']}")
            say(f"command   {answer['commandId']}", indent=8)
            say(f"document  {command['DocumentName']} {json.dumps(command['Parameters'], separators=(',', ':'))}",
                indent=8)
            say(f"output    s3://{command['OutputS3BucketName']}/{command['OutputS3KeyPrefix']}/", indent=8)
            sent += 1
        associations = self.aws("ec2").describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
        profiled = {a["InstanceId"] for a in associations}
        expect(profiled >= set(self.instances.values()), f"instance profile on {sorted(profiled)} only")
        say(f"both instances now carry {self.outputs.get('InstanceProfileArn', 'the instance profile')}")
        again = self.invoke("agent-installer", event)
        expect(again.get("outcome") == "already-sent", f"duplicate event: {json.dumps(again)}")
        say(f"the same event again -> {again['outcome']} (a duplicate does no harm)")
        self.rows.append(("agent-installer", f"{sent} instances -> command-sent", "aws ssm list-commands; target/demo/agent-installer.log"))

    def suppression_sync(self) -> None:
        answer = self.invoke("suppression-sync", fixture("scheduled-event.json"))
        expect(answer.get("outcome") == "synced", json.dumps(answer)[:300])
        filters = self.aws("inspector2").list_filters(action="SUPPRESS")["filters"]
        managed = sorted(f["name"] for f in filters if f.get("tags", {}).get("ManagedBy") == "inspector-autopilot")
        expect(sorted(answer.get("created", [])) == managed and managed,
               f"created {answer.get('created')}, Inspector2 has {managed}")
        say(f"Scheduled Event -> {answer['outcome']}: created {', '.join(answer['created'])}")
        for f in filters:
            criteria = ", ".join(f"{k} {c['comparison']} {c.get('key', '') + '=' if c.get('key') else ''}{c['value']}"
                                 for k, cs in f["criteria"].items() for c in cs)
            say(f"{f['action']:<9} {f['name']:<34} {criteria}", indent=8)
        again = self.invoke("suppression-sync", fixture("scheduled-event.json"))
        expect(sorted(again.get("unchanged", [])) == managed and not again.get("created"), json.dumps(again)[:300])
        say(f"the next run -> {again['outcome']}, {len(again['unchanged'])} unchanged")
        self.rows.append(("suppression-sync", f"{len(managed)} filters created, then unchanged",
                          "aws inspector2 list-filters"))

    def finding_router(self) -> None:
        answer = self.invoke("finding-router", fixture("inspector2-finding-ec2-package.json"))
        expect(answer.get("outcome") == "suppressed" and answer.get("rule"), json.dumps(answer))
        say(f"HIGH CVE-2021-3592 on a dev host -> {answer['outcome']} by rule {answer['rule']}")

        answer = self.invoke("finding-router", fixture("inspector2-finding-network.json"))
        expect(answer.get("outcome") == "below-threshold", json.dumps(answer))
        say(f"MEDIUM network reachability -> {answer['outcome']} "
            f"(NOTIFY_MIN_SEVERITY={self.env['finding-router']['NOTIFY_MIN_SEVERITY']})")

        answer = self.invoke("finding-router", fixture("inspector2-finding-ecr-image.json"))
        expect(answer.get("outcome") == "notified", json.dumps(answer))
        messages = self.received()
        expect(len(messages) == 1, f"the subscriber got {len(messages)} message(s), expected 1")
        subject, body = messages[0].get("Subject", ""), messages[0].get("Message", "")
        expect("CRITICAL" in subject and "CVE-2022-3602" in subject, f"subject {subject!r}")
        say(f"CRITICAL CVE-2022-3602 in a sandbox image -> {answer['outcome']}; the subscriber received:")
        say(f"Subject: {subject}", indent=8)
        for line in body.splitlines()[:6]:
            say(f"| {line}", indent=8)
        self.rows.append(("finding-router", "suppressed / below-threshold / notified",
                          "aws sqs receive-message --queue-url <demo-subscriber>"))

    def received(self) -> list:
        """What the subscriber queue holds: polled until something arrives (at most 3 s), then
        drained, so that a second message would be seen too."""
        sqs = self.aws("sqs")
        envelopes = []
        deadline = time.monotonic() + 3
        while True:
            messages = sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10).get("Messages", [])
            for m in messages:
                envelopes.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.inbox, ReceiptHandle=m["ReceiptHandle"])
            if (envelopes and not messages) or time.monotonic() > deadline:
                return envelopes
            time.sleep(0 if messages else 0.05)

    def findings_export(self) -> None:
        answer = self.invoke("findings-export", fixture("scheduled-event.json"))
        expect(answer.get("outcome") == "exported" and answer.get("count") == len(self.findings),
               f"{json.dumps(answer)[:300]} (seeded {len(self.findings)})")
        bucket, key_arn = self.outputs["ExportBucketName"], self.outputs["KeyArn"]
        s3 = self.aws("s3")
        say(f"Scheduled Event -> {answer['outcome']}: {answer['count']} findings")
        keys = [uri.removeprefix(f"s3://{bucket}/") for uri in answer.get("objects", [])]
        for key in keys:
            head = s3.head_object(Bucket=bucket, Key=key)
            expect(head.get("ServerSideEncryption") == "aws:kms" and head.get("SSEKMSKeyId") == key_arn,
                   f"{key}: {head.get('ServerSideEncryption')} {head.get('SSEKMSKeyId')}")
            say(f"s3://{bucket}/{key}", indent=8)
            say(f"  {head['ContentLength']} bytes, {head['ServerSideEncryption']}, key {head['SSEKMSKeyId']}",
                indent=8)
        data = gzip.decompress(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()).splitlines()
        expect(len(data) == len(self.findings), f"the object holds {len(data)} lines")
        summary = json.loads(s3.get_object(Bucket=bucket, Key=keys[2])["Body"].read())
        wanted = {}
        for finding in self.findings:
            wanted[finding["severity"]] = wanted.get(finding["severity"], 0) + 1
        expect(summary.get("bySeverity") == wanted, f"summary bySeverity {summary.get('bySeverity')}, seeded {wanted}")
        say("summary: " + ", ".join(f"{s} {summary['bySeverity'][s]}" for s in
                                    ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED")
                                    if s in summary["bySeverity"]), indent=8)
        say("top packages (critical + high): " + ", ".join(f"{p} {n}" for p, n in summary["topPackages"][:5]),
            indent=8)
        self.rows.append(("findings-export", f"{answer['count']} findings, 3 objects, aws:kms",
                          f"aws s3 ls s3://{bucket}/inspector/ --recursive"))


def seeded_findings(generated: int) -> list:
    """The three finding fixtures as ListFindings returns them, and `generated` more: a spread of
    severities, packages and resource types, the same on every run."""
    fixtures = [api_shaped(fixture(name)["detail"]) for name in
                ("inspector2-finding-ec2-package.json", "inspector2-finding-ecr-image.json",
                 "inspector2-finding-network.json")]
    rng = random.Random(7)
    packages = ["openssl", "glibc", "curl", "libxml2", "zlib", "log4j-core", "jackson-databind", "urllib3"]
    findings = list(fixtures)
    for i in range(generated):
        finding = json.loads(json.dumps(fixtures[i % 2]))
        severity = rng.choices(["CRITICAL", "HIGH", "MEDIUM", "LOW"], weights=[1, 3, 4, 2])[0]
        package = rng.choice(packages)
        finding["findingArn"] = f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/demo{i:028x}"
        finding["severity"] = severity
        finding["title"] = f"CVE-2026-{1000 + i} - {package}"
        details = finding["packageVulnerabilityDetails"]
        details["vulnerabilityId"] = f"CVE-2026-{1000 + i}"
        details["vulnerablePackages"] = [dict(details["vulnerablePackages"][0], name=package)]
        findings.append(finding)
    return findings


def report(rows: list, failure: str | None) -> None:
    print()
    width = [max(len(r[i]) for r in rows + [("flow", "outcome", "where to look")]) for i in range(3)]
    print(f"  {'flow':<{width[0]}}  {'outcome':<{width[1]}}  where to look")
    print(f"  {'-' * width[0]}  {'-' * width[1]}  {'-' * width[2]}")
    for flow, outcome, where in rows:
        print(f"  {flow:<{width[0]}}  {outcome:<{width[1]}}  {where}")
    if failure:
        print(f"  {'FAILED':<{width[0]}}  {failure}")
    print("\n  (to look: make demo-up, then `source .demo/env`; every function's log is in target/demo/)")


def how_to_use(demo: Demo) -> None:
    env_file = STATE_DIR / "env"
    env_file.write_text("".join(f"export {k}={v}\n" for k, v in {
        **CREDENTIALS, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": demo.endpoint}.items()))
    bucket = demo.outputs["ExportBucketName"]
    print(f"""
Everything is still running (make demo-down stops it). Invoke a function by hand:

  .venv/bin/cargo-lambda lambda invoke finding-router -A 127.0.0.1 -P {demo.runtime_port} \\
      --data-file tests/fixtures/events/inspector2-finding-ecr-image.json
  .venv/bin/cargo-lambda lambda invoke suppression-sync -A 127.0.0.1 -P {demo.runtime_port} --data-ascii '{{"dryRun": true}}'

  (functions: {', '.join(FUNCTIONS)}; logs in target/demo/<name>.log)

Look at the emulated account (`source .demo/env` points the AWS CLI and boto3 at moto):

  source .demo/env
  aws s3 ls s3://{bucket}/ --recursive
  aws inspector2 list-filters
  aws ssm list-commands
  .venv/bin/python -c 'import boto3; print(boto3.client("inspector2").list_filters()["filters"])'
""")


def main(argv: list) -> int:
    if argv == ["--down"]:
        return down()
    flags = {a for a in argv if a.startswith("--")}
    paths = [a for a in argv if not a.startswith("--")]
    if len(paths) != 1 or flags - {"--quick", "--up"}:
        sys.exit(__doc__)
    if STATE.exists():
        print("stopping what an earlier demo left running")
        down()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    up, quick = "--up" in flags, "--quick" in flags
    procs = Processes()
    demo = Demo(Path(paths[0]), quick, procs)
    steps = [("Start the local AWS emulator and the Lambda runtime emulator", demo.start_emulators),
             ("Deploy infra/template.yaml to moto's CloudFormation", demo.deploy_stack),
             ("Add what an account already has", demo.provision_account),
             ("agent-installer: two instances launch; an EC2 running event for each", demo.agent_installer),
             ("suppression-sync: the rules file becomes Inspector2 suppression filters", demo.suppression_sync),
             ("finding-router: three Inspector2 Finding events", demo.finding_router),
             ("findings-export: the daily schedule, stream mode", demo.findings_export)]
    print("inspector-autopilot demo: the release binaries under cargo-lambda's Lambda runtime emulator,\n"
          "against moto server on 127.0.0.1. No AWS account and no network beyond loopback.\n")
    failure = None
    number, title = 0, "start"
    started = time.monotonic()
    try:
        for number, (title, step) in enumerate(steps, 1):
            print(f"[{number}/{len(steps)}] {title}", flush=True)
            step_started = time.monotonic()
            try:
                step()
                say(f"({time.monotonic() - step_started:.1f} s)")
            except StepFailed as err:
                failure = f"step {number} ({title}): {err}"
            except Exception as err:  # an emulator or SDK error: still name the step
                failure = f"step {number} ({title}): {type(err).__name__}: {err}"
            if failure:
                break
            print()
    except KeyboardInterrupt:
        failure = f"step {number} ({title}): interrupted"
    finally:
        if not (up and failure is None):
            leftovers = procs.stop()
            if leftovers and failure is None:
                failure = f"stopping: still there: {', '.join(leftovers)}"
    report(demo.rows, failure)
    if failure:
        print(f"\ndemo FAILED at {failure}", file=sys.stderr)
        print("logs: target/demo/ (moto.log, runtime-emulator.log, <function>.log)", file=sys.stderr)
        return 1
    print(f"\nall flows did what they should, in {time.monotonic() - started:.1f} s", end="")
    if up:
        print()
        how_to_use(demo)
    else:
        print("; moto, the emulator and the functions are stopped, their ports free.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
