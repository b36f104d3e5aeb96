from functools import partial

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST
from django.views.generic import CreateView

from .forms import TestimonialForm
from .tasks import enqueue_notification, schedule_review_reminder, send_digest


class TestimonialCreateView(LoginRequiredMixin, CreateView):
    form_class = TestimonialForm
    template_name = "testimonials/testimonial_form.html"
    success_url = reverse_lazy("testimonials:create")

    def form_valid(self, form):
        form.instance.author = self.request.user
        response = super().form_valid(form)
        # Enqueue only once the testimonial is committed, so that the
        # worker always finds it.
        transaction.on_commit(partial(enqueue_notification, self.object.pk))
        transaction.on_commit(partial(schedule_review_reminder, self.object.pk))
        messages.success(
            self.request, "Thank you! Our staff will review your testimonial soon."
        )
        return response


@require_POST
@staff_member_required
async def start_digest(request):
    """Enqueue the digest; a worker sends it."""
    result = await send_digest.aenqueue()
    messages.success(request, f"The digest is on its way (task {result.id}).")
    return redirect("testimonials:create")
