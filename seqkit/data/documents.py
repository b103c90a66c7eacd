"""Document context: consecutive sentences of a document read as one sequence.

A tagger that reads each sentence alone cannot tell "Japan" the country from
"Japan" the football team in a results table; the document's other lines can.
`group_sentences` packs consecutive sentences of the same document into groups
of at most `max_tokens` tokens, `join_groups` concatenates per-sentence lists
(tokens, tags, features) by those groups, and `split_groups` cuts per-group
predictions back into sentences, so scores and outputs stay per sentence.

Example:
>>> groups = group_sentences([3, 2, 4, 1], documents=[0, 0, 0, 1], max_tokens=6)
>>> groups
[[0, 1], [2], [3]]
>>> joined = join_groups([["a", "b", "c"], ["d", "e"], ["f", "g", "h", "i"], ["j"]], groups)
>>> joined
[['a', 'b', 'c', 'd', 'e'], ['f', 'g', 'h', 'i'], ['j']]
>>> split_groups(joined, groups, [3, 2, 4, 1])
[['a', 'b', 'c'], ['d', 'e'], ['f', 'g', 'h', 'i'], ['j']]
"""


def group_sentences(lengths, documents, max_tokens):
    """Indices of consecutive sentences, grouped within each document up to `max_tokens` tokens.

    Greedy and in order: a group ends where the document changes or where the
    next sentence would take it past `max_tokens`. A sentence longer than
    `max_tokens` forms a group of its own (it is never cut).

    Args:
        lengths: the token count of each sentence, in file order.
        documents: the document number of each sentence (as `read_conll(...,
            return_documents=True)` returns them), same length as `lengths`.
        max_tokens: the most tokens a group holds, >= 1.

    Returns:
        A list of lists of sentence indices that covers every sentence once, in order.
    """
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError(f"`max_tokens` must be an integer >= 1. Received: max_tokens={max_tokens!r}")
    if len(lengths) != len(documents):
        raise ValueError(
            f"`lengths` and `documents` must have one entry per sentence. Received: {len(lengths)} lengths "
            f"and {len(documents)} document numbers"
        )
    groups, size = [], 0
    for index, (length, document) in enumerate(zip(lengths, documents)):
        if groups and documents[groups[-1][-1]] == document and size + length <= max_tokens:
            groups[-1].append(index)
            size += length
        else:
            groups.append([index])
            size = length
    return groups


def join_groups(rows, groups):
    """Concatenates the per-sentence lists `rows` (tokens, tags, ...) group by group."""
    return [[item for index in group for item in rows[index]] for group in groups]


def split_groups(joined, groups, lengths):
    """Cuts per-group lists (`join_groups`'s output, or predictions on it) back into sentences of `lengths`."""
    rows = [None] * len(lengths)
    for group, items in zip(groups, joined):
        start = 0
        for index in group:
            rows[index] = list(items[start : start + lengths[index]])
            start += lengths[index]
        if start != len(items):
            raise ValueError(
                f"A group of sentences {group} holds {start} tokens but its row has {len(items)} items."
            )
    return rows
