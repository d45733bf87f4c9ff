"""Web shell (NiceGUI): login, role-aware layout and navigation, shared components.

Areas put their pages in ``<area>/pages.py`` and register navigation entries with ``web.nav``.
"""
