"""Stage 8: the notification sends once, and recover_tasks fails the tasks
a stopped worker left RUNNING, enqueuing the recoverable ones again.

Runs in the stage's own pytest process, on its SQLite database: rows left
RUNNING are made the way a killed worker leaves them (claimed, never
finished), their start moved back in time. The real crash, on PostgreSQL,
is tests/test_part08_recovery.py.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from proof.in_stage import run_worker

ERROR = "testimonials.management.commands.recover_tasks.WorkerStopped"


@pytest.fixture
def testimonial(member):
    from django.contrib.auth import get_user_model
    from testimonials.models import Testimonial

    get_user_model().objects.create_superuser("admin", "admin@example.com")
    return Testimonial.objects.create(author=member, title="Kind", text="Thanks")


def left_running(task, *args, ago, worker="host-1", **kwargs):
    """Enqueue *task* and leave its row as a worker killed *ago* leaves it."""
    result = task.enqueue(*args, **kwargs)
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim(worker)
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=timezone.now() - ago)
    return row.pk


def recover(*args):
    out = StringIO()
    call_command("recover_tasks", *args, stdout=out)
    return out.getvalue().splitlines()


def others(*known):
    return DBTaskResult.objects.exclude(pk__in=known)


def test_a_second_run_of_the_notification_sends_nothing(testimonial):
    from testimonials.tasks import notify_staff_about_testimonial

    first = notify_staff_about_testimonial.enqueue(testimonial.pk)
    second = notify_staff_about_testimonial.enqueue(testimonial.pk)
    run_worker()

    first.refresh()
    second.refresh()
    assert {first.return_value, second.return_value} == {1, 0}
    assert len(mail.outbox) == 1
    testimonial.refresh_from_db()
    assert testimonial.staff_notified_at is not None


def test_a_stuck_notification_is_failed_and_enqueued_again(testimonial):
    from testimonials.tasks import notify_staff_about_testimonial

    stuck = left_running(
        notify_staff_about_testimonial, testimonial.pk, ago=timedelta(minutes=6)
    )
    # As enqueue_notification() leaves it: the testimonial names its result.
    testimonial.notification_id = str(stuck)
    testimonial.save(update_fields=["notification_id"])

    [line, summary] = recover()

    row = DBTaskResult.objects.get(pk=stuck)
    assert row.status == TaskResultStatus.FAILED
    assert row.exception_class_path == ERROR
    assert row.finished_at is not None
    assert "RUNNING for 6m 00s on host-1" in row.traceback
    assert row.task_result.errors[0].traceback == row.traceback
    [again] = others(stuck)
    assert again.status == TaskResultStatus.READY
    assert again.args_kwargs == {"args": [testimonial.pk], "kwargs": {"attempt": 2}}
    assert (again.queue_name, again.priority) == ("emails", 10)
    path = "testimonials.tasks.notify_staff_about_testimonial"
    assert line.startswith(f"Failed {path} {stuck}, RUNNING since ")
    assert line.endswith(f"(6m 00s) on host-1, enqueued again as {again.pk}")
    assert summary == "Stuck tasks: 1 failed, 1 enqueued again."
    # The admin's column follows the new result, not the failed one.
    testimonial.refresh_from_db()
    assert testimonial.notification_id == str(again.pk)

    run_worker()
    again.refresh_from_db()
    assert (again.status, again.return_value) == (TaskResultStatus.SUCCESSFUL, 1)
    assert len(mail.outbox) == 1


def test_a_task_within_its_limit_is_left_alone(testimonial):
    from testimonials.tasks import notify_staff_about_testimonial, send_digest

    running = [
        left_running(
            notify_staff_about_testimonial, testimonial.pk, ago=timedelta(seconds=30)
        ),
        left_running(send_digest, ago=timedelta(minutes=59)),
    ]

    assert recover() == ["Stuck tasks: 0 failed, 0 enqueued again."]
    statuses = DBTaskResult.objects.values_list("status", flat=True)
    assert list(statuses) == [TaskResultStatus.RUNNING] * 2
    assert not others(*running).exists()


def test_a_task_that_is_not_recoverable_is_only_failed(db):
    from testimonials.tasks import send_digest_batch

    stuck = left_running(send_digest_batch, [1, 2], [3], ago=timedelta(minutes=6))

    [line, summary] = recover()

    assert DBTaskResult.objects.get(pk=stuck).status == TaskResultStatus.FAILED
    assert not others(stuck).exists()
    assert line.endswith("on host-1, not run again: not in RECOVERABLE_TASKS")
    assert summary == "Stuck tasks: 1 failed, 0 enqueued again."


def test_the_last_attempt_is_not_run_again(testimonial):
    from testimonials.tasks import MAX_ATTEMPTS, notify_staff_about_testimonial

    stuck = left_running(
        notify_staff_about_testimonial,
        testimonial.pk,
        attempt=MAX_ATTEMPTS,
        ago=timedelta(minutes=6),
    )

    [line, _] = recover()

    assert DBTaskResult.objects.get(pk=stuck).status == TaskResultStatus.FAILED
    assert not others(stuck).exists()
    assert line.endswith(
        f"not run again: that was attempt {MAX_ATTEMPTS} of {MAX_ATTEMPTS}"
    )


def test_a_task_path_has_a_limit_of_its_own(settings, db):
    from testimonials.tasks import send_digest_batch

    settings.TASK_RUNNING_LIMITS = {
        **settings.TASK_RUNNING_LIMITS,
        "testimonials.tasks.send_digest_batch": timedelta(minutes=30),
    }
    young = left_running(send_digest_batch, [1], [], ago=timedelta(minutes=20))
    old = left_running(send_digest_batch, [2], [], ago=timedelta(minutes=40))

    [line, _] = recover()

    assert DBTaskResult.objects.get(pk=young).status == TaskResultStatus.RUNNING
    assert DBTaskResult.objects.get(pk=old).status == TaskResultStatus.FAILED
    assert str(old) in line


def test_a_dry_run_changes_nothing(testimonial):
    from testimonials.tasks import notify_staff_about_testimonial

    stuck = left_running(
        notify_staff_about_testimonial, testimonial.pk, ago=timedelta(hours=2)
    )
    before = list(DBTaskResult.objects.values())

    [line, summary] = recover("--dry-run")

    assert list(DBTaskResult.objects.values()) == before
    assert line.startswith("Would fail testimonials.tasks.")
    assert f" {stuck}, RUNNING since " in line
    assert line.endswith("(2h 00m 00s) on host-1, would be enqueued again")
    assert summary == "Stuck tasks: 1 found, nothing changed (dry run)."
