"""Stage 4: queues, priorities and the review reminder, in one process.

Runs in its own pytest process against stage04's settings: the task backend
is the stage's database backend, and Django's test setup swaps the email
backend for the locmem one, so sent email lands in ``mail.outbox``.
"""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.tasks import default_task_backend, task
from django.tasks.exceptions import InvalidTask
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from testimonials.models import Testimonial
from testimonials.tasks import (
    REVIEW_REMINDER_DELAY,
    count_words,
    notify_staff_about_testimonial,
    remind_staff_to_review,
    schedule_review_reminder,
)

from proof.in_stage import check_an_invalid_form_enqueues_nothing, run_worker

URL = "/testimonials/new/"
NOTIFY = "testimonials.tasks.notify_staff_about_testimonial"
REMIND = "testimonials.tasks.remind_staff_to_review"


@pytest.fixture
def staff(db):
    users = get_user_model().objects
    users.create_superuser("away", "away@example.com", "pw", is_active=False)
    return users.create_superuser("boss", "boss@example.com", "pw")


@pytest.fixture
def testimonial(member):
    return Testimonial.objects.create(author=member, title="Warm <welcome>", text="x")


# The form: a notification and a reminder, both on "emails", after commit.


def test_a_valid_form_enqueues_the_notification_and_the_reminder_after_commit(
    client, member, django_capture_on_commit_callbacks
):
    """The view queues exactly two tasks, and only once the request commits.

    The notification goes to ``emails`` with priority 10 and no start time;
    the reminder goes to ``emails`` with an aware run_after three days after
    the moment it was enqueued.
    """
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(URL, {"title": "Kind", "text": "Thanks"})
        assert not DBTaskResult.objects.exists(), "enqueued before the commit"
    assert response.status_code == 302
    assert len(callbacks) == 2

    before = timezone.now()
    for callback in callbacks:
        callback()
    after = timezone.now()

    testimonial = Testimonial.objects.get()
    assert DBTaskResult.objects.count() == 2
    [notification_row] = DBTaskResult.objects.filter(task_path=NOTIFY)
    [reminder_row] = DBTaskResult.objects.filter(task_path=REMIND)

    notification = testimonial.notification_result()
    assert notification.id == str(notification_row.id)
    assert notification.task.queue_name == "emails"
    assert notification.task.priority == 10
    assert notification.task.run_after is None
    assert notification.args == [testimonial.pk]

    reminder = remind_staff_to_review.get_result(reminder_row.id)
    assert reminder.args == [testimonial.pk]
    assert reminder.task.queue_name == "emails"
    assert reminder.task.priority == 0
    run_after = reminder.task.run_after
    assert timezone.is_aware(run_after)
    assert REVIEW_REMINDER_DELAY == timedelta(days=3)
    assert before + timedelta(days=3) <= run_after <= after + timedelta(days=3)


def test_an_invalid_form_enqueues_nothing(post_form):
    check_an_invalid_form_enqueues_nothing(post_form)


def test_a_scheduled_reminder_waits_for_its_time(testimonial, staff):
    """A worker leaves the reminder READY: its three days have not passed."""
    reminder = schedule_review_reminder(testimonial.pk)
    run_worker()
    reminder.refresh()
    assert reminder.status == "READY"
    assert mail.outbox == []
    hours = (reminder.task.run_after - reminder.enqueued_at) / timedelta(hours=1)
    assert round(hours) == 72


# The reminder checks the testimonial again when it runs.


def test_the_reminder_of_a_pending_testimonial_emails_the_active_staff(
    testimonial, staff, settings
):
    """One email to the active superusers, naming the testimonial and its admin page."""
    assert remind_staff_to_review.call(testimonial.pk) == 1

    [email] = mail.outbox
    assert email.to == ["boss@example.com"]
    assert email.subject == "Still waiting for review: Warm <welcome>"
    link = (
        f"{settings.SITE_URL}/admin/testimonials/testimonial/{testimonial.pk}/change/"
    )
    assert f"Review it: {link}" in email.body


@pytest.mark.parametrize(
    "status", [Testimonial.Status.APPROVED, Testimonial.Status.REJECTED]
)
def test_a_reviewed_testimonial_needs_no_reminder(testimonial, staff, status):
    """Reviewed since it was scheduled: the reminder sends nothing and returns 0."""
    testimonial.status = status
    testimonial.save()
    assert remind_staff_to_review.call(testimonial.pk) == 0
    assert mail.outbox == []


def test_a_deleted_testimonial_needs_no_reminder(testimonial, staff):
    """Deleted since it was scheduled: no error, nothing sent, 0."""
    testimonial_id = testimonial.pk
    testimonial.delete()
    assert remind_staff_to_review.call(testimonial_id) == 0
    assert mail.outbox == []


def test_a_title_with_a_line_break_still_gets_its_reminder(client, member, staff):
    """The form accepts a line break in the title, and the notification copes
    with it (it joins the subject's words); the reminder must cope as well."""
    client.force_login(member)
    response = client.post(URL, {"title": "Great\nsite", "text": "Thanks"})
    assert response.status_code == 302
    testimonial = Testimonial.objects.get()
    assert notify_staff_about_testimonial.call(testimonial.pk) == 1
    assert remind_staff_to_review.call(testimonial.pk) == 1
    assert mail.outbox[-1].subject == "Still waiting for review: Great site"


# What the backend refuses, before anything reaches the queue.


def test_the_backend_serves_the_two_queues_and_runs_coroutines():
    assert default_task_backend.queues == {"default", "emails"}
    assert default_task_backend.supports_async_task is True
    assert default_task_backend.supports_priority is True
    assert default_task_backend.supports_defer is True


def test_using_returns_a_new_task_and_leaves_the_original():
    urgent = count_words.using(priority=50)
    assert (urgent.priority, count_words.priority) == (50, 0)


@pytest.mark.parametrize("priority", [-100, 100])
def test_priorities_at_the_limits_are_accepted(priority):
    assert count_words.using(priority=priority).priority == priority


@pytest.mark.parametrize("priority", [-101, 101, 500])
def test_a_priority_out_of_range_is_refused(db, priority):
    with pytest.raises(InvalidTask) as raised:
        count_words.using(priority=priority)
    assert str(raised.value) == "priority must be a whole number between -100 and 100."
    assert not DBTaskResult.objects.exists()


def test_a_naive_run_after_is_refused():
    with pytest.raises(InvalidTask) as raised:
        remind_staff_to_review.using(run_after=datetime.now() + timedelta(days=3))
    assert str(raised.value) == "run_after must be an aware datetime."


def test_a_queue_the_backend_does_not_list_is_refused(settings):
    """Without QUEUES, a backend accepts only "default": the stage's tasks on
    "emails" are refused, by using() and by the decorator alike."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert default_task_backend.queues == {"default"}

    message = "Queue 'emails' is not valid for backend."
    with pytest.raises(InvalidTask) as raised:
        count_words.using(queue_name="emails")
    assert str(raised.value) == message
    with pytest.raises(InvalidTask) as raised:
        notify_staff_about_testimonial.using(priority=10)
    assert str(raised.value) == message
    with pytest.raises(InvalidTask) as raised:
        task(queue_name="emails")(remind_staff_to_review.func)
    assert str(raised.value) == message
    assert count_words.using(priority=1).queue_name == "default"
