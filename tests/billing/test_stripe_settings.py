"""Stripe secrets in production: never the development values from the repository.

The production settings are imported in a fresh interpreter with a chosen environment (as the
container and ``.ci/run`` start them); the webhook refuses every request without a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

from billing.models import StripeEvent
from tests.billing.stripe_support import WEBHOOK_URL, event

ROOT = Path(__file__).resolve().parents[2]
#: The development values in config/settings/base.py, public in the repository.
STRIPE_DEV_SECRET_KEY = "sk_test_ozgshop"
STRIPE_DEV_WEBHOOK_SECRET = "whsec_ozgshop_local"
REAL_KEY = "sk_live_51ozgshopRealLookingKey"
REAL_WEBHOOK_SECRET = "whsec_realLookingSecretFromTheDashboard"
PRINT = (
    "import json, config.settings.production as s; "
    "print(json.dumps([s.STRIPE_ENABLED, s.STRIPE_SECRET_KEY, s.STRIPE_WEBHOOK_SECRET]))"
)


def production(**stripe_env: str) -> subprocess.CompletedProcess:
    """Import config.settings.production with the environment of .ci/run plus ``stripe_env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "DJANGO_"))}
    environment.update(
        DJANGO_SECRET_KEY="ci-" + "x" * 60,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/ozg_ci",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
        DJANGO_ALLOWED_HOSTS="shop.kisa.example,.shop.kisa.example",
        **stripe_env,
    )
    return subprocess.run(
        [sys.executable, "-c", PRINT], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def started(result: subprocess.CompletedProcess) -> list:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refused(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "stripe_env",
    [
        {},
        {"STRIPE_SECRET_KEY": STRIPE_DEV_SECRET_KEY, "STRIPE_WEBHOOK_SECRET": STRIPE_DEV_WEBHOOK_SECRET},
        {"STRIPE_SECRET_KEY": "", "STRIPE_WEBHOOK_SECRET": ""},
    ],
    ids=["unset", "development-values", "empty"],
)
def test_stripe_enabled_without_own_secrets_refuses_to_start(stripe_env):
    message = refused(production(STRIPE_ENABLED="1", **stripe_env))
    assert "STRIPE_ENABLED ist eingeschaltet, aber STRIPE_SECRET_KEY und STRIPE_WEBHOOK_SECRET" in message
    assert "Entwicklungswert" in message


def test_each_missing_secret_is_named():
    only_key = refused(production(STRIPE_ENABLED="1", STRIPE_SECRET_KEY=REAL_KEY))
    assert "aber STRIPE_WEBHOOK_SECRET fehlt" in only_key
    dev_key = refused(
        production(
            STRIPE_ENABLED="1",
            STRIPE_SECRET_KEY=STRIPE_DEV_SECRET_KEY,
            STRIPE_WEBHOOK_SECRET=REAL_WEBHOOK_SECRET,
        )
    )
    assert "aber STRIPE_SECRET_KEY fehlt" in dev_key


def test_stripe_enabled_with_own_secrets_starts():
    result = production(
        STRIPE_ENABLED="1", STRIPE_SECRET_KEY=REAL_KEY, STRIPE_WEBHOOK_SECRET=REAL_WEBHOOK_SECRET
    )
    assert started(result) == [True, REAL_KEY, REAL_WEBHOOK_SECRET]


def test_stripe_disabled_starts_without_secrets_and_drops_the_development_values():
    """As in .ci/run (no Stripe variables): the installation starts, and neither development
    value from the repository stays in force (the webhook then refuses everything)."""
    assert started(production()) == [False, "", ""]
    assert started(
        production(STRIPE_SECRET_KEY=STRIPE_DEV_SECRET_KEY, STRIPE_WEBHOOK_SECRET=STRIPE_DEV_WEBHOOK_SECRET)
    ) == [False, "", ""]


def test_without_a_webhook_secret_every_request_is_refused(db, settings):
    """An empty secret proves nothing: a payload signed with the empty key is refused too."""
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = json.dumps(event("invoice.paid", {"id": "in_x", "object": "invoice"}))
    t = int(time.time())
    signature = hmac.new(b"", f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    response = Client(HTTP_HOST="localhost").post(
        WEBHOOK_URL,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={t},v1={signature}",
    )
    assert response.status_code == 400
    assert response.content.decode() == "Stripe-Webhook ist nicht eingerichtet."
    assert not StripeEvent.objects.exists()
