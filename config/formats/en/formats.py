"""Date and time formats for every page, the admin included: ISO order, 24-hour clock.

Django's English locale would show "Nov. 30, 2026, 1:05 p.m."; people comparing run
times across teams and time zones read 2026-11-30 13:05 unambiguously."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_DAY_FORMAT = "m-d"
YEAR_MONTH_FORMAT = "Y-m"
FIRST_DAY_OF_WEEK = 1
