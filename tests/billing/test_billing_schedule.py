"""The yearly run is started by beat on 1 January; the task is registered with the worker app."""

from django.conf import settings

from config.celery import app


def test_beat_starts_the_yearly_run_on_the_first_of_january():
    entry = settings.CELERY_BEAT_SCHEDULE["yearly-billing-run"]
    schedule = entry["schedule"]
    assert entry["task"] == "billing.tasks.yearly_billing_run_task"
    app.loader.import_default_modules()  # what a worker does at start: autodiscover tasks.py
    assert entry["task"] in app.tasks
    assert schedule.month_of_year == {1} and schedule.day_of_month == {1}
    assert (schedule.hour, schedule.minute) == ({2}, {0})
    # due once a year: on 1 January at 02:00, not on any other day
    assert schedule.day_of_week == set(range(7))
