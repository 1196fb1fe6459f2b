"""Catalog pages.

On a municipality's domain: the catalog with the prices for that municipality today, for
its signed-in users, and their watch list. On the association's domain: the same catalog,
open to everyone and read-only, with the prices of every population band.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import wraps

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.permissions import can, is_public, require
from billing.domain.subsidy import Category, OneTimeLine, PeriodLine, quote_line
from billing.selectors import covered_periods, engine_programmes, funding_version
from core.http import redirect_back
from workspace.models import Watch
from workspace.selectors import watch_of, watches_for_user
from workspace.services import watch_add, watch_remove

from .models import AssistantCategory, AssistantStatus
from .selectors import (
    CatalogEntry,
    catalog_assistant,
    catalog_entries,
    catalog_entry,
    catalog_version,
    config_fields,
    themenfelder,
)

# The rendered list is cached per tenant (django_tenants' cache key function prefixes the
# schema), date, filters and language, and keyed by catalog_version(). Each process asks the
# database for that version at most every CATALOG_VERSION_SECONDS (per tenant), so a change
# in the catalog shows within that time; the expiry only bounds changes that bypass the ORM
# (see catalog_version). bench/catalog.py: the version query alone cost a third of the page.
CATALOG_CACHE_SECONDS = 300
CATALOG_VERSION_SECONDS = 2
FILTER_NAMES = ("q", "themenfeld", "kategorie", "status", "gefoerdert")
_BETWEEN_TAGS = re.compile(r">\s+<")


class CatalogFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Suche"),
        required=False,
        max_length=200,
        help_text=_("Titel, Beschreibung oder LeiKa-Schlüssel (auch die ersten Ziffern)"),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    themenfeld = forms.ChoiceField(label=_("Themenfeld"), required=False)
    kategorie = forms.ChoiceField(
        label=_("Kategorie"), required=False, choices=[("", _("alle Kategorien")), *AssistantCategory.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("alle")),
            (AssistantStatus.AVAILABLE, AssistantStatus.AVAILABLE.label),
            (AssistantStatus.ANNOUNCED, AssistantStatus.ANNOUNCED.label),
        ],
    )

    gefoerdert = forms.BooleanField(label=_("nur geförderte"), required=False)

    def __init__(self, *args, themenfelder: list[str], municipal: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not municipal:
            del self.fields["gefoerdert"]  # subsidies depend on the municipality: not on the public catalog
        self.fields["themenfeld"].choices = [("", _("alle Themenfelder")), *((t, t) for t in themenfelder)]

    def filters(self) -> dict[str, str]:
        """The selector's filters; a field with an invalid value (shown as an error) filters nothing."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data
        return {
            "query": data.get("q") or "",
            "themenfeld": data.get("themenfeld") or "",
            "category": data.get("kategorie") or "",
            "status": data.get("status") or "",
            "funded": bool(data.get("gefoerdert")),
        }


def catalog_access(view):
    """Open on the association's domain; on a municipality's domain only for its own users."""
    municipal_view = require("catalog.view")(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if is_public(getattr(request, "tenant", None)):
            return view(request, *args, **kwargs)
        return municipal_view(request, *args, **kwargs)

    return wrapped


def municipal_only(action: str):
    """Pages that exist only on a municipality's domain (the watch list): 404 on the association's."""

    def decorator(view):
        checked = require(action)(view)

        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if is_public(getattr(request, "tenant", None)):
                raise Http404
            return checked(request, *args, **kwargs)

        return wrapped

    return decorator


@dataclass(frozen=True)
class SubsidyView:
    """The funding engine's quote of one price line, as the catalog shows it."""

    subsidy: Decimal
    net_due: Decimal
    provisional: bool
    explanation: str
    periods: tuple[str, ...]

    @property
    def funded(self) -> bool:
        return self.subsidy > 0


def apply_subsidies(entries: list[CatalogEntry], *, programmes: list, on: date) -> list[CatalogEntry]:
    """Put the funding engine's quote into every price line: "Förderung −… · Sie zahlen …".

    One-time fees are quoted as if ordered on ``on``; yearly fees for the full calendar year
    of ``on`` (the yearly amount), with the periods in which they are subsidised at all.
    """
    result = []
    for entry in entries:
        assistant = entry.assistant
        lines = []
        for line in entry.prices:
            if line.yearly:
                engine_line = PeriodLine(
                    assistant.slug,
                    Category(assistant.category),
                    line.fee_kind,
                    line.net_amount,
                    date(on.year, 1, 1),
                    date(on.year, 12, 31),
                    line.vat_rate,
                )
            else:
                engine_line = OneTimeLine(
                    assistant.slug,
                    Category(assistant.category),
                    line.fee_kind,
                    line.net_amount,
                    on,
                    line.vat_rate,
                )
            quote = quote_line(engine_line, programmes)
            periods = covered_periods(
                programmes, category=assistant.category, fee_kind=line.fee_kind, slug=assistant.slug
            )
            lines.append(
                replace(
                    line,
                    subsidy=SubsidyView(
                        quote.subsidy, quote.net_due, quote.provisional, quote.explanation, tuple(periods)
                    ),
                )
            )
        result.append(replace(entry, prices=tuple(lines)))
    return result


def _programmes() -> tuple[list, str]:
    """Active funding programmes (read fresh) and their fingerprint, which is cached a few seconds."""
    programmes = engine_programmes()
    version = funding_version(programmes)
    cache.set("billing:funding-version", version, CATALOG_VERSION_SECONDS)
    return programmes, version


class _Funding:
    """The programmes' fingerprint for cache keys, cached a few seconds; the programmes
    themselves are read only when the fingerprint expired or the page must be rendered,
    and at most once per request."""

    def __init__(self) -> None:
        self._programmes: list | None = None
        self.version = cache.get("billing:funding-version")
        if self.version is None:
            self._programmes, self.version = _programmes()

    @property
    def programmes(self) -> list:
        if self._programmes is None:
            self._programmes, self.version = _programmes()
        return self._programmes


def _population_text(population: int) -> str:
    return f"{population:,}".replace(",", ".")


def _catalog_version() -> str:
    version = cache.get("shop:catalog:version")
    if version is None:
        version = catalog_version()
        cache.set("shop:catalog:version", version, CATALOG_VERSION_SECONDS)
    return version


def _catalog_cache_key(
    params: QueryDict, *, version: str, on: date, population: int | None, funding: _Funding | None
) -> str:
    version = f"{version}:{funding.version}" if funding is not None else version
    # exactly what the form sees (absent and empty differ: an empty search shows "reset")
    wanted = repr([params.getlist(name) for name in FILTER_NAMES])
    digest = hashlib.sha256(wanted.encode()).hexdigest()[:32]
    return f"shop:catalog:{version}:{on.isoformat()}:{population}:{get_language()}:{digest}"


def _catalog_results(
    request: HttpRequest, *, public: bool, population: int | None, on: date, funding: _Funding | None
) -> bytes:
    """The filter form and the list, rendered without anything user-specific (it is cached)."""
    bound = any(name in request.GET for name in FILTER_NAMES)
    form = CatalogFilterForm(
        request.GET if bound else None, themenfelder=themenfelder(), municipal=not public
    )
    filters = form.filters()
    funded_only = filters.pop("funded", False)
    entries = catalog_entries(**filters, population=population, on=on)
    if not public:
        entries = apply_subsidies(entries, programmes=funding.programmes, on=on)
        if funded_only:
            entries = [e for e in entries if any(line.subsidy.funded for line in e.prices)]
    html = render_to_string(
        "shop/partials/catalog_results.html",
        {
            "form": form,
            "entries": entries,
            "filtered": bound,
            "show_bands": public,
            "is_public_domain": public,
        },
    )
    # Indentation between tags collapsed to one line break: a tenth smaller for every cache hit,
    # and unlike strip_spaces_between_tags() it keeps the space between inline elements.
    return _BETWEEN_TAGS.sub(">\n<", html).encode()


# The page around the list (header, navigation, title, lead) is cached too, per user, so that
# a cached catalog page costs a few cache reads and no template rendering. Its key holds all
# the layout shows: the user's e-mail, name, roles and flags (what they may do follows from
# them), the municipality's names and population, the language, the date and the full path
# (the language switch returns to it); the cache key function adds the schema, so user 7 of
# Leipzig never gets the page of user 7 of Dresden. Per request, the list goes into its slot
# and the session's CSRF token (masked anew, as {% csrf_token %} does) into the forms. A page
# with messages to show is rendered afresh. Both parts are cached as UTF-8: no encoding per hit.
# It expires like the header fragments of base.html: anything outside the key (a new template
# after a deploy) shows within a minute.
CATALOG_LAYOUT_SECONDS = 60
_RESULTS_SLOT = "<!-- catalog results -->"
_CSRF_SLOT_TOKEN = "csrf-token-slot"


def _csrf_field(token: str) -> bytes:
    # What {% csrf_token %} renders. Escaped text never contains "<", so only the forms match.
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token).encode()


_CSRF_SLOT = _csrf_field(_CSRF_SLOT_TOKEN)


def _layout_cache_key(request: HttpRequest, *, on: date) -> str:
    user, tenant = request.user, request.tenant
    who = None
    if user.is_authenticated:
        who = (user.pk, user.get_username(), user.full_name, tuple(user.roles))
        who += (user.is_active, user.is_staff, user.is_superuser)
    where = (tenant.pk, tenant.short_name, tenant.official_name, tenant.kind, tenant.district)
    where += (tenant.ags, tenant.population)
    wanted = repr((who, where, get_language(), on.isoformat(), request.get_full_path()))
    digest = hashlib.sha256(wanted.encode()).hexdigest()[:32]
    return f"shop:catalog-layout:{user.pk}:{digest}"


def _catalog_layout(
    request: HttpRequest, *, public: bool, population: int | None, on: date
) -> tuple[bytes, bytes]:
    """The page before and after the list, with a stand-in CSRF token."""
    context = {
        "results": mark_safe(_RESULTS_SLOT),  # noqa: S308 - a constant
        "today": on,
        "population_text": "" if public else _population_text(population),
        "csrf_token": _CSRF_SLOT_TOKEN,
    }
    before, after = render_to_string("shop/catalog_list.html", context, request).split(_RESULTS_SLOT)
    return before.encode(), after.encode()


@catalog_access
def catalog_list(request: HttpRequest) -> HttpResponse:
    public = is_public(request.tenant)
    on = timezone.localdate()
    population = None if public else request.tenant.population
    funding = None if public else _Funding()
    key = _catalog_cache_key(
        request.GET, version=_catalog_version(), on=on, population=population, funding=funding
    )
    results = cache.get(key)
    if results is None:
        results = _catalog_results(request, public=public, population=population, on=on, funding=funding)
        cache.set(key, results, CATALOG_CACHE_SECONDS)
    # len() reads the messages without marking them as shown; rendering them does
    layout_key = None if len(messages.get_messages(request)) else _layout_cache_key(request, on=on)
    layout = cache.get(layout_key) if layout_key else None
    if layout is None:
        layout = _catalog_layout(request, public=public, population=population, on=on)
        if layout_key:
            cache.set(layout_key, layout, CATALOG_LAYOUT_SECONDS)
    before, after = layout
    if _CSRF_SLOT in before or _CSRF_SLOT in after:
        field = _csrf_field(get_token(request))
        before, after = before.replace(_CSRF_SLOT, field), after.replace(_CSRF_SLOT, field)
    return HttpResponse(b"".join((before, results, after)))


@catalog_access
def assistant_detail(request: HttpRequest, slug: str) -> HttpResponse:
    public = is_public(request.tenant)
    on = timezone.localdate()
    population = None if public else request.tenant.population
    entry = catalog_entry(slug=slug, population=population, on=on)
    if entry is None:
        raise Http404("Diesen Assistenten gibt es im Katalog nicht.")
    watch, may_watch = None, False
    if not public:
        [entry] = apply_subsidies([entry], programmes=_programmes()[0], on=on)
        may_watch = entry.assistant.status == AssistantStatus.ANNOUNCED and can(
            request.user, "catalog.watch", request.tenant
        )
        if may_watch:
            watch = watch_of(user=request.user, assistant_id=entry.assistant.pk)
    context = {
        "entry": entry,
        "assistant": entry.assistant,
        "fields": config_fields(entry.assistant.config_schema),
        "today": on,
        "population_text": "" if public else _population_text(population),
        "may_watch": may_watch,
        "watch": watch,
    }
    return render(request, "shop/assistant_detail.html", context)


@municipal_only("catalog.watch")
@require_POST
def watch_add_view(request: HttpRequest, slug: str) -> HttpResponse:
    assistant = catalog_assistant(slug=slug)
    if assistant is None:
        raise Http404("Diesen Assistenten gibt es im Katalog nicht.")
    try:
        watch_add(user=request.user, assistant=assistant)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("„%(title)s“ steht auf Ihrer Merkliste. Sobald er verfügbar ist, erhalten Sie eine E-Mail.")
            % {"title": assistant.title},
        )
    return redirect_back(request, reverse("shop:detail", kwargs={"slug": slug}))


@municipal_only("catalog.watch")
@require_POST
def watch_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        watch = watch_remove(user=request.user, watch_id=pk)
    except Watch.DoesNotExist:
        raise Http404("Diesen Eintrag gibt es auf Ihrer Merkliste nicht.") from None
    messages.success(
        request, _("„%(title)s“ ist nicht mehr auf Ihrer Merkliste.") % {"title": watch.assistant.title}
    )
    return redirect_back(request, reverse("shop:watch_list"))


@municipal_only("catalog.watch")
def watch_list(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/watch_list.html", {"watches": watches_for_user(user=request.user)})
