"""How long stage 6's tests take with each way of testing tasks (`make bench`).

Part 6 tests the same project five ways: calling the task's function, the
dummy backend, the immediate backend, the recording backend and the real
database worker. This script measures what each costs. It copies stage 6
into a temporary folder, and there, in one process with one test database,
runs each approach's test classes again and again, so that starting Python
and creating the database don't hide the differences. It prints the time
per test: the median over the repetitions, and the fastest and slowest.
The approaches' tests don't all do the same work (the recording backend's
include a digest to a hundred members), so compare orders of magnitude.

With ``--proof``, it measures the proof instead: it runs it as `make test`
does (in JOBS processes), and prints, for each part, how many tests prove it,
the seconds they took together and the longest of them. The times come from
the run's last-run.json, which tests/conftest.py writes into the build
folder; tests that prove no part in particular (the checkers') are counted
under "none". Arguments after ``--`` go to pytest (``-- -k test_parts``).

Measurements, never assertions: timings belong here, not in tests.

    .venv/bin/python tools/bench.py [--repeat N]
    .venv/bin/python tools/bench.py --proof [--jobs N] [-- PYTEST ARGUMENTS]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from proof.paths import BUILD, ROOT  # noqa: E402
from proof.processes import clean_env  # noqa: E402
from proof.project import copy_stage  # noqa: E402

APPROACHES = [
    ("the function, with call()", ["testimonials.tests.test_tasks.NotifyStaffTests"]),
    ("DummyBackend", ["testimonials.tests.test_tasks.SubmitWithDummyBackendTests"]),
    (
        "ImmediateBackend",
        ["testimonials.tests.test_tasks.NotifyWithImmediateBackendTests"],
    ),
    (
        "RecordingBackend",
        [
            "testimonials.tests.test_recording.SubmitTests",
            "testimonials.tests.test_recording.DigestTests",
        ],
    ),
    (
        "database backend + db_worker",
        ["testimonials.tests.test_worker.DatabaseWorkerTests"],
    ),
]

# Runs inside the copy of the stage: one test database, each approach's
# classes loaded afresh and run `repeat` times.
DRIVER = """
import json, os, statistics, sys, time, unittest
sys.argv = ["bench", "test"]  # the settings' TESTING flag: quiet logs
os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
import django
django.setup()
from django.test.runner import DiscoverRunner
from django.test.utils import setup_test_environment, teardown_test_environment

approaches, repeat = json.loads(os.environ["BENCH_PLAN"])
runner = DiscoverRunner(verbosity=0)
setup_test_environment()
databases = runner.setup_databases()
rows = []
try:
    for name, labels in approaches:
        per_test = []
        for _ in range(repeat):
            suite = unittest.TestSuite(
                unittest.defaultTestLoader.loadTestsFromName(label) for label in labels
            )
            count = suite.countTestCases()
            result = unittest.TestResult()
            start = time.perf_counter()
            suite.run(result)
            elapsed = time.perf_counter() - start
            if not result.wasSuccessful():
                problems = result.failures + result.errors
                raise SystemExit(f"{name}: tests failed: {problems}")
            per_test.append(elapsed / count)
        median = statistics.median(per_test)
        rows.append([name, count, median, min(per_test), max(per_test)])
finally:
    runner.teardown_databases(databases)
    teardown_test_environment()
print(json.dumps(rows))
"""


def measure(repeat):
    with tempfile.TemporaryDirectory() as folder:
        project = copy_stage(6, Path(folder) / "community")
        driver = project / "bench_driver.py"
        driver.write_text(DRIVER)
        done = subprocess.run(
            [sys.executable, driver.name],
            cwd=project,
            env=clean_env(BENCH_PLAN=json.dumps([APPROACHES, repeat])),
            capture_output=True,
            text=True,
            timeout=600,
        )
    if done.returncode != 0:
        raise SystemExit(f"the benchmark failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(rows, repeat):
    lines = [
        f"Stage 6's tests, time per test over {repeat} run(s) of each approach:",
        "",
        f"{'approach':<30} {'tests':>5} {'median':>10} {'fastest':>10} {'slowest':>10}",
    ]
    for name, count, median, fastest, slowest in rows:
        lines.append(
            f"{name:<30} {count:>5} {median * 1000:>8.2f}ms {fastest * 1000:>8.2f}ms "
            f"{slowest * 1000:>8.2f}ms"
        )
    return "\n".join(lines)


def run_proof(jobs, pytest_args):
    """Run the proof; return (its exit status, its wall time, its tests' times)."""
    record = BUILD / "last-run.json"
    record.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "-c", "tests/pytest.ini"]
    command += ["-p", "no:cacheprovider", "-q", "-n", str(jobs), *pytest_args]
    # A pytest's own variables (xdist's worker name, say) are not the proof's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)
    wall = time.perf_counter() - start
    try:
        times = json.loads(record.read_text())
    except (OSError, ValueError):
        times = {}
    return done.returncode, wall, times


def part_table(times, wall, jobs):
    """The per-part lines for *times*, ``{test id: {"part", "seconds"}}``."""
    parts = {}
    for nodeid, entry in times.items():
        parts.setdefault(entry["part"], []).append((entry["seconds"], nodeid))
    lines = [
        f"The proof: {len(times)} tests in {wall:.1f} s of wall time "
        f"with {jobs} processes; the seconds of each part's tests, summed:",
        "",
        f"{'part':<5} {'tests':>5} {'seconds':>8}  longest test",
    ]
    order = sorted(parts, key=lambda number: (number is None, number or 0))
    for number in order:
        entries = parts[number]
        longest, name = max(entries)
        label = "none" if number is None else f"{number:02d}"
        total = sum(seconds for seconds, _ in entries)
        lines.append(
            f"{label:<5} {len(entries):>5} {total:>8.1f}  {name} ({longest:.1f} s)"
        )
    total = sum(entry["seconds"] for entry in times.values())
    lines.append(f"{'all':<5} {len(times):>5} {total:>8.1f}")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    pytest_args = []
    if "--" in argv:
        split = argv.index("--")
        argv, pytest_args = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat",
        type=int,
        default=20,
        help="how many times each approach's tests run (default: 20)",
    )
    parser.add_argument(
        "--proof",
        action="store_true",
        help="time the proof by part instead (arguments after -- go to pytest)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="with --proof: how many processes run it, as make test JOBS=N "
        "(default: two per core)",
    )
    args = parser.parse_args(argv)
    if args.proof:
        if args.jobs < 0:
            parser.error("--jobs must be 0 or more")
        status, wall, times = run_proof(args.jobs, pytest_args)
        if not times:
            raise SystemExit(f"the proof recorded no test (exit status {status})")
        print(part_table(times, wall, args.jobs))
        if status != 0:
            print(f"(the proof failed: exit status {status}; the times are its own)")
        return
    if pytest_args:
        parser.error("arguments after -- are for --proof")
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    print(table(measure(args.repeat), args.repeat))


if __name__ == "__main__":
    main()
