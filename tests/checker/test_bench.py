"""`make bench` runs: one quick repetition prints a row per approach, and
the proof's timing prints a row per part."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "tools" / "bench.py"

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


def test_the_proofs_timing_sums_each_parts_tests(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCH), "--proof", "--jobs", "2", "--"]
        + ["tests/test_stages.py", "-k", "test_check"],
        cwd=BENCH.parents[1],
        env={**os.environ, "PROOF_BUILD_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(BENCH.parent))
    from proof.paths import staged_parts

    for number in staged_parts():
        row = re.search(
            rf"^{number:02d}\s+1\s+[\d.]+  test_stages.py::test_check\[{number}\] ",
            done.stdout,
            re.M,
        )
        assert row, f"no row for part {number}:\n{done.stdout}"
    count = len(staged_parts())
    assert re.search(rf"^all\s+{count}\s+[\d.]+$", done.stdout, re.M), done.stdout
    assert f"The proof: {count} tests in " in done.stdout


def test_the_table_counts_a_test_of_no_part_under_none():
    sys.path.insert(0, str(BENCH.parent))
    from bench import part_table

    times = {
        "a.py::one[2]": {"part": 2, "seconds": 1.5},
        "a.py::two[2]": {"part": 2, "seconds": 3.0},
        "b.py::three": {"part": None, "seconds": 0.3},
    }
    lines = part_table(times, wall=2.0, jobs=4).splitlines()

    assert lines[0].startswith("The proof: 3 tests in 2.0 s of wall time with 4 ")
    assert lines[3].split() == ["02", "2", "4.5", "a.py::two[2]", "(3.0", "s)"]
    assert lines[4].split() == ["none", "1", "0.3", "b.py::three", "(0.3", "s)"]
    assert lines[5].split() == ["all", "3", "4.8"]
