"""Shared kernel: settings, database, money, clock, errors, events, access audit, auth primitives."""
