from django.urls import path

from . import views

app_name = "certificates"
urlpatterns = [
    path("my/<int:year>/", views.my_booklet, name="my_booklet"),
    path("my/<int:year>/learning-record.pdf", views.my_learning_record, name="my_learning_record"),
    path("people/<int:person_id>/<int:year>/", views.person_booklet, name="person_booklet"),
    path("people/<int:person_id>/<int:year>/learning-record.pdf", views.person_learning_record,
         name="person_learning_record"),
    path("items/<int:item_id>.pdf", views.item_certificate, name="item_certificate"),
    path("batches/<int:submission_id>/endorsement-list.pdf", views.batch_endorsement_list,
         name="batch_endorsement_list"),
    path("bulk/", views.batch_list, name="batches"),
    path("bulk/new/", views.batch_start, name="batch_start"),
    path("bulk/<int:batch_id>/", views.batch_detail, name="batch_detail"),
    path("bulk/<int:batch_id>/progress.json", views.batch_progress, name="batch_progress"),
    path("bulk/<int:batch_id>/certificates.zip", views.batch_download, name="batch_download"),
    path("bulk/<int:batch_id>/resume/", views.batch_resume, name="batch_resume"),
]
