from .views import activities, classes, plans, results, review, submissions

app_name = "enrollment"
urlpatterns = [*classes.urlpatterns, *results.urlpatterns, *submissions.urlpatterns, *plans.urlpatterns,
               *review.urlpatterns, *activities.urlpatterns]
