"""What an operator sees of parked messages: the tables and pages of ``python -m shared.ops``,
bodies shown with their secrets masked and their control characters escaped, the progress
bar of a replay."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared.logging import redact

if TYPE_CHECKING:  # the parking queue's messages are formatted here, read there
    from shared.bus.topology import Topology
    from shared.parking import ParkedMessage

# Larger bodies are shown as they came, not parsed and indented (bounded cost of `show`).
PRETTY_MAX_BYTES = 4 * 1_048_576
# Only bodies up to this size are parsed to find an event type the message does not state.
TYPE_SNIFF_MAX_BYTES = 1_048_576
# Characters never written to an operator's terminal as they are: C0/C1 controls (escape
# sequences), and the Unicode line separators and bidi overrides that disguise text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def format_list(parked: list[ParkedMessage], topology: Topology) -> str:
    if not parked:
        return f"no parked messages in {topology.parked}"
    rows = [("#", "message id", "type", "reason", "attempts", "parked at")]
    for p in parked:
        rows.append((str(p.index), _field(p.message_id), _field(p.type), _field(p.reason),
                     "-" if p.attempts is None else str(p.attempts), _time(p.parked_at)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.append(f"{len(parked)} parked message{'s' if len(parked) != 1 else ''} "
                 f"in {topology.parked}")
    return "\n".join(lines)


def format_show(p: ParkedMessage, *, full: bool = False, reveal: bool = False) -> str:
    lines = [
        f"message id:   {_field(p.message_id)}",
        f"type:         {_field(p.type)}",
        f"reason:       {_field(p.reason)}",
        f"attempts:     {'-' if p.attempts is None else p.attempts}",
        f"parked at:    {_time(p.parked_at)}",
        f"correlation:  {_field(p.correlation_id)}",
        f"size:         {len(p.body)} bytes ({_field(p.content_type or 'no content type')})",
        "detail:",
        *(f"  {line}" for line in printable(p.detail or "-").splitlines()),
        "headers:",
        *(f"  {_field(k)}: {_header_text(v)}" for k, v in sorted(p.headers.items())
          if k not in ("x-park-detail",)),
        "body:",
        p.pretty_body(None if full else 20_000, reveal=reveal),
    ]
    return "\n".join(lines)


def json_text(body: bytes, indent: int | None = None, masked: bool = False) -> str | None:
    """``body`` parsed and dumped again as JSON text (its secrets masked when ``masked``);
    None for anything that is not JSON."""
    try:
        value = json.loads(body)
        return json.dumps(redact(value) if masked else value, indent=indent,
                          ensure_ascii=False)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError covers JSONDecodeError; RecursionError: nested deeper than the parser
        # (or the indenting encoder) goes.
        return None


def body_type(body: bytes) -> str | None:
    if len(body) > TYPE_SNIFF_MAX_BYTES:
        return None
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value.get("type") if isinstance(value, dict) and isinstance(value.get("type"),
                                                                      str) else None


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else "-"


def as_text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _header_text(value: Any) -> str:
    text = as_text(value)
    return _field(text if len(text) <= 300 else f"{text[:300]}...")


def printable(text: str) -> str:
    """``text`` with control characters escaped; line breaks and tabs kept."""
    return _CONTROL.sub(_escape, text)


def _field(value: str | None) -> str:
    """One line of printable text (a column of `list`, a value of `show`)."""
    return _CONTROL_OR_BREAK.sub(_escape, value) if value else "-"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class _NoProgress:
    """Stands in for the progress bar where tqdm (the ``ops`` extra) is not installed, as in
    the production image: the replay works the same, it only shows no bar."""

    def set_postfix(self, **_: Any) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class ProgressBar(Protocol):
    """What a replay needs of its progress bar (tqdm's, or none)."""

    def set_postfix(self, **kwargs: Any) -> None: ...

    def update(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


def progress_bar(total: int, enabled: bool) -> ProgressBar:
    try:
        # tqdm ships no type hints (and types-tqdm is no dependency of ours).
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        return _NoProgress()
    bar: ProgressBar = tqdm(total=total, desc="replay", unit="msg",
                            disable=not enabled or total == 0, file=sys.stderr)
    return bar


