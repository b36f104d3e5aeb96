from io import StringIO

from django.core.management import call_command
from django.tasks import default_task_backend
from django.test import SimpleTestCase, override_settings

from .base import QUEUES

DUMMY_TASKS = {
    "default": {
        "BACKEND": "django.tasks.backends.dummy.DummyBackend",
        "QUEUES": QUEUES,
    }
}


@override_settings(TASKS=DUMMY_TASKS)
class EnqueueDigestTests(SimpleTestCase):
    """The command that the digest timer runs every week."""

    def setUp(self):
        default_task_backend.clear()

    def test_enqueues_the_digest_and_says_so(self):
        out = StringIO()
        call_command("enqueue_digest", stdout=out)

        [result] = default_task_backend.results
        self.assertEqual(result.task.name, "send_digest")
        self.assertEqual(
            out.getvalue(),
            f"Enqueued send_digest on the 'default' queue: task result {result.id}\n",
        )
