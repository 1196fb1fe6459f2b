"""Issued documents are immutable, enforced by PostgreSQL itself.

* An issued invoice, supplementary invoice or credit note can be neither updated nor deleted.
* Lines and subsidy parts of an issued document can be neither inserted, updated nor deleted.
* A document cannot be issued with a date in a closed period (billing_periodclose).
* The audit log (billing_invoiceevent) is append-only.

The errors use SQLSTATE 23001 (restrict_violation), so Django raises IntegrityError.
"""

from django.db import migrations

SQL = r"""
CREATE OR REPLACE FUNCTION billing_invoice_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'issued' THEN
        RAISE EXCEPTION 'Beleg % ist ausgestellt und kann nicht geändert oder gelöscht werden; '
            'Korrekturen erfolgen per Gutschrift.', OLD.number
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.status = 'issued' AND EXISTS (
        SELECT 1 FROM billing_periodclose WHERE month = date_trunc('month', NEW.issue_date)::date
    ) THEN
        RAISE EXCEPTION 'Der Zeitraum %/% ist abgeschlossen; darin kann kein Beleg ausgestellt werden.',
            to_char(NEW.issue_date, 'MM'), to_char(NEW.issue_date, 'YYYY')
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_guard
    BEFORE INSERT OR UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_guard();

CREATE OR REPLACE FUNCTION billing_invoice_line_guard() RETURNS trigger AS $$
DECLARE
    doc_status text;
    doc_number text;
BEGIN
    SELECT status, number INTO doc_status, doc_number FROM billing_invoice
        WHERE id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.invoice_id ELSE NEW.invoice_id END);
    IF doc_status = 'issued' THEN
        RAISE EXCEPTION 'Beleg % ist ausgestellt; seine Positionen können nicht geändert werden.', doc_number
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.invoice_id <> NEW.invoice_id THEN
        SELECT status, number INTO doc_status, doc_number FROM billing_invoice WHERE id = OLD.invoice_id;
        IF doc_status = 'issued' THEN
            RAISE EXCEPTION 'Beleg % ist ausgestellt; seine Positionen können nicht geändert werden.',
                doc_number USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_line_guard
    BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_line_guard();

CREATE OR REPLACE FUNCTION billing_invoice_subsidy_guard() RETURNS trigger AS $$
DECLARE
    doc_status text;
    doc_number text;
BEGIN
    SELECT i.status, i.number INTO doc_status, doc_number
        FROM billing_invoiceline l JOIN billing_invoice i ON i.id = l.invoice_id
        WHERE l.id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.line_id ELSE NEW.line_id END);
    IF doc_status = 'issued' THEN
        RAISE EXCEPTION 'Beleg % ist ausgestellt; seine Förderanteile können nicht geändert werden.',
            doc_number USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_subsidy_guard
    BEFORE INSERT OR UPDATE OR DELETE ON billing_invoicelinesubsidy
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_subsidy_guard();

CREATE OR REPLACE FUNCTION billing_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Das Belegprotokoll kann nur ergänzt werden.' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_event_append_only
    BEFORE UPDATE OR DELETE ON billing_invoiceevent
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();

CREATE TRIGGER billing_period_close_append_only
    BEFORE UPDATE OR DELETE ON billing_periodclose
    FOR EACH ROW EXECUTE FUNCTION billing_append_only();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS billing_period_close_append_only ON billing_periodclose;
DROP TRIGGER IF EXISTS billing_invoice_event_append_only ON billing_invoiceevent;
DROP FUNCTION IF EXISTS billing_append_only();
DROP TRIGGER IF EXISTS billing_invoice_subsidy_guard ON billing_invoicelinesubsidy;
DROP FUNCTION IF EXISTS billing_invoice_subsidy_guard();
DROP TRIGGER IF EXISTS billing_invoice_line_guard ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoice_line_guard();
DROP TRIGGER IF EXISTS billing_invoice_guard ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_invoices")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
