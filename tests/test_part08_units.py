"""Part 8: community-recover.service and its timer, checked by systemd and
run for real, as tests/test_part07_units.py checks part 7's units (its
helpers, given stage 8's deploy/ folder)."""

import re
import signal
from itertools import pairwise

import pytest

from proof.paths import stage_dir
from proof.production import ENV_EXAMPLE, SERVER_PROJECT, ProductionProject
from proof.project import TASKS_TABLE, stop
from proof.units import DEPLOY as PART07_DEPLOY
from proof.units import (
    ENV_FILE,
    analyze,
    build_fake_root,
    exec_start,
    read_unit,
    run_unit,
    setting,
    unit_files,
    unit_names,
    verify,
)

STAGE = 8
DEPLOY = stage_dir(STAGE) / "deploy"
NEW_UNITS = ["community-recover.service", "community-recover.timer"]


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    return build_fake_root(tmp_path_factory.mktemp("root"), DEPLOY)


@pytest.mark.parametrize("name", unit_names(DEPLOY))
def test_systemd_finds_nothing_to_say_about_the_unit(fake_root, name):
    assert verify(fake_root, name) == (0, "")


def test_part_8_adds_the_recover_units_and_changes_no_other():
    assert unit_files(DEPLOY) == sorted([*unit_files(PART07_DEPLOY), *NEW_UNITS])
    for name in [*unit_files(PART07_DEPLOY), ENV_EXAMPLE.name]:
        assert (DEPLOY / name).read_text() == (PART07_DEPLOY / name).read_text(), name


def test_the_recover_service_runs_recover_tasks_with_the_env_file():
    unit = read_unit(DEPLOY / "community-recover.service")
    assert setting(unit, "Service", "Type") == "oneshot"
    assert setting(unit, "Service", "WorkingDirectory") == SERVER_PROJECT
    assert setting(unit, "Service", "EnvironmentFile") == ENV_FILE
    assert setting(unit, "Service", "User") == "community"
    assert "postgresql.service" in setting(unit, "Unit", "After").split()
    assert exec_start("community-recover.service", deploy=DEPLOY)[1:] == [
        "manage.py",
        "recover_tasks",
    ]
    assert "Install" not in unit


def test_the_recover_timer_fires_every_5_minutes():
    unit = read_unit(DEPLOY / "community-recover.timer")
    calendar = setting(unit, "Timer", "OnCalendar")
    done = analyze("calendar", "--iterations=3", calendar)
    assert done.returncode == 0 and not done.stderr, done.stdout + done.stderr
    assert f"Normalized form: {calendar}" in done.stdout, done.stdout
    elapses = [
        line.split(":", 1)[1].strip()
        for line in done.stdout.splitlines()
        if line.strip().startswith(("Next elapse:", "Iter. #"))
    ]
    minutes = [int(e.split()[2].split(":")[1]) for e in elapses]
    assert len(minutes) == 3, done.stdout
    assert [(b - a) % 60 for a, b in pairwise(minutes)] == [5, 5], elapses
    assert all(m % 5 == 0 for m in minutes), elapses
    assert setting(unit, "Timer", "Persistent") == "true"
    assert setting(unit, "Install", "WantedBy") == "timers.target"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, postgres):
    project = ProductionProject.copy(
        tmp_path_factory.mktemp("part08-units") / "community",
        postgres.new_database(),
        stage=STAGE,
    )
    project.manage("migrate", "--verbosity", "0")
    return project


def test_the_recover_service_fails_a_stuck_task(project):
    """A notification left RUNNING for 6 minutes, as a killed worker leaves
    it: the service fails it and enqueues it again, which a worker runs."""
    [testimonial] = project.shell(
        "from django.contrib.auth.models import User\n"
        "from testimonials.models import Testimonial\n"
        "member = User.objects.create_user('member', 'member@example.com')\n"
        "print(Testimonial.objects.create(author=member, title='Hi', text='Hi').pk)"
    )
    [stuck] = project.shell(
        "from testimonials.tasks import enqueue_notification\n"
        f"print(enqueue_notification({testimonial}).id)"
    )
    project.database.query(
        f"UPDATE {TASKS_TABLE} SET status = 'RUNNING',"
        " worker_ids = '[\"web-1-emails\"]',"
        " started_at = now() - interval '6 minutes'"
        " WHERE id = %s RETURNING id",
        (stuck,),
    )

    done = run_unit(project, "community-recover.service", deploy=DEPLOY)

    [line, summary] = done.stdout.splitlines()
    assert line.startswith(
        f"Failed testimonials.tasks.notify_staff_about_testimonial {stuck}, "
        "RUNNING since "
    ), done.explain()
    # Started six minutes before the service ran: a busy machine may take a
    # second or two more between the two.
    assert re.search(r" \(6m 0\ds\) on web-1-emails, enqueued again as ", line), line
    assert summary == "Stuck tasks: 1 failed, 1 enqueued again."
    again = line.rsplit(" ", 1)[1]
    assert project.status(stuck) == "FAILED"
    worker = run_unit(
        project, "community-emails-worker.service", background=True, deploy=DEPLOY
    )
    try:
        ran = project.wait_for(again, {"SUCCESSFUL", "FAILED"})
    finally:
        stop(worker, signal.SIGTERM)
    # No staff to tell: the task returns 0, and marks nobody as notified.
    assert (ran.status, ran.return_value) == ("SUCCESSFUL", 0)
