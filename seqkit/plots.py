"""Figures saved as PNG files: confusion matrices, learning curves, attention heatmaps and line plots."""

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


def plot_attention(weights, source_tokens, output_tokens, path, title="Attention"):
    """Saves an attention heatmap: output tokens down the side, source tokens along the top.

    Args:
        weights: `(output steps, source steps)` weights (extra rows or columns
            beyond the token lists, e.g. padding, are cut off).
        source_tokens, output_tokens: the tokens labelling the axes.
        path: the PNG file.
    """
    source_tokens, output_tokens = [str(t) for t in source_tokens], [str(t) for t in output_tokens]
    weights = np.asarray(weights, dtype=float)[: len(output_tokens), : len(source_tokens)]
    figure, axes = plt.subplots(
        figsize=(max(4.0, 0.35 * len(source_tokens) + 2), max(3.0, 0.35 * len(output_tokens) + 1.5))
    )
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source_tokens)), [repr(t)[1:-1] if t.isspace() else t for t in source_tokens],
                    rotation=90)
    axes.set_yticks(range(len(output_tokens)), output_tokens)
    axes.xaxis.tick_top()
    axes.set_xlabel("source")
    axes.set_ylabel("output")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    axes.set_title(title, pad=24)
    figure.tight_layout()
    figure.savefig(os.fspath(path), dpi=120)
    plt.close(figure)
    return path


def plot_lines(panels, path, title=None):
    """Saves side-by-side line plots, one per panel.

    Args:
        panels: a list of dicts with `lines` (a list of dicts: `x`, `y`,
            `label`, and optionally `style`, a Matplotlib format such as `"--"`,
            and `color`), and optionally `title`, `xlabel`, `ylabel`, `log_x`, `log_y`, and
            `hline` (a `(value, label)` reference line).
        path: the PNG file.
        title: the figure's title.

    Examples:
    >>> import tempfile, os
    >>> panel = {"lines": [{"x": [1, 2, 3], "y": [3.0, 2.0, 1.5], "label": "loss"}], "log_y": True}
    >>> path = plot_lines([panel], os.path.join(tempfile.mkdtemp(), "loss.png"))
    """
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.0), squeeze=False)
    for axis, panel in zip(axes[0], panels):
        for line in panel["lines"]:
            axis.plot(np.asarray(line["x"], float), np.asarray(line["y"], float), line.get("style", "-"),
                      label=line.get("label"), color=line.get("color"))
        if panel.get("hline") is not None:
            value, label = panel["hline"]
            axis.axhline(value, color="gray", linestyle=":", label=label)
        axis.set_xscale("log" if panel.get("log_x") else "linear")
        axis.set_yscale("log" if panel.get("log_y") else "linear")
        axis.set_xlabel(panel.get("xlabel", ""))
        axis.set_ylabel(panel.get("ylabel", ""))
        axis.set_title(panel.get("title", ""))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(os.fspath(path), dpi=120)
    plt.close(figure)
    return path
