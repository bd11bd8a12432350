from django.urls import path

from . import views_compliance

urlpatterns = [
    path("compliance/", views_compliance.compliance_page, name="compliance"),
    path("appraisal/", views_compliance.appraisal_page, name="appraisal"),
]
