"""Working days as China counts them: statutory holidays, 调休 make-up weekends, a local override."""

from __future__ import annotations

from datetime import date, datetime

from pingan.config import PolicySettings
from pingan.policy import is_working_day, snapshot
from pingan.rules.resolution import resolve_due
from tests.conftest import TZ


def test_national_day_and_its_make_up_saturday():
    assert not is_working_day(date(2026, 10, 5))  # a Monday in the National Day holiday
    assert is_working_day(date(2026, 10, 10))  # a Saturday worked for it (调休)
    assert not is_working_day(date(2026, 10, 11))


def test_three_working_days_from_the_eve_of_national_day(tmp_path):
    snap = snapshot(PolicySettings(working_days=True))
    due = resolve_due(snap, "中", datetime(2026, 9, 30, 10, tzinfo=TZ))
    assert due.date() == date(2026, 10, 10)  # 10-08, 10-09 and the make-up Saturday


def test_the_local_file_overrides_the_national_calendar(tmp_path):
    f = tmp_path / "holidays.txt"
    f.write_text("2026-10-08  # the town's own day off\n2026-10-11 上班\n", "utf-8")
    snap = snapshot(PolicySettings(working_days=True, holidays_file=str(f)))
    assert snap["holidays"] == ["2026-10-08"] and snap["workdays"] == ["2026-10-11"]
    due = resolve_due(snap, "中", datetime(2026, 9, 30, 10, tzinfo=TZ))
    assert due.date() == date(2026, 10, 11)  # 10-09, 10-10, and the Sunday worked locally


def test_a_year_the_package_does_not_know_counts_monday_to_friday():
    assert is_working_day(date(2099, 3, 2)) and not is_working_day(date(2099, 3, 1))
