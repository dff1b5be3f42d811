"""A second URLconf for tests/governance_app/test_paths.py."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("elsewhere/<uuid:pk>/", lambda request, pk: HttpResponse(), name="thing")]
