"""The modules the upper layers import say what they offer: each has an ``__all__``,
and it names only what the module has."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

#: The packages whose modules other layers import.
PACKAGES = ("domain", "store", "delivery", "upstream", "blobs", "services", "wiring", "worker")
#: Modules that do not list their names yet.
UNLISTED: frozenset[str] = frozenset()


def public_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        module = importlib.import_module(f"wagate.{package}")
        for info in pkgutil.iter_modules(module.__path__, prefix=f"wagate.{package}."):
            if not info.ispkg and info.name not in UNLISTED:
                names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", public_modules())
def test_a_public_module_names_what_it_offers(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} has no __all__"
    assert len(set(exported)) == len(exported)
    missing = [item for item in exported if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names what it does not have: {missing}"
