"""Region simulator: determinism, same demand for both policies, KPI ranges, scenario validation, CLI."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crowd_dispatch import InvalidInput
from crowd_dispatch.scenario import validate
from crowd_dispatch.simulate import answer, build_world, gini, simulate

ROOT = Path(__file__).resolve().parents[1]
SMALL = {
    "name": "small",
    "seed": 3,
    "duration_hours": 3,
    "region": {"center": [46.95, 7.45], "radius_km": 20},
    "skills": ["router", "fiber"],
    "experts": {"count": 60, "skills_per_expert": [1, 2]},
    "demand": {"jobs_per_hour": 12, "urgent_share": 0.5, "skills_per_job": [1, 1]},
}


def test_same_seed_same_kpis_and_another_seed_differs():
    first = simulate(SMALL, "ours")
    assert simulate(copy.deepcopy(SMALL), "ours") == first
    assert simulate(SMALL, "ours", seed=4) != first


def test_both_policies_face_the_same_jobs_and_experts():
    ours, nearest = simulate(SMALL, "ours"), simulate(SMALL, "nearest")
    assert (ours["jobs"], ours["urgent_jobs"], ours["experts"]) == (
        nearest["jobs"],
        nearest["urgent_jobs"],
        nearest["experts"],
    )
    scenario = validate(SMALL)
    experts_a, jobs_a = build_world(scenario)
    experts_b, jobs_b = build_world(scenario)
    assert [(j.created, j.lat, j.skills) for j in jobs_a] == [(j.created, j.lat, j.skills) for j in jobs_b]
    assert [e.expert for e in experts_a] == [e.expert for e in experts_b]


def test_answers_are_common_random_numbers():
    assert answer(7, 1, 2, 0.5, [1, 8]) == answer(7, 1, 2, 0.5, [1, 8])
    accepts, delay = answer(7, 1, 2, 1.0, [1, 8])
    assert accepts and 1 <= delay <= 8
    assert answer(7, 1, 2, 0.0, [1, 8])[0] is False


@pytest.mark.parametrize("policy", ["ours", "nearest"])
def test_kpis_are_in_range(policy):
    k = simulate(SMALL, policy)
    for share in ("urgent_on_site_60_share", "within_sla_share", "decline_rate", "utilisation"):
        assert 0.0 <= k[share] <= 1.0, share
    assert 0.0 <= k["gini_freelance_jobs"] < 1.0
    assert k["jobs"] > 0 and 0 <= k["unserved"] <= k["jobs"]
    assert k["offers_per_job"] >= (k["jobs"] - k["unserved"]) / k["jobs"]
    assert k["time_to_door_p50_min"] <= k["time_to_door_p90_min"]
    assert k["cost"] > 0


def test_no_supply_means_nothing_served():
    scenario = copy.deepcopy(SMALL)
    scenario["experts"]["online_share"] = 0.0
    k = simulate(scenario, "ours")
    assert k["unserved"] == k["jobs"] and k["urgent_on_site_60_share"] == 0.0 and k["offers_per_job"] == 0.0


def test_gini():
    assert gini([3, 3, 3]) == 0.0
    assert gini([0, 0, 9]) == pytest.approx(2 / 3, abs=1e-4)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"colour": 1}, "colour"),
        ({"experts": {"count": -5}}, "experts.count"),
        ({"experts": {"mix": {"employee": 0.5, "freelance": 0.2}}}, "experts.mix"),
        ({"experts": {"mix": {"robot": 1.0}}}, "experts.mix.robot"),
        ({"experts": {"wings": 2}}, "experts.wings"),
        ({"demand": {"jobs_per_hour": "many"}}, "demand.jobs_per_hour"),
        ({"demand": {"sla_minutes": {"urgent": 0}}}, "demand.sla_minutes.urgent"),
        ({"region": {"center": [95, 7]}}, "region.center"),
        ({"skills": []}, "skills"),
        ({"experts": {"skills_per_expert": [2, 5]}}, "experts.skills_per_expert"),
    ],
)
def test_malformed_scenarios_name_the_field(patch, field):
    scenario = copy.deepcopy(SMALL)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(scenario.get(key), dict):
            scenario[key] = {**scenario[key], **value}
        else:
            scenario[key] = value
    with pytest.raises(InvalidInput) as info:
        simulate(scenario, "ours")
    assert info.value.field == field


def test_unknown_policy_is_refused():
    with pytest.raises(InvalidInput):
        simulate(SMALL, "random")


def test_cli_prints_json_and_exits_2_on_a_bad_file(tmp_path):
    good = tmp_path / "s.json"
    good.write_text(json.dumps(SMALL))
    cmd = [sys.executable, "-m", "crowd_dispatch.simulate", str(good), "--policy", "nearest", "--seed", "5"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True)
    kpis = json.loads(out.stdout)
    assert kpis["policy"] == "nearest" and kpis["seed"] == 5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**SMALL, "experts": {"count": 0}}))
    run = subprocess.run([*cmd[:3], str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2
    assert "experts.count" in run.stderr and run.stdout == ""


def test_ours_runs_the_engine_policy_not_a_copy(monkeypatch):
    import crowd_dispatch.simulate as sim  # noqa: PLC0415

    calls = []
    real = sim.decide

    def spy(*args, **kwargs):
        calls.append(kwargs.get("reserved"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sim, "decide", spy)
    assert simulate(SMALL, "ours") == simulate(SMALL, "ours", settings=sim.OURS_SETTINGS)
    assert calls and sim.OURS_SETTINGS == sim.DispatchSettings()
    calls.clear()
    simulate(SMALL, "nearest")
    assert calls == []


def test_nobody_on_shift_until_late_means_jobs_wait_and_are_never_dropped():
    scenario = copy.deepcopy(SMALL)
    scenario["experts"].update(late_start_share=1.0, late_start_hours=[4, 4], shift_hours=3)
    k = simulate(scenario, "nearest")
    assert k["unserved"] == 0 and k["urgent_on_site_60_share"] < 0.3
    assert k["urgent_p50_min"] > 60
    scenario["experts"]["shift_hours"] = 0.01  # nobody works long enough to take them all: counted, not dropped
    k = simulate(scenario, "ours")
    assert k["unserved"] > 0 and k["time_to_door_p90_min"] is not None


def test_failed_first_visits_create_follow_ups():
    scenario = copy.deepcopy(SMALL)
    scenario["demand"]["equipment_models"] = 3
    scenario["experts"].update(first_time_fix=0.3, first_time_fix_spread=0.0)
    assert simulate(scenario, "nearest")["follow_ups"] > 0
    scenario["mechanics"] = {"first_time_fix": False}
    assert simulate(scenario, "nearest")["follow_ups"] == 0


def test_each_mechanic_can_be_switched_off_and_changes_the_world():
    base = simulate(SMALL, "nearest")
    legacy = copy.deepcopy(SMALL)
    legacy["mechanics"] = dict.fromkeys(validate(SMALL)["mechanics"], False)
    assert simulate(legacy, "nearest") != base
    assert simulate(legacy, "ours")["jobs"] == base["jobs"]


def test_a_lever_switched_off_through_the_cli(tmp_path):
    good = tmp_path / "s.json"
    good.write_text(json.dumps(SMALL))
    cmd = [sys.executable, "-m", "crowd_dispatch.simulate", str(good), "--without", "lookahead", "defer"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout)["policy"] == "ours"
    run = subprocess.run([*cmd[:-2], "telepathy"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2 and "telepathy" in run.stderr


def test_demand_and_the_first_experts_do_not_depend_on_the_supply():
    small, large = validate(SMALL), validate({**SMALL, "experts": {**SMALL["experts"], "count": 90}})
    experts_s, jobs_s = build_world(small)
    experts_l, jobs_l = build_world(large)
    assert [(j.created, j.lat, j.skills, j.actual_service_min) for j in jobs_s] == [
        (j.created, j.lat, j.skills, j.actual_service_min) for j in jobs_l
    ]
    assert [e.expert for e in experts_s] == [e.expert for e in experts_l[: len(experts_s)]]


def test_settings_without_switches_levers_off():
    from crowd_dispatch.simulate import OURS_SETTINGS, settings_without  # noqa: PLC0415

    off = settings_without("lookahead", "reask", "asset")
    assert (off.lookahead, off.reask_after_min, off.asset_weight) == (False, 0.0, 0.0)
    assert off.stagger is OURS_SETTINGS.stagger is True
    with pytest.raises(InvalidInput):
        settings_without("lookahead_horizon_min")


def test_ours_ranks_with_the_policy_default_weights():
    """No private numbers: ``ours`` ranks with the engine's DEFAULT_WEIGHTS (a new Odoo rule's too)."""
    from crowd_dispatch import DEFAULT_WEIGHTS, Policy, Weights  # noqa: PLC0415
    from crowd_dispatch.simulate import ours_policy  # noqa: PLC0415

    assert ours_policy(validate(SMALL)).weights == DEFAULT_WEIGHTS == Weights() == Policy().weights
    assert ours_policy(validate(SMALL), staged_pools=True).weights == DEFAULT_WEIGHTS
    assert DEFAULT_WEIGHTS.travel == max(vars(DEFAULT_WEIGHTS).values()), "close to nearest-first"
