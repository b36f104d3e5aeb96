from datetime import timedelta
from functools import partial

from django.db import transaction
from django.tasks import TaskResultStatus, default_task_backend, task
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_finished, task_started
from django.test import SimpleTestCase, TestCase, override_settings
from django.utils import timezone

from mysite.testing import EnqueuedInTransaction, TooManyTasks


# Tasks for these tests only. Tasks must be module-level functions.
@task
def add(a, b):
    return a + b


@task(queue_name="emails", priority=-5)
def pair(a, b):
    return (a, b)


@task
def divide(a, b):
    return a / b


@task
def countdown(n):
    if n > 0:
        countdown.enqueue(n - 1)
    return n


@task
def forever():
    forever.enqueue()


@task(takes_context=True)
def whoami(context):
    return [context.task_result.id, context.attempt]


@task
async def async_add(a, b):
    return a + b


RECORDING_TASKS = {
    "default": {
        "BACKEND": "mysite.testing.RecordingBackend",
        "QUEUES": ["default", "emails"],
    }
}


@override_settings(TASKS=RECORDING_TASKS)
class RecordingBackendTests(SimpleTestCase):
    def setUp(self):
        self.backend = default_task_backend
        self.backend.clear()

    def test_records_without_running(self):
        result = add.enqueue(1, 2)

        [recorded] = self.backend.results
        self.assertEqual(recorded.id, result.id)
        self.assertEqual(recorded.args, [1, 2])
        self.assertEqual(result.status, TaskResultStatus.READY)

    def test_run_next_runs_one_task_and_returns_its_result(self):
        first = add.enqueue(1, 2)
        add.enqueue(3, 4)

        done = self.backend.run_next()

        self.assertEqual(done.id, first.id)
        self.assertEqual(done.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(done.return_value, 3)
        self.assertEqual(len(self.backend.ready()), 1)

    def test_run_next_without_ready_tasks_returns_none(self):
        self.assertIsNone(self.backend.run_next())

    def test_a_result_changes_only_when_refreshed(self):
        result = add.enqueue(1, 2)
        self.backend.run_all()

        self.assertEqual(result.status, TaskResultStatus.READY)
        result.refresh()
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.attempts, 1)
        self.assertLessEqual(result.started_at, result.finished_at)

    def test_runs_the_highest_priority_first(self):
        add.enqueue(1, 1)
        pair.enqueue(2, 2)
        urgent = add.using(priority=50).enqueue(3, 3)

        order = [result.id for result in self.backend.run_all()]

        self.assertEqual(order[0], urgent.id)
        self.assertEqual(len(order), 3)

    def test_runs_one_queue_only(self):
        add.enqueue(1, 1)
        email = pair.enqueue(2, 2)

        [done] = self.backend.run_all("emails")

        self.assertEqual(done.id, email.id)
        self.assertEqual(len(self.backend.ready()), 1)

    def test_refuses_a_queue_the_backend_does_not_have(self):
        with self.assertRaisesMessage(ValueError, "Queue 'slow' is not one of"):
            self.backend.run_all("slow")

    def test_runs_a_task_only_once_it_is_due(self):
        later = add.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(1, 1)

        self.assertEqual(self.backend.run_all(), [])
        [done] = self.backend.run_all(now=timezone.now() + timedelta(hours=2))
        self.assertEqual(done.id, later.id)

    def test_refuses_a_naive_time(self):
        with self.assertRaisesMessage(ValueError, "now must be an aware datetime"):
            self.backend.run_all(now=timezone.now().replace(tzinfo=None))

    def test_stores_return_values_as_json(self):
        pair.enqueue(1, 2)

        [done] = self.backend.run_all()

        self.assertEqual(done.return_value, [1, 2])

    def test_records_an_error_instead_of_raising_it(self):
        divide.enqueue(1, 0)

        with self.assertLogs("django.tasks", "ERROR") as logs:
            [done] = self.backend.run_all()

        self.assertIn("path=mysite.tests.divide state=FAILED", logs.output[0])
        self.assertEqual(done.status, TaskResultStatus.FAILED)
        self.assertEqual(done.errors[0].exception_class, ZeroDivisionError)
        self.assertIn("return a / b", done.errors[0].traceback)

    def test_sends_the_signals_a_worker_sends(self):
        seen = []

        def record(sender, task_result, **kwargs):
            seen.append(task_result.status)

        task_started.connect(record)
        task_finished.connect(record)
        self.addCleanup(task_started.disconnect, record)
        self.addCleanup(task_finished.disconnect, record)
        add.enqueue(1, 1)
        divide.enqueue(1, 0)

        with self.assertLogs("django.tasks", "ERROR"):
            self.backend.run_all()

        self.assertEqual(
            seen,
            [
                TaskResultStatus.RUNNING,
                TaskResultStatus.SUCCESSFUL,
                TaskResultStatus.RUNNING,
                TaskResultStatus.FAILED,
            ],
        )

    def test_a_receiver_that_raises_fails_the_task(self):
        def careless(sender, task_result, **kwargs):
            if task_result.status == TaskResultStatus.SUCCESSFUL:
                raise RuntimeError("a bug in a receiver")

        task_finished.connect(careless)
        self.addCleanup(task_finished.disconnect, careless)
        add.enqueue(1, 1)

        with self.assertLogs("django.tasks", "ERROR"):
            [done] = self.backend.run_all()

        self.assertEqual(done.status, TaskResultStatus.FAILED)
        self.assertEqual(done.errors[0].exception_class, RuntimeError)

    def test_run_all_leaves_the_tasks_that_tasks_enqueue(self):
        countdown.enqueue(2)

        self.assertEqual(len(self.backend.run_all()), 1)
        self.assertEqual(len(self.backend.ready()), 1)

    def test_run_until_empty_runs_what_tasks_enqueue(self):
        countdown.enqueue(2)

        done = self.backend.run_until_empty()

        self.assertEqual([result.return_value for result in done], [2, 1, 0])

    def test_run_until_empty_stops_a_task_that_never_ends(self):
        forever.enqueue()

        with self.assertRaisesMessage(TooManyTasks, "Ran 10 tasks and more are ready"):
            self.backend.run_until_empty(max_tasks=10)

    def test_passes_the_context(self):
        result = whoami.enqueue()

        [done] = self.backend.run_all()

        self.assertEqual(done.return_value, [result.id, 1])

    def test_runs_async_tasks(self):
        async_add.enqueue(2, 3)

        [done] = self.backend.run_all()

        self.assertEqual(done.return_value, 5)

    def test_finds_results_by_id(self):
        result = add.enqueue(1, 1)

        self.assertEqual(add.get_result(result.id).args, [1, 1])
        with self.assertRaises(TaskResultDoesNotExist):
            self.backend.get_result("no-such-id")


@override_settings(TASKS=RECORDING_TASKS)
class RecordingBackendTransactionTests(TestCase):
    """Transactions count as they do with the database backend."""

    def setUp(self):
        self.backend = default_task_backend
        self.backend.clear()

    def test_a_task_is_ready_once_its_transaction_commits(self):
        with transaction.atomic():
            result = add.enqueue(1, 2)
            self.assertEqual(self.backend.ready(), [])
            self.assertIsNone(self.backend.run_next())
            # Inside, the task is there, as the database row would be.
            self.assertEqual(add.get_result(result.id).status, TaskResultStatus.READY)

        [done] = self.backend.run_all()
        self.assertEqual(done.id, result.id)

    def test_a_task_rolled_back_leaves_no_trace(self):
        with self.assertRaises(ZeroDivisionError), transaction.atomic():
            result = add.enqueue(1, 2)
            divide.call(1, 0)

        self.assertEqual(self.backend.results, [])
        with self.assertRaises(TaskResultDoesNotExist):
            add.get_result(result.id)

    def test_a_savepoint_rolled_back_takes_its_tasks_only(self):
        with transaction.atomic():
            kept = add.enqueue(1, 1)
            with self.assertRaises(ZeroDivisionError), transaction.atomic():
                add.enqueue(2, 2)
                divide.call(1, 0)

        self.assertEqual([result.id for result in self.backend.results], [kept.id])
        self.assertEqual(len(self.backend.run_all()), 1)

    def test_the_transactions_of_test_case_do_not_count(self):
        result = add.enqueue(1, 2)

        self.assertEqual([ready.id for ready in self.backend.ready()], [result.id])


@override_settings(
    TASKS={"default": {**RECORDING_TASKS["default"], "OPTIONS": {"strict": True}}}
)
class StrictRecordingBackendTests(TestCase):
    """In strict mode, the backend behaves like one outside the database."""

    def setUp(self):
        self.backend = default_task_backend
        self.backend.clear()

    def test_refuses_a_task_enqueued_in_a_transaction(self):
        with (
            self.assertRaisesMessage(
                EnqueuedInTransaction,
                "mysite.tests.add was enqueued inside a transaction.",
            ),
            transaction.atomic(),
        ):
            add.enqueue(1, 2)

        self.assertEqual(self.backend.results, [])

    def test_accepts_a_task_enqueued_once_the_transaction_commits(self):
        with self.captureOnCommitCallbacks(execute=True), transaction.atomic():
            transaction.on_commit(partial(add.enqueue, 1, 2))

        self.assertEqual(len(self.backend.ready()), 1)
