from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse

from .models import Testimonial


@task
def count_words(text):
    """Return how many words the given text has."""
    return len(text.split())


@task
def notify_staff_about_testimonial(testimonial_id):
    """Email every active superuser about a new testimonial.

    The task receives the testimonial's id, not the testimonial: arguments
    are stored as JSON until a worker runs the task, and the worker then
    reads the testimonial as it is at that moment.
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
    send_mail(
        subject=" ".join(subject.split()),
        message=render_to_string("testimonials/emails/new_testimonial.txt", context),
        from_email=None,
        recipient_list=recipients,
        html_message=render_to_string(
            "testimonials/emails/new_testimonial.html", context
        ),
    )
    return len(recipients)
