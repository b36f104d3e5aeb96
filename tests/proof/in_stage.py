"""What the stage tests (tests/stageNN/) share.

Those tests run inside a stage, in a pytest process of their own (see
tests/test_stages.py), with the stage's settings: they import the reader's
code and use pytest-django's fixtures. Their common fixtures are registered
by tests/conftest.py for those runs only; their common steps are functions
here.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command


def run_worker(**options):
    """A batch worker in this process: it runs every task that is due, in
    every queue, and returns."""
    call_command(
        "db_worker",
        batch=True,
        reload=False,
        startup_delay=False,
        queue_name="*",
        verbosity=0,
        **options,
    )


@pytest.fixture
def member(db):
    """A member of the community, who may write testimonials."""
    return get_user_model().objects.create_user("member", "member@example.com", "pw")


@pytest.fixture
def post_form(client, member, django_capture_on_commit_callbacks):
    """Post the testimonial form as the member, as the browser would.

    ``post_form(data)`` returns the response and the ``on_commit()``
    callbacks the request registered, which have run by then.
    """

    def post(data):
        client.force_login(member)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post("/testimonials/new/", data)
        return response, callbacks

    return post


def check_an_invalid_form_enqueues_nothing(post_form):
    """A form with an empty title is shown again; no callback, no task."""
    from django_tasks_db.models import DBTaskResult
    from testimonials.models import Testimonial

    response, callbacks = post_form({"title": "", "text": "Thanks"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert callbacks == []
    assert not Testimonial.objects.exists()
    assert not DBTaskResult.objects.exists()
