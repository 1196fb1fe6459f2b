"""The demo history goes through the real order flow and billing: activation invoices on
provisioning, yearly runs, payments in every reconciliation state."""

from datetime import date
from decimal import Decimal

from billing.demo import demo_billing_load
from billing.models import Invoice, InvoiceLine, Payment
from shop.demo_catalog import demo_catalog_load
from shop.models import LineStatus, OrderLine, Subscription


def test_demo_history_is_billed_once(towns):
    demo_catalog_load()
    issued = demo_billing_load(today=date(2026, 11, 22))
    assert issued == Invoice.objects.count() > 0
    assert demo_billing_load(today=date(2026, 11, 22)) == 0  # idempotent
    assert set(OrderLine.objects.values_list("status", flat=True)) == {LineStatus.ACTIVE}
    leipzig = towns["leipzig"].municipality
    activations = Invoice.objects.filter(municipality=leipzig, origin="activation")
    assert activations.count() == 5  # one per activated line
    lines = InvoiceLine.objects.filter(invoice__in=activations)
    # ordered 15.09.2022 (setup subsidised for central ones), activated 04.10.2022: maintenance pro rata
    maintenance = lines.filter(fee_kind="maintenance")
    assert maintenance.count() == 5
    assert all(
        (line.period_start, line.period_end, line.period_days) == (date(2022, 10, 4), date(2022, 12, 31), 89)
        for line in maintenance
    )
    central_setup = lines.filter(fee_kind="setup", assistant__category="central")
    assert central_setup.count() == 3 and all(
        line.net_due == 0 and line.subsidy > 0 for line in central_setup
    )
    efa_setup = lines.get(fee_kind="setup", assistant__category="efa")
    assert efa_setup.subsidy == 0 and efa_setup.net_due == efa_setup.list_net > 0
    # every subscription billed once per year from its activation year up to 2026
    for subscription in Subscription.objects.all():
        years = sorted(
            InvoiceLine.objects.filter(subscription=subscription).values_list("billing_year", flat=True)
        )
        assert years == list(range(subscription.started_on.year, 2027))
    assert Payment.objects.filter(invoice__isnull=True).count() == 1
    assert sum(p.amount for p in Payment.objects.all()) > Decimal("0")
