"""The one vocabulary of Crowd Service on the Odoo side.

Tiers, expert kinds and pools are the engine's enums (``crowd_dispatch.model``); each is given its
labels here, once, and every selection field of the three addons uses these lists. Priorities are
maintenance's own: read from ``maintenance.request``'s ``priority`` field, never redefined.
"""

from crowd_dispatch.model import Kind, Pool, Tier

_TIER_LABELS = {
    Tier.FIRST_RESPONDER: "First Responder",
    Tier.TECHNICIAN: "Technician",
    Tier.SPECIALIST: "Specialist",
}
_KIND_LABELS = {
    Kind.EMPLOYEE: "Own Technician",
    Kind.PARTNER: "Partner Technician",
    Kind.FREELANCE: "Freelancer",
}
_POOL_LABELS = {
    Pool.OWN: "Own Technicians",
    Pool.PARTNER: "Service Partners",
    Pool.CROWD: "Crowd",
}

# Selections in the engine's order (labels are translated by the selection fields that use them).
CROWD_TIERS = [(tier.value, _TIER_LABELS[tier]) for tier in Tier]
CROWD_KINDS = [(kind.value, _KIND_LABELS[kind]) for kind in Kind]
CROWD_POOLS = [(pool.value, _POOL_LABELS[pool]) for pool in Pool]


def priority_selection(env):
    """maintenance.request's priority selection, with its (translated) labels."""
    return env["maintenance.request"]._fields["priority"]._description_selection(env)
