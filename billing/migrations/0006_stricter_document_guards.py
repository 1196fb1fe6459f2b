"""Closing the gaps in the document guards of 0004.

* A document is born a draft: an INSERT of an issued row is refused, so issuing is always the
  step draft → issued, and that step must carry the number drawn for it (series, year of the
  issue date, sequence not beyond the series' counter).
* A subsidy part cannot be moved off an issued document (OLD.line_id is checked too).
* TRUNCATE of the document tables is refused (row triggers do not see it).
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
    IF TG_OP = 'INSERT' AND NEW.status = 'issued' THEN
        RAISE EXCEPTION 'Ein Beleg wird als Entwurf angelegt und erst dann mit seiner Nummer ausgestellt.'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.status = 'issued' THEN
        IF NEW.sequence IS NULL OR NEW.number IS DISTINCT FROM
                NEW.series || '-' || to_char(NEW.issue_date, 'YYYY') || '-' || lpad(NEW.sequence::text, 6, '0')
            OR NOT EXISTS (
                SELECT 1 FROM billing_numbersequence
                WHERE series = NEW.series AND year = extract(year FROM NEW.issue_date) AND last >= NEW.sequence
            ) THEN
            RAISE EXCEPTION 'Die Nummer % ist nicht aus dem Nummernkreis % des Jahres % gezogen.',
                NEW.number, NEW.series, to_char(NEW.issue_date, 'YYYY')
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF EXISTS (
            SELECT 1 FROM billing_periodclose WHERE month = date_trunc('month', NEW.issue_date)::date
        ) THEN
            RAISE EXCEPTION 'Der Zeitraum %/% ist abgeschlossen; darin kann kein Beleg ausgestellt werden.',
                to_char(NEW.issue_date, 'MM'), to_char(NEW.issue_date, 'YYYY')
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_invoice_subsidy_guard() RETURNS trigger AS $$
DECLARE
    doc_status text;
    doc_number text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT i.status, i.number INTO doc_status, doc_number
            FROM billing_invoiceline l JOIN billing_invoice i ON i.id = l.invoice_id WHERE l.id = OLD.line_id;
        IF doc_status = 'issued' THEN
            RAISE EXCEPTION 'Beleg % ist ausgestellt; seine Förderanteile können nicht geändert werden.',
                doc_number USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    SELECT i.status, i.number INTO doc_status, doc_number
        FROM billing_invoiceline l JOIN billing_invoice i ON i.id = l.invoice_id WHERE l.id = NEW.line_id;
    IF doc_status = 'issued' THEN
        RAISE EXCEPTION 'Beleg % ist ausgestellt; seine Förderanteile können nicht geändert werden.',
            doc_number USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Belege und ihr Protokoll können nicht geleert werden (%).', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_no_truncate BEFORE TRUNCATE ON billing_invoice
    FOR EACH STATEMENT EXECUTE FUNCTION billing_no_truncate();
CREATE TRIGGER billing_invoiceline_no_truncate BEFORE TRUNCATE ON billing_invoiceline
    FOR EACH STATEMENT EXECUTE FUNCTION billing_no_truncate();
CREATE TRIGGER billing_invoicelinesubsidy_no_truncate BEFORE TRUNCATE ON billing_invoicelinesubsidy
    FOR EACH STATEMENT EXECUTE FUNCTION billing_no_truncate();
CREATE TRIGGER billing_invoiceevent_no_truncate BEFORE TRUNCATE ON billing_invoiceevent
    FOR EACH STATEMENT EXECUTE FUNCTION billing_no_truncate();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS billing_invoiceevent_no_truncate ON billing_invoiceevent;
DROP TRIGGER IF EXISTS billing_invoicelinesubsidy_no_truncate ON billing_invoicelinesubsidy;
DROP TRIGGER IF EXISTS billing_invoiceline_no_truncate ON billing_invoiceline;
DROP TRIGGER IF EXISTS billing_invoice_no_truncate ON billing_invoice;
DROP FUNCTION IF EXISTS billing_no_truncate();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_standing_charges")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
