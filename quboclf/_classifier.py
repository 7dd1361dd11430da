"""Placeholder: being written (owner replaces this whole file)."""

from sklearn.base import BaseEstimator


class QUBOCNNClassifier(BaseEstimator):
    """Placeholder: being written."""
