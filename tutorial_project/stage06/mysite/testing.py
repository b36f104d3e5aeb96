"""A task backend for tests: it records every task, and runs them on request.

Enqueueing only records the task, as Django's DummyBackend does, so a test
can check what was enqueued. The test then runs the recorded tasks when it
chooses, the way a worker would: the most urgent first, only once their
run_after time has come, with the same statuses, return values, errors and
signals.
"""

import copy
from traceback import format_exception

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


class RecordingBackend(BaseTaskBackend):
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    worker_id = "recording-backend"

    def __init__(self, alias, params):
        super().__init__(alias, params)
        self.results = []  # every result, in the order enqueued

    def enqueue(self, task, args, kwargs):
        self.validate_task(task)
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
        self.results.append(result)
        task_enqueued.send(type(self), task_result=result)
        # The caller gets a copy, which changes only when refreshed.
        return copy.deepcopy(result)

    def get_result(self, result_id):
        for result in self.results:
            if result.id == result_id:
                return copy.deepcopy(result)
        raise TaskResultDoesNotExist(result_id)

    def clear(self):
        """Forget every recorded task."""
        self.results.clear()

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
            for result in self.results
            if result.status == TaskResultStatus.READY
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
        task_started.send(type(self), task_result=result)
        task = result.task
        try:
            if task.takes_context:
                value = task.call(
                    TaskContext(task_result=result), *result.args, **result.kwargs
                )
            else:
                value = task.call(*result.args, **result.kwargs)
            # Stored as JSON, as a real backend stores it.
            object.__setattr__(result, "_return_value", normalize_json(value))
        except Exception as error:
            result.errors.append(
                TaskError(
                    exception_class_path=(
                        f"{type(error).__module__}.{type(error).__qualname__}"
                    ),
                    traceback="".join(format_exception(error)),
                )
            )
            object.__setattr__(result, "status", TaskResultStatus.FAILED)
        else:
            object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
        object.__setattr__(result, "finished_at", timezone.now())
        task_finished.send(type(self), task_result=result)
