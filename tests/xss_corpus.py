"""Hostile messages: markup that would run script, load remote content or restyle the page if not escaped."""

from __future__ import annotations

from pathlib import Path

import orjson

# Each payload tries to set window.__pwned, open a dialog, or load something; none may work.
PAYLOADS = (
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    "<svg onload=\"window.__pwned='svg'\"><circle r=10></circle></svg>",
    "<svg><script>window.__pwned='svg-script'</script></svg>",
    "<a href=\"javascript:window.__pwned='link'\">click me</a>",
    '<a href="  JaVaScRiPt:alert(1)">spaced scheme</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    "<iframe srcdoc=\"<script>parent.__pwned='srcdoc'</script>\"></iframe>",
    "<body onload=\"window.__pwned='body'\">",
    '<div style="width: expression(alert(1)); background:url(javascript:alert(1))">css</div>',
    "<style>body { display: none }</style>",
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0; url=https://evil.example/">',
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<form action="https://evil.example/"><button formaction="javascript:alert(1)">go</button></form>',
    "<details open ontoggle=\"window.__pwned='details'\">x</details>",
    "<input autofocus onfocus=\"window.__pwned='focus'\">",
    "<video><source onerror=\"window.__pwned='video'\"></video>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__pwned='mxss'\">",
    "<<script>script>window.__pwned='nested'<</script>/script>",
    "<scr<script>ipt>window.__pwned='split'</script>",
    "\"><script>window.__pwned='attr-break'</script>",
    "'><img src=x onerror=alert(1)>",
    "</textarea><script>window.__pwned='textarea'</script>",
    "<!--<script>window.__pwned='comment'</script>-->",
    '<img src="https://evil.example/pixel.gif">',
    '<a href="data:text/html,<script>alert(1)</script>">data link</a>',
    "{{ 7*7 }} {% raw %} ${7*7} #{7*7}",
    '<div hx-get="/w/demo/explorer" hx-trigger="load" hx-on:htmx:load="window.__pwned=\'htmx\'">htmx</div>',
    "<unclosed <b>broken <i>markup",
)


def write_corpus(path: Path) -> Path:
    """A JSON Lines export whose every field a page shows carries a payload."""
    lines = []
    for number, payload in enumerate(PAYLOADS):
        record = {
            "id": f"xss-{number}",
            "created_at": f"2026-10-{1 + number % 28:02d}T12:00:00Z",
            "kind": "comment" if number % 2 else "post",
            "title": payload if number % 3 == 0 else f"Payload {number}",
            "text": payload,
            "html": payload,
            "author": f"hacker{number}",
            "author_name": payload[:150],
            "author_url": "javascript:alert(1)",
            "url": "javascript:window.__pwned='url'" if number % 2 else "https://example.org/ok",
        }
        lines.append(orjson.dumps(record))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path
