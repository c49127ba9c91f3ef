"""The one error every dataset reader raises for a malformed, missing or mismatched dataset."""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset that cannot be read as asked; the message names the dataset and the problem."""
