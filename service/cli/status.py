"""`threadlog status`: the report of ops/status.py, as text or JSON."""

import json
from typing import Any

from service.cli.common import connected
from service.ops.status import status


async def gather(url: str, ip_retention_days: int = 30) -> dict[str, Any]:
    async with connected(url) as connection:
        report = await status(connection)
    if "privacy" in report:
        report["privacy"]["ip_retention_days"] = ip_retention_days
    return report


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, default=str)


def as_text(report: dict[str, Any]) -> str:
    schema = report["schema"]
    lines = [
        f"database: {report['database']}",
        f"schema: {schema['revision'] or 'not migrated'}"
        + ("" if schema["at_head"] else f" (this threadlog needs {schema['head']}: run "
           "`threadlog migrate`)"),
    ]  # fmt: skip
    if not schema["at_head"]:
        return "\n".join(lines)
    events, posts, feed = report["events"], report["posts"], report["feed"]
    lines.append(
        f"events: last position {events['last_position']}, about {events['estimated']} "
        "(planner estimate)"
    )
    lines.append(f"posts: {posts['count']}" + ("" if posts["exact"] else " (planner estimate)"))
    held = f"feed: held back {feed['held_back_seconds']:g} s"
    oldest = feed["oldest_transaction"]
    if oldest is not None:
        held += f" (oldest transaction: pid {oldest['pid']}, {oldest['state']})"
    lines.append(held)
    lines.append(f"webhooks: {len(report['webhooks'])}")
    for hook in report["webhooks"]:
        backlog = f"{hook['backlog']}{'+' if hook['backlog_at_least'] else ''}"
        line = f"  {hook['id']} {hook['site']} {hook['status']}, {backlog} behind, {hook['url']}"
        if hook["last_error"]:
            line += f"; last error: {hook['last_error']}"
        lines.append(line)
    lines.append(f"relays: {len(report['relays'])}")
    lines += [f"  {relay['name']} at {relay['cursor']}" for relay in report["relays"]]
    rebuilds = report["rebuilds"]
    lines.append(
        "rebuilds: none pending"
        if not rebuilds
        else "rebuilds: a rebuild is running, or was cut short (run `threadlog rebuild` again)"
    )
    kept = report["privacy"]
    since = f", since {kept['oldest_ip_day']}" if kept["oldest_ip_day"] else ""
    lines.append(
        f"privacy: IP digests of {kept['ip_days_kept']} days readable{since} (kept "
        f"{kept['ip_retention_days']} days); {kept['erasures']} erasures of "
        f"{kept['erased_comments']} comments; KEK {', '.join(kept['keks']) or 'none yet'}"
    )
    return "\n".join(lines)
