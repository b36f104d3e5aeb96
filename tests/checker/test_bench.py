"""`make bench` runs: one quick repetition prints a row per approach, and
the proof's timing prints a row per part."""

import json
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


def _capacity_result(rows):
    machine = {"date": "2026-01-01", "cpu_model": "a CPU", "cpus": 2}
    return {
        "machine": machine,
        "rows": [
            {"section": s, "database": d, "workers": w, "median": m}
            for s, d, w, m in rows
        ],
    }


@pytest.mark.part(8)
def test_the_capacity_run_writes_a_table_with_a_number_in_every_row(tmp_path):
    """Tiny sizes: the files are written, the table parses, every row holds
    numbers, every drain was checked; the times themselves are not judged."""
    sys.path.insert(0, str(BENCH.parent))
    from bench import SECTIONS, parse_capacity_table

    from proof.postgres import MISSING, binaries

    if binaries() is None:
        pytest.skip(MISSING)
    out = tmp_path / "data"
    out.mkdir()
    earlier = _capacity_result(
        [("noop", "sqlite", 1, 100.0), ("noop", "sqlite", 2, 150.0)]
    )
    (out / "capacity.json").write_text(json.dumps(earlier))

    done = subprocess.run(
        [sys.executable, str(BENCH), "--capacity", "--tasks", "20", "--repeat", "1"]
        + ["--workers", "1,2", "--sleep-workers", "1,2", "--samples", "3"]
        + ["--intervals", "0.5,0.1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    text = (out / "capacity.txt").read_text()
    result = json.loads((out / "capacity.json").read_text())
    assert text.startswith(".. list-table::\n   Measured by ``make capacity`` ")
    assert text in done.stdout
    header, *rows = parse_capacity_table(text)
    assert header == ["Measurement", "Database", "Workers", "Median", "Min–max"]
    assert len(rows) == len(result["rows"])
    assert {row[0] for row in rows} == {label for label, _ in SECTIONS.values()}
    for row in rows:
        assert len(row) == 5, row
        float(row[3])
        low, high = row[4].split("–")
        assert float(low) <= float(row[3]) <= float(high), row
    # 2 counts x 3 databases of no-op drains, 2 drains of 50 ms tasks, a
    # latency run per interval: each checked once, for its one run...
    checked = {
        (r["section"], r["database"], r["workers"]): r["exactly_once_checks"]
        for r in result["rows"]
    }
    drains = [key for key in checked if key[0] in ("noop", "sleep")]
    assert len(drains) == 8
    assert all(checked[key] == 1 for key in drains), checked
    assert checked[("latency50", "pg600", 0.5)] == 1
    # and the three warm-up drains and two runs that count statements.
    assert result["exactly_once_runs"] == 8 + 2 + 3 + 2
    assert "15 runs passed the exactly-once check; " in done.stdout
    assert "Drift since 2026-01-01 (a CPU):" in done.stdout
    assert "noop sqlite: 2 workers / 1: 1.50 -> " in done.stdout
    machine = result["machine"]
    assert machine["cpus"] == os.cpu_count()
    assert machine["postgresql"] in text and machine["django"] in text


def test_the_drift_report_compares_the_ratios_between_rows():
    sys.path.insert(0, str(BENCH.parent))
    from bench import drift

    before = _capacity_result(
        [
            ("noop", "pg0", 1, 100.0),
            ("noop", "pg600", 1, 200.0),
            ("noop", "pg0", 4, 250.0),
        ]
    )
    now = _capacity_result(
        [
            ("noop", "pg0", 1, 50.0),
            ("noop", "pg600", 1, 150.0),
            ("sleep", "pg600", 2, 9.0),
        ]
    )
    lines = drift(before, now).splitlines()

    assert lines == [
        "Drift since 2026-01-01 (a CPU):",
        "  noop 1 worker(s): persistent / CONN_MAX_AGE=0: 2.00 -> 3.00 (+50%)",
    ]
    assert drift(now, _capacity_result([])).splitlines()[1] == "  no ratio in common"
