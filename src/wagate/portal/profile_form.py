"""The callback profile form: its fields as typed, read back, and checked."""

from __future__ import annotations

from dataclasses import dataclass, field

from wagate.domain.callbacks import CallbackProfile
from wagate.services.profiles import profile_problems


@dataclass(frozen=True, slots=True)
class ProfileForm:
    """What the profile form holds: the fields as typed and the headers as text."""

    title: str = ""
    http_method: str = "POST"
    url: str = ""
    body: str = ""
    headers_text: str = ""
    problems: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, profile: CallbackProfile) -> ProfileForm:
        """The form showing a profile as it is."""
        return cls(
            title=profile.title,
            http_method=profile.http_method,
            url=profile.url,
            body=profile.body or "",
            headers_text="\n".join(f"{name}: {value}" for name, value in profile.headers.items()),
        )

    @classmethod
    def read(cls, form: dict[str, str]) -> ProfileForm:
        """The fields a submitted form carries (line endings made ``\\n``)."""
        return cls(
            title=form.get("title", "").strip(),
            http_method=form.get("http_method", "POST").strip().upper(),
            url=form.get("url", "").strip(),
            body=form.get("body", "").replace("\r\n", "\n").strip(),
            headers_text=form.get("headers", "").replace("\r\n", "\n").strip(),
        )

    @property
    def body_or_none(self) -> str | None:
        """The body template to store: none for an empty field."""
        return self.body or None

    def headers(self) -> tuple[dict[str, str], str | None]:
        """The extra headers, one ``Name: value`` a line, and what is wrong with the lines."""
        found: dict[str, str] = {}
        for number, line in enumerate(self.headers_text.splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                return found, f"line {number} of the headers is not 'Name: value'"
            found[name.strip()] = value.strip()
        return found, None

    def checked(self) -> ProfileForm:
        """The form with what is wrong with it (nothing is looked up on the network)."""
        headers, header_problem = self.headers()
        problems = profile_problems(
            self.title, self.http_method, self.url, self.body_or_none, headers
        )
        if header_problem:
            problems["headers"] = header_problem
        return self.with_problems(problems)

    def with_problems(self, problems: dict[str, str]) -> ProfileForm:
        """The form showing the problems a save found."""
        return ProfileForm(
            self.title, self.http_method, self.url, self.body, self.headers_text, dict(problems)
        )
