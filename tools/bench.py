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

With ``--capacity`` (`make capacity`), it measures how far one database
goes, for part 8's table: on copies of stage 7, one on SQLite with part 7's
settings and one on a PostgreSQL server of its own (proof.postgres), it
times enqueueing from one process; draining no-op tasks with 1, 2 and 4
``--batch`` workers on SQLite, and on PostgreSQL with CONN_MAX_AGE=0 and
with 600 plus health checks; draining 50 ms tasks with 1 to 8 workers; the
wait from enqueue to start for an idle worker; and it counts the SQL
statements and commits PostgreSQL sees per task. A drain's rate comes from
the tasks table (the tasks run while every worker was at work), not from
the processes' start-up. Each figure is the median of ``--repeat`` runs,
with the fastest and slowest, and after every run each task must have
succeeded once, in one worker. It writes docs/tutorial/_data/capacity.txt
(a list-table, headed by the machine and the versions) and capacity.json
(the raw numbers), prints the table and, when an earlier capacity.json was
there, how the ratios between rows moved since.

Measurements, never assertions: timings belong here, not in tests.

    .venv/bin/python tools/bench.py [--repeat N]
    .venv/bin/python tools/bench.py --proof [--jobs N] [-- PYTEST ARGUMENTS]
    .venv/bin/python tools/bench.py --capacity [--tasks N] [--repeat N] [--out DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
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


# -- capacity: how far one database goes (--capacity) ----------------------------

CAPACITY_OUT = ROOT / "docs" / "tutorial" / "_data"
CAPACITY_STAGE = 7
SLEEP_SECONDS = 0.05
# The settings modules of the copies: PostgreSQL as Django defaults it (a
# connection per task), and as stage 7's production.py sets it.
PG_DEFAULT = "proof_database"
PG_PERSISTENT = "bench_persistent"
PERSISTENT_LINES = (
    'DATABASES["default"]["CONN_MAX_AGE"] = 600\n'
    'DATABASES["default"]["CONN_HEALTH_CHECKS"] = True\n'
)
SQLITE_SETTINGS = "proof_sqlite"
DATABASE_LABELS = {
    "sqlite": "SQLite, part 7's settings",
    "pg0": "PostgreSQL, CONN_MAX_AGE=0",
    "pg600": "PostgreSQL, CONN_MAX_AGE=600 + health checks",
    "pg": "PostgreSQL",
}

# Runs in manage.py shell: enqueue no-op tasks, timed there, then the rate.
ENQUEUE = """
import time
from testimonials.tasks import count_words
count = {count}
start = time.perf_counter()
for number in range(count):
    count_words.enqueue("w " * (number % 5 + 1))
print(count / (time.perf_counter() - start))
"""

# Runs in manage.py shell while an idle worker polls: one task at a time,
# at random moments.
TRICKLE = """
import random, time
from testimonials.tasks import count_words
for number in range({count}):
    time.sleep(random.uniform(0, {interval}))
    count_words.enqueue("w")
"""


def _when(value):
    from datetime import datetime

    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def clear_tasks(project):
    """Empty the tasks table (and the record tasks' file) between runs."""
    from proof.postgres import PostgresDatabase
    from proof.project import TASKS_TABLE

    db = project.database
    if isinstance(db, PostgresDatabase):
        with db.server.connect(db.name) as connection:
            connection.execute(f"TRUNCATE {TASKS_TABLE}")
    else:
        db.query(f"DELETE FROM {TASKS_TABLE}")
    (project.folder / "ran.txt").unlink(missing_ok=True)


def drain(project, workers, settings):
    """Start *workers* ``--batch`` workers on the queue and wait for them all."""
    from concurrent.futures import ThreadPoolExecutor

    start = time.perf_counter()
    started = project.start_workers(workers, "--batch", interval="0", settings=settings)
    # Read every worker's output at once, so that none waits on a full pipe.
    with ThreadPoolExecutor(workers) as pool:
        outputs = list(pool.map(lambda w: w.communicate(timeout=600)[0], started))
    wall = time.perf_counter() - start
    failed = [o for w, o in zip(started, outputs, strict=True) if w.returncode != 0]
    if failed:
        raise SystemExit(f"a worker failed:\n{failed[0]}")
    return wall


# How many runs check_exactly_once() has passed.
CHECKED = {"runs": 0}


def check_exactly_once(project, count, workers, expected=None):
    """Every task SUCCESSFUL, run by one of the workers once; the rows."""
    rows = project.tasks()
    ids = {f"worker-{n}" for n in range(1, workers + 1)}
    problems = []
    if len(rows) != count:
        problems.append(f"{len(rows)} rows for {count} tasks")
    if {row.status for row in rows} != {"SUCCESSFUL"}:
        problems.append(f"statuses {sorted({row.status for row in rows})}")
    if not all(len(r.worker_ids) == 1 and r.worker_ids[0] in ids for r in rows):
        problems.append("a task without exactly one of the workers' ids")
    if expected == "record":
        if sorted(project.recorded()) != list(range(count)):
            problems.append("a record task's number missing or run twice")
    elif expected is not None:
        if sorted(int(r.return_value) for r in rows) != sorted(expected):
            problems.append("return values differ from the enqueued texts'")
    if problems:
        raise SystemExit(f"exactly-once check failed: {'; '.join(problems)}")
    CHECKED["runs"] += 1
    return rows


def drain_rate(rows):
    """Tasks per second while every worker that ran one was at work.

    Workers start one after the other, so the window runs from the last
    worker's first start to the first worker's last finish; tasks wholly
    inside it count. A window too short for that falls back on the whole
    drain, from the first start to the last finish.
    """
    spans = {}
    for row in rows:
        began, ended = _when(row.started_at), _when(row.finished_at)
        first, last = spans.get(row.worker_ids[0], (began, ended))
        spans[row.worker_ids[0]] = (min(first, began), max(last, ended))
    low = max(first for first, _ in spans.values())
    high = min(last for _, last in spans.values())
    inside = [
        row
        for row in rows
        if _when(row.started_at) >= low and _when(row.finished_at) <= high
    ]
    if len(inside) >= max(5, len(rows) // 2):
        return len(inside) / (high - low).total_seconds()
    low = min(_when(row.started_at) for row in rows)
    high = max(_when(row.finished_at) for row in rows)
    return len(rows) / max((high - low).total_seconds(), 1e-6)


def run_noop(project, settings, workers, count):
    """One drain of *count* no-op tasks; (enqueue rate, drain rate, wall)."""
    clear_tasks(project)
    [enqueue_rate] = project.shell(ENQUEUE.format(count=count), settings=settings)
    wall = drain(project, workers, settings)
    expected = [number % 5 + 1 for number in range(count)]
    rows = check_exactly_once(project, count, workers, expected)
    return float(enqueue_rate), drain_rate(rows), wall


def run_sleepers(project, settings, workers, count):
    """One drain of *count* 50 ms record tasks; (drain rate, wall)."""
    clear_tasks(project)
    project.shell(
        "from testimonials.proof_slow import record\n"
        f"for number in range({count}):\n"
        f"    record.enqueue(number, {SLEEP_SECONDS!r})",
        settings=settings,
    )
    wall = drain(project, workers, settings)
    rows = check_exactly_once(project, count, workers, "record")
    return drain_rate(rows), wall


def run_latency(project, settings, interval, samples):
    """Seconds from enqueue to start of *samples* tasks for an idle worker."""
    import signal

    from proof.project import TASKS_TABLE, stop

    clear_tasks(project)
    worker = project.start_worker(
        "--worker-id", "worker-1", settings=settings, interval=f"{interval:g}"
    )
    try:
        # A first task shows the worker is up and polling; then it idles.
        [first] = project.shell(
            "from testimonials.tasks import count_words\n"
            "print(count_words.enqueue('w').id)",
            settings=settings,
        )
        project.wait_for(first, {"SUCCESSFUL"}, timeout=120)
        clear_tasks(project)
        project.shell(
            TRICKLE.format(count=samples, interval=interval), settings=settings
        )
        deadline = time.monotonic() + 60
        while True:
            rows = project.database.query(
                f"SELECT enqueued_at, started_at, status FROM {TASKS_TABLE}"
            )
            if len(rows) == samples and {r[2] for r in rows} == {"SUCCESSFUL"}:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"latency: tasks not all run: {rows}")
            time.sleep(0.1)
    finally:
        output = stop(worker, signal.SIGTERM)
    if worker.returncode != 0:
        raise SystemExit(f"the idle worker failed:\n{output}")
    check_exactly_once(project, samples, 1)
    waits = sorted((_when(s) - _when(e)).total_seconds() for e, s, _ in rows)
    return percentile(waits, 50), percentile(waits, 95)


def percentile(values, share):
    """The *share* percentile of sorted *values*, by linear interpolation."""
    position = (len(values) - 1) * share / 100
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def count_sql(project, server, settings, count):
    """(statements, commits) the server saw per no-op task of one worker."""
    db = project.database
    with server.connect() as connection:
        connection.execute(f"ALTER DATABASE \"{db.name}\" SET log_statement = 'all'")

    def commits():
        time.sleep(0.5)  # an ended session's statistics reach the server
        with server.connect() as connection:
            [(value,)] = connection.execute(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = %s",
                (db.name,),
            ).fetchall()
        return value

    def one(tasks):
        clear_tasks(project)
        if tasks:
            project.shell(ENQUEUE.format(count=tasks), settings=settings)
        logged, committed = server.log.read_text().count(" statement: "), commits()
        drain(project, 1, settings)
        if tasks:
            check_exactly_once(project, tasks, 1)
        return (
            server.log.read_text().count(" statement: ") - logged,
            commits() - committed,
        )

    try:
        empty, full = one(0), one(count)
    finally:
        with server.connect() as connection:
            connection.execute(f'ALTER DATABASE "{db.name}" RESET log_statement')
    return [(f - e) / count for f, e in zip(full, empty, strict=True)]


def machine(server):
    """The facts of the machine and the software the figures come from."""
    import platform
    from importlib.metadata import version

    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = " ".join(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    with server.connect() as connection:
        [(postgres,)] = connection.execute("SHOW server_version").fetchall()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "django": version("django"),
        "django_tasks_db": version("django-tasks-db"),
        "postgresql": postgres.split()[0],
    }


def sqlite_settings():
    """The SQLite settings that part 7 shows, read from the page."""
    from proof.production import sqlite_settings_shown

    return sqlite_settings_shown()


def capacity(tasks, repeat, workers, big_workers, samples, intervals, say=print):
    """Every capacity figure; the dict that capacity.json holds."""
    import statistics

    from proof.postgres import MISSING, binaries, postgres_server
    from proof.project import Project

    if binaries() is None:
        raise SystemExit(MISSING)
    began = time.time()
    load_before = os.getloadavg()
    values = {}  # row key -> list of values
    verified = {}  # row key -> exactly-once checks passed

    walls = {}  # row key -> seconds from the workers' start to their end

    def add(key, value, checked=True, wall=None):
        values.setdefault(key, []).append(value)
        verified[key] = verified.get(key, 0) + checked
        if wall is not None:
            walls.setdefault(key, []).append(round(wall, 3))

    with tempfile.TemporaryDirectory() as folder, postgres_server() as server:
        sqlite = Project.copy(CAPACITY_STAGE, Path(folder) / "sqlite")
        sqlite.override_settings(sqlite_settings(), module=SQLITE_SETTINGS)
        pg = Project.copy(
            CAPACITY_STAGE, Path(folder) / "pg", database=server.new_database()
        )
        pg.write(
            f"{PG_PERSISTENT}.py",
            f"from {PG_DEFAULT} import *  # noqa: F403\n\n{PERSISTENT_LINES}",
        )
        for project in (sqlite, pg):
            project.add_slow_tasks()
            project.manage("migrate", "--verbosity", "0")
        noop = [
            ("sqlite", sqlite, SQLITE_SETTINGS),
            ("pg0", pg, PG_DEFAULT),
            ("pg600", pg, PG_PERSISTENT),
        ]
        # A drain that counts for nothing first: the first run of each
        # settings module meets cold caches.
        for _database, project, settings in noop:
            run_noop(project, settings, 1, tasks)
        for run in range(1, repeat + 1):
            say(f"run {run} of {repeat}")
            for database, project, settings in noop:
                for count in workers:
                    enqueued, rate, wall = run_noop(project, settings, count, tasks)
                    add(("noop", database, count), rate, wall=wall)
                    # The shell keeps its one connection: CONN_MAX_AGE
                    # changes nothing for it.
                    if count == workers[0] and database != "pg0":
                        where = "sqlite" if database == "sqlite" else "pg"
                        add(("enqueue", where, 0), enqueued, checked=False)
                    say(f"  no-op, {database}, {count} worker(s): {rate:.0f}/s")
            for count in big_workers:
                per_worker = max(tasks // 8, 2)
                rate, wall = run_sleepers(pg, PG_PERSISTENT, count, per_worker * count)
                add(("sleep", "pg600", count), rate, wall=wall)
                say(f"  50 ms task, {count} worker(s): {rate:.1f}/s")
            for interval in intervals:
                p50, p95 = run_latency(pg, PG_PERSISTENT, interval, samples)
                add(("latency50", "pg600", interval), p50)
                add(("latency95", "pg600", interval), p95)
                say(f"  latency at --interval {interval}: p50 {p50:.2f} s")
        for database, settings in (("pg0", PG_DEFAULT), ("pg600", PG_PERSISTENT)):
            statements, commits = count_sql(pg, server, settings, min(tasks, 100))
            add(("statements", database, 1), statements)
            add(("commits", database, 1), commits)
        facts = machine(server)
    facts["date"] = time.strftime("%Y-%m-%d", time.gmtime(began))
    facts["load_average"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    facts["seconds"] = round(time.time() - began, 1)
    facts["settings"] = {
        "tasks": tasks,
        "repeat": repeat,
        "workers": workers,
        "sleep_workers": big_workers,
        "samples": samples,
        "intervals": intervals,
    }
    rows = []
    for key, found in values.items():
        section, database, workers_or_interval = key
        rows.append(
            {
                "section": section,
                "database": database,
                "workers": workers_or_interval,
                "values": found,
                "median": statistics.median(found),
                "min": min(found),
                "max": max(found),
                "exactly_once_checks": verified[key],
            }
        )
        if key in walls:
            rows[-1]["wall_seconds"] = walls[key]
    return {"machine": facts, "rows": rows, "exactly_once_runs": CHECKED["runs"]}


# What each section's rows measure, and how their numbers are shown.
SECTIONS = {
    "enqueue": ("Enqueue, one process (tasks/s)", "{:.0f}"),
    "noop": ("Drain, no-op task (tasks/s)", "{:.0f}"),
    "sleep": ("Drain, 50 ms task (tasks/s)", "{:.1f}"),
    "latency50": ("Idle worker, enqueue to start, p50 (s)", "{:.2f}"),
    "latency95": ("Idle worker, enqueue to start, p95 (s)", "{:.2f}"),
    "statements": ("SQL statements per no-op task", "{:.1f}"),
    "commits": ("Commits per no-op task (server's count)", "{:.1f}"),
}


def _workers_cell(row):
    if row["section"] == "enqueue":
        return "none"
    if row["section"].startswith("latency"):
        return f"1, --interval {row['workers']:g}"
    return str(row["workers"])


def capacity_table(result):
    """The figures as a reST list-table for ``.. include::``."""
    facts = result["machine"]
    load = facts["load_average"]
    caption = (
        f"Measured by ``make capacity`` on {facts['date']}: "
        f"{facts['cpus']} CPU(s), {facts['cpu_model']}; Python {facts['python']}, "
        f"Django {facts['django']}, django-tasks-db {facts['django_tasks_db']}, "
        f"PostgreSQL {facts['postgresql']}; load average {load[0]:.1f} "
        f"before, {load[3]:.1f} after; median of {facts['settings']['repeat']} "
        "run(s), min–max beside it"
    )
    lines = [".. list-table::"]
    lines += [f"   {line}" for line in textwrap.wrap(caption, 72)]
    lines += ["   :header-rows: 1", ""]
    header = ["Measurement", "Database", "Workers", "Median", "Min–max"]
    cells = [header]
    sections, databases = list(SECTIONS), list(DATABASE_LABELS)
    for row in sorted(
        result["rows"],
        key=lambda r: (
            sections.index(r["section"]),
            databases.index(r["database"]),
            r["workers"],
        ),
    ):
        label, shape = SECTIONS[row["section"]]
        cells.append(
            [
                label,
                DATABASE_LABELS[row["database"]],
                _workers_cell(row),
                shape.format(row["median"]),
                f"{shape.format(row['min'])}–{shape.format(row['max'])}",
            ]
        )
    for row in cells:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def parse_capacity_table(text):
    """The rows of :func:`capacity_table`'s table, each a list of cells."""
    rows = []
    for line in text.splitlines():
        if line.startswith("   * - "):
            rows.append([line[len("   * - ") :]])
        elif line.startswith("     - "):
            rows[-1].append(line[len("     - ") :])
    return rows


def ratios(result):
    """Ratios between rows that should hold from one machine to the next."""
    found = {
        (r["section"], r["database"], r["workers"]): r["median"] for r in result["rows"]
    }
    pairs = {}
    for (section, database, count), value in found.items():
        base = found.get((section, database, 1))
        if section in ("noop", "sleep") and count != 1 and base:
            pairs[f"{section} {database}: {count} workers / 1"] = value / base
        default = found.get((section, "pg0", count))
        if section == "noop" and database == "pg600" and default:
            pairs[f"noop {count} worker(s): persistent / CONN_MAX_AGE=0"] = (
                value / default
            )
        sqlite = found.get((section, "sqlite", count))
        if section == "noop" and database == "pg600" and sqlite:
            pairs[f"noop {count} worker(s): PostgreSQL / SQLite"] = value / sqlite
    return pairs


def drift(previous, current):
    """Lines saying how the ratios moved since *previous*."""
    before, now = ratios(previous), ratios(current)
    lines = [
        f"Drift since {previous['machine'].get('date', '?')} "
        f"({previous['machine'].get('cpu_model', '?')}):"
    ]
    for name in sorted(now):
        if name in before:
            change = (now[name] / before[name] - 1) * 100
            lines.append(
                f"  {name}: {before[name]:.2f} -> {now[name]:.2f} ({change:+.0f}%)"
            )
    if len(lines) == 1:
        lines.append("  no ratio in common")
    return "\n".join(lines)


def write_capacity(result, out):
    """Write capacity.txt and capacity.json into *out*; the table."""
    out.mkdir(parents=True, exist_ok=True)
    previous = None
    record = out / "capacity.json"
    if record.exists():
        try:
            previous = json.loads(record.read_text())
        except ValueError:
            previous = None
    text = capacity_table(result)
    (out / "capacity.txt").write_text(text)
    record.write_text(json.dumps(result, indent=2) + "\n")
    return text, previous


def _counts(text):
    """``1,2,4``: worker counts, each 1 or more."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of counts: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"counts must be 1 or more: {text!r}")
    return counts


def _intervals(text):
    """``1,0.1``: the idle worker's polling intervals, in seconds."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of seconds: {text!r}") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"intervals must be above 0: {text!r}")
    return values


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
        default=None,
        help="how many times each approach's tests run (default: 20), or with "
        "--capacity each measurement (default: 3)",
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
    parser.add_argument(
        "--capacity",
        action="store_true",
        help="measure how far one database goes (stage 7, SQLite and "
        "PostgreSQL) and write the table part 8 includes",
    )
    parser.add_argument(
        "--tasks",
        type=int,
        default=200,
        help="with --capacity: no-op tasks per drain (default: 200); the 50 ms "
        "drains run an eighth of that per worker",
    )
    parser.add_argument(
        "--workers",
        type=_counts,
        default=[1, 2, 4],
        help="with --capacity: worker counts of the no-op drains (default: 1,2,4)",
    )
    parser.add_argument(
        "--sleep-workers",
        type=_counts,
        default=[1, 2, 4, 8],
        help="with --capacity: worker counts of the 50 ms drains (default: 1,2,4,8)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=20,
        help="with --capacity: tasks per latency run (default: 20)",
    )
    parser.add_argument(
        "--intervals",
        type=_intervals,
        default=[1.0, 0.1],
        help="with --capacity: the idle worker's --interval values (default: 1,0.1)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=CAPACITY_OUT,
        help="with --capacity: the folder for capacity.txt and capacity.json "
        "(default: docs/tutorial/_data)",
    )
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    if args.capacity:
        if args.tasks < 2 or args.samples < 2:
            parser.error("--tasks and --samples must be 2 or more")
        result = capacity(
            args.tasks,
            args.repeat or 3,
            args.workers,
            args.sleep_workers,
            args.samples,
            args.intervals,
        )
        text, previous = write_capacity(result, args.out)
        print()
        print(text)
        checks = result["exactly_once_runs"]
        print(
            f"{checks} runs passed the exactly-once check; "
            f"{result['machine']['seconds']} s; written to {args.out}"
        )
        if previous is not None:
            print(drift(previous, result))
        return
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
    repeat = args.repeat or 20
    print(table(measure(repeat), repeat))


if __name__ == "__main__":
    main()
