"""The team inbox: every conversation that needs a person, in one queue across channels.

`intake.py` turns analysed messages into items (one per person and thread) and notices the team's answers;
`items.py` is what people do to items (status, assignee, priority, tags, notes, spam), each change an event;
`queue.py` reads the queue (filters, saved views, keyset pages, counts); `sla.py` says when a first response
is due. See docs/inbox.md.
"""

from __future__ import annotations

STATUSES = ("new", "open", "pending", "snoozed", "done", "spam", "ignored")
TODO = ("new", "open")  # what the team still owes an answer to: a first response is due
CLOSED = ("done", "spam", "ignored")
PRIORITIES = {0: "low", 1: "normal", 2: "high", 3: "urgent"}
