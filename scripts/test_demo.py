"""Tests of the demo script's own behaviour: a failure names its step and leaves nothing running,
the seeded findings are the same on every run, and bad arguments get the usage.

Run with the project venv: .venv/bin/python -m unittest discover -s scripts -p 'test_*.py'
(The demo itself runs in `make e2e` as `scripts/demo.py BIN_DIR --quick`.)
"""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo  # noqa: E402

SCRIPT = Path(__file__).resolve().parent / "demo.py"


def emulator_pids() -> set:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in listing.splitlines()
            if "moto_server" in line or "lambda watch" in line}


class DemoFailure(unittest.TestCase):
    def test_a_missing_binary_fails_naming_the_step_and_leaves_nothing_running(self):
        before = emulator_pids()
        with tempfile.TemporaryDirectory() as empty:
            run = subprocess.run([sys.executable, str(SCRIPT), empty, "--quick"], capture_output=True, text=True,
                                 timeout=120)
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        self.assertIn("demo FAILED at step 2 (Deploy infra/template.yaml to moto's CloudFormation)", run.stderr)
        self.assertIn("FileNotFoundError", run.stderr)
        self.assertLessEqual(emulator_pids(), before, "moto or the runtime emulator was left running")
        self.assertFalse(demo.STATE.exists(), ".demo/state.json was left behind")

    def test_bad_arguments_get_the_usage(self):
        run = subprocess.run([sys.executable, str(SCRIPT), "--fast"], capture_output=True, text=True, timeout=30)
        self.assertEqual(run.returncode, 1)
        self.assertIn("Usage: demo.py BIN_DIR [--quick] [--up]", run.stderr)

    def test_down_with_nothing_running_says_so(self):
        if demo.STATE.exists():
            self.skipTest("a demo-up is running")
        run = subprocess.run([sys.executable, str(SCRIPT), "--down"], capture_output=True, text=True, timeout=30)
        self.assertEqual(run.returncode, 0)
        self.assertIn("nothing is running", run.stdout)


class SeededFindings(unittest.TestCase):
    def test_the_fixtures_then_generated_findings_the_same_on_every_run(self):
        first, second = demo.seeded_findings(45), demo.seeded_findings(45)
        self.assertEqual(first, second)
        self.assertEqual(len(first), 48)
        self.assertEqual(len({f["findingArn"] for f in first}), 48)
        self.assertGreaterEqual(len({f["severity"] for f in first}), 4)
        # As ListFindings returns them: epoch seconds, not the event's timestamp text.
        self.assertIsInstance(first[0]["firstObservedAt"], float)


if __name__ == "__main__":
    unittest.main()
