"""Casing classes of a token, the tagger's casing feature (pure Python; the regexes are RE2)."""

# Casing classes of a token; id 0 is padding. Each is an RE2 full match, tried in order.
CASINGS = (
    ("<pad>", None),
    ("numeric", r"[\p{N}.,:/\-]*\p{N}[\p{N}.,:/\-]*"),
    ("punctuation", r"[^\p{L}\p{N}]+"),
    ("initial_upper", r"\p{Lu}[^\p{Lu}]*\p{Ll}[^\p{Lu}]*"),
    ("all_upper", r"[^\p{Ll}]*\p{Lu}[^\p{Ll}]*"),
    ("all_lower", r"[^\p{Lu}]*\p{Ll}[^\p{Lu}]*"),
    ("mixed_case", r".*\p{Lu}.*"),
    ("contains_digit", r".*\p{N}.*"),
    ("other", r".*"),
)
CASING_NAMES = tuple(name for name, _ in CASINGS)
