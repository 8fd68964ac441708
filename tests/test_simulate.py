"""The day simulator (bench/simulate.py) runs a short day on the real Hall and computes its
figures; the targets themselves are bench figures, not test assertions."""

from bench.simulate import Scenario, figures, measure, plot, run_scenario


def test_a_short_simulated_day_computes_the_figures(tmp_path):
    scenario = Scenario("test-lunch", ("07:30-11:30", "13:30-17:00"), daily_tickets=40)
    result = run_scenario(scenario, days=1, seed=3, workdir=tmp_path)
    assert len(result["waits"]) >= 20
    for kind in ("issue", "updates"):
        figure = result["figures"][kind]
        assert figure["n"] == len(result["samples"][kind]) > 0
        assert figure["mean_actual_min"] >= 0
        for side in ("hub", "naive"):
            assert figure[side]["mae_min"] >= 0 and 0 <= figure[side]["within"] <= 1
        assert 0 <= figure["hub"]["range_hits"] <= 1
    assert result["figures"]["updates"]["n"] > result["figures"]["issue"]["n"]   # re-estimated as the line moves
    # deterministic: the same seed, the same figures
    again = run_scenario(scenario, days=1, seed=3, workdir=tmp_path)
    assert again["figures"] == result["figures"]
    path = plot({"test-lunch": result}, tmp_path / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_figures_compare_estimate_and_actual():
    class Leg:
        issued_at, priority = 0.0, False
        called_at = 600.0        # called after 10 minutes
        told = [(0.0, 10, 5, 15, 4.0, True), (300.0, 9, 6, 10, 2.0, False)]
    samples = measure([Leg()])
    at_issue = figures(samples["issue"])
    assert at_issue["hub"]["mae_min"] == 0 and at_issue["hub"]["within"] == 1 and at_issue["hub"]["range_hits"] == 1
    assert at_issue["naive"]["mae_min"] == 6 and at_issue["naive"]["bias_share"] == -0.6
    updates = figures(samples["updates"])
    assert updates["n"] == 2 and updates["hub"]["mae_min"] == 2     # (0 + |9 - 5|) / 2
    assert updates["hub"]["range_hits"] == 0.5                     # 5 min left, range 6–10: out; at issue: in


def test_the_oracle_runs_futures_and_leaves_the_main_run_as_it_was(tmp_path):
    scenario = Scenario("test-oracle", ("07:30-11:30", "13:30-17:00"), daily_tickets=30)
    plain = run_scenario(scenario, days=1, seed=5, workdir=tmp_path)
    studied = run_scenario(scenario, days=1, seed=5, workdir=tmp_path, oracle=(2, 6))
    assert studied["figures"]["issue"] == plain["figures"]["issue"]       # its draws are its own
    assert studied["figures"]["updates"] == plain["figures"]["updates"]
    oracle = studied["figures"]["oracle"]
    assert oracle["n"] >= 1 and 0 < oracle["futures"] <= 2
    for side in ("hub", "oracle_mean", "oracle_median"):
        assert oracle[side]["mae_share"] >= 0 and 0 <= oracle[side]["within"] <= 1
    assert all(len(waits) <= 2 for _, _, waits in studied["oracle_samples"])
