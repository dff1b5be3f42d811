"""How the pages say a time (governance_app/kernel/wording.py): `ago` and `when` are faster
copies of what Django's timesince and date filter say, so they are held to Django's own words."""

from datetime import UTC, date, datetime, timedelta

from django.template import Context, Template
from django.utils import timezone, translation
from django.utils.timesince import timesince
from hypothesis import given, settings
from hypothesis import strategies as st

from governance_app.kernel import wording

MOMENTS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC))
# Spans a list shows: seconds to decades, with the month ends and leap days that make timesince's
# month count differ from a count of days.
SPANS = st.one_of(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
                  st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
                  st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=12_000)))


@settings(max_examples=400, deadline=None)
@given(now=MOMENTS, span=SPANS)
def test_ago_says_what_timesince_says_at_a_depth_of_one(now, span):
    value = now - span
    assert wording.ago(value, now) == f"{timesince(value, now, depth=1)} ago"


@settings(max_examples=200, deadline=None)
@given(now=MOMENTS, span=SPANS)
def test_ago_compares_in_the_value_time_zone_as_timesince_does(now, span):
    value = (now - span).astimezone(timezone.get_fixed_timezone(-300))
    assert wording.ago(value, now) == f"{timesince(value, now, depth=1)} ago"


def test_ago_without_a_moment_and_of_the_present():
    now = timezone.now()
    assert wording.ago(None) == "—"
    assert wording.ago(now) == "0\xa0minutes ago"
    assert wording.ago(now - timedelta(days=15)) == "2\xa0weeks ago"
    assert wording.ago(now + timedelta(hours=5)) == "0\xa0minutes ago"  # a moment to come, as timesince says
    assert wording.ago(date(2000, 1, 1), datetime(2001, 3, 1)) == "1\xa0year ago"


def test_ago_words_each_phrase_in_the_language_active():
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    with translation.override("de"):
        assert wording.ago(now - timedelta(days=3), now) == f"{timesince(now - timedelta(days=3), now, depth=1)} ago"
        german = wording.ago(now - timedelta(days=3), now)
    assert wording.ago(now - timedelta(days=3), now) == "3\xa0days ago" != german


@settings(max_examples=150, deadline=None)
@given(moment=MOMENTS, zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]))
def test_when_is_the_date_filters_j_M_Y_H_i(moment, zone):
    with timezone.override(zone):
        assert wording.when(moment) == Template("{{ m|date:'j M Y, H:i' }}").render(Context({"m": moment}))
