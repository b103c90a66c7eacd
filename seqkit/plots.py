"""Figures saved as PNG files: confusion matrices and learning curves."""

import os

import matplotlib

matplotlib.use("Agg")  # Files only; no display is needed.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_confusion_matrix(y_true, y_pred, label_names, path, title="Confusion matrix"):
    """Saves a confusion matrix (counts, with row-normalized shading) to `path`."""
    from sklearn.metrics import ConfusionMatrixDisplay

    figure, axes = plt.subplots(figsize=(1.2 * len(label_names) + 3, 1.2 * len(label_names) + 2.5))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=list(range(len(label_names))), display_labels=label_names, ax=axes, colorbar=False
    )
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(os.fspath(path), dpi=120)
    plt.close(figure)
    return path


def plot_learning_curves(history, path, title="Learning curves"):
    """Saves loss and metric curves per epoch (train and validation) from a Keras history dict."""
    metrics = sorted({key.removeprefix("val_") for key in history if key != "learning_rate"})
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for axis, metric in zip(axes[0], metrics):
        for key, style in ((metric, "-o"), (f"val_{metric}", "--s")):
            if key in history:
                values = np.asarray(history[key], dtype=float)
                axis.plot(np.arange(1, len(values) + 1), values, style, label=key)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(os.fspath(path), dpi=120)
    plt.close(figure)
    return path
