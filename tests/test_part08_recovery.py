"""Part 8: a worker killed during a task, and recover_tasks, on PostgreSQL.

Real workers and real ``recover_tasks`` processes (stage 8, run with
mysite.production and the env file, see proof.production), a real
PostgreSQL server. What the page says, as measured:

- a worker killed (SIGKILL: no chance to clean up) during a task leaves its
  row RUNNING, and no other worker ever takes it;
- recover_tasks, once the row is older than its limit, marks it FAILED and,
  for a task in RECOVERABLE_TASKS, enqueues it again, which a worker runs;
  any other task is only failed;
- a task that counts its attempts is not run again after MAX_ATTEMPTS;
- two recover_tasks at once, while workers run: each stuck row is failed
  once and enqueued again at most once; no task is lost;
- ``--dry-run`` changes nothing.

The copy has a task of the test's own, ``crash.slow_once``: the first run
for a number hangs (the test kills its worker then), a run again returns at
once. The short limits come from a settings override.
"""

import os
import re
import signal
import time

import pytest

from proof.production import ProductionProject
from proof.project import TASKS_TABLE, stop

STAGE = 8
ERROR = "testimonials.management.commands.recover_tasks.WorkerStopped"
SLOW_ONCE = "testimonials.proof_crash.slow_once"

CRASH_TASKS = """
import time
from pathlib import Path

from django.conf import settings
from django.tasks import task


@task
def slow_once(number, attempt=1):
    \"\"\"Write down that this run started; the first run for *number* hangs.\"\"\"
    folder = Path(settings.BASE_DIR)
    with open(folder / "ran.txt", "a") as ran:
        ran.write(f"{number}\\n")
    marker = folder / f"started-{number}"
    if not marker.exists():
        marker.touch()
        time.sleep(300)
    return number
"""

# Stuck after 2 s in the default queue; slow_once may run again.
SETTINGS = f"""
from datetime import timedelta

TASK_RUNNING_LIMITS = {{
    "default": timedelta(seconds=2),
    "emails": timedelta(minutes=5),
}}
RECOVERABLE_TASKS = [*RECOVERABLE_TASKS, "{SLOW_ONCE}"]
"""

LIMIT = 2.0

# A line of recover_tasks' output for one row.
LINE = re.compile(
    r"^Failed (?P<path>\S+) (?P<id>[0-9a-f-]{36}), RUNNING since "
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \((?P<ran>[^)]+)\) on (?P<worker>[^,\s]+), "
    r"(?:enqueued again as (?P<new>[0-9a-f-]{36})|not run again: (?P<why>.+))$"
)

SUMMARY = re.compile(r"^Stuck tasks: \d+ failed, \d+ enqueued again\.$")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, postgres):
    project = ProductionProject.copy(
        tmp_path_factory.mktemp("part08-recovery") / "community",
        postgres.new_database(),
        stage=STAGE,
    )
    project.add_slow_tasks()
    project.write("testimonials/proof_crash.py", CRASH_TASKS)
    project.override_settings(SETTINGS)
    project.manage("migrate", "--verbosity", "0")
    return project


def enqueue(project, *calls):
    """Enqueue ``slow_once(number, attempt)`` for each (number, attempt)."""
    return project.shell(
        "from testimonials.proof_crash import slow_once\n"
        f"for number, attempt in {list(calls)!r}:\n"
        "    print(slow_once.enqueue(number, attempt=attempt).id)"
    )


def kill(process):
    """SIGKILL to the worker's process group: it stops where it is."""
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)


def killed_during(project, result_id, worker_id="host-1"):
    """Start a worker, let it take *result_id*, and kill it."""
    worker = project.start_worker("--worker-id", worker_id)
    try:
        project.wait_for(result_id, {"RUNNING"})
    finally:
        kill(worker)


def wait_past_the_limit(project, result_id):
    started = project.database.query(
        f"SELECT extract(epoch FROM now() - started_at) FROM {TASKS_TABLE}"
        " WHERE id = %s",
        (result_id,),
    )[0][0]
    time.sleep(max(0.0, LIMIT + 0.5 - float(started)))


def recover(project, *args):
    return project.manage("recover_tasks", *args).stdout.splitlines()


def parsed(lines):
    """The row lines of recover_tasks' output (not its summary), as dicts."""
    rows = [LINE.match(line) for line in lines if not SUMMARY.match(line)]
    assert all(rows), lines
    return [row.groupdict() for row in rows]


def slow_once_rows(project):
    """``{number: [(status, attempt, exception), ...]}`` of slow_once's rows."""
    rows = project.database.query(
        f"SELECT args_kwargs, status, exception_class_path FROM {TASKS_TABLE}"
        " WHERE task_path = %s ORDER BY enqueued_at",
        (SLOW_ONCE,),
    )
    found = {}
    for args_kwargs, status, error in rows:
        [number] = args_kwargs["args"]
        attempt = args_kwargs["kwargs"]["attempt"]
        found.setdefault(number, []).append((status, attempt, error))
    return found


def test_a_killed_worker_leaves_the_row_running_for_good(project):
    [stuck] = enqueue(project, (1, 1))
    killed_during(project, stuck)
    [after] = project.sleepers(0)
    worker = project.start_worker("--worker-id", "host-2")
    try:
        project.wait_for(after, {"SUCCESSFUL"})
        time.sleep(1)  # five more looks for a task
    finally:
        output = stop(worker, signal.SIGTERM)
    row = project.task(stuck)
    assert (row.status, row.worker_ids, row.finished_at) == (
        "RUNNING",
        ["host-1"],
        None,
    ), output
    assert project.recorded() == [1]


def test_recover_tasks_fails_the_row_and_a_worker_runs_it_again(project):
    [stuck] = enqueue(project, (1, 1))
    killed_during(project, stuck)
    wait_past_the_limit(project, stuck)

    lines = recover(project)
    print("\n".join(lines))  # what the page shows

    [line] = parsed(lines)
    assert lines[-1] == "Stuck tasks: 1 failed, 1 enqueued again."
    assert (line["path"], line["id"], line["worker"]) == (SLOW_ONCE, stuck, "host-1")
    failed = project.task(stuck)
    assert (failed.status, failed.exception_class_path) == ("FAILED", ERROR)
    [traceback] = project.database.query(
        f"SELECT traceback FROM {TASKS_TABLE} WHERE id = %s", (stuck,)
    )[0]
    assert f"RUNNING for {line['ran']} on host-1" in traceback
    assert slow_once_rows(project) == {1: [("FAILED", 1, ERROR), ("READY", 2, "")]}

    project.run_worker()
    again = project.task(line["new"])
    assert (again.status, again.return_value) == ("SUCCESSFUL", 1)
    assert project.recorded() == [1, 1]
    assert recover(project)[-1] == "Stuck tasks: 0 failed, 0 enqueued again."


def test_a_task_not_in_recoverable_tasks_is_only_failed(project):
    [stuck] = project.records(1, 300)
    killed_during(project, stuck)
    wait_past_the_limit(project, stuck)

    lines = recover(project)

    [line] = parsed(lines)
    assert line["why"] == "not in RECOVERABLE_TASKS", lines
    assert project.status(stuck) == "FAILED"
    assert len(project.tasks()) == 1, "nothing was enqueued"


def test_the_last_attempt_is_not_run_again(project):
    [stuck] = enqueue(project, (1, 3))
    killed_during(project, stuck)
    wait_past_the_limit(project, stuck)

    [line] = parsed(recover(project))

    assert line["why"] == "that was attempt 3 of 3"
    assert slow_once_rows(project) == {1: [("FAILED", 3, ERROR)]}


def test_attempts_stop_at_the_bound_through_crashes(project):
    """Each run is killed: attempts 1, 2, 3, then no more."""
    project.write(
        "testimonials/proof_crash.py",
        CRASH_TASKS.replace("if not marker.exists():", "if True:"),
    )
    [current] = enqueue(project, (1, 1))
    for attempt in (1, 2, 3):
        killed_during(project, current, worker_id=f"host-{attempt}")
        wait_past_the_limit(project, current)
        [line] = parsed(recover(project))
        current = line["new"]
    assert current is None
    assert line["why"] == "that was attempt 3 of 3"
    assert slow_once_rows(project) == {
        1: [("FAILED", attempt, ERROR) for attempt in (1, 2, 3)]
    }


def test_a_dry_run_changes_nothing(project):
    [stuck] = enqueue(project, (1, 1))
    killed_during(project, stuck)
    wait_past_the_limit(project, stuck)
    before = project.tasks()

    lines = recover(project, "--dry-run")

    assert lines[0].startswith(f"Would fail {SLOW_ONCE} {stuck}, RUNNING since ")
    assert lines[0].endswith("on host-1, would be enqueued again")
    assert lines[-1] == "Stuck tasks: 1 found, nothing changed (dry run)."
    assert project.tasks() == before


def test_two_recoveries_at_once_handle_each_stuck_row_once(project):
    """Stuck rows as dead workers leave them, two workers busy with other
    tasks, and two recover_tasks started together."""
    count = 40
    calls = [(number, 1) for number in range(count)]
    stuck = enqueue(project, *calls)
    for number, _ in calls:
        project.write(f"started-{number}", "")  # their runs again return at once
    rows = project.database.query(
        f"UPDATE {TASKS_TABLE} SET status = 'RUNNING', worker_ids = '[\"dead\"]',"
        " started_at = now() - interval '1 minute' WHERE task_path = %s"
        " RETURNING id",
        (SLOW_ONCE,),
    )
    assert len(rows) == count
    busy = project.sleepers(*[0.05] * 40)
    workers = project.start_workers(2)
    try:
        recoveries = [project.start("manage.py", "recover_tasks") for _ in range(2)]
        outputs = [stop(process, timeout=60) for process in recoveries]
        assert [p.returncode for p in recoveries] == [0, 0], outputs
        deadline = time.monotonic() + 60
        while any(
            project.status(result_id) != "SUCCESSFUL" for result_id in busy
        ) or sorted(project.recorded()) != list(range(count)):
            assert time.monotonic() < deadline, (outputs, project.recorded())
            time.sleep(0.1)
    finally:
        for worker in workers:
            stop(worker, signal.SIGTERM)

    lines = [line for output in outputs for line in output.splitlines()]
    handled = parsed([line for line in lines if line.startswith("Failed ")])
    assert sorted(line["id"] for line in handled) == sorted(stuck), outputs
    assert all(line["new"] for line in handled), outputs
    summaries = [line for line in lines if SUMMARY.match(line)]
    assert len(summaries) == 2, outputs
    found = slow_once_rows(project)
    assert sorted(found) == list(range(count))
    for number, runs in found.items():
        assert runs == [("FAILED", 1, ERROR), ("SUCCESSFUL", 2, "")], (number, runs)
    assert sorted(project.recorded()) == list(range(count)), "each ran once more"


def test_rows_another_recovery_holds_are_skipped_not_waited_for(project):
    """What makes two copies safe: a row locked by another transaction (a
    recover_tasks still working) is left to it, at once."""
    held, free = enqueue(project, (1, 1), (2, 1))
    for number in (1, 2):
        project.write(f"started-{number}", "")
    project.database.query(
        f"UPDATE {TASKS_TABLE} SET status = 'RUNNING', worker_ids = '[\"dead\"]',"
        " started_at = now() - interval '1 minute' RETURNING id"
    )
    other = project.database.server.connect(project.database.name)
    with other, other.transaction():
        other.execute(f"SELECT id FROM {TASKS_TABLE} WHERE id = %s FOR UPDATE", (held,))
        started = time.monotonic()
        [line] = parsed(recover(project))
        assert time.monotonic() - started < 20
        assert line["id"] == free
        assert project.status(held) == "RUNNING"
    [line] = parsed(recover(project))
    assert line["id"] == held
    assert project.status(held) == "FAILED"
