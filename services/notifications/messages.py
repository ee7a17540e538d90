"""Rendering a message kind in a language: subject, plain text and HTML from one template.

Templates live in ``templates/<kind>/<language>.j2`` with the blocks ``subject``, ``text``
and ``html``; they run in Jinja2's sandbox, HTML with autoescaping, text without.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("de", "en", "hu")
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    language: str


def _env(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(loader=FileSystemLoader(TEMPLATES), autoescape=autoescape,
                                undefined=StrictUndefined, keep_trailing_newline=False)


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


def render_email(kind: str, language: str, values: dict[str, Any]) -> RenderedEmail:
    name = f"{kind}/{language}.j2"
    return RenderedEmail(
        subject=" ".join(_block(_TEXT, name, "subject", values).split()),
        text=_block(_TEXT, name, "text", values),
        html=_block(_HTML, name, "html", values),
        language=language,
    )


def kinds() -> list[str]:
    return sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir())
