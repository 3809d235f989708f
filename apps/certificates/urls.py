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
]
