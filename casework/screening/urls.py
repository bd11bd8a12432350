"""Pages of screening (排查比对), under /screening/ (namespace ``screening``)."""

from django.urls import path

from . import views

app_name = "screening"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("template.xlsx", views.register_template, name="template"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/compare/", views.run_compare, name="compare"),
    path("runs/<int:pk>/file/", views.run_file, name="file"),
    path("children/<int:pk>/", views.child_detail, name="child"),
    path("children/<int:pk>/do/<str:action>/", views.child_action, name="child-action"),
    path("children/<int:pk>/evidence/", views.child_evidence, name="evidence"),
]
