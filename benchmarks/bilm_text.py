"""Writes more unlabeled English text for the CoNLL BiLM (`recipes/ner.py --bilm --bilm-text=FILE`).

IMDB's training reviews, labels unused (never its test reviews), split into sentences and tokenized the way
CoNLL's news text is (`NewsTokenizer`, case kept): one whitespace-separated sentence per line.

Usage:
    SEQKIT_DATA_DIR=../shared/data python benchmarks/bilm_text.py runs/bilm_text/imdb_train.txt
    python benchmarks/bilm_text.py OUT --max-sentences=100000 --max-length=60
"""

import argparse
import re
from pathlib import Path

from seqkit.data import datasets
from seqkit.data.tokenizers import NewsTokenizer
from seqkit.utils import atomic_write_text

# A sentence ends at . ! or ? (and any closing quote or bracket) before a space and a capital, digit or quote,
# unless the period ends a title ("Mr.") or an initial ("J. Smith").
_NOT_AFTER = "".join(rf"(?<!\b{word}\.)" for word in ("Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "vs"))
_SENTENCE_END = re.compile(rf"(?:(?<=[.!?])|(?<=[.!?][\"')\]])){_NOT_AFTER}(?<!\b[A-Z]\.)\s+(?=[A-Z0-9\"'(])")
_HTML_TAG = re.compile(r"<[^>]{0,200}>")


def split_sentences(text):
    """Sentences of one review, with HTML tags such as `<br />` as breaks.

    >>> split_sentences("Great film. I loved it!<br /><br />10/10")
    ['Great film.', 'I loved it!', '10/10']
    """
    sentences = []
    for block in _HTML_TAG.split(text):
        sentences.extend(part.strip() for part in _SENTENCE_END.split(block) if part.strip())
    return sentences


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--max-sentences", type=int, default=0, help="Keep the first N sentences (0: all).")
    parser.add_argument("--max-length", type=int, default=60, help="Drop sentences longer than this many tokens.")
    parser.add_argument("--min-length", type=int, default=3, help="Drop sentences shorter than this many tokens.")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)

    texts, _ = datasets.load_imdb(data_dir=args.data_dir)["train"]  # Labels unused; test reviews never read.
    sentences = [sentence for text in texts for sentence in split_sentences(text)]
    tokenizer = NewsTokenizer()
    kept = []
    for start in range(0, len(sentences), 4096):
        for row in tokenizer(sentences[start:start + 4096]):
            if args.min_length <= len(row) <= args.max_length:
                kept.append(" ".join(row))
        if args.max_sentences and len(kept) >= args.max_sentences:
            kept = kept[: args.max_sentences]
            break
    tokens = sum(line.count(" ") + 1 for line in kept)
    atomic_write_text(args.output, "\n".join(kept) + "\n")
    print(f"{args.output}: {len(kept)} sentences, {tokens} tokens, from {len(texts)} IMDB training reviews")


if __name__ == "__main__":
    main()
