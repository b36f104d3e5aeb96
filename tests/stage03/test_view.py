"""Stage 3: the form's notification is remembered, and the admin shows it."""

from django.db import connection
from django.tasks import TaskResultStatus
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult
from testimonials.models import Testimonial
from testimonials.tasks import enqueue_notification

from proof.in_stage import check_an_invalid_form_enqueues_nothing

URL = "/testimonials/new/"
TASK_PATH = "testimonials.tasks.notify_staff_about_testimonial"
CHANGELIST = "/admin/testimonials/testimonial/"


def test_an_invalid_form_enqueues_nothing(post_form):
    check_an_invalid_form_enqueues_nothing(post_form)


def test_a_valid_form_remembers_its_notification(post_form):
    response, callbacks = post_form({"title": "Kind", "text": "Thanks"})
    assert response.status_code == 302
    assert len(callbacks) == 1

    testimonial = Testimonial.objects.get()
    [row] = DBTaskResult.objects.all()
    assert row.task_path == TASK_PATH
    assert row.args_kwargs == {"args": [testimonial.pk], "kwargs": {"attempt": 1}}
    assert testimonial.notification_id == str(row.id)
    result = testimonial.notification_result()
    assert result.id == testimonial.notification_id
    assert result.status == TaskResultStatus.READY


def test_the_admin_lists_the_notification_state(admin_client, member):
    never = Testimonial.objects.create(author=member, title="Never", text="x")
    assert never.notification_result() is None
    queued = Testimonial.objects.create(author=member, title="Queued", text="x")
    enqueue_notification(queued.pk)

    page = admin_client.get(CHANGELIST).content.decode()
    assert "Staff notification" in page
    assert page.count("Waiting") == 1

    # Once old results are deleted, the id leads nowhere: no result, no error.
    DBTaskResult.objects.all().delete()
    queued.refresh_from_db()
    assert queued.notification_id
    assert queued.notification_result() is None
    assert admin_client.get(CHANGELIST).status_code == 200


def test_the_admin_reads_one_result_per_row(admin_client, member):
    """Each notified testimonial in the list costs one more query."""
    counts = []
    for n in range(3):
        testimonial = Testimonial.objects.create(author=member, title=f"T{n}", text="x")
        enqueue_notification(testimonial.pk)
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(CHANGELIST).status_code == 200
        counts.append(len(queries))
    assert [b - a for a, b in zip(counts, counts[1:], strict=False)] == [1, 1], counts
