from django.urls import path

from . import views

app_name = "prospects"

urlpatterns = [
    path("", views.prospect_list, name="list"),
    path("new/", views.prospect_create, name="create"),
    path("bulk/", views.prospect_bulk, name="bulk"),
    path("export.csv", views.prospect_export, name="export"),
    path("<uuid:public_id>/", views.prospect_detail, name="detail"),
    path("<uuid:public_id>/edit/", views.prospect_edit, name="edit"),
    path("<uuid:public_id>/note/", views.prospect_note, name="note"),
    path("<uuid:public_id>/files/", views.prospect_upload, name="upload"),
    path("<uuid:public_id>/visits/", views.visit_plan, name="visit_plan"),
    path("<uuid:public_id>/data.zip", views.prospect_data_export, name="data_export"),
    path("<uuid:public_id>/erase/", views.prospect_erase, name="erase"),
    path("visits/<uuid:public_id>/", views.visit_detail, name="visit"),
    path("visits/<uuid:public_id>/check-in/", views.visit_check_in, name="visit_check_in"),
    path("visits/<uuid:public_id>/cancel/", views.visit_cancel, name="visit_cancel"),
    path("visits/<uuid:public_id>/files/", views.visit_upload, name="visit_upload"),
    path("library/", views.library, name="library"),
    path("library/folders/", views.folder_create, name="folder_create_root"),
    path("library/files/", views.library_upload, name="library_upload_root"),
    path("library/<uuid:public_id>/", views.library, name="folder"),
    path("library/<uuid:public_id>/folders/", views.folder_create, name="folder_create"),
    path("library/<uuid:public_id>/files/", views.library_upload, name="library_upload"),
    path("library/<uuid:public_id>/delete/", views.folder_delete, name="folder_delete"),
    path("files/<uuid:public_id>/", views.file_download, name="file"),
    path("files/<uuid:public_id>/delete/", views.file_delete, name="file_delete"),
    path("fields/", views.custom_fields, name="custom_fields"),
    path("fields/<slug:key>/delete/", views.custom_field_delete, name="custom_field_delete"),
    path("checklists/", views.checklists, name="checklists"),
    path("checklists/new/", views.checklist_edit, name="checklist_new"),
    path("checklists/<uuid:public_id>/", views.checklist_edit, name="checklist_edit"),
    path("imports/", views.import_new, name="import_new"),
    path("imports/<uuid:public_id>/columns/", views.import_map, name="import_map"),
    path("imports/<uuid:public_id>/read/", views.import_reread, name="import_reread"),
    path("imports/<uuid:public_id>/values/", views.import_values, name="import_values"),
    path("imports/<uuid:public_id>/", views.import_detail, name="import_detail"),
    path("imports/<uuid:public_id>/progress/", views.import_progress, name="import_progress"),
    path("imports/<uuid:public_id>/errors.csv", views.import_errors, name="import_errors"),
]
