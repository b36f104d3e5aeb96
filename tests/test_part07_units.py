"""Part 7: the systemd units in deploy/, checked by systemd and run for real.

No systemd runs here (the proof has no service manager to talk to), so the
units are proven in two halves. ``systemd-analyze verify`` reads each unit
as systemd would load it, in a fake root holding what the units refer to,
and any message it prints counts as a failure (it exits 0 after "Failed to
parse ..., ignoring"). Then each unit's ExecStart line, read from the file
and expanded as systemd expands it (%H, %i), runs for real in a copy of the
stage, with the environment the unit gives it (the env file, filled in, and
its Environment= lines), in its WorkingDirectory: the copy stands for
/srv/community, and the proof's Python for the server's venv.
"""

import shutil
import signal
import socket
import time

import pytest

from proof.production import SERVER_PROJECT, SERVER_PYTHON, ProductionProject
from proof.project import stop
from proof.units import (
    DEPLOY,
    ENV_FILE,
    INSTANCES,
    START_LIMIT_BURST,
    START_LIMIT_INTERVAL_US,
    analyze,
    build_fake_root,
    exec_start,
    read_unit,
    run_unit,
    setting,
    timespan_us,
    unit_files,
    unit_names,
    verify,
    worker_id,
)

# -- systemd-analyze verify ------------------------------------------------------


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    """A root holding what the units refer to: the project's Python (a
    stand-in: systemd looks paths up inside the root, so a link to the real
    one would not do), the env file, and systemd's own units (the targets)."""
    return build_fake_root(tmp_path_factory.mktemp("root"), DEPLOY)


@pytest.mark.parametrize("name", unit_names())
def test_systemd_finds_nothing_to_say_about_the_unit(fake_root, name):
    assert verify(fake_root, name) == (0, "")


def test_verify_speaks_up_about_a_mistake(fake_root, tmp_path):
    """What the test above relies on: a mistake systemd ignores still prints."""
    root = tmp_path / "root"
    shutil.copytree(fake_root, root, symlinks=True)
    unit = root / "etc/systemd/system/community-emails-worker.service"
    unit.write_text(unit.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    status, messages = verify(root, "community-emails-worker.service")
    assert "Failed to parse service restart specifier" in messages, (status, messages)


def test_the_units_list_is_what_the_page_starts():
    assert unit_names() == [
        "community-digest.service",
        "community-digest.timer",
        "community-emails-worker.service",
        "community-prune.service",
        "community-prune.timer",
        "community-worker@1.service",
        "community-worker@2.service",
    ]


# -- What the units say -----------------------------------------------------------

SERVICES = [name for name in unit_files() if name.endswith(".service")]
WORKERS = ["community-worker@.service", "community-emails-worker.service"]
TIMERS = [name for name in unit_files() if name.endswith(".timer")]


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_runs_the_project_with_the_env_file(name):
    unit = read_unit(DEPLOY / name)
    assert setting(unit, "Service", "WorkingDirectory") == SERVER_PROJECT
    assert setting(unit, "Service", "EnvironmentFile") == ENV_FILE
    assert exec_start(name, "1")[:2] == [SERVER_PYTHON, "manage.py"]
    assert setting(unit, "Service", "User") == "community"
    assert "postgresql.service" in setting(unit, "Unit", "After").split()


@pytest.mark.parametrize("name", WORKERS)
def test_a_worker_stops_gracefully_and_comes_back_after_a_failure(name):
    unit = read_unit(DEPLOY / name)
    assert setting(unit, "Service", "KillSignal") == "SIGTERM"
    timeout = setting(unit, "Service", "TimeoutStopSec")
    assert timeout, f"{name}: TimeoutStopSec is not set: systemd's default is 90 s"
    # Longer than systemd's default, which the unit would have without it.
    assert timespan_us(timeout) > 90_000_000, timeout
    assert setting(unit, "Service", "Restart") == "on-failure"
    # Restarts spaced so that a database down for long never reaches the
    # start limit, after which systemd would stop restarting the worker.
    burst = int(setting(unit, "Unit", "StartLimitBurst") or START_LIMIT_BURST)
    interval = setting(unit, "Unit", "StartLimitIntervalSec")
    interval_us = timespan_us(interval) if interval else START_LIMIT_INTERVAL_US
    restart_us = timespan_us(setting(unit, "Service", "RestartSec") or "100ms")
    assert restart_us * burst > interval_us, (restart_us, burst, interval_us)
    argv = exec_start(name, "1")
    assert argv[2] == "db_worker"
    assert "--no-reload" in argv
    assert "%H" in setting(unit, "Service", "ExecStart")


def test_every_worker_has_an_id_of_its_own():
    ids = [worker_id(exec_start(WORKERS[0], i)) for i in INSTANCES]
    ids.append(worker_id(exec_start(WORKERS[1])))
    assert len(set(ids)) == len(ids), ids
    # django-tasks-db refuses ids longer than 64 characters.
    assert all(len(i) <= 64 for i in ids), ids


@pytest.mark.parametrize("name", TIMERS)
def test_the_timer_fires_when_the_page_says(name):
    unit = read_unit(DEPLOY / name)
    calendar = setting(unit, "Timer", "OnCalendar")
    done = analyze("calendar", calendar)
    assert done.returncode == 0 and not done.stderr, done.stdout + done.stderr
    assert f"Normalized form: {calendar}" in done.stdout, done.stdout
    assert setting(unit, "Timer", "Persistent") == "true"
    assert setting(unit, "Install", "WantedBy") == "timers.target"
    # A timer starts the service of its own name.
    service = read_unit(DEPLOY / name.replace(".timer", ".service"))
    assert setting(service, "Service", "Type") == "oneshot"
    assert "Install" not in service


def test_the_timers_calendars():
    calendars = {
        name: setting(read_unit(DEPLOY / name), "Timer", "OnCalendar")
        for name in TIMERS
    }
    assert calendars == {
        "community-digest.timer": "Mon *-*-* 08:00:00",
        "community-prune.timer": "*-*-* 03:30:00",
    }


# -- The commands, for real ---------------------------------------------------------


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, postgres):
    project = ProductionProject.copy(
        tmp_path_factory.mktemp("part07-units") / "community", postgres.new_database()
    )
    project.manage("migrate", "--verbosity", "0")
    return project


ENQUEUE = (
    "from testimonials.tasks import count_words\n"
    "print(count_words.enqueue('on the default queue').id)\n"
    "print(count_words.using(queue_name='emails').enqueue('an emails task').id)"
)


def wait_a_poll():
    """Longer than a worker with the default interval (1 s) waits to look again."""
    time.sleep(2.5)


def test_the_template_worker_runs_every_queue_but_emails(project):
    default, emails = project.shell(ENQUEUE)
    worker = run_unit(project, "community-worker@.service", "1", background=True)
    try:
        ran = project.wait_for(default, {"SUCCESSFUL", "FAILED"})
        wait_a_poll()
        assert project.status(emails) == "READY"
        assert worker.poll() is None
    finally:
        output = stop(worker, signal.SIGTERM)
    assert worker.returncode == 0, output
    assert (ran.status, ran.worker_ids) == (
        "SUCCESSFUL",
        [f"{socket.gethostname()}-1"],
    ), output
    assert "queues=*" in output, output


def test_the_emails_worker_runs_the_emails_queue_alone(project):
    default, emails = project.shell(ENQUEUE)
    worker = run_unit(project, "community-emails-worker.service", background=True)
    try:
        ran = project.wait_for(emails, {"SUCCESSFUL", "FAILED"})
        wait_a_poll()
        assert project.status(default) == "READY"
    finally:
        output = stop(worker, signal.SIGTERM)
    assert worker.returncode == 0, output
    assert (ran.status, ran.worker_ids) == (
        "SUCCESSFUL",
        [f"{socket.gethostname()}-emails"],
    ), output
    assert "queues=emails" in output, output


def test_the_digest_service_enqueues_the_digest(project):
    done = run_unit(project, "community-digest.service")
    [line] = done.stdout.splitlines()
    prefix = "Enqueued send_digest on the 'default' queue: task result "
    assert line.startswith(prefix), done.explain()
    result_id = line.removeprefix(prefix)
    assert project.status(result_id) == "READY"
    [(path, queue)] = project.database.query(
        "SELECT task_path, queue_name FROM django_tasks_database_dbtaskresult"
    )
    assert (path, queue) == ("testimonials.tasks.send_digest", "default")
    # The template worker runs it.
    worker = run_unit(project, "community-worker@.service", "2", background=True)
    try:
        assert project.wait_for(result_id, {"SUCCESSFUL", "FAILED"}).status == (
            "SUCCESSFUL"
        )
    finally:
        stop(worker, signal.SIGTERM)


def test_the_prune_service_deletes_old_results(project):
    """Successful results after 14 days, failed ones after 30."""
    ids = project.shell(
        "from testimonials.tasks import count_words\n"
        "for text in ['a', 'b', None, None, 'c']:\n"
        "    print(count_words.enqueue(text).id)"
    )
    project.run_worker("--queue-name", "*")
    ages = dict(zip(ids, (15, 13, 31, 29, 0), strict=True))
    for result_id, days in ages.items():
        project.database.query(
            "UPDATE django_tasks_database_dbtaskresult "
            "SET finished_at = now() - %s * interval '1 day' WHERE id = %s "
            "RETURNING id",
            (days, result_id),
        )
    statuses = [project.status(i) for i in ids]
    assert statuses == ["SUCCESSFUL", "SUCCESSFUL", "FAILED", "FAILED", "SUCCESSFUL"]

    done = run_unit(project, "community-prune.service")
    assert "Deleted 2 task result(s)" in done.output, done.explain()
    left = {
        str(row[0])
        for row in project.database.query(
            "SELECT id FROM django_tasks_database_dbtaskresult"
        )
    }
    assert left == {ids[1], ids[3], ids[4]}
