"""The submission test of test_recording.py, written for pytest."""

import pytest
from django.contrib.auth.models import User
from django.tasks import TaskResultStatus
from django.urls import reverse

from testimonials.models import Testimonial


@pytest.fixture
def member(db):
    User.objects.create_superuser("admin", "admin@example.com")
    return User.objects.create_user("member", "member@example.com")


def test_submitting_notifies_the_staff_once(
    client, member, tasks, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("testimonials:create"), {"title": "Hi", "text": "Thanks"})
    testimonial = Testimonial.objects.get()

    [notification] = [
        result
        for result in tasks.results
        if result.task.name == "notify_staff_about_testimonial"
    ]
    assert notification.task.queue_name == "emails"
    assert notification.args == [testimonial.pk]

    tasks.run_all("emails")

    assert [email.subject for email in mailoutbox] == ["New testimonial: Hi"]
    notification.refresh()
    assert notification.status == TaskResultStatus.SUCCESSFUL
