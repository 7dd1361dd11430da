"""Placeholder: being written (owner replaces this whole file)."""

from sklearn.base import BaseEstimator


class RandomConvFeatures(BaseEstimator):
    """Placeholder: being written."""
