"""Generated date-translation pairs: unambiguous formats, reproducible draws, disjoint splits."""

import collections
import datetime
import random
import re

import pytest

from seqkit.data import dates
from seqkit.data.dates import DATE_FORMATS, TWO_DIGIT_YEAR_FORMATS, date_splits, format_date, generate_date_pairs

WINDOW_START, WINDOW_END = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)
FOUR_DIGIT_YEAR_FORMATS = tuple(name for name in DATE_FORMATS if name not in TWO_DIGIT_YEAR_FORMATS)


def every_day(start, end):
    return [start + datetime.timedelta(days=offset) for offset in range((end - start).days + 1)]


def find_collisions(render, dates_by_format):
    """Strings that `render(date, format_name)` gives for two different dates, over all formats together."""
    date_of, collisions = {}, {}
    for format_name, days in dates_by_format.items():
        for day in days:
            text = render(day, format_name)
            if date_of.setdefault(text, day) != day:
                collisions[text] = (date_of[text], day)
    return collisions


def random_days(count, seed=0, start=WINDOW_START, end=WINDOW_END):
    rng = random.Random(seed)
    span = (end - start).days
    return [start + datetime.timedelta(days=rng.randint(0, span)) for _ in range(count)]


# --- Every string determines its date -------------------------------------------------------


def test_every_rendered_string_determines_one_date_across_all_formats():
    # Every day of the two-digit-year window in every format, plus early years (where a
    # four-digit year like 0098 could be confused with a two-digit 98) in the four-digit formats.
    window = every_day(WINDOW_START, WINDOW_END)
    early = [
        datetime.date(year, month, day)
        for year in range(1, 101)
        for month in range(1, 13)
        for day in (1, 2, 3, 10, 11, 12, 13, 28)
    ]
    dates_by_format = {name: window + (early if name in FOUR_DIGIT_YEAR_FORMATS else []) for name in DATE_FORMATS}
    assert find_collisions(format_date, dates_by_format) == {}


def test_the_collision_check_catches_an_ambiguous_format():
    # Day-first with `/` next to month-first with `/`: "3/4/1998" would be two dates.
    def render(day, format_name):
        if format_name == "day_first_slash":
            return f"{day.day}/{day.month}/{day.year}"
        return format_date(day, format_name)

    days = every_day(datetime.date(1998, 1, 1), datetime.date(1998, 12, 31))
    collisions = find_collisions(render, {"us_numeric": days, "day_first_slash": days})
    assert "3/4/1998" in collisions
    assert set(collisions["3/4/1998"]) == {datetime.date(1998, 3, 4), datetime.date(1998, 4, 3)}


@pytest.mark.parametrize("format_name", DATE_FORMATS)
def test_each_format_is_one_to_one_on_random_dates(format_name):
    days = sorted(set(random_days(400, seed=7)))
    texts = [format_date(day, format_name) for day in days]
    assert len(set(texts)) == len(days)
    assert all(text and text == text.strip() and "  " not in text for text in texts)


# --- Round trips through strptime -----------------------------------------------------------

# strptime patterns for the English and numeric formats; strptime takes unpadded days and
# months and ignores case, so these cover the lowercase, uppercase and unpadded variants.
STRPTIME_PATTERNS = {
    "iso": "%Y-%m-%d",
    "iso_basic": "%Y%m%d",
    "us_numeric": "%m/%d/%Y",
    "us_numeric_short_year": "%m/%d/%y",
    "de_numeric": "%d.%m.%Y",
    "de_numeric_padded": "%d.%m.%Y",
    "en_day_month": "%d %B %Y",
    "en_day_month_lower": "%d %B %Y",
    "en_day_short_month": "%d %b %Y",
    "en_short_year": "%d %b %y",
    "en_ordinal_of": "the %d of %B %Y",
    "en_month_day": "%B %d, %Y",
    "en_month_day_upper": "%B %d, %Y",
    "en_short_month_day": "%b %d, %Y",
    "en_month_ordinal": "%B %d, %Y",
    "en_weekday_month_day": "%A, %B %d, %Y",
    "en_short_weekday": "%a %d %b %Y",
}


def c_locale_names():
    march_3 = datetime.date(1998, 3, 3)
    return (march_3.strftime("%B"), march_3.strftime("%a")) == ("March", "Tue")


needs_c_locale = pytest.mark.skipif(not c_locale_names(), reason="strftime/strptime do not use English names here")


def parse_with_strptime(text, format_name):
    text = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", text)  # strptime has no ordinal suffixes.
    parsed = datetime.datetime.strptime(text, STRPTIME_PATTERNS[format_name]).date()
    if "%y" in STRPTIME_PATTERNS[format_name]:
        # strptime puts 00-68 in the 2000s; the module's window puts 50-99 in the 1900s.
        year = parsed.year % 100
        parsed = parsed.replace(year=1900 + year if year >= 50 else 2000 + year)
    return parsed


@needs_c_locale
@pytest.mark.parametrize("format_name", sorted(STRPTIME_PATTERNS))
def test_english_and_numeric_formats_round_trip_through_strptime(format_name):
    for day in random_days(300, seed=11) + [WINDOW_START, WINDOW_END, datetime.date(2000, 2, 29)]:
        assert parse_with_strptime(format_date(day, format_name), format_name) == day


@needs_c_locale
def test_english_formats_match_strftime_exactly():
    for day in random_days(300, seed=3):
        month, short_month = day.strftime("%B"), day.strftime("%b")
        weekday, short_weekday = day.strftime("%A"), day.strftime("%a")
        expected = {
            "iso": day.strftime("%Y-%m-%d"),
            "iso_basic": day.strftime("%Y%m%d"),
            "us_numeric": f"{day.month}/{day.day}/{day.year}",
            "us_numeric_short_year": day.strftime("%m/%d/%y"),
            "de_numeric": f"{day.day}.{day.month}.{day.year}",
            "de_numeric_padded": day.strftime("%d.%m.%Y"),
            "en_day_month": f"{day.day} {month} {day.year}",
            "en_day_month_lower": f"{day.day} {month.lower()} {day.year}",
            "en_day_short_month": f"{day.day} {short_month} {day.year}",
            "en_short_year": f"{day.day} {short_month} {day.strftime('%y')}",
            "en_month_day": f"{month} {day.day}, {day.year}",
            "en_month_day_upper": f"{month.upper()} {day.day}, {day.year}",
            "en_short_month_day": f"{short_month} {day.day}, {day.year}",
            "en_weekday_month_day": f"{weekday}, {month} {day.day}, {day.year}",
            "en_short_weekday": f"{short_weekday} {day.day} {short_month} {day.year}",
        }
        for format_name, text in expected.items():
            assert format_date(day, format_name) == text, format_name


def test_four_digit_years_are_zero_padded():
    assert format_date(datetime.date(98, 10, 10), "us_numeric") == "10/10/0098"
    assert format_date(datetime.date(98, 10, 10), "iso") == "0098-10-10"
    assert format_date(datetime.date(2005, 1, 9), "us_numeric_short_year") == "01/09/05"
    assert format_date(datetime.date(1950, 1, 9), "en_short_year") == "9 Jan 50"


# --- Ordinals, French "1er", the other languages --------------------------------------------

ORDINALS = {
    1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 9: "9th", 10: "10th", 11: "11th", 12: "12th", 13: "13th",
    14: "14th", 20: "20th", 21: "21st", 22: "22nd", 23: "23rd", 24: "24th", 30: "30th", 31: "31st",
}


@pytest.mark.parametrize("day, ordinal", sorted(ORDINALS.items()))
def test_english_ordinal_suffixes(day, ordinal):
    date = datetime.date(1998, 1, day)
    assert format_date(date, "en_month_ordinal") == f"January {ordinal}, 1998"
    assert format_date(date, "en_ordinal_of") == f"the {ordinal} of January 1998"


def test_french_writes_1er_for_the_first_only():
    first = datetime.date(1998, 3, 1)  # A Sunday.
    assert format_date(first, "fr_le") == "le 1er mars 1998"
    assert format_date(first, "fr_long") == "1er mars 1998"
    assert format_date(first, "fr_weekday") == "dimanche 1er mars 1998"
    assert format_date(datetime.date(1998, 3, 2), "fr_le") == "le 2 mars 1998"
    assert format_date(datetime.date(1998, 3, 11), "fr_long") == "11 mars 1998"
    assert format_date(datetime.date(1998, 3, 21), "fr_long") == "21 mars 1998"


def test_spanish_and_german_examples():
    march_3 = datetime.date(1998, 3, 3)
    assert format_date(march_3, "es_long") == "3 de marzo de 1998"
    assert format_date(march_3, "es_weekday") == "martes, 3 de marzo de 1998"
    assert format_date(march_3, "de_long") == "3. März 1998"
    assert format_date(march_3, "de_weekday") == "Dienstag, 3. März 1998"
    assert format_date(datetime.date(2021, 8, 15), "fr_long") == "15 août 2021"
    assert format_date(datetime.date(2021, 12, 24), "de_numeric") == "24.12.2021"
    assert format_date(datetime.date(2021, 2, 5), "de_numeric_padded") == "05.02.2021"


WEEK = [datetime.date(2024, 1, 1) + datetime.timedelta(days=offset) for offset in range(7)]  # Monday first.
WEEKDAY_NAMES = {
    "es_weekday": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    "fr_weekday": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "de_weekday": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
    "en_weekday_month_day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}


@pytest.mark.parametrize("format_name", sorted(WEEKDAY_NAMES))
def test_weekday_names_match_the_date(format_name):
    assert WEEK[0].weekday() == 0
    for day, name in zip(WEEK, WEEKDAY_NAMES[format_name]):
        assert format_date(day, format_name).startswith(name + (" " if format_name == "fr_weekday" else ",")), day


def test_the_twelve_month_names_are_distinct_in_each_language():
    for format_name in ("es_long", "fr_long", "de_long", "en_day_month", "en_day_short_month"):
        texts = [format_date(datetime.date(2001, month, 15), format_name) for month in range(1, 13)]
        assert len(set(texts)) == 12, format_name


# --- generate_date_pairs ----------------------------------------------------------------------


def test_pairs_are_reproducible_and_pinned_for_a_seed():
    # Pinned values: `random.Random` gives this list on every machine and Python version.
    assert generate_date_pairs(3, seed=0, formats=["iso", "en_month_day"]) == [
        ("February 15, 2019", "2019-02-15"),
        ("April 7, 1957", "1957-04-07"),
        ("September 26, 2041", "2041-09-26"),
    ]
    assert generate_date_pairs(500, seed=4) == generate_date_pairs(500, seed=4)
    assert generate_date_pairs(500, seed=4) != generate_date_pairs(500, seed=5)


def test_pairs_are_right_and_cover_the_range_and_formats():
    pairs = generate_date_pairs(6000, seed=1)
    assert len(pairs) == 6000
    used = collections.Counter()
    for source, target in pairs:
        day = datetime.date.fromisoformat(target)
        assert WINDOW_START <= day <= WINDOW_END
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", target)
        matching = [name for name in DATE_FORMATS if format_date(day, name) == source]
        assert matching, (source, target)
        used.update(matching)
    assert set(used) == set(DATE_FORMATS)
    # About 6000 / 24 = 250 draws a format; `de_numeric` also matches padded days >= 10.
    assert min(used.values()) > 150


def test_pairs_include_both_ends_of_the_range_and_respect_formats():
    start, end = datetime.date(1999, 12, 31), datetime.date(2000, 1, 1)
    pairs = generate_date_pairs(50, seed=0, start=start, end=end, formats=["iso_basic", "fr_le"])
    assert {target for _, target in pairs} == {"1999-12-31", "2000-01-01"}
    assert {source for source, _ in pairs} <= {"19991231", "20000101", "le 31 décembre 1999", "le 1er janvier 2000"}
    assert generate_date_pairs(0) == []


def test_four_digit_formats_may_leave_the_two_digit_window():
    pairs = generate_date_pairs(20, seed=0, start=datetime.date(1800, 1, 1), end=datetime.date(1800, 12, 31), formats=["iso"])
    assert all(target.startswith("1800-") and source == target for source, target in pairs)


# --- date_splits --------------------------------------------------------------------------------


def test_splits_have_the_asked_sizes_and_no_shared_source():
    splits = date_splits(3000, 300, 300, seed=2)
    assert list(splits) == ["train", "dev", "test"]
    assert [len(splits[name]) for name in ("train", "dev", "test")] == [3000, 300, 300]
    sources = [source for pairs in splits.values() for source, _ in pairs]
    assert len(set(sources)) == len(sources)
    for pairs in splits.values():
        for source, target in pairs:
            day = datetime.date.fromisoformat(target)
            assert any(format_date(day, name) == source for name in DATE_FORMATS), source


def test_splits_stay_disjoint_when_the_range_is_nearly_used_up():
    # 91 days in 3 formats: 273 distinct strings, of which 250 are asked for.
    options = dict(start=datetime.date(2000, 1, 1), end=datetime.date(2000, 3, 31), formats=["iso", "fr_le", "en_short_year"])
    splits = date_splits(200, 25, 25, seed=0, **options)
    sources = [source for pairs in splits.values() for source, _ in pairs]
    assert len(sources) == 250 and len(set(sources)) == 250
    # Plain draws repeat strings in this range, so disjointness is the split's doing.
    drawn = [source for source, _ in generate_date_pairs(250, seed=0, **options)]
    assert len(set(drawn)) < 250


def test_splits_are_reproducible_and_keep_dev_and_test_as_train_grows():
    first = date_splits(500, 50, 50, seed=9)
    assert first == date_splits(500, 50, 50, seed=9)
    assert first != date_splits(500, 50, 50, seed=10)
    bigger = date_splits(800, 50, 50, seed=9)
    assert bigger["test"] == first["test"] and bigger["dev"] == first["dev"]
    assert bigger["train"][:500] == first["train"]


# --- Bad arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 2.5, "3", None, True])
def test_bad_num_examples(value):
    with pytest.raises(ValueError, match=r"`num_examples` must be a non-negative int\. Received: num_examples="):
        generate_date_pairs(value)


@pytest.mark.parametrize("name", ["num_train", "num_dev", "num_test"])
@pytest.mark.parametrize("value", [-5, 1.0, None])
def test_bad_split_sizes(name, value):
    sizes = {"num_train": 10, "num_dev": 2, "num_test": 2, name: value}
    with pytest.raises(ValueError, match=rf"`{name}` must be a non-negative int"):
        date_splits(**sizes)


def test_start_after_end():
    with pytest.raises(ValueError, match=r"`start` must not be after `end`.*start=2000-01-02, end=2000-01-01"):
        generate_date_pairs(5, start=datetime.date(2000, 1, 2), end=datetime.date(2000, 1, 1))
    with pytest.raises(ValueError, match=r"`start` must not be after `end`"):
        date_splits(5, 1, 1, start=datetime.date(2000, 1, 2), end=datetime.date(2000, 1, 1))


@pytest.mark.parametrize("name", ["start", "end"])
@pytest.mark.parametrize("value", ["2000-01-01", datetime.datetime(2000, 1, 1), 2000])
def test_start_and_end_must_be_dates(name, value):
    with pytest.raises(ValueError, match=rf"`{name}` must be a datetime.date"):
        generate_date_pairs(5, **{name: value})


def test_unknown_format_names():
    with pytest.raises(ValueError, match=r"Unknown names in `formats`: \['klingon'\]"):
        generate_date_pairs(5, formats=["iso", "klingon"])
    with pytest.raises(ValueError, match=r"`formats` must be a list of format names, not a string"):
        generate_date_pairs(5, formats="iso")
    with pytest.raises(ValueError, match=r"`formats` must name at least one format"):
        date_splits(5, 1, 1, formats=[])
    with pytest.raises(ValueError, match=r"Unknown `format_name`.*format_name='klingon'"):
        format_date(datetime.date(2000, 1, 1), "klingon")


def test_two_digit_years_outside_their_window():
    with pytest.raises(ValueError, match=r"`start` and `end` must lie in the two-digit-year window 1950-2049.*en_short_year"):
        generate_date_pairs(5, start=datetime.date(1949, 12, 31))
    with pytest.raises(ValueError, match=r"`start` and `end` must lie in the two-digit-year window"):
        date_splits(5, 1, 1, end=datetime.date(2050, 1, 1), formats=["iso", "us_numeric_short_year"])
    with pytest.raises(ValueError, match=r"`date` must lie in the two-digit-year window.*date=2050-01-01"):
        format_date(datetime.date(2050, 1, 1), "en_short_year")
    # Without a two-digit-year format the window does not apply.
    assert len(generate_date_pairs(5, start=datetime.date(1900, 1, 1), formats=["iso", "de_long"])) == 5


def test_other_bad_arguments():
    with pytest.raises(ValueError, match=r"`seed` must be an int. Received: seed='abc'"):
        generate_date_pairs(5, seed="abc")
    with pytest.raises(ValueError, match=r"`date` must be a datetime.date. Received: date='1998-03-03'"):
        format_date("1998-03-03", "iso")
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['fromats'\]"):
        date_splits(5, 1, 1, fromats=["iso"])


def test_splits_larger_than_the_range_allows():
    one_day = dict(start=datetime.date(2000, 10, 10), end=datetime.date(2000, 10, 10))
    with pytest.raises(ValueError, match=r"3 distinct source strings were asked for.*at most 1"):
        date_splits(1, 1, 1, formats=["iso"], **one_day)
    # Two formats, but they write 10 October 2000 the same way: 10.10.2000.
    with pytest.raises(ValueError, match=r"Found only 1 distinct source strings of the 2"):
        date_splits(1, 1, 0, formats=["de_numeric", "de_numeric_padded"], **one_day)
    assert dates.date_splits(1, 0, 0, formats=["de_numeric", "de_numeric_padded"], **one_day)["train"] == [
        ("10.10.2000", "2000-10-10")
    ]
