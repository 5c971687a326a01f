"""FinOps cost views (pages) under /finops/."""
from django.urls import path

from finops_admin import cost_views

app_name = "finops_costs"

urlpatterns = [
    path("", cost_views.DashboardView.as_view(), name="dashboard"),
    path("domains/", cost_views.DomainView.as_view(), name="domain"),
    path("families/", cost_views.FamilyView.as_view(), name="family"),
    path("applications/", cost_views.ApplicationView.as_view(), name="application"),
    path("rankings/", cost_views.RankingsView.as_view(), name="rankings"),
    path("history/", cost_views.HistoryView.as_view(), name="history"),
]
