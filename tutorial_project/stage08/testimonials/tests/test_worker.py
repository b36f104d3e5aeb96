import logging

from django.core import mail
from django.core.management import call_command
from django.tasks import TaskResultStatus

from .base import CommunityTestCase

# The loggers whose levels db_worker sets from its verbosity.
WORKER_LOGGERS = [
    logging.getLogger(name) for name in ("django.tasks", "django_tasks_db")
]


def run_worker():
    """Run every task that is due with the real worker, here, then return."""
    levels = [logger.level for logger in WORKER_LOGGERS]
    try:
        call_command(
            "db_worker",
            batch=True,  # stop once no task is ready
            queue_name="*",
            reload=False,
            startup_delay=False,
            verbosity=0,
        )
    finally:
        # Leave the log levels as the settings made them, for later tests.
        for logger, level in zip(WORKER_LOGGERS, levels, strict=True):
            logger.setLevel(level)


class DatabaseWorkerTests(CommunityTestCase):
    """The project's own backend and worker, with the test database."""

    def test_the_worker_sends_the_notification(self):
        testimonial = self.submit()

        run_worker()

        self.assertEqual(len(mail.outbox), 1)
        result = testimonial.notification_result()
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.return_value, 1)
