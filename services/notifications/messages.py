"""Adapter (the templates): rendering a message kind in a language.

Email templates live in ``templates/<kind>/<language>.j2`` with the blocks ``subject``,
``text`` and ``html``; SMS templates in ``templates/<kind>/<language>.sms.j2`` with the block
``text``. They run in Jinja2's sandbox with ``StrictUndefined`` (a missing value is an error,
never an empty gap); HTML with autoescaping, text without.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from services.notifications.domain.kinds import KINDS

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("de", "en", "hu")
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str


# Kept for callers of the first version.
RenderedEmail = Rendered


def _env(autoescape: bool) -> SandboxedEnvironment:
    # The templates ship with the code: each is compiled once per process and kept (no
    # looking at the file again on every message, as ``auto_reload`` would).
    return SandboxedEnvironment(loader=FileSystemLoader(TEMPLATES), autoescape=autoescape,
                                undefined=StrictUndefined, keep_trailing_newline=False,
                                auto_reload=False, cache_size=-1)


_TEXT = _env(autoescape=False)
_HTML = _env(autoescape=True)


def choose_language(*preferences: str | None) -> str:
    """NOT-2: the recipient's language, else the company's, else English."""
    for lang in preferences:
        if lang in LANGUAGES:
            return lang
    return FALLBACK_LANGUAGE


def _block(env: SandboxedEnvironment, name: str, block: str, values: dict[str, Any]) -> str:
    template = env.get_template(name)
    return "".join(template.blocks[block](template.new_context(values))).strip()


def render(kind: str, language: str, values: dict[str, Any]) -> Rendered:
    """The message of ``kind`` in ``language``: subject, text and HTML (SMS: text only)."""
    if KINDS[kind].channel == "sms":
        text = " ".join(_block(_TEXT, f"{kind}/{language}.sms.j2", "text", values).split())
        return Rendered(subject="", text=text, html="", language=language)
    name = f"{kind}/{language}.j2"
    return Rendered(
        subject=" ".join(_block(_TEXT, name, "subject", values).split()),
        text=_block(_TEXT, name, "text", values),
        html=_block(_HTML, name, "html", values),
        language=language,
    )


def render_email(kind: str, language: str, values: dict[str, Any]) -> Rendered:
    return render(kind, language, values)


def kinds() -> list[str]:
    return sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir())
