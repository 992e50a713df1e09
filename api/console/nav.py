"""The console's pages, found by looking: every module in `api/console/pages/` with a
`router` is served, and one with a `NAV` entry is listed in the navigation, by `order`.
Adding a page is one module there and one template (docs/console.md)."""

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from fastapi import APIRouter

from api.console import pages
from api.console.web import Console


@dataclass(frozen=True)
class NavEntry:
    path: str  # where the link goes
    label: str  # an i18n key (api/console/i18n.py)
    order: int  # position in the navigation
    admin_only: bool = False


@dataclass(frozen=True)
class NavLink:
    path: str
    label: str
    current: bool


@cache
def page_modules() -> tuple[ModuleType, ...]:
    found = [
        importlib.import_module(f"{pages.__name__}.{info.name}")
        for info in pkgutil.iter_modules(pages.__path__)
        if not info.name.startswith("_")
    ]
    return tuple(m for m in found if isinstance(getattr(m, "router", None), APIRouter))


def entries() -> list[NavEntry]:
    found = [m.NAV for m in page_modules() if isinstance(getattr(m, "NAV", None), NavEntry)]
    return sorted(found, key=lambda e: (e.order, e.path))


def nav_for(console: Console) -> list[NavLink]:
    path = console.request.url.path
    t = console.t
    return [
        NavLink(e.path, t(e.label), path == e.path or path.startswith(e.path + "/"))
        for e in entries()
        if console.is_admin or not e.admin_only
    ]
