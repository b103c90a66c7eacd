"""NER tag schemes: IOB1, BIO (IOB2) and BIOES, with conversion, checks and entity spans.

A tag is "O" or a prefix, a dash and an entity type: "B-PER", "I-ORG", "E-LOC", "S-MISC".

- IOB1 (the original CoNLL-2003 files): "I-" on every entity token; "B-" only on the
  first token of an entity that directly follows another entity of the same type.
- BIO / IOB2: "B-" on the first token of every entity, "I-" on the others.
- BIOES: "B-" first, "I-" inside, "E-" last, "S-" for single-token entities.

Everything here is pure Python and returns plain lists.

Examples:
>>> convert(["I-PER", "I-PER", "O", "I-LOC"], "iob1", "bioes")
['B-PER', 'E-PER', 'O', 'S-LOC']
>>> spans(["B-PER", "I-PER", "O", "B-LOC"])
[('PER', 0, 2), ('LOC', 3, 4)]
"""

from seqkit.data.errors import DataError

SCHEMES = ("iob1", "bio", "bioes")
_ALIASES = {"iob2": "bio"}
_PREFIXES = {"iob1": "BI", "bio": "BI", "bioes": "BIES"}


def scheme_name(scheme):
    """The canonical name of a tag scheme ("iob2" is an alias of "bio"); a ValueError if unknown.

    Examples:
    >>> scheme_name("IOB2")
    'bio'
    """
    name = str(scheme).lower()
    name = _ALIASES.get(name, name)
    if name not in SCHEMES:
        raise ValueError(
            f"Unknown tag scheme {scheme!r}. Expected one of {list(SCHEMES) + list(_ALIASES)}."
        )
    return name


def _split(tag, prefixes):
    """`(prefix, type)` of a tag, ("O", "") for "O", or None when the tag is malformed."""
    if tag == "O":
        return "O", ""
    if isinstance(tag, str) and len(tag) > 2 and tag[1] == "-" and tag[0] in prefixes:
        return tag[0], tag[2:]
    return None


def _shape_reason(tag, prefixes):
    allowed = "/".join(f"{prefix}-" for prefix in prefixes)
    return f"{tag!r} is neither 'O' nor {allowed} followed by an entity type (e.g. '{prefixes[0]}-PER')"


def _parse_all(tags, scheme):
    """Parses every tag, raising a ValueError that names the first malformed one."""
    prefixes = _PREFIXES[scheme]
    parsed = []
    for position, tag in enumerate(tags):
        pair = _split(tag, prefixes)
        if pair is None:
            raise ValueError(f"Malformed {scheme.upper()} tag at position {position}: {_shape_reason(tag, prefixes)}.")
        parsed.append(pair)
    return parsed


def _continues(previous, current):
    """Whether an I- tag `current` continues the entity of the tag before it (BIO rules)."""
    return previous is not None and previous[0] in ("B", "I") and previous[1] == current[1]


# === Conversion ===


def iob1_to_bio(tags):
    """IOB1 to BIO: an I-X after "O", the sequence start or another type becomes B-X.

    Examples:
    >>> iob1_to_bio(["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"])
    ['B-PER', 'I-PER', 'B-PER', 'O', 'B-LOC', 'B-ORG']
    """
    tags = list(tags)
    parsed = _parse_all(tags, "iob1")
    result = []
    previous = ("O", "")
    for tag, current in zip(tags, parsed):
        if current[0] == "I" and not _continues(previous, current):
            tag = "B-" + current[1]
        result.append(tag)
        previous = current
    return result


def bio_to_bioes(tags):
    """BIO to BIOES. Lossless for valid BIO: `bioes_to_bio(bio_to_bioes(tags)) == tags`.

    A stray I-X (after "O", the start or another type) starts an entity, as in
    conlleval, so the spans are kept even for malformed input.

    Examples:
    >>> bio_to_bioes(["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"])
    ['B-PER', 'I-PER', 'E-PER', 'O', 'S-LOC', 'B-LOC', 'E-LOC']
    """
    tags = list(tags)
    parsed = _parse_all(tags, "bio")
    result = []
    previous = ("O", "")
    for position, current in enumerate(parsed):
        prefix, type_ = current
        if prefix == "O":
            result.append("O")
        else:
            starts = prefix == "B" or not _continues(previous, current)
            following = parsed[position + 1] if position + 1 < len(parsed) else ("O", "")
            goes_on = following == ("I", type_)
            if starts:
                result.append(("B-" if goes_on else "S-") + type_)
            else:
                result.append(("I-" if goes_on else "E-") + type_)
        previous = current
    return result


def bioes_to_bio(tags):
    """BIOES to BIO: S- becomes B-, E- becomes I-.

    Examples:
    >>> bioes_to_bio(["B-PER", "E-PER", "O", "S-LOC"])
    ['B-PER', 'I-PER', 'O', 'B-LOC']
    """
    tags = list(tags)
    mapping = {"O": "O", "B": "B-", "I": "I-", "E": "I-", "S": "B-"}
    return [mapping[prefix] + type_ for prefix, type_ in _parse_all(tags, "bioes")]


def convert(tags, source, target):
    """Converts tags from scheme `source` to `target` ("iob1", "bio"/"iob2", "bioes").

    "iob1" is an input scheme only. Converting a scheme to itself returns a copy.

    Examples:
    >>> convert(["B-PER", "I-PER", "O"], "iob2", "bioes")
    ['B-PER', 'E-PER', 'O']
    """
    source, target = scheme_name(source), scheme_name(target)
    if target == "iob1":
        raise ValueError(
            "Converting to 'iob1' is not supported: IOB1 is read as an input scheme only. "
            "Use target 'bio' or 'bioes'."
        )
    tags = list(tags)
    if source == target:
        _parse_all(tags, source)
        return tags
    if source == "iob1":
        tags = iob1_to_bio(tags)
    elif source == "bioes":
        tags = bioes_to_bio(tags)
    return bio_to_bioes(tags) if target == "bioes" else tags


# === Checks ===


def bio_errors(tags):
    """Where a BIO sequence is malformed: a list of `(position, tag, reason)`, empty when valid.

    An I-X must continue a B-X or I-X; every tag is "O", "B-TYPE" or "I-TYPE".

    Examples:
    >>> bio_errors(["B-PER", "I-PER", "O", "I-LOC", "B-ORG", "I-PER", "X"])  # doctest: +NORMALIZE_WHITESPACE
    [(3, 'I-LOC', 'I-LOC follows O; an entity must begin with B-LOC'),
     (5, 'I-PER', 'I-PER follows B-ORG, an entity of another type; begin it with B-PER'),
     (6, 'X', "'X' is neither 'O' nor B-/I- followed by an entity type (e.g. 'B-PER')")]
    """
    errors = []
    previous_tag, previous = None, ("O", "")
    for position, tag in enumerate(tags):
        current = _split(tag, "BI")
        if current is None:
            errors.append((position, tag, _shape_reason(tag, "BI")))
        elif current[0] == "I" and not _continues(previous, current):
            begin = f"B-{current[1]}"
            if previous_tag is None:
                reason = f"{tag} starts the sequence; an entity must begin with {begin}"
            elif previous == ("O", ""):
                reason = f"{tag} follows O; an entity must begin with {begin}"
            elif previous is None:
                reason = f"{tag} follows the malformed tag {previous_tag!r}"
            else:
                reason = f"{tag} follows {previous_tag}, an entity of another type; begin it with {begin}"
            errors.append((position, tag, reason))
        previous_tag, previous = tag, current
    return errors


def bioes_errors(tags):
    """Where a BIOES sequence is malformed: a list of `(position, tag, reason)`, empty when valid.

    I-X and E-X must continue a B-X or I-X; B-X and I-X must be followed by
    I-X or E-X; S-X stands alone. At most one reason is given per position.

    Examples:
    >>> bioes_errors(["B-PER", "E-PER", "S-LOC", "B-ORG", "O", "E-MISC"])  # doctest: +NORMALIZE_WHITESPACE
    [(3, 'B-ORG', 'B-ORG must be followed by I-ORG or E-ORG, but O follows'),
     (5, 'E-MISC', 'E-MISC must continue B-MISC or I-MISC, but follows O')]
    """
    tags = list(tags)
    parsed = [_split(tag, "BIES") for tag in tags]
    errors = []
    for position, (tag, current) in enumerate(zip(tags, parsed)):
        if current is None:
            errors.append((position, tag, _shape_reason(tag, "BIES")))
            continue
        prefix, type_ = current
        if prefix in ("I", "E"):
            previous = parsed[position - 1] if position > 0 else None
            if not (previous is not None and previous[0] in ("B", "I") and previous[1] == type_):
                if position == 0:
                    after = "the sequence start"
                else:
                    after = tags[position - 1] if previous is not None else repr(tags[position - 1])
                errors.append((position, tag, f"{tag} must continue B-{type_} or I-{type_}, but follows {after}"))
                continue
        if prefix in ("B", "I"):
            following = parsed[position + 1] if position + 1 < len(parsed) else None
            if not (following is not None and following[0] in ("I", "E") and following[1] == type_):
                if position + 1 == len(tags):
                    then = "the sequence ends"
                else:
                    then = f"{tags[position + 1] if following is not None else repr(tags[position + 1])} follows"
                errors.append((position, tag, f"{tag} must be followed by I-{type_} or E-{type_}, but {then}"))
    return errors


def iob1_errors(tags):
    """Malformed IOB1 tags (neither "O" nor B-/I- with a type): a list of `(position, tag, reason)`.

    Any order of well-formed tags is accepted, as conlleval does.
    """
    return [(position, tag, _shape_reason(tag, "BI")) for position, tag in enumerate(tags) if _split(tag, "BI") is None]


def errors(tags, scheme):
    """The `(position, tag, reason)` problems of `tags` under `scheme` ("iob1", "bio", "bioes")."""
    checks = {"iob1": iob1_errors, "bio": bio_errors, "bioes": bioes_errors}
    return checks[scheme_name(scheme)](list(tags))


def validate(tags, scheme, where=""):
    """Raises `DataError` when `tags` is malformed under `scheme`; names `where`, the position and tag.

    Examples:
    >>> validate(["B-PER", "I-PER"], "bio")
    >>> validate(["O", "I-PER"], "bio", where="train.txt, line 12")
    Traceback (most recent call last):
    ...
    seqkit.data.errors.DataError: train.txt, line 12: malformed BIO tag 'I-PER' at position 1: I-PER follows O; an entity must begin with B-PER.
    """
    name = scheme_name(scheme)
    problems = errors(tags, name)
    if problems:
        position, tag, reason = problems[0]
        more = f" ({len(problems) - 1} more problem(s) in this sequence)" if len(problems) > 1 else ""
        prefix = f"{where}: " if where else ""
        raise DataError(f"{prefix}malformed {name.upper()} tag {tag!r} at position {position}: {reason}.{more}")


# === Spans ===


def spans(tags, scheme="bio"):
    """Entity spans `(type, start, end)`, `end` exclusive, counted as conlleval and seqeval do.

    In BIO, B-X starts an entity and I-X continues one of the same type; an I-X
    that continues nothing starts a new entity. Other schemes are converted to
    BIO first.

    Examples:
    >>> spans(["B-PER", "I-PER", "I-LOC", "O", "I-ORG", "B-ORG"])
    [('PER', 0, 2), ('LOC', 2, 3), ('ORG', 4, 5), ('ORG', 5, 6)]
    >>> spans(["S-PER", "B-LOC", "E-LOC"], scheme="bioes")
    [('PER', 0, 1), ('LOC', 1, 3)]
    """
    name = scheme_name(scheme)
    tags = list(tags)
    if name == "bioes":
        tags = bioes_to_bio(tags)
    result = []
    open_type, start = None, None
    for position, (prefix, type_) in enumerate(_parse_all(tags, "bio") + [("O", "")]):
        continues = prefix == "I" and type_ == open_type
        if open_type is not None and not continues:
            result.append((open_type, start, position))
            open_type = None
        if prefix != "O" and not continues:
            open_type, start = type_, position
    return result
