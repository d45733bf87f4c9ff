"""Scheduling pages (Chinese): patient booking on a phone (``/scheduling/book``), the registration desk
(``/scheduling/desk``), schedule administration (``/scheduling/admin``), the doctor's queue
(``/scheduling/queue``), the live waiting-room display (``/scheduling/display/{id}``) and the hall's
self-service machine (``/scheduling/kiosk``).

Importing this package registers every page and menu entry (areas are discovered as ``<area>.pages``).
"""

from yilian.scheduling.pages import admin, booking, desk, kiosk, queue

__all__ = ["admin", "booking", "desk", "kiosk", "queue"]
