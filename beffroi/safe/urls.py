from django.urls import path

from beffroi.safe.views import account, data, owner, professional, records

app_name = "safe"

urlpatterns = [
    path("coffre/creer/", owner.create_account, name="create_account"),
    path("coffre/", owner.home, name="home"),
    path("coffre/compte/", account.account, name="account"),
    path("coffre/compte/notifications/", account.push_subscription, name="push"),
    path("coffre/mot-de-passe-oublie/", account.forgot, name="forgot"),
    path("coffre/mot-de-passe-oublie/code/", account.reset_code, name="reset_code"),
    path("coffre/dossiers/<int:folder_id>/", owner.home, name="folder"),
    path("coffre/dossiers/ajouter/", owner.folder_create, name="folder_create"),
    path("coffre/dossiers/<int:folder_id>/supprimer/", owner.folder_delete, name="folder_delete"),
    path("coffre/documents/ajouter/", owner.upload, name="upload"),
    path("coffre/documents/envoyer/", owner.upload_body, name="upload_body"),
    path("coffre/documents/<uuid:document_id>/", owner.document_detail, name="document"),
    path("coffre/documents/<uuid:document_id>/fichier/", owner.document_file, name="document_file"),
    path("coffre/documents/<uuid:document_id>/vignette/", owner.document_thumbnail, name="document_thumbnail"),
    path("coffre/documents/<uuid:document_id>/supprimer/", owner.document_delete, name="document_delete"),
    path("coffre/liens/", owner.links, name="links"),
    path("coffre/liens/demander/", owner.link_request_view, name="link_request"),
    path("coffre/liens/<int:link_id>/partage/", owner.share, name="share"),
    path("coffre/liens/<int:link_id>/<str:action>/", owner.link_action, name="link_action"),
    path("coffre/journal/", owner.journal, name="journal"),
    path("coffre/mes-donnees/", data.my_data, name="my_data"),
    path("coffre/mes-donnees/export/", data.export, name="export"),
    path("coffre/mes-donnees/supprimer/", data.delete_account, name="delete_account"),
    path("coffre/<str:kind>/", records.record_list, name="records"),
    path("coffre/<str:kind>/ajouter/", records.record_edit, name="record_new"),
    path("coffre/<str:kind>/<int:pk>/", records.record_edit, name="record_edit"),
    path("coffre/<str:kind>/<int:pk>/supprimer/", records.record_delete, name="record_delete"),
    # Professionals of linked organisations.
    path("accompagnement/", professional.safes, name="pro_safes"),
    path("accompagnement/ouvrir/", professional.open_account, name="pro_open"),
    path("accompagnement/proposer/", professional.propose, name="pro_propose"),
    path("accompagnement/liens/<int:link_id>/code/", professional.confirm_code, name="pro_confirm_code"),
    path("accompagnement/liens/<int:link_id>/reponse/", professional.answer_request, name="pro_answer"),
    path("accompagnement/coffres/<int:link_id>/", professional.safe_view, name="pro_safe"),
    path("accompagnement/coffres/<int:link_id>/rompre/", professional.break_link, name="pro_break"),
    path("accompagnement/coffres/<int:link_id>/deposer/", professional.deposit, name="pro_deposit"),
    path("accompagnement/coffres/<int:link_id>/envoyer/", professional.deposit_body, name="pro_deposit_body"),
    path("accompagnement/coffres/<int:link_id>/mot-de-passe/", professional.reset_password, name="pro_password"),
    path("accompagnement/coffres/<int:link_id>/documents/<uuid:document_id>/fichier/", professional.document_file,
         name="pro_document_file"),
]
