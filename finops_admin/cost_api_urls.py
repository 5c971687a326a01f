"""FinOps cost API under /api/finops/costs/."""
from django.urls import path

from finops_admin import cost_api

urlpatterns = [
    path("totals/", cost_api.CostTotalsView.as_view(), name="api-finops-costs-totals"),
    path("breakdown/", cost_api.CostBreakdownView.as_view(), name="api-finops-costs-breakdown"),
    path("rankings/", cost_api.CostRankingsView.as_view(), name="api-finops-costs-rankings"),
    path("history/", cost_api.CostHistoryView.as_view(), name="api-finops-costs-history"),
]
