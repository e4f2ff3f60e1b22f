"""smartcrop: crop photos to the part people look at, using a learned eye-fixation saliency model.

The Python API (same code path as the CLI)::

    from smartcrop import SmartCropper
    cropper = SmartCropper()
    boxes = cropper.crop_boxes(Image.open("beach.jpg"), ratios=["16:9", "1:1"], sizes=["1080x1350"])
"""

__version__ = "0.1.0"

__all__ = ["SmartCropper", "CropResult", "CropOptions", "__version__"]


def __getattr__(name):  # lazy, so `smartcrop --version` does not load the runtime
    if name in ("SmartCropper", "CropResult"):
        from smartcrop import api

        return getattr(api, name)
    if name == "CropOptions":
        from smartcrop.options import CropOptions

        return CropOptions
    raise AttributeError(name)
