"""Terminal output that strangers' text cannot hijack: no markup, no control sequences."""

from __future__ import annotations

import re

from rich.console import Console
from rich.text import Text

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(value: object) -> Text:
    """User content as inert text: control characters, escape sequences and bidi overrides removed."""
    return Text(_CONTROL.sub("", str(value)))
