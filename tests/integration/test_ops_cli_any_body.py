"""The operator command works whatever a parked message holds: a body nested too deeply to
parse, binary, not UTF-8, 2 MB, empty, or laced with terminal escape sequences."""

from __future__ import annotations

import pytest

from shared import ops
from tests.support.parked import BODIES

pytestmark = pytest.mark.integration

async def test_list_show_and_replay_work_for_any_body(
        parked_bodies, amqp_url, bus_prefix, amqp, get_all, ops_cli):
    t = parked_bodies
    listed = await ops.list_parked(amqp_url, t)
    assert sorted(p.message_id for p in listed) == sorted(BODIES)
    reasons = {p.message_id: p.reason for p in listed}
    assert reasons["nested"] == reasons["nested-object"] == "not-json"
    assert reasons["large"] == "too-large" and reasons["empty"] == "not-json"

    result = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"{len(BODIES)} parked messages in {t.parked}"
    assert not {"\x1b", "\x9b", "\u202e"} & set(result.stdout)

    for message_id, body in BODIES.items():
        result = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "show",
                               "--id", message_id)
        assert result.returncode == 0, (message_id, result.stderr[-2000:])
        assert f"message id:   {message_id}" in result.stdout
        assert f"size:         {len(body)} bytes" in result.stdout
        # Nothing a terminal would act on reaches it: escape sequences are shown escaped.
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout, message_id
        assert "\x9b" not in result.stdout and "\u202e" not in result.stdout, message_id
    shown = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "show",
                          "--id", "escapes")
    assert "\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202e" in shown.stdout
    shown = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "show",
                          "--id", "large")
    assert f"{len(BODIES['large'])} bytes in all; --full prints everything" in shown.stdout
    assert len(shown.stdout) < 30_000

    result = await ops_cli(amqp_url, bus_prefix, "--service", "billing", "parked", "replay",
                           "--all", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"replayed {len(BODIES)} messages from {t.parked} to {t.queue}"
    back = {m.message_id: m.body for m in await get_all(amqp, t.queue)}
    assert back == BODIES  # every body as it came, byte for byte
    assert await ops.list_parked(amqp_url, t) == []
