import pytest
from django.tasks import default_task_backend


@pytest.fixture
def tasks(settings):
    """The recording backend, empty, for one test."""
    settings.TASKS = {
        "default": {
            "BACKEND": "mysite.testing.RecordingBackend",
            "QUEUES": ["default", "emails"],
        }
    }
    return default_task_backend
