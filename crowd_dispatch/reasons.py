"""Reasons as codes with parameters.

The engine never writes sentences for people: :func:`crowd_dispatch.explain` and
:class:`crowd_dispatch.OfferDecision` give ``(code, params)`` pairs, and each caller renders them in
its user's language (the Odoo addon through translatable templates of its own). :func:`render` gives
the English text, for logs, the command line and the simulator.
"""

# code -> (English template, parameter names)
TEMPLATES = {
    # why an expert was chosen (explain)
    "travel": ("{minutes:.0f} min away ({km:.1f} km)", ("minutes", "km")),
    "rating_top": ("top-rated ({rating:.1f}/5)", ("rating",)),
    "rating_good": ("well rated ({rating:.1f}/5)", ("rating",)),
    "skill_surplus": ("skills above the requirement (+{levels} levels)", ("levels",)),
    "likely_accept": ("likely to accept ({percent:.0f}%)", ("percent",)),
    "low_cost": ("low cost", ()),
    "fair_share": ("no recent offers (fair share of work)", ()),
    "sla_ahead": ("arrives {minutes:.0f} min before the SLA deadline", ("minutes",)),
    "sla_late": ("would arrive {minutes:.0f} min after the SLA deadline", ("minutes",)),
    "tier_pool": ("{tier} from the {pool} pool", ("tier", "pool")),
    # what the dispatch decided (OfferDecision)
    "accepted": ("accepted by expert {expert}", ("expert",)),
    "offers_pending": ("{count} offer(s) pending", ("count",)),
    "rounds_exhausted": ("all {rounds} offer rounds exhausted", ("rounds",)),
    "offer_round": ("round {round}: offer to expert(s) {experts}", ("round", "experts")),
    "pool_opens_later": ("no candidate yet; next pool opens later", ()),
    "no_candidate": ("no candidate in any open pool ({rejections})", ("rejections",)),
    # why a batch left a job unstaffed (batch.assignment_details)
    "candidates_taken": ("its {candidates} candidate(s) are assigned to other jobs", ("candidates",)),
}
CODES = tuple(TEMPLATES)


def render(code, params=None):
    """English text of one reason (unknown codes are shown as they are)."""
    template = TEMPLATES.get(code)
    if template is None:
        return str(code)
    params = dict(params or {})
    if code == "no_candidate" and isinstance(params.get("rejections"), dict):
        parts = [f"{reason}: {count}" for reason, count in params["rejections"].items() if count]
        params["rejections"] = ", ".join(parts) if parts else "no expert rejected"
    if code == "offer_round" and isinstance(params.get("experts"), (list, tuple)):
        params["experts"] = ", ".join(str(e) for e in params["experts"])
    if code == "tier_pool":
        params = {k: str(v).replace("_", " ") for k, v in params.items()}
    return template[0].format(**params)


def render_all(reasons):
    """English texts of a list of ``(code, params)`` reasons."""
    return [render(code, params) for code, params in reasons]
