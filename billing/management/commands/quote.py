"""Print one subsidy quote as JSON, for scripts and staff.

manage.py quote --assistant SLUG --municipality AGS --fee setup --date 2022-09-15
manage.py quote --assistant SLUG --municipality AGS --fee maintenance --period-start 2022-03-01 --period-end 2022-12-31
manage.py quote --category central --net 480 --fee maintenance --period-start ... --period-end ...
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from billing.domain.subsidy import (
    Category,
    OneTimeLine,
    PeriodLine,
    invoice_totals,
    quote_line,
)
from billing.selectors import engine_programmes, quote_price
from shop.models import Assistant, FeeKind
from shop.selectors import price_for
from tenants.models import Municipality


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option}: „{value}“ ist kein Datum im Format JJJJ-MM-TT.") from None


def _money(value: str) -> str:
    return f"{Decimal(value):.2f}"


class Command(BaseCommand):
    help = "Berechnet Listenpreis, Förderung und Zahlbetrag für eine Gebühr und gibt sie als JSON aus."

    def add_arguments(self, parser):
        parser.add_argument("--assistant", help="Kennung (slug) des Assistenten")
        parser.add_argument("--municipality", help="AGS der Kommune")
        parser.add_argument("--category", choices=[c.value for c in Category], help="ohne Katalog: Kategorie")
        parser.add_argument("--net", help="ohne Katalog: Nettobetrag (einmalig bzw. Jahresbetrag)")
        parser.add_argument("--vat-rate", default="19", help="ohne Katalog: USt.-Satz in %% (Standard 19)")
        parser.add_argument("--fee", required=True, help="Gebührenart, z. B. setup oder maintenance")
        parser.add_argument("--date", help="Bestelldatum (einmalige Gebühren), JJJJ-MM-TT")
        parser.add_argument("--period-start", help="Beginn des Leistungszeitraums (jährliche Gebühren)")
        parser.add_argument("--period-end", help="Ende des Leistungszeitraums (jährliche Gebühren)")

    def handle(self, *args, **options):
        fee = options["fee"]
        kind = FeeKind.objects.filter(code=fee).first()
        if kind is None:
            known = ", ".join(FeeKind.objects.values_list("code", flat=True))
            raise _fail(f"Unbekannte Gebührenart „{fee}“ (bekannt: {known}).")
        order_date = _date(options["date"], "--date")
        start = _date(options["period_start"], "--period-start")
        end = _date(options["period_end"], "--period-end")
        if kind.recurrence == FeeKind.Recurrence.YEARLY:
            if not (start and end):
                raise _fail(f"„{fee}“ ist jährlich: --period-start und --period-end angeben.")
            if end < start:
                raise _fail("Das Ende des Leistungszeitraums liegt vor seinem Beginn.")
            if start.year != end.year:
                raise _fail("Ein Leistungszeitraum liegt in einem Kalenderjahr (jährliche Abrechnung).")
        elif order_date is None:
            raise _fail(f"„{fee}“ ist einmalig: --date (Bestelldatum) angeben.")

        programmes = engine_programmes()
        catalog = options["assistant"] or options["municipality"]
        adhoc = options["category"] or options["net"]
        if catalog and adhoc:
            raise _fail("Entweder --assistant/--municipality oder --category/--net angeben, nicht beides.")
        if catalog:
            quote = self._catalog_quote(options, kind, fee, order_date, start, end, programmes)
        elif adhoc:
            quote = self._adhoc_quote(options, kind, fee, order_date, start, end, programmes)
        else:
            raise _fail("Bitte --assistant und --municipality oder --category und --net angeben.")

        totals = invoice_totals([quote])
        result = {
            "fee_kind": fee,
            "list_net": _money(quote.list_net),
            "subsidy": _money(quote.subsidy),
            "net_due": _money(quote.net_due),
            "vat_rate": f"{quote.vat_rate.normalize():f}",
            "vat": _money(totals.vat),
            "gross_due": _money(totals.gross_due),
            "provisional": quote.provisional,
            "tranches": [
                {
                    "programme": a.programme_id,
                    "id": a.tranche_id,
                    "name": a.tranche_name,
                    "covered_days": a.covered_days,
                    "amount": _money(a.amount),
                    "provisional": a.provisional,
                }
                for a in quote.applied
            ],
            "explanation": quote.explanation,
        }
        if quote.period_days is not None:
            result["period_days"] = quote.period_days
            result["year_days"] = quote.year_days
        self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _catalog_quote(self, options, kind, fee, order_date, start, end, programmes):
        if not (options["assistant"] and options["municipality"]):
            raise _fail("--assistant und --municipality gehören zusammen.")
        assistant = Assistant.objects.filter(slug=options["assistant"]).first()
        if assistant is None:
            raise _fail(f"Unbekannter Assistent „{options['assistant']}“.")
        municipality = (
            Municipality.objects.exclude(schema_name="public").filter(ags=options["municipality"]).first()
        )
        if municipality is None:
            raise _fail(f"Keine Kommune mit AGS „{options['municipality']}“.")
        on = order_date or start
        price = price_for(assistant=assistant, fee_kind=fee, population=municipality.population, on=on)
        if price is None:
            raise _fail(
                f"Für {assistant.slug} gibt es am {on:%d.%m.%Y} keinen Preis „{fee}“ für {municipality}."
            )
        return quote_price(
            price=price,
            assistant=assistant,
            recurrence=kind.recurrence,
            programmes=programmes,
            order_date=order_date,
            period=(start, end) if start else None,
        )

    def _adhoc_quote(self, options, kind, fee, order_date, start, end, programmes):
        if not (options["category"] and options["net"]):
            raise _fail("--category und --net gehören zusammen.")
        try:
            net = Decimal(options["net"])
            vat_rate = Decimal(options["vat_rate"])
        except InvalidOperation:
            raise _fail(
                f"„{options['net']}“ ist kein Betrag (Punkt als Dezimaltrenner, z. B. 480.00)."
            ) from None
        if not net.is_finite() or net < 0:
            raise _fail("Der Betrag darf nicht negativ sein.")
        if net != net.quantize(Decimal("0.01")):
            raise _fail("Der Betrag hat mehr als zwei Nachkommastellen.")
        category = Category(options["category"])
        if kind.recurrence == FeeKind.Recurrence.YEARLY:
            line = PeriodLine("", category, fee, net, start, end, vat_rate)
        else:
            line = OneTimeLine("", category, fee, net, order_date, vat_rate)
        try:
            return quote_line(line, programmes)
        except (ValueError, TypeError) as exc:
            raise _fail(str(exc)) from None
