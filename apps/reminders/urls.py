from django.urls import path

from . import views

app_name = "reminders"
urlpatterns = [
    path("<int:reminder_id>/read/", views.mark_read, name="read"),
]
