"""Training-side code: the Keras saliency network, its losses, data, training and export.

Everything under this package imports TensorFlow/Keras (the ``train`` extra). The cropping
runtime never imports it.
"""

TRAIN_EXTRA = "pip install 'smartcrop[train]'"


def require_train_extra(prog: str) -> None:
    """Stop the tool `prog` with one line naming the extra when TensorFlow or Keras is missing
    (a core install has neither), where the import would otherwise end in a ModuleNotFoundError
    traceback, even for --help. Only tools call it (`train_main`, and each module run with
    ``python -m``): imported as a library, a module raises the ModuleNotFoundError itself."""
    try:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in ("keras", "tensorflow"):
            raise
        raise SystemExit(f"{prog}: error: needs TensorFlow and Keras (no module named {e.name!r}), "
                         f"the training extra: {TRAIN_EXTRA}") from None


def train_main(argv=None):
    """smartcrop-train's entry point: checks for the training extra before importing the trainer
    (which imports TensorFlow), so a core install gets one line naming it."""
    require_train_extra("smartcrop-train")
    from smartcrop.model.train import main

    return main(argv)
