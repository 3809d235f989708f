from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("county/", views.county, name="county"),
    # /reports/county/410202-id/2016/units.xlsx, people.pdf, …
    path("county/<int:region_id>/<int:year>/<slug:table>.<slug:fmt>", views.county_export, name="county_export"),
    path("city/", views.city_dashboard, name="city_dashboard"),
    path("city/<int:year>/<slug:table>.<slug:fmt>", views.city_export, name="city_export"),
]
