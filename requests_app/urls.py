from django.urls import path

app_name = "requests"
urlpatterns: list = []
