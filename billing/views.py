"""Staff pages of the finance and funding area (public domain)."""

from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import require
from billing.domain.simulation import extension_programme, simulate
from billing.domain.subsidy import TrancheStatus

from .forms import SimulationForm
from .models import FundingProgramme
from .selectors import engine_programmes, subscription_views, to_engine


@require("staff.funding")
def simulation(request):
    """What-if: the cost of a programme change for the funder and the municipalities. Changes nothing."""
    today = timezone.localdate()
    form = SimulationForm(request.GET or None, today=today)
    result = scenario_label = None
    if request.GET and form.is_valid():
        data = form.cleaned_data
        baseline = engine_programmes()
        if data["mode"] == "extend":
            base = next(p for p in baseline if p.id == data["programme"].code)
            extension = extension_programme(
                base,
                start=data["start"],
                end=data["end"],
                percent=data["percent"],
                fee_kinds=data["fee_kinds"],
            )
            scenario = [*baseline, extension]
            scenario_label = extension.name + f", {data['percent']:g} %"
        elif data["mode"] == "draft":
            draft = FundingProgramme.objects.prefetch_related(
                "coverages", "tranches", "excluded_assistants"
            ).get(pk=data["draft"].pk)
            scenario = [*baseline, to_engine(draft)]
            scenario_label = f"zusätzlich: {draft.name}"
        else:
            tranche = data["tranche"]
            scenario = [
                p.with_tranche_status(tranche.pk, TrancheStatus.REJECTED)
                if p.id == tranche.programme.code
                else p
                for p in baseline
            ]
            scenario_label = f"abgelehnt: {tranche}"
        years = list(range(data["year_from"], data["year_to"] + 1))
        result = simulate(subscription_views(), baseline=baseline, scenario=scenario, years=years)
    return render(
        request, "billing/simulation.html", {"form": form, "result": result, "scenario_label": scenario_label}
    )
