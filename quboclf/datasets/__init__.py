"""Placeholder: being written (owner replaces this whole file)."""
