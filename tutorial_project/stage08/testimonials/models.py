from django.conf import settings
from django.db import models
from django.tasks.exceptions import TaskResultDoesNotExist


class Testimonial(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="testimonials",
    )
    title = models.CharField(max_length=100)
    text = models.TextField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The id of the latest task that notifies the staff about it.
    notification_id = models.CharField(max_length=64, blank=True, editable=False)
    # When the staff were told about it: the notification sends once.
    staff_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.title

    def notification_result(self):
        """The TaskResult of the staff notification, or None."""
        from .tasks import notify_staff_about_testimonial

        if not self.notification_id:
            return None
        try:
            return notify_staff_about_testimonial.get_result(self.notification_id)
        except TaskResultDoesNotExist:
            return None
