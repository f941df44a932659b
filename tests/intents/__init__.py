"""Each policy rule's intent, as generators of resources that break it (however spelled) and resources that meet it.

One module per rule module (`policy/rules/<name>.py` -> `tests/intents/<name>.py`) defines `INTENTS`: for each rule
id, a Hypothesis strategy of `Case`s. A case says whether its resources break the intent, decided by an oracle
written from the rule's stated reason (what the engine or the incident does), never by calling the rule.
`tests/test_policy_intents.py` checks every rule against its cases and that every rule has both kinds.
"""

from dataclasses import dataclass

from hypothesis import strategies as st

from policy.rules import Resource


@dataclass(frozen=True)
class Case:
    resources: list[Resource]
    violates: bool
    tier: str = "prod"


Intents = dict[str, st.SearchStrategy[Case]]
