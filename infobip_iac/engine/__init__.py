"""Normalize, diff and plan (pure), and apply (the only place that writes)."""
