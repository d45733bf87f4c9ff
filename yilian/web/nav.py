"""Navigation entries that areas register; the shell shows each actor those they may use."""

from __future__ import annotations

from dataclasses import dataclass, field

from yilian.kit.auth.domain import Actor, Permission, Role


@dataclass(frozen=True)
class NavItem:
    """One entry of the left-hand menu."""

    label: str
    path: str
    icon: str = "chevron_right"
    group: str = "工作台"
    permission: Permission | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    order: int = 100
    description: str = ""
    any_of: frozenset[Permission] = field(default_factory=frozenset)  # visible with any one of these

    def visible_to(self, actor: Actor) -> bool:
        """Tell whether ``actor`` may use this entry."""
        if self.roles and actor.role not in self.roles:
            return False
        if self.any_of and not any(actor.has(p) for p in self.any_of):
            return False
        return self.permission is None or actor.has(self.permission)


_items: dict[str, NavItem] = {}


def register(item: NavItem) -> NavItem:
    """Add (or replace) a menu entry keyed by its path."""
    _items[item.path] = item
    return item


def items_for(actor: Actor) -> list[NavItem]:
    """Return the entries ``actor`` may see, in menu order."""
    return sorted((i for i in _items.values() if i.visible_to(actor)), key=lambda i: (i.order, i.path))
