from django.core import mail
from django.tasks import TaskResultStatus, default_task_backend
from django.test import override_settings
from django.urls import reverse

from testimonials.models import Testimonial
from testimonials.tasks import enqueue_notification, notify_staff_about_testimonial

from .base import QUEUES, CommunityTestCase


class NotifyStaffTests(CommunityTestCase):
    """The task's function, called directly: no backend, no worker."""

    def setUp(self):
        self.testimonial = Testimonial.objects.create(
            author=self.member, title="Kind <folks>", text="Thanks & welcome."
        )

    def test_emails_the_staff(self):
        sent = notify_staff_about_testimonial.call(self.testimonial.pk)

        self.assertEqual(sent, 1)
        [email] = mail.outbox
        self.assertEqual(email.to, ["admin@example.com"])
        self.assertEqual(email.subject, "New testimonial: Kind <folks>")
        html, _ = email.alternatives[0]
        self.assertIn("Kind &lt;folks&gt;", html)
        self.assertIn("Thanks &amp; welcome.", html)

    def test_without_staff_emails_nobody(self):
        self.staff.delete()

        self.assertEqual(notify_staff_about_testimonial.call(self.testimonial.pk), 0)
        self.assertEqual(mail.outbox, [])

    def test_running_twice_emails_the_staff_once(self):
        first = notify_staff_about_testimonial.call(self.testimonial.pk)
        second = notify_staff_about_testimonial.call(self.testimonial.pk)

        self.assertEqual((first, second), (1, 0))
        self.assertEqual(len(mail.outbox), 1)
        self.testimonial.refresh_from_db()
        self.assertIsNotNone(self.testimonial.staff_notified_at)

    def test_without_staff_nobody_is_marked_as_notified(self):
        self.staff.delete()

        notify_staff_about_testimonial.call(self.testimonial.pk)

        self.testimonial.refresh_from_db()
        self.assertIsNone(self.testimonial.staff_notified_at)


DUMMY_TASKS = {
    "default": {
        "BACKEND": "django.tasks.backends.dummy.DummyBackend",
        "QUEUES": QUEUES,
    }
}


@override_settings(TASKS=DUMMY_TASKS)
class SubmitWithDummyBackendTests(CommunityTestCase):
    """What the form enqueues, recorded by the DummyBackend."""

    def setUp(self):
        default_task_backend.clear()

    def test_enqueues_the_notification_and_the_reminder(self):
        testimonial = self.submit()

        notification, reminder = default_task_backend.results
        self.assertEqual(notification.task.name, "notify_staff_about_testimonial")
        self.assertEqual(notification.task.queue_name, "emails")
        self.assertEqual(notification.task.priority, 10)
        self.assertEqual(notification.args, [testimonial.pk])
        self.assertEqual(reminder.task.name, "remind_staff_to_review")
        self.assertEqual(reminder.args, [testimonial.pk])
        self.assertIsNotNone(reminder.task.run_after)

    def test_enqueues_nothing_before_the_commit(self):
        self.client.force_login(self.member)
        self.client.post(
            reverse("testimonials:create"), {"title": "Hello", "text": "Hi"}
        )

        self.assertEqual(default_task_backend.results, [])


IMMEDIATE_TASKS = {
    "default": {
        "BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
        "QUEUES": QUEUES,
    }
}


@override_settings(TASKS=IMMEDIATE_TASKS)
class NotifyWithImmediateBackendTests(CommunityTestCase):
    """The ImmediateBackend runs each task as soon as it is enqueued."""

    def test_enqueueing_sends_the_email(self):
        testimonial = Testimonial.objects.create(
            author=self.member, title="Quick", text="Fast answers."
        )

        result = enqueue_notification(testimonial.pk)

        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.return_value, 1)
        self.assertEqual(mail.outbox[0].subject, "New testimonial: Quick")
