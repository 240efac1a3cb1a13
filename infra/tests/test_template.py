"""Security properties of infra/template.yaml, read as YAML with CloudFormation's tags.

Run by `make test` (and `make validate`): `python -m unittest discover -s infra/tests`.
- no wildcard action is allowed; `Resource: "*"` only for actions AWS cannot scope, each with a
  comment; `iam:PassRole` only with an `iam:PassedToService` condition;
- each function's policy grants exactly the actions in functions/<name>/iam-actions.txt, and
  each action there that is not marked `platform:` is an SDK call in the adapters the function
  wires in its main.rs;
- the bucket policy denies non-TLS requests and puts that are not SSE-KMS with the key;
- the key rotates; every queue, topic and log group is encrypted with it;
- every function has an on-failure destination, a rust-cargolambda build and the Globals asked.
"""

import re
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"

# Actions with no resource-level permissions: the only ones allowed on Resource "*".
UNSCOPABLE = {
    "ec2:DescribeInstances", "ec2:DescribeRouteTables", "ec2:DescribeVpcEndpoints",
    "ssm:ListCommands", "ssm:DescribeInstanceInformation",
    "inspector2:ListFilters", "inspector2:ListFindings", "inspector2:CreateFindingsReport",
    "inspector2:GetFindingsReportStatus", "inspector2:CreateSbomExport", "inspector2:GetSbomExport",
    "inspector2:Enable", "inspector2:BatchGetAccountStatus",
}
# Who each passed role may go to: the instance profile's role to EC2, the DHMC role to SSM.
PASSED_TO = {"ec2.amazonaws.com", "ssm.amazonaws.com"}


class CloudFormationLoader(yaml.SafeLoader):
    """Reads `!Ref x` as {"Ref": x} and `!Sub …` as {"Fn::Sub": …}, like CloudFormation."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _tag)


def load():
    return yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)


def statements(value):
    """Every IAM statement in a policy document or SAM `Policies` list, both branches of Fn::If."""
    if isinstance(value, dict):
        if "Fn::If" in value:
            for branch in value["Fn::If"][1:]:
                yield from statements(branch)
        elif "Effect" in value and "Action" in value:
            yield value
        else:
            for key in ("Statement", "PolicyDocument"):
                if key in value:
                    yield from statements(value[key])
    elif isinstance(value, list):
        for item in value:
            yield from statements(item)


def actions(statement):
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def resources(statement):
    resource = statement.get("Resource", [])
    return resource if isinstance(resource, list) else [resource]


def functions(template):
    return {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def granted(function):
    return {action for s in statements(function["Properties"].get("Policies", [])) for action in actions(s)}


def action_list(binary):
    """functions/<binary>/iam-actions.txt: {action: [SDK operations] or None for platform}."""
    listed = {}
    for line in (ROOT / "functions" / binary / "iam-actions.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        action, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest.startswith("platform:"):
            listed[action] = None
        else:
            operation = action.split(":", 1)[1]
            listed[action] = rest.split() if rest else [operation]
    return listed


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def adapter_sources(binary):
    """The source of the shared adapters a function's main.rs wires in, and its own."""
    main = (ROOT / "functions" / binary / "src" / "main.rs").read_text()
    own = "".join(p.read_text() for p in (ROOT / "functions" / binary / "src").glob("*.rs"))
    modules = set()
    for group in re.findall(r"use shared::aws::\{([^}]*)\}", main) + re.findall(r"use shared::aws::(\w+)::", main):
        modules.update(m.split("::")[0].strip() for m in group.split(",") if m.strip())
    sources, seen = [], set()
    while modules:
        module = modules.pop()
        if module in seen:
            continue
        seen.add(module)
        text = (ROOT / "shared" / "src" / "aws" / f"{module}.rs").read_text()
        sources.append(text)
        # An adapter built on another (export_bucket on multipart) calls that one's operations too.
        modules.update(re.findall(r"use super::(\w+)::", text))
    return own + "".join(sources)


class TemplateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = load()
        cls.resources = cls.template["Resources"]
        cls.text = TEMPLATE.read_text()

    def iam_policies(self):
        """(owner, statement) for every identity policy: functions, roles."""
        for name, resource in self.resources.items():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Serverless::Function":
                for s in statements(props.get("Policies", [])):
                    yield name, s
            elif resource["Type"] == "AWS::IAM::Role":
                for policy in props.get("Policies", []):
                    for s in statements(policy):
                        yield name, s

    def test_no_wildcard_actions_are_allowed(self):
        for owner, s in self.iam_policies():
            for action in actions(s):
                self.assertFalse(action == "*" or action.endswith(":*"), f"{owner}: {action}")
        for name, resource in self.resources.items():
            if resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
                for s in statements(resource["Properties"]["PolicyDocument"]):
                    if s["Effect"] == "Allow":
                        self.assertNotIn("*", [a.split(":")[-1] for a in actions(s)], name)

    def test_resource_star_only_for_unscopable_actions_each_with_a_comment(self):
        for owner, s in self.iam_policies():
            if "*" in resources(s):
                self.assertTrue(set(actions(s)) <= UNSCOPABLE, f"{owner}: {actions(s)} on *")
        lines = self.text.splitlines()
        for i, line in enumerate(lines):
            if re.match(r'^\s+Resource: "\*"$', line) and "kms:" not in "".join(lines[i - 3:i]):
                window = lines[max(0, i - 4):i]
                in_key_policy = any("Principal" in w for w in window)
                if not in_key_policy:
                    self.assertTrue(any(w.strip().startswith("#") for w in window),
                                    f"line {i + 1}: Resource \"*\" without a comment saying why")

    def test_pass_role_only_to_one_service(self):
        passes = [(o, s) for o, s in self.iam_policies() if "iam:PassRole" in actions(s)]
        self.assertTrue(passes)
        for owner, s in passes:
            self.assertIn(s["Condition"]["StringEquals"]["iam:PassedToService"], PASSED_TO, owner)
            for resource in resources(s):
                self.assertNotIn("*", str(resource), f"{owner}: PassRole on {resource}")

    def test_each_function_is_granted_exactly_its_listed_actions(self):
        for name, function in functions(self.template).items():
            binary = function["Metadata"]["BuildProperties"]["Binary"]
            listed = action_list(binary)
            self.assertEqual(granted(function), set(listed), f"{name} vs functions/{binary}/iam-actions.txt")

    def test_each_listed_call_is_made_by_the_function_code(self):
        for function in functions(self.template).values():
            binary = function["Metadata"]["BuildProperties"]["Binary"]
            source = adapter_sources(binary)
            for action, operations in action_list(binary).items():
                for operation in operations or []:
                    called = f".{snake(operation)}()" in source
                    self.assertTrue(called, f"{binary}: {action} ({operation}) is not called")

    def test_bucket_policy_denies_plain_http_and_puts_that_are_not_sse_kms(self):
        policy = self.resources["ExportBucketPolicy"]["Properties"]["PolicyDocument"]
        denies = [s for s in statements(policy) if s["Effect"] == "Deny"]
        tls = [s for s in denies if s["Condition"].get("Bool", {}).get("aws:SecureTransport") == "false"]
        self.assertTrue(tls and tls[0]["Action"] == "s3:*" and tls[0]["Principal"] == "*")
        kms = [s for s in denies
               if s["Condition"].get("StringNotEquals", {}).get("s3:x-amz-server-side-encryption") == "aws:kms"]
        self.assertTrue(kms and kms[0]["Action"] == "s3:PutObject")
        key = [s for s in denies
               if "s3:x-amz-server-side-encryption-aws-kms-key-id" in s["Condition"].get("StringNotEquals", {})]
        self.assertTrue(key, "puts naming another key are denied")
        inspector = [s for s in statements(policy) if s.get("Principal") == {"Service": "inspector2.amazonaws.com"}]
        self.assertEqual(set(actions(inspector[0])), {"s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload"})
        self.assertIn("aws:SourceAccount", inspector[0]["Condition"]["StringEquals"])
        self.assertIn("aws:SourceArn", inspector[0]["Condition"]["ArnLike"])

    def test_the_bucket_defaults_to_the_key_is_versioned_private_and_expires(self):
        bucket = self.resources["ExportBucket"]["Properties"]
        rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        self.assertEqual(rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"], "aws:kms")
        self.assertEqual(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"], {"Fn::GetAtt": ["Key", "Arn"]})
        self.assertTrue(rule["BucketKeyEnabled"])
        self.assertEqual(bucket["VersioningConfiguration"]["Status"], "Enabled")
        self.assertTrue(all(bucket["PublicAccessBlockConfiguration"].values()))
        lifecycle = bucket["LifecycleConfiguration"]["Rules"][0]
        self.assertEqual(lifecycle["ExpirationInDays"], {"Ref": "ExportRetentionDays"})
        self.assertIn("AbortIncompleteMultipartUpload", lifecycle)

    def test_the_key_rotates_and_lets_inspector_in_only_for_this_account(self):
        key = self.resources["Key"]["Properties"]
        self.assertTrue(key["EnableKeyRotation"])
        inspector = [s for s in statements(key["KeyPolicy"])
                     if s.get("Principal") == {"Service": "inspector2.amazonaws.com"}]
        self.assertEqual(len(inspector), 1)
        self.assertIn("aws:SourceAccount", inspector[0]["Condition"]["StringEquals"])
        self.assertIn("aws:SourceArn", inspector[0]["Condition"]["ArnLike"])
        for s in statements(key["KeyPolicy"]):
            self.assertNotEqual(s.get("Principal"), "*")

    def test_every_queue_topic_and_log_group_is_encrypted_with_the_key(self):
        key = {"Fn::GetAtt": ["Key", "Arn"]}
        kinds = {"AWS::SQS::Queue": "KmsMasterKeyId", "AWS::SNS::Topic": "KmsMasterKeyId",
                 "AWS::Logs::LogGroup": "KmsKeyId"}
        seen = set()
        for name, resource in self.resources.items():
            if resource["Type"] in kinds:
                seen.add(resource["Type"])
                self.assertEqual(resource["Properties"].get(kinds[resource["Type"]]), key, name)
        self.assertEqual(seen, set(kinds))
        self.assertEqual(self.template["Globals"]["Function"]["KmsKeyArn"], key)

    def test_every_function_has_an_on_failure_destination_and_its_own_log_group(self):
        for name, function in functions(self.template).items():
            props = function["Properties"]
            on_failure = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
            self.assertEqual(on_failure["Type"], "SQS", name)
            queue = on_failure["Destination"]["Fn::GetAtt"][0]
            self.assertEqual(self.resources[queue]["Type"], "AWS::SQS::Queue", name)
            self.assertLessEqual(props["EventInvokeConfig"]["MaximumRetryAttempts"], 2, name)
            self.assertIn("Ref", props["LoggingConfig"]["LogGroup"], name)

    def test_functions_build_with_cargo_lambda_on_the_agreed_runtime(self):
        globals_ = self.template["Globals"]["Function"]
        self.assertEqual(globals_["Runtime"], "provided.al2023")
        self.assertEqual(globals_["Architectures"], ["arm64"])
        self.assertEqual(globals_["Handler"], "bootstrap")
        self.assertEqual(globals_["Tracing"], "Active")
        self.assertEqual(globals_["LoggingConfig"]["LogFormat"], "JSON")
        binaries = set()
        for name, function in functions(self.template).items():
            self.assertEqual(function["Metadata"]["BuildMethod"], "rust-cargolambda", name)
            binaries.add(function["Metadata"]["BuildProperties"]["Binary"])
        crates = {p.name for p in (ROOT / "functions").iterdir() if (p / "Cargo.toml").exists()}
        self.assertEqual(binaries, crates)

    def test_every_skip_is_written_down(self):
        for name, resource in self.resources.items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                self.assertGreater(len(skip.get("comment", "")), 40, f"{name}: {skip['id']} needs a reason")


if __name__ == "__main__":
    unittest.main()
