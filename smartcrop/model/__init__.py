"""Training-side code: the Keras saliency network, its losses, data, training and export.

Everything under this package imports TensorFlow/Keras (the ``train`` extra). The cropping
runtime never imports it.
"""
