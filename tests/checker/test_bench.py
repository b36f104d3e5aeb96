"""`make bench` runs: one quick repetition prints a row per approach."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench.py"

pytestmark = pytest.mark.part(6)


def test_one_repetition_measures_every_approach():
    sys.path.insert(0, str(BENCH.parent))
    from bench import APPROACHES

    done = subprocess.run(
        [sys.executable, str(BENCH), "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    for name, _labels in APPROACHES:
        row = re.search(
            rf"^{re.escape(name)}\s+(\d+)(\s+[\d.]+ms){{3}}$", done.stdout, re.M
        )
        assert row, f"no row for {name!r}:\n{done.stdout}"
        assert int(row.group(1)) > 0


def test_a_repetition_below_one_is_refused():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--repeat", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert "--repeat must be 1 or more" in done.stderr
