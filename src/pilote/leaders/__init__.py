"""Opinion leaders: the reply/mention/quote graph of a workspace and the lists drawn from it (docs/leaders.md).

`window` picks the period, `leaders` computes the lists; `graph` reads the interactions from the store,
`scores` measures the graph (python-igraph), `mentions` reads whom a message names.
"""

from pilote.leaders.lists import Evidence, Leader, Leaders, leaders
from pilote.leaders.window import NAMES, Window, window

__all__ = ["NAMES", "Evidence", "Leader", "Leaders", "Window", "leaders", "window"]
