from django.urls import path

from . import views

app_name = "ledger"
urlpatterns = [
    path("my/hours/", views.my_hours, name="my_hours"),
    path("my/hours/<int:year>/", views.my_hours, name="my_hours_year"),
    path("people/<int:person_id>/hours/<int:year>/", views.person_hours, name="person_hours"),
]
