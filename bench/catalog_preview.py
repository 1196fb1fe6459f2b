"""The catalog list with and without subsidy previews, rendered in-process (part of bench/quote.py)."""

import time
from datetime import date


def preview_ratio(rounds: int = 40) -> float:
    from _common import drop_database, use_database

    use_database("ozg_bench_quote", fresh=True)
    from django.core.management import call_command

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    from django.template.loader import render_to_string

    from shop.demo_catalog import demo_catalog_load
    from shop.selectors import catalog_entries
    from shop.views import CatalogFilterForm, _programmes, apply_subsidies

    demo_catalog_load()
    on = date(2023, 5, 2)  # inside the Saxon programme: real subsidies, provisional tranche
    population = 14583
    programmes = _programmes()[0]

    def render(with_previews: bool) -> str:
        entries = catalog_entries(population=population, on=on)
        if with_previews:
            entries = apply_subsidies(entries, programmes=programmes, on=on)
        form = CatalogFilterForm(None, themenfelder=[])
        return render_to_string(
            "shop/partials/catalog_results.html",
            {"form": form, "entries": entries, "filtered": False, "show_bands": False},
        )

    html = render(True)
    assert html.count("Förderung −") > 50, "the previews must actually show subsidies"
    timings = {}
    for with_previews in (False, True, False, True):
        started = time.perf_counter()
        for _ in range(rounds):
            render(with_previews)
        timings.setdefault(with_previews, []).append((time.perf_counter() - started) / rounds)
    without, with_ = min(timings[False]), min(timings[True])
    print(
        f"catalog list (71 assistants), rendered: {1000 * without:.1f} ms without, "
        f"{1000 * with_:.1f} ms with subsidy previews"
    )
    drop_database("ozg_bench_quote")
    return without / with_
