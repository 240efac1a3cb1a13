"""agent-installer's release binary under cargo-lambda's Lambda Runtime API, against moto.

Usage: lambda_e2e.py PATH_TO_BINARY

The acceptance run of the foundation issue: the running fixture rewritten to a moto instance
is answered `command-sent`; the stopped fixture `ignored`; garbage gets a classified answer with
no panic and no hang. Exits non-zero, naming the failing step, if anything is off.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from moto_stack import ROOT, VENV_BIN, client, fixture, free_port, function_env, moto_server, process, provision, \
    wait_for_port

INVOKE_TIMEOUT = 60


def invoke(port: int, payload) -> dict:
    """One invoke through `cargo lambda invoke`; returns the answer, or {"error": ...}."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(payload if isinstance(payload, str) else json.dumps(payload))
    run = subprocess.run([str(VENV_BIN / "cargo-lambda"), "lambda", "invoke", "-A", "127.0.0.1", "-P", str(port),
                          "--data-file", f.name, "--output-format", "json"],
                         capture_output=True, text=True, timeout=INVOKE_TIMEOUT, cwd=ROOT)
    Path(f.name).unlink()
    if run.returncode != 0:
        return {"error": (run.stderr or run.stdout).strip()}
    return json.loads(run.stdout)


def main(binary: str) -> int:
    results = []

    def check(step: str, ok: bool, detail: str) -> None:
        results.append((step, "ok" if ok else "FAILED", detail))

    with moto_server() as (endpoint, _moto):
        stack = provision(endpoint)
        instance_id = stack["instance_id"]
        port = free_port()
        with process([str(VENV_BIN / "cargo-lambda"), "lambda", "watch", "--only-lambda-apis",
                      "-A", "127.0.0.1", "-P", str(port)], cwd=ROOT,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            wait_for_port(port)
            env = function_env(endpoint, stack)
            env.update({"AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt",
                        "AWS_LAMBDA_FUNCTION_NAME": "_", "AWS_LAMBDA_FUNCTION_VERSION": "1",
                        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"})
            log_path = ROOT / "target" / "agent-installer-e2e.log"
            with open(log_path, "wb") as log, process([binary], env=env, stdout=log, stderr=subprocess.STDOUT) as fn:
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

                for label, payload in [("string", "\"garbage\""), ("array", "[1, 2, 3]"), ("empty object", "{}"),
                                       ("finding event", json.dumps(fixture("inspector2-finding-ec2-package.json")))]:
                    answer = invoke(port, payload)
                    check(f"garbage ({label}) -> ignored", answer.get("outcome") == "ignored", json.dumps(answer))

                answer = invoke(port, "this is not JSON")
                check("non-JSON payload -> classified error, no crash", "error" in answer and fn.poll() is None,
                      answer.get("error", json.dumps(answer))[:200])

                answer = invoke(port, running)
                check("still serving after bad input", answer.get("outcome") == "already-sent", json.dumps(answer))
                check("no panic, process alive", fn.poll() is None, f"exit code {fn.poll()}")

    width = max(len(step) for step, _, _ in results)
    for step, status, detail in results:
        print(f"{step:<{width}}  {status:<6}  {detail[:160]}")
    failed = [step for step, status, _ in results if status != "ok"]
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        print(f"failing step(s): {', '.join(failed)}; function log: target/agent-installer-e2e.log", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
