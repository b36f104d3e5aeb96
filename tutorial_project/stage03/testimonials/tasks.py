from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Testimonial


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


@task
def notify_staff_about_testimonial(testimonial_id, attempt=1):
    """Email every active superuser about a new testimonial.

    The task receives the testimonial's id, not the testimonial: arguments
    are stored as JSON until a worker runs the task, and the worker then
    reads the testimonial as it is at that moment.

    When the mail server can't be reached, the task schedules another
    attempt, up to MAX_ATTEMPTS in all, and fails: the failed result keeps
    the error. Sending is the only side effect, and a retry follows only an
    error while sending, so the staff get one email, except in the rare case
    where the connection breaks after the server accepted the message.
    """
    testimonial = Testimonial.objects.select_related("author").get(pk=testimonial_id)
    recipients = list(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return 0

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
    try:
        send_mail(
            subject=" ".join(subject.split()),
            message=render_to_string(
                "testimonials/emails/new_testimonial.txt", context
            ),
            from_email=None,
            recipient_list=recipients,
            html_message=render_to_string(
                "testimonials/emails/new_testimonial.html", context
            ),
        )
    except OSError:  # network errors, and smtplib's errors too
        if attempt < MAX_ATTEMPTS:
            enqueue_notification(
                testimonial_id,
                attempt=attempt + 1,
                run_after=timezone.now() + RETRY_DELAY * attempt,
            )
        raise
    return len(recipients)
