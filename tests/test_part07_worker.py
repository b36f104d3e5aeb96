"""Part 7: the worker in production, on PostgreSQL: stopping, and losing the database.

Real workers (``db_worker`` with mysite.production and the env file, see
proof.production), real signals, a real PostgreSQL server. What the page
says, as measured:

- a stop (SIGTERM, systemd's KillSignal) lets the running task finish and
  the worker exits 0; a second one fails the task with SystemExit, and the
  worker still exits 0;
- with no database when it starts, the worker exits 1 at once, saying why
  (systemd's Restart=on-failure starts it again);
- the database server restarting while the worker waits for tasks is
  nothing to it, thanks to CONN_HEALTH_CHECKS; without them, the worker dies;
- the server restarting while a task runs kills the worker (exit 1) once
  the task returns, and the task's row stays RUNNING for good;
- through restarts, with the workers started again after each failure, no
  waiting task is lost and none runs twice.

The tests that stop the database server stop one of this module's own
(``own_postgres``), never the server the other tests share.
"""

import signal
import time

import pytest

from proof.production import ProductionProject
from proof.project import check_a_stop_lets_the_running_task_finish, stop

# The queues of the template unit's workers.
QUEUES = ("--queue-name", "*", "--exclude-queues", "emails")


def migrated_copy(folder, database):
    project = ProductionProject.copy(folder, database)
    project.add_slow_tasks()
    project.manage("migrate", "--verbosity", "0")
    return project


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, postgres):
    return migrated_copy(
        tmp_path_factory.mktemp("part07-worker") / "community",
        postgres.new_database(),
    )


@pytest.fixture(scope="module")
def restartable(tmp_path_factory, own_postgres):
    return migrated_copy(
        tmp_path_factory.mktemp("part07-restarts") / "community",
        own_postgres.new_database(),
    )


@pytest.fixture
def on_own_server(restartable, own_postgres, tmp_path):
    """A copy on the module's own server, which the test may stop: it runs
    again for the next test, whatever this one did."""
    try:
        yield restartable.clone(tmp_path / "community")
    finally:
        if not own_postgres.is_running():
            own_postgres.start_again()


def ended(process, timeout=30):
    """Wait for *process* to end on its own (it fails the test if it
    doesn't); its output."""
    return stop(process, timeout=timeout)


# -- Stopping -------------------------------------------------------------------


def test_sigterm_lets_the_running_task_finish_and_the_worker_exits_0(project):
    check_a_stop_lets_the_running_task_finish(project, *QUEUES)


def test_a_second_sigterm_fails_the_task_and_the_worker_exits_0(project):
    [result_id] = project.sleepers(30)
    worker = project.start_worker(*QUEUES)
    try:
        project.wait_for(result_id, {"RUNNING"})
    finally:
        started = time.monotonic()
        output = stop(worker, signal.SIGTERM, signal.SIGTERM, pause=1)
    assert time.monotonic() - started < 10, "the second signal must not wait"
    assert "Received Terminated - terminating current task." in output
    failed = project.task(result_id)
    assert (failed.status, failed.exception_class_path) == (
        "FAILED",
        "builtins.SystemExit",
    ), output
    # What was measured: the SystemExit ends the task, not the worker, which
    # then stops as after one signal.
    assert worker.returncode == 0, output


# -- Losing the database ---------------------------------------------------------


def test_without_a_database_the_worker_exits_1_saying_why(on_own_server, own_postgres):
    [waiting] = on_own_server.sleepers(0)
    own_postgres.stop()
    done = on_own_server.run_worker(*QUEUES, check=False)
    assert done.returncode == 1, done.explain()
    assert "django.db.utils.OperationalError: connection is bad" in done.output, (
        done.explain()
    )
    assert str(own_postgres.socket_dir) in done.output
    assert "Is the server running locally" in done.output
    own_postgres.start_again()
    assert on_own_server.status(waiting) == "READY"


# Slower than the server's restart: it happens while the worker sleeps.
IDLE_INTERVAL = "5"


def wait_until_it_sleeps(project, since, timeout=20):
    """Wait for the worker's look for a task after *since* to end: its
    transaction committed, it sleeps for the interval."""
    deadline = time.monotonic() + timeout
    while not project.database.query(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND state = 'idle' AND query = 'COMMIT'"
        " AND query_start > %s::timestamptz",
        (since,),
    ):
        assert time.monotonic() < deadline, "the worker never looked for a task"
        time.sleep(0.05)


@pytest.mark.parametrize("health_checks", [True, False], ids=["checks", "no-checks"])
def test_a_database_restart_while_the_worker_waits(
    on_own_server, own_postgres, health_checks
):
    project = on_own_server
    if not health_checks:
        project.override_settings(
            'DATABASES["default"]["CONN_HEALTH_CHECKS"] = False\n'
        )
    [first] = project.sleepers(0)
    worker = project.start_worker(*QUEUES, interval=IDLE_INTERVAL)
    try:
        done = project.wait_for(first, {"SUCCESSFUL"})
        wait_until_it_sleeps(project, done.finished_at)
        own_postgres.restart("fast")
        [second] = project.sleepers(0)
        if health_checks:
            row = project.wait_for(second, {"SUCCESSFUL", "FAILED"}, timeout=20)
            assert row.status == "SUCCESSFUL"
            assert worker.poll() is None, "the worker must keep running"
        else:
            output = ended(worker)
            assert worker.returncode == 1, output
            assert "terminating connection due to administrator command" in output
            assert project.status(second) == "READY"
    finally:
        output = stop(worker, signal.SIGTERM) if worker.poll() is None else ""
    if health_checks:
        assert worker.returncode == 0, output


def test_a_database_restart_while_a_task_runs(on_own_server, own_postgres):
    project = on_own_server
    running, waiting = project.sleepers(4, 0)
    worker = project.start_worker(*QUEUES)
    try:
        project.wait_for(running, {"RUNNING"})
        own_postgres.restart("fast")
        output = ended(worker)
    finally:
        if worker.poll() is None:
            stop(worker, signal.SIGTERM)
    assert worker.returncode == 1, output
    assert "OperationalError: the connection is closed" in output
    assert "state=SUCCESSFUL" not in output and "state=FAILED" not in output
    # The task's function ran to its end; its row never heard of it.
    assert project.status(running) == "RUNNING"
    assert project.status(waiting) == "READY"
    # The worker started again runs the next task; the lost one stays.
    project.run_worker(*QUEUES)
    assert project.status(waiting) == "SUCCESSFUL"
    assert project.status(running) == "RUNNING"


def test_through_restarts_no_waiting_task_is_lost_or_run_twice(
    on_own_server, own_postgres
):
    """Two workers, each started again when it fails (Restart=on-failure),
    and the server restarted twice while they work through the queue."""
    project = on_own_server
    count = 80
    ids = project.records(count, 0.05)
    names = ["host-1", "host-2"]
    workers = {}
    failures = []

    def start(name):
        workers[name] = project.start_worker(
            *QUEUES, "--batch", "--worker-id", name, interval="1"
        )

    def supervise(until, timeout=60):
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, "the workers got nowhere"
            for name, process in workers.items():
                if process.poll() not in (None, 0):
                    failures.append((name, process.returncode, ended(process)))
                    time.sleep(0.5)  # RestartSec, shortened
                    start(name)
            time.sleep(0.05)

    def successful():
        return sum(row.status == "SUCCESSFUL" for row in project.tasks())

    for name in names:
        start(name)
    try:
        for _ in range(2):
            done = successful()
            supervise(lambda done=done: successful() >= done + 10)
            own_postgres.restart("fast")
        supervise(lambda: all(p.poll() == 0 for p in workers.values()))
    finally:
        for process in workers.values():
            if process.poll() is None:
                stop(process, signal.SIGTERM)

    rows = {result_id: project.task(result_id) for result_id in ids}
    statuses = [row.status for row in rows.values()]
    ran = project.recorded()
    explain = f"{failures}\n{statuses}"
    assert failures, "the restarts never reached a worker: nothing was tested"
    assert "READY" not in statuses, explain
    assert set(statuses) <= {"SUCCESSFUL", "RUNNING"}, explain
    # A row left RUNNING belongs to a worker that died during its task.
    assert statuses.count("RUNNING") <= len(failures), explain
    assert all(len(row.worker_ids) == 1 for row in rows.values()), explain
    assert sorted(ran) == list(range(count)), "each task ran exactly once"
    successes = [r.return_value for r in rows.values() if r.status == "SUCCESSFUL"]
    assert len(successes) + statuses.count("RUNNING") == count
