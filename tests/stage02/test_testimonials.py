"""Stage 2: the testimonial form enqueues the staff notification, correctly.

Runs in its own pytest process against stage02's settings (see
tests/conftest.py). Django's test setup swaps the email backend for the
locmem one, so sent email lands in ``mail.outbox``.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from testimonials.models import Testimonial
from testimonials.tasks import notify_staff_about_testimonial

URL = "/testimonials/new/"
TASK_PATH = "testimonials.tasks.notify_staff_about_testimonial"


@pytest.fixture
def staff(db):
    users = get_user_model().objects
    return [
        users.create_superuser("boss", "boss@example.com", "pw"),
        users.create_superuser("deputy", "deputy@example.com", "pw"),
    ]


def test_the_form_lives_at_its_url():
    assert reverse("testimonials:create") == URL


@pytest.mark.parametrize("method", ["get", "post"])
def test_visitors_are_sent_to_log_in(client, db, method):
    data = {"title": "t", "text": "x"} if method == "post" else None
    response = getattr(client, method)(URL, data)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"
    assert not Testimonial.objects.exists()


def test_an_invalid_form_says_why_and_enqueues_nothing(post_form):
    response, callbacks = post_form({"title": "", "text": ""})
    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 2
    assert callbacks == []
    assert not DBTaskResult.objects.exists()


def test_a_valid_form_enqueues_one_notification_after_commit(
    client, member, django_capture_on_commit_callbacks
):
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(URL, {"title": "Great", "text": "Truly."}, follow=True)
        # Inside the request's transaction nothing is queued yet.
        assert not DBTaskResult.objects.exists()
    assert "Thank you! Our staff will review your testimonial soon." in (
        response.content.decode()
    )
    assert len(callbacks) == 1
    callbacks[0]()

    testimonial = Testimonial.objects.get()
    assert testimonial.author == member
    [row] = DBTaskResult.objects.all()
    assert row.task_path == TASK_PATH
    assert row.args_kwargs == {"args": [testimonial.pk], "kwargs": {}}
    assert row.status == "READY"


def test_a_rolled_back_request_enqueues_nothing(client, member, transactional_db):
    client.force_login(member)

    class Failure(Exception):
        pass

    with pytest.raises(Failure):
        with transaction.atomic():
            response = client.post(URL, {"title": "Lost", "text": "Never saved."})
            assert response.status_code == 302
            raise Failure
    assert not Testimonial.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_the_email_goes_to_active_staff_with_the_text_escaped_in_html(
    member, staff, settings
):
    users = get_user_model().objects
    users.create_superuser("away", "away@example.com", "pw", is_active=False)
    users.create_superuser("mute", "", "pw")
    testimonial = Testimonial.objects.create(
        author=member,
        title="<script>alert(1)</script> & co",
        text="Line one\nTom & Jerry",
    )

    sent = notify_staff_about_testimonial.call(testimonial.pk)

    assert sent == 2
    [email] = mail.outbox
    assert sorted(email.to) == ["boss@example.com", "deputy@example.com"]
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    assert email.subject == "New testimonial: <script>alert(1)</script> & co"
    assert "Tom & Jerry" in email.body
    assert "&amp;" not in email.body
    link = (
        f"{settings.SITE_URL}/admin/testimonials/testimonial/{testimonial.pk}/change/"
    )
    assert f"Review it: {link}" in email.body
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "Line one<br>Tom &amp; Jerry" in html
    assert f'href="{link}"' in html


def test_without_staff_nothing_is_sent(member):
    testimonial = Testimonial.objects.create(author=member, title="t", text="x")
    assert notify_staff_about_testimonial.call(testimonial.pk) == 0
    assert mail.outbox == []


def test_the_task_refuses_an_instance_at_enqueue_time(member):
    testimonial = Testimonial.objects.create(author=member, title="t", text="x")
    with pytest.raises(TypeError, match="Unsupported type"):
        notify_staff_about_testimonial.enqueue(testimonial)
    assert not DBTaskResult.objects.exists()
