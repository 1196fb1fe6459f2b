def test_healthz_reports_database_and_broker(db, client):
    response = client.get("/healthz", HTTP_HOST="localhost")
    data = response.json()
    assert data["database"] == "ok"
    assert data["broker"] == "ok"
    assert response.status_code == 200


def test_base_layout_is_german_and_accessible(towns):
    html = towns["leipzig"].client().get("/").content.decode()
    assert '<html lang="de">' in html
    assert 'class="skip-link" href="#inhalt"' in html
    assert '<main id="inhalt"' in html and 'role="banner"' in html and 'role="contentinfo"' in html
    assert "Leipzig" in html and "AGS 14713000" in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # no external resources


def test_english_is_available(towns):
    client = towns["leipzig"].client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Skip to content" in html and "Please sign in with your municipality" in html


def test_money_filter_formats_german():
    from decimal import Decimal

    from core.templatetags.ozg import eur, neg_eur

    assert eur(Decimal("1234.5")) == "1.234,50 €"
    assert neg_eur(Decimal("1200")) == "−1.200,00 €"
