from django.contrib import admin
from django.tasks import TaskResultStatus

from .models import Testimonial


@admin.register(Testimonial)
class TestimonialAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "status", "created_at", "notification"]
    list_filter = ["status"]
    search_fields = ["title", "text"]

    @admin.display(description="Staff notification")
    def notification(self, testimonial):
        result = testimonial.notification_result()
        if result is None:
            return "-"
        if result.status == TaskResultStatus.SUCCESSFUL:
            return f"Sent to {result.return_value} staff"
        if result.status == TaskResultStatus.FAILED:
            return f"Failed: {result.errors[-1].exception_class_path.rsplit('.')[-1]}"
        return "Waiting"
