"""Sortscope's Qt-free core: scanning, loading, features, training and classification.

Importing this package stays cheap: TensorFlow is imported inside the functions that need a
model, and nothing here imports Qt.
"""

__version__ = "0.1.0"
