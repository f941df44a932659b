"""Intents of the rules in policy/rules/network.py (see tests/intents/__init__.py)."""

from hypothesis import strategies as st

from ..test_policy_rules import FLOW_LOG, VPC, res
from . import Case, Intents

# AWS accepts exactly these traffic types (EC2 API CreateFlowLogs, TrafficType); any other spelling is refused.
TRAFFIC_TYPES = st.sampled_from(["ALL", "ACCEPT", "REJECT", "all", "All", "", None])


def flow_logs() -> st.SearchStrategy[Case]:
    """A VPC is recorded only by a flow log of that VPC capturing ALL traffic; logs elsewhere or of part of it do not count."""

    def case(logs: list[tuple[str | None, bool]]) -> Case:
        resources = [VPC] + [
            res(FLOW_LOG.type, {"trafficType": traffic}, f"fl{i}", deps=(VPC.urn,) if of_this_vpc else ())
            for i, (traffic, of_this_vpc) in enumerate(logs)
        ]
        return Case(resources, violates=not any(traffic == "ALL" and of_this_vpc for traffic, of_this_vpc in logs))

    return st.lists(st.tuples(TRAFFIC_TYPES, st.booleans()), max_size=3).map(case)


INTENTS: Intents = {"net-flow-logs": flow_logs()}
