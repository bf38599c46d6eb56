"""Training curves as a PNG: people would rather look at a loss curve than read a list of numbers."""

from __future__ import annotations

from pathlib import Path


def training_curves(history: dict[str, list[float]], path: str | Path, title: str) -> Path:
    """Plot loss and accuracy (training and validation) per epoch to `path`."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, style in ((metric, "-"), (f"val_{metric}", "--")):
            if history.get(key):
                epochs = range(1, len(history[key]) + 1)
                ax.plot(epochs, history[key], style, label="validation" if key.startswith("val_") else "training")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)
