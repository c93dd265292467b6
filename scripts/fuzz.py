"""`make fuzz`: the schemathesis run of tests/security/test_fuzz.py with a bigger budget.

It ends with one line, `fuzz: N cases, F failures`, where a failure is an operation with at
least one failing case (schemathesis shrinks and reports each one above that line). A run in
which no case reached the app fails too.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

FUZZ_TEST = "tests/security/test_fuzz.py"
DEFAULT_EXAMPLES = "150"


class FailedOperations:
    """Counts the test items (one per operation) that failed or could not run."""

    def __init__(self) -> None:
        self.count = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.count += 1


def main() -> int:
    os.environ.setdefault("TEST_FUZZ_EXAMPLES", DEFAULT_EXAMPLES)
    with tempfile.TemporaryDirectory() as workdir:
        report = Path(workdir) / "fuzz.json"
        os.environ["TEST_FUZZ_REPORT"] = str(report)
        failed = FailedOperations()
        code = pytest.main([FUZZ_TEST, "-q", "-p", "no:cacheprovider"], plugins=[failed])
        cases = json.loads(report.read_text())["cases"] if report.exists() else 0
    failures = failed.count or int(code != pytest.ExitCode.OK)
    if not cases:
        print("fuzz: no generated request reached the app, so nothing was checked")
    print(f"fuzz: {cases} cases, {failures} failures")
    return 0 if failures == 0 and cases else 1


if __name__ == "__main__":
    sys.exit(main())
