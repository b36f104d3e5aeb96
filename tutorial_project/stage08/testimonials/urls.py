from django.urls import path

from . import views

app_name = "testimonials"
urlpatterns = [
    path("testimonials/new/", views.TestimonialCreateView.as_view(), name="create"),
    path("digest/", views.start_digest, name="start_digest"),
]
