import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, send_mail
from django.db import transaction
from django.tasks import TaskResultStatus, task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Testimonial

logger = logging.getLogger(__name__)


@task
def count_words(text):
    """Return how many words the given text has."""
    return len(text.split())


# Sending is tried this many times in all, waiting 10 s, then 20 s...
MAX_ATTEMPTS = 3
RETRY_DELAY = timedelta(seconds=10)


def enqueue_notification(testimonial_id, attempt=1, run_after=None):
    """Enqueue the staff notification and remember its result's id."""
    # In one transaction, no worker can run the task before its id is saved.
    with transaction.atomic():
        result = notify_staff_about_testimonial.using(run_after=run_after).enqueue(
            testimonial_id, attempt=attempt
        )
        Testimonial.objects.filter(pk=testimonial_id).update(notification_id=result.id)
    return result


def staff_emails():
    """The email addresses of the active superusers."""
    return list(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )


@task(queue_name="emails", priority=10)
def notify_staff_about_testimonial(testimonial_id, attempt=1):
    """Email every active superuser about a new testimonial, once.

    The task receives the testimonial's id, not the testimonial: arguments
    are stored as JSON until a worker runs the task, and the worker then
    reads the testimonial as it is at that moment.

    The task may run more than once for one testimonial: a retry, or a run
    enqueued again after its worker stopped (manage.py recover_tasks). The
    testimonial's row, locked while the task works, remembers when the
    staff were told, so a second run sends nothing.

    When the mail server can't be reached, the task schedules another
    attempt, up to MAX_ATTEMPTS in all, and fails: the failed result keeps
    the error.
    """
    try:
        with transaction.atomic():
            # Another run for this testimonial waits here until this one ends.
            testimonial = (
                Testimonial.objects.select_for_update(of=("self",))
                .select_related("author")
                .get(pk=testimonial_id)
            )
            if testimonial.staff_notified_at is not None:
                logger.info(
                    "Staff were notified about testimonial %s at %s already",
                    testimonial.pk,
                    testimonial.staff_notified_at,
                )
                return 0
            recipients = staff_emails()
            if not recipients:
                return 0
            send_notification(testimonial, recipients)
            testimonial.staff_notified_at = timezone.now()
            testimonial.save(update_fields=["staff_notified_at"])
    except OSError:  # network errors, and smtplib's errors too
        if attempt < MAX_ATTEMPTS:
            enqueue_notification(
                testimonial_id,
                attempt=attempt + 1,
                run_after=timezone.now() + RETRY_DELAY * attempt,
            )
        raise
    return len(recipients)


def send_notification(testimonial, recipients):
    """The email about a new testimonial, with a link to review it."""
    review_path = reverse(
        "admin:testimonials_testimonial_change", args=[testimonial.pk]
    )
    context = {
        "testimonial": testimonial,
        "review_url": settings.SITE_URL + review_path,
    }
    subject = render_to_string(
        "testimonials/emails/new_testimonial_subject.txt", context
    )
    send_mail(
        subject=" ".join(subject.split()),
        message=render_to_string("testimonials/emails/new_testimonial.txt", context),
        from_email=None,
        recipient_list=recipients,
        html_message=render_to_string(
            "testimonials/emails/new_testimonial.html", context
        ),
    )


# Staff are reminded of a testimonial still waiting for review this long
# after it was submitted.
REVIEW_REMINDER_DELAY = timedelta(days=3)


def schedule_review_reminder(testimonial_id):
    """Enqueue a reminder that runs once the review delay has passed."""
    return remind_staff_to_review.using(
        run_after=timezone.now() + REVIEW_REMINDER_DELAY
    ).enqueue(testimonial_id)


@task(queue_name="emails")
def remind_staff_to_review(testimonial_id):
    """Remind the staff of a testimonial that still waits for review.

    The reminder was scheduled days ago: by now, the testimonial may have
    been reviewed or deleted, and then there is nothing to remind anyone of.
    """
    testimonial = Testimonial.objects.filter(
        pk=testimonial_id, status=Testimonial.Status.PENDING
    ).first()
    if testimonial is None:
        return 0
    recipients = staff_emails()
    review_path = reverse(
        "admin:testimonials_testimonial_change", args=[testimonial.pk]
    )
    title = " ".join(testimonial.title.split())  # a subject is one line
    send_mail(
        subject=f"Still waiting for review: {title}",
        message=(
            "A testimonial still waits for your review.\n\n"
            f"Review it: {settings.SITE_URL}{review_path}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)


# Members per digest email: each email goes to this many members at most.
DIGEST_BATCH_SIZE = 50


@task(takes_context=True)
def send_digest(context):
    """Share the latest approved testimonials with every active member.

    This task only plans the work: it splits the members into batches and
    enqueues one task per batch. It returns the ids of those tasks, which
    is how digest_progress() follows them.
    """
    approved = Testimonial.objects.filter(status=Testimonial.Status.APPROVED)
    testimonial_ids = list(approved.values_list("pk", flat=True)[:5])
    member_ids = list(
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    batches = [
        member_ids[start : start + DIGEST_BATCH_SIZE]
        for start in range(0, len(member_ids), DIGEST_BATCH_SIZE)
    ]
    # All batches are enqueued, or none: a failure halfway leaves no
    # batches behind that a second run would send again.
    with transaction.atomic():
        batch_ids = [
            send_digest_batch.enqueue(batch, testimonial_ids).id for batch in batches
        ]
    logger.info(
        "Digest %s, attempt %d: %d members in %d batches",
        context.task_result.id,
        context.attempt,
        len(member_ids),
        len(batches),
    )
    return batch_ids


@task(queue_name="emails", priority=-10)
def send_digest_batch(member_ids, testimonial_ids):
    """Send the digest to some members, in one email with hidden recipients."""
    testimonials = Testimonial.objects.filter(pk__in=testimonial_ids)
    emails = list(
        get_user_model()
        .objects.filter(pk__in=member_ids, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    message = EmailMessage(
        subject="What our members say",
        body=render_to_string(
            "testimonials/emails/digest.txt", {"testimonials": testimonials}
        ),
        bcc=emails,
    )
    message.send()
    logger.info("Digest sent to %d members", len(emails))
    return len(emails)


def digest_progress(digest_id):
    """(batches finished, batches in all) of a digest; None until it succeeded.

    A batch counts as finished whether it succeeded or failed.
    """
    digest = send_digest.get_result(digest_id)
    if digest.status != TaskResultStatus.SUCCESSFUL:
        return None
    batches = [send_digest_batch.get_result(i) for i in digest.return_value]
    return sum(batch.is_finished for batch in batches), len(batches)
