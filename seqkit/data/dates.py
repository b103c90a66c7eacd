"""Human-readable dates paired with their ISO 8601 form: data for a date-translation task.

The pairs are generated in code (no download): a date drawn uniformly from a range
is written in one of `DATE_FORMATS` (English, Spanish, French and German words,
numeric forms, ISO itself) and paired with its `YYYY-MM-DD` form.

Every rendered string determines its date, so the task is a function a model can
learn: `/` always separates month/day/year (US order), `.` always day.month.year
(German order), two-digit years always fall in `TWO_DIGIT_YEAR_WINDOW` (1950-2049:
`98` is 1998, `05` is 2005) and four-digit years are zero-padded (`0098`).
Month and weekday names come from the tables below, never from the system locale.
"""

import datetime
import numbers
import random

# Two-digit years `50`..`99` are 1950..1999 and `00`..`49` are 2000..2049.
TWO_DIGIT_YEAR_WINDOW = (1950, 2049)

_MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "es": (
        "enero", "febrero", "marzo", "abril", "mayo", "junio",
        "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    ),
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "de": (
        "Januar", "Februar", "März", "April", "Mai", "Juni",
        "Juli", "August", "September", "Oktober", "November", "Dezember",
    ),
}
_SHORT_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Monday first, as `datetime.date.weekday()` counts.
_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}
_SHORT_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _english_ordinal(day):
    """`1st`, `2nd`, `3rd`, `4th`, ..., `11th`, `12th`, `13th`, ..., `21st`, `22nd`, `23rd`, ..., `31st`."""
    if 11 <= day % 100 <= 13:
        return f"{day}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _french_day(day):
    # French writes the first of the month as an ordinal, "1er", and the other days as numbers.
    return "1er" if day == 1 else str(day)


# Each renderer takes (year, month, day, weekday) with month 1..12 and weekday 0 (Monday)..6.
_RENDERERS = {
    # ISO 8601 itself, extended and basic.
    "iso": lambda y, m, d, w: f"{y:04d}-{m:02d}-{d:02d}",
    "iso_basic": lambda y, m, d, w: f"{y:04d}{m:02d}{d:02d}",
    # `/` is always month first (US order).
    "us_numeric": lambda y, m, d, w: f"{m}/{d}/{y:04d}",
    "us_numeric_short_year": lambda y, m, d, w: f"{m:02d}/{d:02d}/{y % 100:02d}",
    # `.` is always day first (German order).
    "de_numeric": lambda y, m, d, w: f"{d}.{m}.{y:04d}",
    "de_numeric_padded": lambda y, m, d, w: f"{d:02d}.{m:02d}.{y:04d}",
    # English words.
    "en_day_month": lambda y, m, d, w: f"{d} {_MONTHS['en'][m - 1]} {y:04d}",
    "en_day_month_lower": lambda y, m, d, w: f"{d} {_MONTHS['en'][m - 1].lower()} {y:04d}",
    "en_day_short_month": lambda y, m, d, w: f"{d} {_SHORT_MONTHS_EN[m - 1]} {y:04d}",
    "en_short_year": lambda y, m, d, w: f"{d} {_SHORT_MONTHS_EN[m - 1]} {y % 100:02d}",
    "en_ordinal_of": lambda y, m, d, w: f"the {_english_ordinal(d)} of {_MONTHS['en'][m - 1]} {y:04d}",
    "en_month_day": lambda y, m, d, w: f"{_MONTHS['en'][m - 1]} {d}, {y:04d}",
    "en_month_day_upper": lambda y, m, d, w: f"{_MONTHS['en'][m - 1].upper()} {d}, {y:04d}",
    "en_short_month_day": lambda y, m, d, w: f"{_SHORT_MONTHS_EN[m - 1]} {d}, {y:04d}",
    "en_month_ordinal": lambda y, m, d, w: f"{_MONTHS['en'][m - 1]} {_english_ordinal(d)}, {y:04d}",
    "en_weekday_month_day": lambda y, m, d, w: f"{_WEEKDAYS['en'][w]}, {_MONTHS['en'][m - 1]} {d}, {y:04d}",
    "en_short_weekday": lambda y, m, d, w: f"{_SHORT_WEEKDAYS_EN[w]} {d} {_SHORT_MONTHS_EN[m - 1]} {y:04d}",
    # Spanish.
    "es_long": lambda y, m, d, w: f"{d} de {_MONTHS['es'][m - 1]} de {y:04d}",
    "es_weekday": lambda y, m, d, w: f"{_WEEKDAYS['es'][w]}, {d} de {_MONTHS['es'][m - 1]} de {y:04d}",
    # French.
    "fr_long": lambda y, m, d, w: f"{_french_day(d)} {_MONTHS['fr'][m - 1]} {y:04d}",
    "fr_le": lambda y, m, d, w: f"le {_french_day(d)} {_MONTHS['fr'][m - 1]} {y:04d}",
    "fr_weekday": lambda y, m, d, w: f"{_WEEKDAYS['fr'][w]} {_french_day(d)} {_MONTHS['fr'][m - 1]} {y:04d}",
    # German.
    "de_long": lambda y, m, d, w: f"{d}. {_MONTHS['de'][m - 1]} {y:04d}",
    "de_weekday": lambda y, m, d, w: f"{_WEEKDAYS['de'][w]}, {d}. {_MONTHS['de'][m - 1]} {y:04d}",
}

DATE_FORMATS = tuple(_RENDERERS)
# The formats that write the year with two digits: their dates must lie in `TWO_DIGIT_YEAR_WINDOW`.
TWO_DIGIT_YEAR_FORMATS = ("us_numeric_short_year", "en_short_year")


def _in_two_digit_year_window(date):
    return TWO_DIGIT_YEAR_WINDOW[0] <= date.year <= TWO_DIGIT_YEAR_WINDOW[1]


def format_date(date, format_name):
    """Writes a `datetime.date` in one of `DATE_FORMATS`.

    Formats that write a two-digit year (`TWO_DIGIT_YEAR_FORMATS`) take only dates
    in `TWO_DIGIT_YEAR_WINDOW`, so that the string still determines the date.

    Examples:
    >>> march_3 = datetime.date(1998, 3, 3)
    >>> for name in DATE_FORMATS:
    ...     print(f"{name:22} {format_date(march_3, name)}")
    iso                    1998-03-03
    iso_basic              19980303
    us_numeric             3/3/1998
    us_numeric_short_year  03/03/98
    de_numeric             3.3.1998
    de_numeric_padded      03.03.1998
    en_day_month           3 March 1998
    en_day_month_lower     3 march 1998
    en_day_short_month     3 Mar 1998
    en_short_year          3 Mar 98
    en_ordinal_of          the 3rd of March 1998
    en_month_day           March 3, 1998
    en_month_day_upper     MARCH 3, 1998
    en_short_month_day     Mar 3, 1998
    en_month_ordinal       March 3rd, 1998
    en_weekday_month_day   Tuesday, March 3, 1998
    en_short_weekday       Tue 3 Mar 1998
    es_long                3 de marzo de 1998
    es_weekday             martes, 3 de marzo de 1998
    fr_long                3 mars 1998
    fr_le                  le 3 mars 1998
    fr_weekday             mardi 3 mars 1998
    de_long                3. März 1998
    de_weekday             Dienstag, 3. März 1998
    >>> format_date(datetime.date(1998, 3, 1), "fr_le")
    'le 1er mars 1998'
    """
    if not isinstance(date, datetime.date):
        raise ValueError(f"`date` must be a datetime.date. Received: date={date!r}")
    renderer = _RENDERERS.get(format_name)
    if renderer is None:
        raise ValueError(f"Unknown `format_name`. Expected one of {list(DATE_FORMATS)}. Received: format_name={format_name!r}")
    if format_name in TWO_DIGIT_YEAR_FORMATS and not _in_two_digit_year_window(date):
        low, high = TWO_DIGIT_YEAR_WINDOW
        raise ValueError(
            f"`date` must lie in the two-digit-year window {low}-{high} for format {format_name!r}. "
            f"Received: date={date.isoformat()}"
        )
    return renderer(date.year, date.month, date.day, date.weekday())


def _check_count(name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative int. Received: {name}={value!r}")
    return int(value)


def _check_options(seed, start, end, formats):
    """Validates the generation options; returns `(seed, start, end, formats)` normalized."""
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise ValueError(f"`seed` must be an int. Received: seed={seed!r}")
    for name, value in (("start", start), ("end", end)):
        # A datetime is a date subclass, but it does not compare with dates: refuse it plainly.
        if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
            raise ValueError(f"`{name}` must be a datetime.date. Received: {name}={value!r}")
    if start > end:
        raise ValueError(f"`start` must not be after `end`. Received: start={start.isoformat()}, end={end.isoformat()}")
    if formats is None:
        formats = DATE_FORMATS
    elif isinstance(formats, str):
        raise ValueError(f"`formats` must be a list of format names, not a string. Received: formats={formats!r}")
    formats = tuple(formats)
    if not formats:
        raise ValueError("`formats` must name at least one format. Received: formats=()")
    unknown = [name for name in formats if name not in _RENDERERS]
    if unknown:
        raise ValueError(f"Unknown names in `formats`: {unknown}. Expected names from {list(DATE_FORMATS)}.")
    two_digit = sorted(set(formats) & set(TWO_DIGIT_YEAR_FORMATS))
    if two_digit and not (_in_two_digit_year_window(start) and _in_two_digit_year_window(end)):
        low, high = TWO_DIGIT_YEAR_WINDOW
        raise ValueError(
            f"`start` and `end` must lie in the two-digit-year window {low}-{high} when `formats` "
            f"includes {two_digit}. Received: start={start.isoformat()}, end={end.isoformat()}"
        )
    return int(seed), start, end, formats


def _pair_stream(rng, start, end, formats):
    """Endless `(source, target)` pairs: a uniform date in [start, end], a uniform format."""
    num_days = (end - start).days + 1
    while True:
        date = start + datetime.timedelta(days=rng.randrange(num_days))
        format_name = formats[rng.randrange(len(formats))]
        yield format_date(date, format_name), date.isoformat()


def generate_date_pairs(
    num_examples,
    seed=0,
    start=datetime.date(1950, 1, 1),
    end=datetime.date(2049, 12, 31),
    formats=None,
):
    """`num_examples` pairs `(human-readable date, "YYYY-MM-DD")`, reproducibly.

    Args:
        num_examples: how many pairs to draw (with replacement, so a pair may repeat).
        seed: the seed of a `random.Random`; the same seed gives the same list on every machine.
        start, end: the first and last date that may be drawn (both included).
        formats: names from `DATE_FORMATS` (default: all); each pair picks one
            uniformly, so a name listed twice is drawn twice as often.

    Returns:
        A list of `(source, target)` string pairs.

    Examples:
    >>> generate_date_pairs(2, seed=0, formats=["en_month_day", "de_long"])
    [('15. Februar 2019', '2019-02-15'), ('7. April 1957', '1957-04-07')]
    """
    num_examples = _check_count("num_examples", num_examples)
    seed, start, end, formats = _check_options(seed, start, end, formats)
    stream = _pair_stream(random.Random(seed), start, end, formats)
    return [next(stream) for _ in range(num_examples)]


def date_splits(num_train, num_dev, num_test, seed=0, **options):
    """Train, dev and test pairs whose source strings are all distinct, reproducibly.

    No source string occurs twice, within a split or across splits, so test
    accuracy is measured on inputs never seen in training. The same date may still
    appear in two splits written in different formats. The test pairs are drawn
    first, then dev, then train: for a seed, growing `num_train` keeps dev and test.

    Args:
        num_train, num_dev, num_test: the size of each split.
        seed: as in `generate_date_pairs`.
        **options: `start`, `end` and `formats`, as in `generate_date_pairs`.

    Returns:
        `{"train": pairs, "dev": pairs, "test": pairs}`.

    Examples:
    >>> splits = date_splits(100, 10, 10, seed=0)
    >>> {name: len(pairs) for name, pairs in splits.items()}
    {'train': 100, 'dev': 10, 'test': 10}
    """
    unexpected = sorted(set(options) - {"start", "end", "formats"})
    if unexpected:
        raise TypeError(f"date_splits() got unexpected keyword arguments {unexpected}; expected start, end, formats.")
    num_test = _check_count("num_test", num_test)
    num_dev = _check_count("num_dev", num_dev)
    num_train = _check_count("num_train", num_train)
    seed, start, end, formats = _check_options(
        seed,
        options.get("start", datetime.date(1950, 1, 1)),
        options.get("end", datetime.date(2049, 12, 31)),
        options.get("formats"),
    )
    total = num_train + num_dev + num_test
    num_days = (end - start).days + 1
    if total > num_days * len(set(formats)):
        raise ValueError(
            f"{total} distinct source strings were asked for, but {num_days} days in {len(set(formats))} formats "
            f"give at most {num_days * len(set(formats))}. Received: num_train={num_train}, num_dev={num_dev}, "
            f"num_test={num_test}, start={start.isoformat()}, end={end.isoformat()}"
        )
    stream = _pair_stream(random.Random(seed), start, end, formats)
    seen, pairs = set(), []
    # Rejection sampling; some formats coincide on some dates (10.10.1998 is `de_numeric` and
    # `de_numeric_padded`), so the bound above may not be reachable: give up after many draws.
    max_draws, draws = 50 * total + 1000, 0
    while len(pairs) < total:
        if draws == max_draws:
            raise ValueError(
                f"Found only {len(pairs)} distinct source strings of the {total} asked for in {max_draws} draws: "
                "widen `start`..`end`, add `formats` or ask for fewer examples."
            )
        draws += 1
        source, target = next(stream)
        if source not in seen:
            seen.add(source)
            pairs.append((source, target))
    return {
        "train": pairs[num_test + num_dev :],
        "dev": pairs[num_test : num_test + num_dev],
        "test": pairs[:num_test],
    }
