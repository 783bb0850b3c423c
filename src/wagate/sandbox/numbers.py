"""The business phone numbers the sandbox knows: what its webhooks say of a sender."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

MAX_NUMBERS = 10_000


@dataclass(frozen=True)
class BusinessNumber:
    """A business phone number as Meta's webhooks name it.

    ``waba_id`` is the ``entry[].id`` of its webhooks: the WhatsApp Business
    Account the number belongs to.
    """

    phone_number_id: str
    display_phone_number: str
    waba_id: str

    @property
    def wa_id(self) -> str:
        """The number's digits, as webhooks name the business (metadata, ``context.from``)."""
        digits = "".join(ch for ch in self.display_phone_number if ch.isascii() and ch.isdigit())
        return digits or self.display_phone_number

    def as_json(self) -> dict[str, str]:
        """The number as ``/_sandbox/numbers`` shows it."""
        return {
            "phone_number_id": self.phone_number_id,
            "display_phone_number": self.display_phone_number,
            "waba_id": self.waba_id,
        }


def _text(changes: Mapping[str, object], name: str, default: str | None = None) -> str:
    value = changes.get(name, default)
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ValueError(f"{name} must be a non-empty string of at most 64 characters")
    return value.strip()


class BusinessNumbers:
    """Registered numbers by phone number id; unknown ids stand for themselves."""

    def __init__(self, default_waba_id: str) -> None:
        self.default_waba_id = default_waba_id
        self._numbers: dict[str, BusinessNumber] = {}

    def register(self, changes: Mapping[str, object]) -> BusinessNumber:
        """Register (or replace) a number; ValueError if a field is wrong.

        ``changes`` is ``{"phone_number_id", "display_phone_number", "waba_id"?}``.
        """
        unknown = sorted(set(changes) - {"phone_number_id", "display_phone_number", "waba_id"})
        if unknown:
            raise ValueError(f"unknown fields {unknown}")
        number = BusinessNumber(
            phone_number_id=_text(changes, "phone_number_id"),
            display_phone_number=_text(changes, "display_phone_number"),
            waba_id=_text(changes, "waba_id", self.default_waba_id),
        )
        if number.phone_number_id not in self._numbers and len(self._numbers) >= MAX_NUMBERS:
            raise ValueError(f"at most {MAX_NUMBERS} numbers can be registered")
        self._numbers[number.phone_number_id] = number
        return number

    def get(self, phone_number_id: str) -> BusinessNumber:
        """The registered number, or one whose display number is the id itself."""
        known = self._numbers.get(phone_number_id)
        if known is not None:
            return known
        return BusinessNumber(phone_number_id, phone_number_id, self.default_waba_id)

    def __iter__(self) -> Iterator[BusinessNumber]:
        return iter(list(self._numbers.values()))
