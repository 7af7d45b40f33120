"""Region simulator: determinism, same demand for both policies, KPI ranges, scenario validation, CLI."""

import copy
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import make_expert, north

import crowd_dispatch.simulate as sim
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


# -------------------------------------------------------------------- divert
def test_diversions_are_counted_and_every_diverted_visit_is_served_again():
    scenario = {**validate(SMALL), "seed": 4}  # a seed on which ``ours`` diverts
    run = sim.Simulation(scenario, "ours")
    k = run.run()
    assert k["diversions"] > 0 and k["unserved"] == 0
    assert sum(j.diverted for j in run.jobs) == k["diversions"]
    for job in run.jobs:
        if job.diverted:
            assert not job.urgent and job.served_at is not None and job.expert_id is not None
            withdrawn = [r for r in job.records if r.state.value == "withdrawn"]
            assert len([r for r in job.records if r.state.value == "accepted"]) == 1 and withdrawn
    assert sum(e.jobs for e in run.experts) == k["jobs"] + k["follow_ups"]
    assert simulate(SMALL, "ours", seed=4, settings=replace(sim.OURS_SETTINGS, divert=False))["diversions"] == 0
    assert simulate(SMALL, "nearest", seed=4)["diversions"] == 0
    assert simulate(SMALL, "ours")["diversions"] >= 0


TINY = {
    "name": "tiny",
    "seed": 1,
    "duration_hours": 3,
    "skills": ["general"],
    "experts": {"skills_per_expert": [1, 1]},
    "mechanics": {"shifts": False, "duration_noise": False, "in_progress_start": False},
}


def tiny_world(urgent_service=120.0, model=None):
    """Expert 0 at the base, expert 1 30 km south. Job 0 (normal, 20 km north, 60 min) arrives at 0 and goes
    to expert 0 (39 min drive); job 1 (urgent, 5 km north, right on expert 0's way) arrives at 10."""
    experts = []
    for eid, km in ((0, 0.0), (1, -30.0)):
        expert = make_expert(eid, lat=north(km), radius_km=100.0, skills={"general": 2})
        experts.append(sim.SimExpert(expert, expert.lat, expert.lon, base_accept=0.9, fix_rate={"m": 0.0}))
    jobs = [
        sim.SimJob(0, 0.0, north(20), experts[0].lon, False, {"general": 1}, 60.0, 480.0, model=model),
        sim.SimJob(1, 10.0, north(5), experts[0].lon, True, {"general": 1}, urgent_service, 60.0, model=model),
    ]
    for job in jobs:
        job.actual_service_min, job.pay = job.service_min, 1.0
    return experts, jobs


def always_yes(delay=1.0):
    return lambda seed, job_id, expert_id, probability, delay_range, attempt=0: (True, delay)


def test_a_diverted_expert_serves_the_urgent_job_and_the_visit_left_goes_out_again(monkeypatch):
    monkeypatch.setattr(sim, "answer", always_yes())
    run = sim.Simulation(validate(TINY), "ours", world=tiny_world())
    seen = {}
    run._on_probe = lambda t: seen.update(  # the moment the stale "free" of job 0 fell due (1 + 39 + 60)
        current_job=run.by_id[0].current_job,
        busy_until=run.pool.busy_until[run.pool.row_of[0]],
        now=sim.to_epoch(sim.T0) + 60.0 * t,
    )
    run.push(100.5, "probe")
    k = run.run()
    old, urgent_job = run.jobs
    x, other = run.by_id[0], run.by_id[1]
    assert k["diversions"] == 1 and old.diverted == 1 and urgent_job.diverted == 0
    assert urgent_job.expert_id == 0 and old.expert_id == 1 and k["unserved"] == 0
    assert [r.state.value for r in old.records] == ["withdrawn", "accepted"]
    # Expert 0 accepted job 0 at 1, was diverted at 11 (10 min driven), then drove on to job 1 (it is 5 km
    # north, expert 0 had driven 10/39 of 20 km) and worked 120 min there.
    travel = abs(20.0 * 10 / 39 - 5.0) * 1.3 / 40 * 60
    assert urgent_job.served_at == pytest.approx(11 + travel, abs=0.01)
    assert x.busy_min == pytest.approx(10.0 + travel + 120.0, abs=0.01) and x.jobs == 1
    assert x.free_at == pytest.approx(11 + travel + 120.0, abs=0.01)
    assert other.jobs == 1 and other.busy_min == pytest.approx(50 * 1.3 / 40 * 60 + 60.0, abs=0.01)
    # The free event of the visit left behind (at 100) does not free expert 0 early.
    assert seen["current_job"] == 1 and seen["busy_until"] > seen["now"]


def test_a_divert_offer_is_withdrawn_when_the_expert_reaches_the_old_site(monkeypatch):
    # Job 1 arrives at 35 right where expert 0 drives by; their "yes" would come 9 min later, but they reach
    # job 0 at 40: the offer is withdrawn then (as Odoo does on check-in), the job goes to expert 1 at once,
    # and the late "yes" changes nothing.
    monkeypatch.setattr(sim, "answer", lambda seed, job_id, eid, p, d, attempt=0: (True, 9.0 if job_id else 1.0))
    experts, jobs = tiny_world()
    jobs[1].created, jobs[1].lat = 35.0, north(17)
    run = sim.Simulation(
        validate(TINY), "ours", settings=replace(sim.OURS_SETTINGS, stagger=False), world=(experts, jobs)
    )
    k = run.run()
    old, urgent_job = run.jobs
    first = urgent_job.records[0]
    assert first.expert_id == 0 and first.state.value == "withdrawn"
    assert first.responded_at == sim.T0 + timedelta(minutes=old.served_at), "withdrawn when they reached job 0"
    assert urgent_job.diverting == {0: 0}  # it was a divert offer
    assert k["diversions"] == 0 and old.diverted == 0 and old.expert_id == 0 and run.by_id[0].jobs == 1
    assert urgent_job.expert_id == 1 and k["unserved"] == 0
    assert urgent_job.records[1].expert_id == 1 and urgent_job.records[1].sent_at == first.responded_at


def test_no_diversion_when_the_lever_is_off_or_for_nearest(monkeypatch):
    monkeypatch.setattr(sim, "answer", always_yes())
    off = sim.Simulation(validate(TINY), "ours", settings=replace(sim.OURS_SETTINGS, divert=False), world=tiny_world())
    nearest = sim.Simulation(validate(TINY), "nearest", world=tiny_world())
    for run in (off, nearest):
        k = run.run()
        assert k["diversions"] == 0 and run.jobs[0].expert_id == 0 and run.jobs[0].diverted == 0
        assert run.jobs[1].expert_id == 1 and k["unserved"] == 0


def test_follow_ups_start_without_the_diversions_of_their_first_visit(monkeypatch):
    monkeypatch.setattr(sim, "answer", always_yes())
    # Nobody fixes model "m" first time: job 1 ends at ~71 and job 0 (served by expert 1) at ~170, both
    # within the 3 h window, so both get a follow-up visit.
    run = sim.Simulation(validate(TINY), "ours", world=tiny_world(urgent_service=60.0, model="m"))
    k = run.run()
    assert k["diversions"] == 1 and run.jobs[0].diverted == 1 and run.jobs[1].diverting == {0: 0}
    follow_ups = {j.follow_up_of: j for j in run.jobs if j.follow_up_of is not None and j.follow_up_of < 2}
    assert set(follow_ups) == {0, 1}
    for first, follow in follow_ups.items():
        assert follow.diverted == 0 and follow.diverting == {}, first
        assert follow.diverting is not run.jobs[first].diverting


def test_an_urgent_visit_is_never_diverted_by_a_yes_to_an_older_divert_offer(monkeypatch):
    """Regression: with two divert offers open to one expert (no one-offer limit, no withdrawal on accept),
    the second "yes" diverted the expert from the urgent job the first one gave them."""

    monkeypatch.setattr(sim, "answer", always_yes())
    experts, jobs = tiny_world()
    jobs[1].lat = north(8)  # expert 0, diverted at 11, reaches job 1 at ~16.6
    jobs.append(sim.SimJob(2, 10.5, north(6), jobs[0].lon, True, {"general": 1}, 60.0, 60.0, 60.0, 1.0))
    settings = replace(sim.OURS_SETTINGS, one_open_offer_per_expert=False, withdraw_on_accept=False)
    run = sim.Simulation(validate(TINY), "ours", settings=settings, world=(experts, jobs))
    k = run.run()
    assert k["diversions"] == 1 and run.jobs[0].diverted == 1 and run.jobs[1].diverted == 0
    assert run.jobs[1].expert_id == 0 and run.jobs[1].served_at < 20
    assert run.jobs[2].records[0].state.value == "declined"  # expert 0 was no longer on the way to job 0
    assert run.jobs[2].diverting == {0: 0}  # offered to expert 0 as a diversion from job 0 (at 10.5)


def test_kpis_do_not_depend_on_the_machine_time_zone(tmp_path):
    """Regression: the simulator told the engine busy ends with ``T0.timestamp()`` (naive: local time)
    while the engine reads naive datetimes as UTC, so east of UTC experts looked free too early."""
    path = tmp_path / "s.json"
    path.write_text(json.dumps({**SMALL, "seed": 4}))
    cmd = [sys.executable, "-m", "crowd_dispatch.simulate", str(path)]
    runs = [
        json.loads(subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True, env=env).stdout)
        for env in ({**os.environ, "TZ": "UTC"}, {**os.environ, "TZ": "CET-1"}, {**os.environ, "TZ": "EST+5"})
    ]
    assert runs[0] == runs[1] == runs[2]
