"""Stage 4: the digest in batches, its progress, and the async view.

Runs in its own pytest process against stage04's settings. The digest runs
through the real database backend and the real ``db_worker`` command, here
in the test's process; email lands in Django's locmem ``mail.outbox``.
"""

import logging
import math
import re
from collections import Counter
from datetime import timedelta

import pytest
from asgiref.sync import iscoroutinefunction
from django.contrib.auth import get_user_model
from django.core import mail
from django.tasks import TaskResultStatus
from django.tasks.signals import task_enqueued
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from testimonials import views
from testimonials.models import Testimonial
from testimonials.tasks import (
    digest_progress,
    send_digest,
    send_digest_batch,
)

from proof.in_stage import run_worker

DIGEST = "testimonials.tasks.send_digest"
BATCH = "testimonials.tasks.send_digest_batch"
LOGGER = "testimonials.tasks"


def add_members(count, start=1, **fields):
    users = get_user_model().objects
    return users.bulk_create(
        get_user_model()(
            username=f"member{n}", email=f"member{n}@example.com", **fields
        )
        for n in range(start, start + count)
    )


@pytest.fixture
def testimonials(db):
    """Six approved testimonials a day apart, one pending, one rejected.

    Their author has no email address, so the author is no digest recipient.
    """
    author = get_user_model().objects.create_user("author", "", "pw")
    now = timezone.now()
    titles = ["Fish & <chips>", "Second", "Third", "Fourth", "Fifth", "Oldest"]
    for age, title in enumerate(titles):
        item = Testimonial.objects.create(
            author=author,
            title=title,
            text=f"Text of {title}",
            status=Testimonial.Status.APPROVED,
        )
        Testimonial.objects.filter(pk=item.pk).update(
            created_at=now - timedelta(days=age)
        )
    Testimonial.objects.create(author=author, title="Not reviewed", text="x")
    Testimonial.objects.create(
        author=author, title="Turned down", text="x", status=Testimonial.Status.REJECTED
    )


def test_the_apps_info_messages_are_printed():
    """LOGGING sends the testimonials app's INFO messages to the console."""
    log = logging.getLogger(LOGGER)
    assert log.isEnabledFor(logging.INFO)
    assert any(
        isinstance(handler, logging.StreamHandler)
        for handler in logging.getLogger("testimonials").handlers
    )


@pytest.mark.parametrize("count", [1, 50, 51, 120])
def test_the_digest_reaches_every_active_member_once_in_batches_of_50(
    testimonials, count, caplog
):
    """N active members with an email get the digest in ceil(N/50) emails.

    Each member appears in exactly one email, hidden in bcc; inactive users
    and users without an email address get nothing. The planning task logs
    its own result id and attempt, and returns the ids of the batches.
    """
    members = add_members(count)
    add_members(2, start=1000, is_active=False)
    get_user_model().objects.create_user("silent", "", "pw")
    expected = Counter(m.email for m in members)
    batches = math.ceil(count / 50)

    digest = send_digest.enqueue()
    assert digest.task.queue_name == "default"
    assert digest_progress(digest.id) is None, "no progress before the digest ran"
    caplog.set_level("INFO", logger=LOGGER)
    run_worker()

    digest.refresh()
    assert digest.status == TaskResultStatus.SUCCESSFUL
    assert len(digest.return_value) == batches
    assert digest_progress(digest.id) == (batches, batches)
    assert (
        f"Digest {digest.id}, attempt 1: {count} members in {batches} batches"
        in caplog.messages
    )

    assert len(mail.outbox) == batches
    sent = Counter()
    for email in mail.outbox:
        assert email.to == [] and email.cc == []
        assert "To" not in email.message() and "Bcc" not in email.message()
        assert len(email.bcc) <= 50
        sent.update(email.bcc)
    assert sent == expected

    results = [send_digest_batch.get_result(i) for i in digest.return_value]
    for batch in results:
        assert batch.status == TaskResultStatus.SUCCESSFUL
        assert (batch.task.queue_name, batch.task.priority) == ("emails", -10)
    assert sorted(batch.return_value for batch in results) == sorted(
        len(email.bcc) for email in mail.outbox
    )


def test_the_digest_lists_the_five_latest_approved_testimonials_verbatim(testimonials):
    """Plain text with autoescaping off: titles arrive as written, and only
    the five latest approved testimonials are listed."""
    add_members(3)
    send_digest.enqueue()
    run_worker()

    [email] = mail.outbox
    assert email.subject == "What our members say"
    assert "Fish & <chips>, by author" in email.body
    assert "&lt;" not in email.body and "&amp;" not in email.body
    for title in ["Second", "Third", "Fourth", "Fifth"]:
        assert f"{title}, by author" in email.body
        assert f"Text of {title}" in email.body
    for title in ["Oldest", "Not reviewed", "Turned down"]:
        assert title not in email.body


def test_a_batch_reads_its_members_again_when_it_runs(testimonials):
    """A member who leaves between planning and sending gets no digest."""
    members = add_members(3)
    digest = send_digest.enqueue()
    run_worker(max_tasks=1)
    assert digest_progress(digest.id) == (0, 1)
    digest.refresh()

    leaving = members[1]
    leaving.is_active = False
    leaving.save()
    run_worker()

    [email] = mail.outbox
    assert sorted(email.bcc) == sorted(m.email for m in members if m != leaving)
    assert send_digest_batch.get_result(digest.return_value[0]).return_value == 2


def test_a_digest_that_fails_halfway_leaves_no_batches_behind(testimonials):
    """The batches are enqueued in one transaction: all of them, or none."""
    add_members(120)
    digest = send_digest.enqueue()

    enqueued = []

    def fail_on_the_third_batch(sender, task_result, **kwargs):
        enqueued.append(task_result.id)
        if len(enqueued) == 3:
            raise ConnectionError("the database went away")

    task_enqueued.connect(fail_on_the_third_batch)
    try:
        run_worker()
    finally:
        task_enqueued.disconnect(fail_on_the_third_batch)

    digest.refresh()
    assert digest.status == TaskResultStatus.FAILED
    assert len(enqueued) == 3, "two batches were enqueued before the failure"
    assert not DBTaskResult.objects.filter(task_path=BATCH).exists()
    assert mail.outbox == []
    assert digest_progress(digest.id) is None


# The async view that starts the digest.

URL = "/digest/"
FORM = "/testimonials/new/"
BUTTON = "Send the digest to all members"


@pytest.fixture
def editor(db):
    return get_user_model().objects.create_user(
        "editor", "editor@example.com", "pw", is_staff=True
    )


def test_the_view_is_async():
    assert iscoroutinefunction(views.start_digest)


def test_staff_start_the_digest_and_see_its_id(client, editor):
    """One POST: one READY digest in the default queue, and a message with its id."""
    client.force_login(editor)
    response = client.post(URL)
    assert response.status_code == 302
    assert response["Location"] == FORM

    [row] = DBTaskResult.objects.all()
    assert row.task_path == DIGEST
    digest = send_digest.get_result(row.id)
    assert digest.status == TaskResultStatus.READY
    assert digest.task.queue_name == "default"
    assert (digest.args, digest.kwargs) == ([], {})

    page = client.get(FORM).content.decode()
    message = re.search(r"The digest is on its way \(task ([0-9a-f-]{36})\)\.", page)
    assert message, page
    assert message.group(1) == digest.id


@pytest.mark.parametrize("who", ["member", "visitor"])
def test_others_are_sent_to_the_admin_login(client, member, who):
    if who == "member":
        client.force_login(member)
    response = client.post(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={URL}"
    assert not DBTaskResult.objects.exists()


def test_get_is_not_allowed(client, editor):
    client.force_login(editor)
    response = client.get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert not DBTaskResult.objects.exists()


def test_the_button_shows_for_staff_only(client, editor, member):
    client.force_login(member)
    assert BUTTON not in client.get(FORM).content.decode()

    client.force_login(editor)
    page = client.get(FORM).content.decode()
    assert BUTTON in page
    assert f'<form method="post" action="{URL}">' in page
