"""What the worker reports about every task it runs.

The worker calls these receivers while it handles a task, so they stay
small, and nothing in them may raise: an exception would mark the task
FAILED, or stop the worker.
"""

import logging

from django.conf import settings
from django.core.mail import mail_admins
from django.dispatch import receiver
from django.tasks import TaskResultStatus
from django.tasks.signals import task_finished, task_started
from django.urls import reverse

logger = logging.getLogger(__name__)


@receiver(task_started)
def log_wait(sender, task_result, **kwargs):
    """Log how long the task waited for a worker once it was due."""
    due = task_result.enqueued_at
    run_after = task_result.task.run_after
    if run_after is not None and run_after > due:
        due = run_after
    waited = task_result.started_at - due
    logger.info(
        "%s reached a worker in %.1fs",
        task_result.task.name,
        waited.total_seconds(),
    )


@receiver(task_finished)
def log_run_time(sender, task_result, **kwargs):
    """Log how long the task ran."""
    ran = task_result.finished_at - task_result.started_at
    logger.info("%s ran in %.2fs", task_result.task.name, ran.total_seconds())


@receiver(task_finished)
def alert_admins(sender, task_result, **kwargs):
    """Email the admins about a failed task, with a link to its traceback."""
    if task_result.status != TaskResultStatus.FAILED:
        return
    try:
        error = task_result.errors[-1].traceback.strip().splitlines()[-1]
        path = reverse(
            "admin:django_tasks_database_dbtaskresult_change",
            args=[task_result.id],
        )
        mail_admins(
            subject=f"Task failed: {task_result.task.name}",
            message=f"{error}\n\nThe whole traceback: {settings.SITE_URL}{path}\n",
        )
    except Exception:
        # Sending can fail too, for example when the failed task is an
        # email and the mail server is down. Log it, and let the worker go on.
        logger.exception("Could not alert the admins about task %s", task_result.id)
