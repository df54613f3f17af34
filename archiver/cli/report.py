"""How a finished capture is shown to a person on the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from typing import TYPE_CHECKING

from ..models import CaptureState

if TYPE_CHECKING:
    from ..pipeline import Captured

out = Console(highlight=False, soft_wrap=True)

STYLE = {
    CaptureState.COMPLETE: "green",
    CaptureState.PARTIAL: "yellow",
    CaptureState.FAILED: "red",
    CaptureState.LOGIN_REQUIRED: "magenta",
}


def post_summary(folder) -> str:
    from ..capture.post import post_of

    post = post_of(folder)
    if post is None:
        return "-"
    who = post.author.handle or post.author.display_name or "unknown author"
    when = post.published.strftime("%Y-%m-%d %H:%M UTC") if post.published else "time not shown"
    text = (post.text or post.title or "").replace("\n", " ")
    return f"{who}, {when}: {text[:80]}{'…' if len(text) > 80 else ''}"


def print_result(result: "Captured") -> None:
    p = result.provenance
    style = STYLE[p.state]
    out.print(f"[{style}]{p.state.value.upper()}[/{style}] {escape(str(p.requested_url))}")
    out.print(f"  folder: {escape(str(result.path))}")
    if p.failure:
        out.print(f"  failure: {escape(str(p.failure))}")
    if p.final_url and p.final_url != p.requested_url:
        out.print(f"  final URL: {escape(str(p.final_url))}")
    if p.http_status is not None:
        out.print(f"  HTTP {p.http_status}  title: {escape(str(p.title or '-'))}")
    if p.warc:
        out.print(
            f"  {escape(str(p.warc.path))}: {p.warc.records} records, {p.warc.responses} responses, "
            f"{p.warc.bytes_recorded:,} body bytes"
        )
    for a in p.attachments:
        out.print(f"  {escape(str(a.path))}: {a.size:,} bytes  sha256 {a.sha256[:16]}…")
    if p.profile:
        out.print(f"  logged in with profile: {escape(p.profile.name)}")
    if p.login_required:
        out.print(f"  [magenta]login required[/magenta]: {escape(p.login_required)}")
    post = p.post
    if post and post.found:
        by = post_summary(result.path)
        out.print(f"  post ({escape(str(post.platform))}, read by {escape(str(post.extractor))}): {escape(by)}")
        out.print(f"    {post.path}: {post.media_archived} media archived, {post.media_missing} missing"
                  + (f"; {post.element_screenshot}" if post.element_screenshot else ""))
    for b in p.behaviours:
        if b.actions:
            out.print(f"  behaviour {escape(b.name)}: {escape('; '.join(b.actions[:3]))}"
                      + (f" (+{len(b.actions) - 3} more)" if len(b.actions) > 3 else ""))
    for hit in p.limits_hit:
        out.print(f"  [yellow]limit {hit.limit}[/yellow]: {escape(str(hit.detail))}")
    blocked = [f for f in p.failed_requests if f.blocked]
    if p.failed_requests:
        out.print(f"  {len(p.failed_requests)} requests failed ({len(blocked)} blocked): see provenance.json")
    for w in p.warnings[:5]:
        out.print(f"  note: {escape(str(w))}")
    seal = result.seal
    out.print(f"  sealed: root hash {seal.root_hash} ({len(seal.artifacts)} files)")
    if seal.timestamps:
        out.print(f"  timestamped by: {escape(', '.join(seal.timestamps))}")
    else:
        why = "; ".join(seal.timestamp_errors) or "timestamps disabled"
        out.print(
            f"  [yellow]timestamp pending[/yellow]: {escape(why)} "
            "(retry later: archiver timestamp --pending)"
        )
