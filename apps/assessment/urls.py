from django.urls import path

from . import views

app_name = "assessment"
urlpatterns = [
    path("", views.index, name="index"),
    path("run/", views.start, name="start"),
    path("weights/", views.weights, name="weights"),
    path("<int:snapshot_id>/", views.detail, name="detail"),
    path("<int:snapshot_id>/progress.json", views.progress, name="progress"),
    path("commendations/<int:commendation_id>/<str:decision>/", views.decide, name="decide"),
]
