import inspect

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from testimonials.models import Testimonial
from testimonials.tasks import MAX_ATTEMPTS


class WorkerStopped(Exception):
    """The worker stopped while the task ran: nobody finished it."""


ERROR = f"{WorkerStopped.__module__}.{WorkerStopped.__qualname__}"


class Command(BaseCommand):
    help = (
        "Mark FAILED the tasks left RUNNING longer than TASK_RUNNING_LIMITS, "
        "and enqueue the RECOVERABLE_TASKS among them again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would be done, and change nothing.",
        )

    def handle(self, *args, dry_run=False, **options):
        now = timezone.now()
        failed = enqueued = 0
        with transaction.atomic():
            # Rows another copy of this command holds are skipped: it
            # handles them. A worker never holds a row while its task runs.
            stuck = (
                DBTaskResult.objects.filter(stuck_since(now))
                .select_for_update(skip_locked=True)
                .order_by("started_at")
            )
            for row in stuck:
                ran = now - row.started_at
                worker = row.worker_ids[-1] if row.worker_ids else "no worker"
                line = (
                    f"{row.task_path} {row.id}, RUNNING since "
                    f"{timezone.localtime(row.started_at):%Y-%m-%d %H:%M:%S %Z} "
                    f"({format_span(ran)}) "
                    f"on {worker}, "
                )
                kwargs = dict(row.args_kwargs["kwargs"])
                reason = why_not_again(row, kwargs)
                if not dry_run:
                    fail(row, now, ran, worker)
                    if reason is None:
                        new = row.task.enqueue(*row.args_kwargs["args"], **kwargs)
                        # A testimonial that shows this notification's result
                        # shows the new one's from now on.
                        Testimonial.objects.filter(notification_id=str(row.id)).update(
                            notification_id=new.id
                        )
                failed += 1
                if reason is not None:
                    line += f"not run again: {reason}"
                elif dry_run:
                    line += "would be enqueued again"
                else:
                    line += f"enqueued again as {new.id}"
                enqueued += reason is None
                self.stdout.write(("Would fail " if dry_run else "Failed ") + line)
        if dry_run:
            summary = f"Stuck tasks: {failed} found, nothing changed (dry run)."
        else:
            summary = f"Stuck tasks: {failed} failed, {enqueued} enqueued again."
        self.stdout.write(summary)


def stuck_since(now):
    """Which RUNNING rows passed their limit, as a filter."""
    limits = settings.TASK_RUNNING_LIMITS
    paths = [key for key in limits if "." in key]
    stuck = Q(pk__in=[])
    for key, limit in limits.items():
        if key in paths:
            stuck |= Q(task_path=key, started_at__lt=now - limit)
        else:
            stuck |= Q(queue_name=key, started_at__lt=now - limit) & ~Q(
                task_path__in=paths
            )
    return Q(status=TaskResultStatus.RUNNING) & stuck


def why_not_again(row, kwargs):
    """None if the task is run again; else why not. Counts the attempt in
    *kwargs* for a task that takes one."""
    if row.task_path not in settings.RECOVERABLE_TASKS:
        return "not in RECOVERABLE_TASKS"
    try:
        task = row.task
    except ImportError:
        return "the task no longer exists"
    if "attempt" in inspect.signature(task.func).parameters:
        attempt = kwargs.get("attempt", 1)
        if attempt >= MAX_ATTEMPTS:
            return f"that was attempt {attempt} of {MAX_ATTEMPTS}"
        kwargs["attempt"] = attempt + 1
    return None


def fail(row, now, ran, worker):
    row.status = TaskResultStatus.FAILED
    row.finished_at = now
    row.return_value = None
    row.exception_class_path = ERROR
    row.traceback = (
        f"{ERROR}: the worker stopped while the task ran: it was RUNNING "
        f"for {format_span(ran)} on {worker} when recover_tasks failed it\n"
    )
    row.save(
        update_fields=[
            "status",
            "finished_at",
            "return_value",
            "exception_class_path",
            "traceback",
        ]
    )


def format_span(span):
    """A timedelta as "1h 02m 03s", "5m 00s" or "12s"."""
    seconds = int(span.total_seconds())
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {seconds:02d}s"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"
