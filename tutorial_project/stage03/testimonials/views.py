from functools import partial

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.urls import reverse_lazy
from django.views.generic import CreateView

from .forms import TestimonialForm
from .tasks import enqueue_notification


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
        messages.success(
            self.request, "Thank you! Our staff will review your testimonial soon."
        )
        return response
