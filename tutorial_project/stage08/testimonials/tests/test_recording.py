import socket
from datetime import timedelta

from django.contrib.auth.models import User
from django.core import mail
from django.db import transaction
from django.tasks import TaskResultStatus, default_task_backend
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from mysite.testing import EnqueuedInTransaction
from testimonials.models import Testimonial
from testimonials.tasks import digest_progress, enqueue_notification, send_digest

from .base import QUEUES, CommunityTestCase


def unused_port():
    """A port on this machine where no mail server listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


RECORDING_TASKS = {
    "default": {
        "BACKEND": "mysite.testing.RecordingBackend",
        "QUEUES": QUEUES,
    }
}


class RolledBack(Exception):
    """Something fails later in the same transaction."""


@override_settings(TASKS=RECORDING_TASKS)
class RecordingTestCase(CommunityTestCase):
    """Each test starts with an empty recording backend, self.tasks."""

    def setUp(self):
        self.tasks = default_task_backend
        self.tasks.clear()


class SubmitTests(RecordingTestCase):
    """What the form enqueues, and what those tasks do when they run."""

    def test_notifies_the_staff_once(self):
        testimonial = self.submit()

        # The wiring: one notification, on the email queue.
        [notification] = [
            result
            for result in self.tasks.results
            if result.task.name == "notify_staff_about_testimonial"
        ]
        self.assertEqual(notification.task.queue_name, "emails")
        self.assertEqual(notification.args, [testimonial.pk])
        # The effect: running the email queue sends one email, now.
        self.tasks.run_all("emails")
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].subject, "New testimonial: Kind <folks>")
        notification.refresh()
        self.assertEqual(notification.status, TaskResultStatus.SUCCESSFUL)

    def test_enqueues_nothing_until_the_request_commits(self):
        self.client.force_login(self.member)
        with self.captureOnCommitCallbacks(execute=True):
            # The request's transaction, as ATOMIC_REQUESTS would open it.
            with transaction.atomic():
                self.client.post(
                    reverse("testimonials:create"), {"title": "Hi", "text": "Thanks"}
                )
                self.assertEqual(self.tasks.results, [])

        self.assertEqual(
            [result.task.name for result in self.tasks.results],
            ["notify_staff_about_testimonial", "remind_staff_to_review"],
        )

    def test_reminds_the_staff_after_three_days(self):
        self.submit()
        self.tasks.run_all()
        mail.outbox.clear()

        self.assertEqual(self.tasks.run_all(), [])  # not due yet
        [reminder] = self.tasks.run_all(now=timezone.now() + timedelta(days=3))

        self.assertEqual(reminder.task.name, "remind_staff_to_review")
        self.assertEqual(reminder.return_value, 1)
        self.assertEqual(
            mail.outbox[0].subject, "Still waiting for review: Kind <folks>"
        )

    def test_no_reminder_once_reviewed(self):
        testimonial = self.submit()
        testimonial.status = testimonial.Status.APPROVED
        testimonial.save()
        self.tasks.run_all()
        mail.outbox.clear()

        [reminder] = self.tasks.run_all(now=timezone.now() + timedelta(days=3))

        self.assertEqual(reminder.return_value, 0)
        self.assertEqual(mail.outbox, [])

    def test_tries_three_times_when_the_mail_server_is_down(self):
        testimonial = self.submit()
        down = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": unused_port()},
            }
        }

        # Each failed attempt enqueues the next one, due seconds later.
        with (
            self.settings(MAILERS=down),
            self.assertLogs("django.tasks", "ERROR") as failures,
            self.assertLogs("testimonials.signals", "ERROR") as alerts,
        ):
            attempts = self.tasks.run_until_empty(
                "emails", now=timezone.now() + timedelta(minutes=5)
            )

        self.assertEqual([a.kwargs["attempt"] for a in attempts], [1, 2, 3])
        for attempt in attempts:
            self.assertEqual(attempt.status, TaskResultStatus.FAILED)
            self.assertEqual(attempt.errors[0].exception_class, ConnectionRefusedError)
        testimonial.refresh_from_db()
        self.assertEqual(testimonial.notification_id, attempts[-1].id)
        # Each failure is logged; the alert to the admins can't be sent.
        self.assertEqual(len(failures.records), 3)
        self.assertEqual(len(alerts.records), 3)


class RollbackTests(RecordingTestCase):
    """A transaction that rolls back takes its tasks with it."""

    def test_a_rolled_back_notification_leaves_nothing(self):
        testimonial = Testimonial.objects.create(
            author=self.member, title="Hi", text="Thanks"
        )

        with self.assertRaises(RolledBack), transaction.atomic():
            result = enqueue_notification(testimonial.pk)
            raise RolledBack

        with self.assertRaises(TaskResultDoesNotExist):
            self.tasks.get_result(result.id)
        testimonial.refresh_from_db()
        self.assertEqual(testimonial.notification_id, "")


class DigestTests(RecordingTestCase):
    """The digest's planning task, and the batches it enqueues."""

    def test_reaches_every_member_in_batches(self):
        User.objects.bulk_create(
            User(username=f"member{n}", email=f"member{n}@example.com")
            for n in range(1, 100)
        )  # 101 members with the staff and the first member
        digest = send_digest.enqueue()

        self.tasks.run_until_empty()

        self.assertEqual(digest_progress(digest.id), (3, 3))
        self.assertEqual(sorted(len(email.bcc) for email in mail.outbox), [1, 50, 50])

    def test_a_failure_halfway_enqueues_no_batch(self):
        User.objects.bulk_create(
            User(username=f"member{n}", email=f"member{n}@example.com")
            for n in range(1, 100)
        )
        batches = []

        def break_the_third_batch(sender, task_result, **kwargs):
            if task_result.task.name == "send_digest_batch":
                batches.append(task_result)
                if len(batches) == 3:
                    raise ConnectionError("the queue is gone")

        task_enqueued.connect(break_the_third_batch)
        send_digest.enqueue()
        with self.assertLogs("django.tasks", "ERROR"):
            [digest] = self.tasks.run_all()
        task_enqueued.disconnect(break_the_third_batch)

        self.assertEqual(digest.status, TaskResultStatus.FAILED)
        self.assertEqual(len(batches), 3)  # two were enqueued before the error
        self.assertEqual([r.task.name for r in self.tasks.results], ["send_digest"])
        self.assertEqual(self.tasks.run_until_empty(), [])
        # The admins hear of the failure; the members get nothing yet.
        [alert] = mail.outbox
        self.assertEqual(alert.subject, "[Community] Task failed: send_digest")
        # A second digest reaches each member once.
        mail.outbox.clear()
        send_digest.enqueue()
        self.tasks.run_until_empty()
        self.assertEqual(sorted(len(email.bcc) for email in mail.outbox), [1, 50, 50])


STRICT_TASKS = {"default": {**RECORDING_TASKS["default"], "OPTIONS": {"strict": True}}}


@override_settings(TASKS=STRICT_TASKS)
class OutsideTheDatabaseTests(RecordingTestCase):
    """The places that rely on the database backend's transactions.

    On a backend that keeps its tasks outside the database, these would
    need another design. Each test states that the place is deliberate.
    """

    def test_the_notification_is_enqueued_with_its_id(self):
        testimonial = Testimonial.objects.create(
            author=self.member, title="Hi", text="Thanks"
        )

        with self.assertRaisesMessage(
            EnqueuedInTransaction,
            "testimonials.tasks.notify_staff_about_testimonial was enqueued",
        ):
            enqueue_notification(testimonial.pk)

    def test_the_digest_enqueues_its_batches_together(self):
        send_digest.enqueue()

        with self.assertLogs("django.tasks", "ERROR"):
            [digest] = self.tasks.run_all()

        self.assertEqual(digest.errors[0].exception_class, EnqueuedInTransaction)
