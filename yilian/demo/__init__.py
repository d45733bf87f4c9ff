"""Synthetic demo alliance for ``yilian demo``: deterministic for a given seed."""
