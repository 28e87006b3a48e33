"""Server-rendered public pages (Jinja2, autoescaped): errors, the password form, Bio Pages."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from server.public.targets import BioTarget
from server.public.texts import TEXTS

_TEMPLATES = Path(__file__).resolve().parent / "templates"


class Pages:
    """Renders the public pages; pages that never change are rendered once per language."""

    def __init__(self, home_url: str) -> None:
        self._env = Environment(
            loader=FileSystemLoader(_TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            auto_reload=False,
        )
        self._home = home_url
        self._messages: dict[tuple[int, str], bytes] = {}

    def _render(self, name: str, lang: str, **values: object) -> bytes:
        template = self._env.get_template(name)
        return template.render(lang=lang, t=TEXTS[lang], home_url=self._home, **values).encode()

    def message(self, status: int, lang: str) -> bytes:
        """The branded page of an error ``status`` (404, 405, 410, 413)."""
        key = (status, lang)
        page = self._messages.get(key)
        if page is None:
            t = TEXTS[lang]
            page = self._render("message.html", lang, status=status,
                                title=t[f"{status}_title"], body=t[f"{status}_body"])
            self._messages[key] = page
        return page

    def password_form(
        self, lang: str, *, title: str | None, csrf: str, error: str | None = None,
        locked: bool = False,
    ) -> bytes:
        """The password form of a protected link; ``title`` is the owner's, escaped."""
        return self._render("password.html", lang, link_title=title, csrf=csrf, error=error,
                            locked=locked)

    def bio(self, page: BioTarget, lang: str) -> bytes:
        """A Bio Page, rendered once per language while its cache entry lives."""
        html = page.pages.get(lang)
        if html is None:
            initial = (page.display_name.strip()[:1] or page.handle[:1]).upper()
            html = self._render("bio.html", lang, page=page, initial=initial)
            page.pages[lang] = html
        return html
