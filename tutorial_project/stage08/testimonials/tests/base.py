from django.contrib.auth.models import User
from django.test import TestCase
from django.urls import reverse

from testimonials.models import Testimonial

# The project's two queues, for the task backends that tests switch to.
QUEUES = ["default", "emails"]


class CommunityTestCase(TestCase):
    """A staff member, a member, and a form the member can submit."""

    @classmethod
    def setUpTestData(cls):
        cls.staff = User.objects.create_superuser("admin", "admin@example.com")
        cls.member = User.objects.create_user("member", "member@example.com")

    def submit(self, title="Kind <folks>", text="Thanks & welcome."):
        """Submit a testimonial as the member, commit, and return it."""
        self.client.force_login(self.member)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                reverse("testimonials:create"), {"title": title, "text": text}
            )
        self.assertRedirects(response, reverse("testimonials:create"))
        return Testimonial.objects.get(title=title)
