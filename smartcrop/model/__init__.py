"""Training-side code: the Keras saliency network, its losses, data, training and export.

Everything under this package imports TensorFlow/Keras (the ``train`` extra). The cropping
runtime never imports it.
"""

TRAIN_EXTRA = "pip install 'smartcrop[train]'"


def require_train_extra(prog: str) -> None:
    """Stop the tool `prog` with one line naming the extra when TensorFlow or Keras is missing
    (a core install has neither); its entry modules call this before importing them, where the
    import would otherwise end in a ModuleNotFoundError traceback, even for --help."""
    try:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in ("keras", "tensorflow"):
            raise
        raise SystemExit(f"{prog}: error: needs TensorFlow and Keras (no module named {e.name!r}), "
                         f"the training extra: {TRAIN_EXTRA}") from None
