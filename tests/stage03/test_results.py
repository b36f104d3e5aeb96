"""Stage 3: results are kept, failures recorded, retries bounded.

Runs in its own pytest process against stage03's settings. Sending uses
real SMTP connections: to a closed local port for failures, and to an
aiosmtpd server started by the test for successes.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.db.models import QuerySet
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from testimonials import tasks
from testimonials.admin import TestimonialAdmin
from testimonials.models import Testimonial

from proof.in_stage import run_worker
from proof.inbox import smtp_inbox
from proof.processes import free_port as closed_port


def send_with_smtp(settings, port):
    """Point the stage's email settings at the SMTP server on ``port``."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


@pytest.fixture
def smtp_server():
    with smtp_inbox() as inbox:
        yield inbox


@pytest.fixture
def testimonial(transactional_db):
    users = get_user_model().objects
    users.create_superuser("admin", "admin@example.com", "pw")
    member = users.create_user("member", "member@example.com", "pw")
    return Testimonial.objects.create(author=member, title="Kind", text="Thanks")


def test_no_id_means_no_result(testimonial):
    assert testimonial.notification_result() is None
    testimonial.notification_id = "not-a-result"
    assert testimonial.notification_result() is None


def test_enqueue_notification_remembers_the_result(testimonial):
    result = tasks.enqueue_notification(testimonial.pk)
    testimonial.refresh_from_db()
    assert testimonial.notification_id == str(result.id)
    assert testimonial.notification_result().status == TaskResultStatus.READY
    assert result.kwargs == {"attempt": 1}


def test_a_delivered_notification_succeeds(testimonial, smtp_server, settings):
    send_with_smtp(settings, smtp_server.port)
    tasks.enqueue_notification(testimonial.pk)
    run_worker()
    testimonial.refresh_from_db()
    result = testimonial.notification_result()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 1
    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["admin@example.com"]
    assert b"Subject: New testimonial: Kind" in envelope.content
    assert TestimonialAdmin.notification(None, testimonial) == "Sent to 1 staff"


def test_a_refused_connection_fails_and_schedules_a_later_attempt(
    testimonial, settings
):
    send_with_smtp(settings, closed_port())
    first = tasks.enqueue_notification(testimonial.pk)
    before = timezone.now()
    run_worker()

    first.refresh()
    assert first.status == TaskResultStatus.FAILED
    [error] = first.errors
    assert error.exception_class is ConnectionRefusedError
    assert error.traceback.splitlines()[-1].startswith("ConnectionRefusedError")

    testimonial.refresh_from_db()
    retry = testimonial.notification_result()
    assert retry.id != first.id
    assert retry.status == TaskResultStatus.READY, (
        "not due yet: the batch worker left it"
    )
    assert retry.kwargs == {"attempt": 2}
    run_after = DBTaskResult.objects.get(id=retry.id).run_after
    assert (
        before + timedelta(seconds=9)
        < run_after
        < timezone.now() + timedelta(seconds=11)
    )
    assert TestimonialAdmin.notification(None, testimonial) == "Waiting"


def test_retries_stop_after_max_attempts(testimonial, settings, monkeypatch):
    send_with_smtp(settings, closed_port())
    monkeypatch.setattr(tasks, "RETRY_DELAY", timedelta(0))
    tasks.enqueue_notification(testimonial.pk)
    run_worker()  # runs every attempt: with no delay, each is due at once

    rows = DBTaskResult.objects.filter(
        task_path__endswith="notify_staff_about_testimonial"
    )
    assert rows.count() == tasks.MAX_ATTEMPTS == 3
    assert set(rows.values_list("status", flat=True)) == {"FAILED"}
    attempts = sorted(row.args_kwargs["kwargs"]["attempt"] for row in rows)
    assert attempts == [1, 2, 3]
    testimonial.refresh_from_db()
    assert (
        TestimonialAdmin.notification(None, testimonial)
        == "Failed: ConnectionRefusedError"
    )


def test_a_failure_that_is_not_the_network_is_not_retried(testimonial, settings):
    tasks.enqueue_notification(testimonial.pk + 1000)  # no such testimonial
    run_worker()
    [row] = DBTaskResult.objects.all()
    assert row.status == "FAILED"
    assert row.exception_class_path.endswith("DoesNotExist")


def test_the_result_and_its_id_are_saved_together_or_not_at_all(
    testimonial, monkeypatch
):
    """If saving the id fails, the new task's row goes too: no worker ever
    sees a task whose id the testimonial doesn't keep."""
    update = QuerySet.update

    def failing_update(queryset, **kwargs):
        if queryset.model is Testimonial:
            raise DatabaseError("the id could not be saved")
        return update(queryset, **kwargs)

    monkeypatch.setattr(QuerySet, "update", failing_update)
    with pytest.raises(DatabaseError):
        tasks.enqueue_notification(testimonial.pk)
    assert not DBTaskResult.objects.exists()
    run_worker()
    assert not DBTaskResult.objects.exists()
    testimonial.refresh_from_db()
    assert not testimonial.notification_id


def test_using_without_run_after_keeps_the_tasks_own():
    task = tasks.notify_staff_about_testimonial
    assert task.run_after is None
    assert task.using(run_after=None).run_after is None
    later = timezone.now() + timedelta(hours=1)
    assert task.using(run_after=later).using(run_after=None).run_after == later
