"""Many estimates at one moment (a push round's ticket pages) share what one Estimator
works out (today's periods, the lunch closure, each counter's next free moment, answers by
who is ahead): every answer stays the one a single ticket's own Estimator gives."""

from bench.estimates import busy_hall, followed_views
from hallserver.core import views
from hallserver.core.estimates import Estimator
from hallserver.web.push import Changes, FollowedEstimator, followed_rows


def test_shared_estimates_answer_what_each_ticket_alone_gets(tmp_path):
    hall, _ = busy_hall(tmp_path / "batch.db", waiting=150)
    rows = hall.read(lambda db, config, now: list(db.query("SELECT * FROM tickets WHERE status = 'waiting'")))
    # the hall mixes what the estimate distinguishes
    assert {row["service"] for row in rows} == {"HT", "CT", "DD", "TP", "XH"}
    assert any(row["priority"] for row in rows) and any(row["requeued_at"] for row in rows)
    assert any(row["due_at"] for row in rows)
    assert hall.read(lambda db, config, now: db.execute(
        "SELECT status FROM counters WHERE number = 5").fetchone()[0]) == "paused"

    for estimator_class in (FollowedEstimator, Estimator):
        together, _ = followed_views(hall, estimator_class)
        assert set(together) == {row["track_token"] for row in rows}
        for token, view in together.items():
            assert view == hall.ticket_by_token(token), (estimator_class.__name__, view["number"])
    assert any(view["eta_after_closure"] for view in together.values())        # some wait past lunch
    assert any(view["eta_after_closure"] is False for view in together.values())
    assert len({view["eta_minutes"] for view in together.values()}) > 20


def test_one_estimator_answers_every_place_and_line_as_a_fresh_one_would(tmp_path):
    hall, _ = busy_hall(tmp_path / "new.db", waiting=60)

    def both(db, config, now):
        shared = Estimator(db, config, now)
        codes = [service.code for service in config.services]
        # the same place in line with other services' lines of other lengths ahead
        aheads = [None, {}] + [{code: (index * 7 + shift) % 40 for index, code in enumerate(codes)}
                               for shift in (3, 11)]
        checked = set()
        for code in codes:
            for position in (1, 5, 40, 400):
                for kind in ("normal", "priority", "requeued"):
                    for ahead in aheads:
                        alone = Estimator(db, config, now).estimate(code, position, kind, ahead)
                        assert shared.estimate(code, position, kind, ahead) == alone, (code, position, kind, ahead)
                        checked.add(alone)
        return len(checked)
    assert hall.read(both) > 100   # the answers really differ


def test_a_push_round_reads_everything_before_building_its_views(tmp_path):
    """The sender builds the ticket pages' views after its one read: ``read_now`` has read
    all their estimates need, so building them runs no SQL statement."""
    hall, clock = busy_hall(tmp_path / "round.db", waiting=40)
    clock.now += 600    # a counter back from a pause, another one calls
    hall.counter_action(5, "resume")
    hall.counter_action(4, "call-next", arrived=True)
    statements = []

    def round_(db, config, now):
        tokens = [token for (token,) in db.execute("SELECT track_token FROM tickets")]
        rows = followed_rows(db, config, now, tokens, Changes(services={"DD"}, tickets={1, 2}))
        estimator = FollowedEstimator(db, config, now)
        estimator.read_now(rows)
        db.conn.set_trace_callback(statements.append)
        try:
            return [views.public_ticket(config, row, estimator) for row in rows]
        finally:
            db.conn.set_trace_callback(None)
    built = hall.read(round_)
    assert {view["service"] for view in built} > {"DD"}                 # the named tickets too
    assert sum(view["eta_minutes"] is not None for view in built) > 5    # with estimates
    assert statements == []
