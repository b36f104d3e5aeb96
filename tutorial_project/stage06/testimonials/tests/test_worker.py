from django.core import mail
from django.core.management import call_command
from django.tasks import TaskResultStatus

from .base import CommunityTestCase


def run_worker():
    """Run every task that is due with the real worker, here, then return."""
    call_command(
        "db_worker",
        batch=True,  # stop once no task is ready
        queue_name="*",
        reload=False,
        startup_delay=False,
        verbosity=0,
    )


class DatabaseWorkerTests(CommunityTestCase):
    """The project's own backend and worker, with the test database."""

    def test_the_worker_sends_the_notification(self):
        testimonial = self.submit()

        run_worker()

        self.assertEqual(len(mail.outbox), 1)
        result = testimonial.notification_result()
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.return_value, 1)
