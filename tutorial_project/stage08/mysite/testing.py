"""A task backend for tests: it records every task, and runs them on request.

Enqueueing only records the task, as Django's DummyBackend does, so a test
can check what was enqueued. The test then runs the recorded tasks when it
chooses, the way a worker would: the most urgent first, only once their
run_after time has come, with the same statuses, return values, errors and
signals.

Transactions count as they do with django-tasks-db, which writes a task in
the transaction that enqueues it: the task is ready once that transaction
commits, and gone if it rolls back. With the option "strict", the backend
behaves like one that keeps its tasks outside the database, and refuses a
task enqueued inside a transaction.
"""

import copy
from traceback import format_exception

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.tasks import TaskContext, TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import TaskError
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.json import normalize_json


class TooManyTasks(Exception):
    """run_until_empty() ran its limit of tasks, and more were ready."""


class EnqueuedInTransaction(Exception):
    """In strict mode, code enqueued a task inside its own transaction."""


def code_transaction_depth(connection):
    """Where the code's own outermost atomic block is open, or None.

    Django's TestCase wraps each test in atomic blocks of its own and marks
    them with _from_testcase. They stand for the database around the test,
    so the code's transaction starts at the first block without the mark.
    """
    for depth, block in enumerate(connection.atomic_blocks):
        if not block._from_testcase:
            return depth
    return None


class Transaction:
    """The code's transaction that a task was enqueued in, until it ends."""

    def __init__(self, connection, depth):
        self.connection = connection
        self.depth = depth
        # A block inside a transaction has a savepoint, and its savepoint
        # tells it apart from blocks opened later at the same depth.
        self.savepoint = connection.savepoint_ids[depth - 1] if depth else None
        self.has_committed = False
        # Django drops this callback when the block, or a block around it,
        # rolls back, and calls it after a commit.
        transaction.on_commit(self, using=connection.alias)

    def __call__(self):
        # captureOnCommitCallbacks(execute=True) calls it too, inside the
        # transaction: only a call after the commit counts.
        if not self.connection.in_atomic_block:
            self.has_committed = True

    def rolled_back(self):
        return not self.has_committed and not any(
            callback is self for _, callback, _ in self.connection.run_on_commit
        )

    def committed(self):
        if (
            not self.has_committed
            and self.depth > 0
            and self.savepoint not in self.connection.savepoint_ids
            and not self.rolled_back()
        ):
            # The block released its savepoint into a TestCase's
            # transaction, which never commits: that was the code's commit.
            self.has_committed = True
        return self.has_committed


class RecordingBackend(BaseTaskBackend):
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    worker_id = "recording-backend"

    def __init__(self, alias, params):
        super().__init__(alias, params)
        self.strict = self.options.get("strict", False)
        # (result, the transaction it waits for or None), in the order enqueued
        self.recorded = []

    def enqueue(self, task, args, kwargs):
        self.validate_task(task)
        connection = connections[DEFAULT_DB_ALIAS]
        depth = code_transaction_depth(connection)
        if depth is not None and self.strict:
            raise EnqueuedInTransaction(
                f"{task.module_path} was enqueued inside a transaction. A "
                f"backend that keeps its tasks outside the database would "
                f"queue it at once: a worker could run it before the "
                f"transaction commits, and a rollback wouldn't take it back."
            )
        in_transaction = None if depth is None else Transaction(connection, depth)
        result = TaskResult(
            task=task,
            id=get_random_string(32),
            status=TaskResultStatus.READY,
            enqueued_at=timezone.now(),
            started_at=None,
            finished_at=None,
            last_attempted_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        self.recorded.append((result, in_transaction))
        task_enqueued.send(type(self), task_result=result)
        # The caller gets a copy, which changes only when refreshed.
        return copy.deepcopy(result)

    def get_result(self, result_id):
        for result in self.results:
            if result.id == result_id:
                return copy.deepcopy(result)
        raise TaskResultDoesNotExist(result_id)

    @property
    def results(self):
        """Every task enqueued and not rolled back, in the order enqueued."""
        return [
            result
            for result, in_transaction in self.recorded
            if in_transaction is None or not in_transaction.rolled_back()
        ]

    def clear(self):
        """Forget every recorded task."""
        self.recorded.clear()

    # -- What a test asks for -------------------------------------------------

    def ready(self, queue_name=None, now=None):
        """The tasks a worker would run now, in the order it would run them.

        *queue_name* limits them to one queue; *now* is the time to compare
        run_after with, the current time by default.
        """
        now = self._check_now(now)
        if queue_name is not None and queue_name not in self.queues:
            raise ValueError(
                f"Queue {queue_name!r} is not one of this backend's queues: "
                f"{', '.join(sorted(self.queues))}."
            )
        due = [
            result
            for result, in_transaction in self.recorded
            if (in_transaction is None or in_transaction.committed())
            and result.status == TaskResultStatus.READY
            and (queue_name is None or result.task.queue_name == queue_name)
            and (result.task.run_after is None or result.task.run_after <= now)
        ]
        # Highest priority first, then the earliest run_after, then the
        # oldest, as django-tasks-db does. A task without run_after counts as
        # due now, after those whose time came earlier.
        return sorted(
            due,
            key=lambda result: (-result.task.priority, result.task.run_after or now),
        )

    def run_next(self, queue_name=None, now=None):
        """Run the task a worker would take next; return its result or None."""
        for result in self.ready(queue_name, now):
            self._run(result)
            return copy.deepcopy(result)
        return None

    def run_all(self, queue_name=None, now=None):
        """Run every task that is ready; return their results, in order.

        Tasks that these tasks enqueue are recorded, not run.
        """
        results = self.ready(queue_name, now)
        for result in results:
            self._run(result)
        return [copy.deepcopy(result) for result in results]

    def run_until_empty(self, queue_name=None, now=None, max_tasks=100):
        """Run tasks until none is ready, including the tasks they enqueue.

        A task that enqueues itself again and again would never let this
        end, so after *max_tasks* tasks it stops with TooManyTasks.
        """
        done = []
        while (result := self.run_next(queue_name, now)) is not None:
            done.append(result)
            if len(done) == max_tasks and self.ready(queue_name, now):
                raise TooManyTasks(
                    f"Ran {max_tasks} tasks and more are ready; the last was "
                    f"{result.task.module_path}. A task may be enqueueing "
                    f"tasks without end. If the work needs more, pass a "
                    f"larger max_tasks."
                )
        return done

    # -- Running a task like a worker -----------------------------------------

    def _check_now(self, now):
        if now is None:
            return timezone.now()
        if timezone.is_naive(now):
            raise ValueError("now must be an aware datetime, like run_after.")
        return now

    def _run(self, result):
        started = timezone.now()
        object.__setattr__(result, "status", TaskResultStatus.RUNNING)
        object.__setattr__(result, "started_at", started)
        object.__setattr__(result, "last_attempted_at", started)
        result.worker_ids.append(self.worker_id)
        task = result.task
        # As db_worker does: a signal receiver that raises fails the task.
        try:
            task_started.send(type(self), task_result=result)
            if task.takes_context:
                value = task.call(
                    TaskContext(task_result=result), *result.args, **result.kwargs
                )
            else:
                value = task.call(*result.args, **result.kwargs)
            # Stored as JSON, as a real backend stores it.
            object.__setattr__(result, "_return_value", normalize_json(value))
            object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
            object.__setattr__(result, "finished_at", timezone.now())
            task_finished.send(type(self), task_result=result)
        except BaseException as error:
            result.errors.append(
                TaskError(
                    exception_class_path=(
                        f"{type(error).__module__}.{type(error).__qualname__}"
                    ),
                    traceback="".join(format_exception(error)),
                )
            )
            object.__setattr__(result, "_return_value", None)
            object.__setattr__(result, "status", TaskResultStatus.FAILED)
            object.__setattr__(result, "finished_at", timezone.now())
            task_finished.send(type(self), task_result=result)
