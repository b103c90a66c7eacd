"""Label names to integer ids (and multi-hot vectors), with errors that name the row."""

import numpy as np

from seqkit.data.errors import DataError


class LabelEncoder:
    """Maps label names to ids `0..num_classes-1`, in sorted order.

    Args:
        names: the label names; sorted and de-duplicated.

    Examples:
    >>> encoder = LabelEncoder.fit(["pos", "neg", "pos"])
    >>> encoder.names, encoder.encode(["pos", "neg"]).tolist()
    (['neg', 'pos'], [1, 0])
    """

    def __init__(self, names):
        self.names = sorted({str(name) for name in names})
        if not self.names:
            raise ValueError("`names` must hold at least one label. Received: names=[]")
        self._index = {name: index for index, name in enumerate(self.names)}

    @classmethod
    def fit(cls, labels, separator=None):
        """Collects the label names of `labels`; with `separator`, each label is a set of names."""
        if separator is None:
            return cls(labels)
        return cls(name for label in labels for name in _split(label, separator))

    @property
    def num_classes(self):
        return len(self.names)

    def encode(self, labels, source="labels"):
        """Label names to an int array; a name unseen in training is a `DataError`."""
        ids = np.empty(len(labels), dtype=np.int32)
        for row, label in enumerate(labels):
            index = self._index.get(str(label))
            if index is None:
                raise DataError(
                    f"{source}, row {row + 1}: label {label!r} was never seen in training. "
                    f"Known labels: {self.names}"
                )
            ids[row] = index
        return ids

    def encode_multi_hot(self, labels, separator="|", source="labels"):
        """Labels such as "drama|comedy" to a `(n, num_classes)` float multi-hot matrix."""
        matrix = np.zeros((len(labels), self.num_classes), dtype=np.float32)
        for row, label in enumerate(labels):
            for name in _split(label, separator):
                if name not in self._index:
                    raise DataError(
                        f"{source}, row {row + 1}: label {name!r} was never seen in training. "
                        f"Known labels: {self.names}"
                    )
                matrix[row, self._index[name]] = 1.0
        return matrix

    def get_config(self):
        return {"names": self.names}


def _split(label, separator):
    return [name.strip() for name in str(label).split(separator) if name.strip()]
