from csbridge.cli import main


def test_demo_scores_the_bundled_portfolio(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "10 example accounts scored with seed-5d" in out
    assert "acme-corp" in out and "globex" in out
    assert "by status: at_risk 2, attention 3, champion 3, healthy 1, no_data 1" in out
    assert "why acme-corp scores" in out
