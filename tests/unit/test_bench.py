"""The benchmark harness's correctness checks, in a tiny configuration, so ``make test`` keeps
``make bench`` from rotting. Nothing here is timed: speed belongs to ``make bench``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import deployment, images, issuance, orders, qrdamage, report
from bench.common import ROOT, summary

pytestmark = pytest.mark.unit


def test_a_ticket_code_and_the_naive_ticket_are_both_read_back_by_zxing() -> None:
    # When a few tickets are issued the Gatepass way and the naive way
    outcome = issuance.check(tickets=2)

    # Then a real decoder reads back exactly what each encoded, and our PNG is the smaller
    assert outcome["gatepass_decoded"] == 2
    assert outcome["naive_decoded"] == 2
    assert outcome["gatepass_png_bytes"] < outcome["naive_png_bytes"]
    # and the event's sealed key was opened once for both tickets, not once a ticket
    assert outcome["kms_decrypts"] == 1


def test_every_code_of_an_order_is_read_back_by_zxing_both_ways() -> None:
    # When an order of three tickets is issued the Gatepass way and the naive way
    outcome = orders.check(size=3)

    # Then every one of its codes is read back as what was encoded (ours verify as their tickets)
    assert outcome == {"tickets": 3, "gatepass_decoded": 3, "naive_decoded": 3}


def test_the_chosen_qr_symbol_survives_more_hidden_patches_than_todays() -> None:
    # Given today's symbol and the chosen one (docs/decisions/0065), and the same seeded phones
    by_name = {symbol.name: symbol for symbol in qrdamage.SYMBOLS}
    today, chosen = by_name["today"], by_name[qrdamage.CHOSEN]
    assert (chosen.level, chosen.quiet_zone) == ("Q", 4)

    # When 8 % of each symbol is hidden by cracks and smudges, then ZXing reads the chosen one
    # more often (the suite's draws are seeded: the same on every run)
    assert qrdamage.rate(chosen, "occluded", 0.08, 8) > qrdamage.rate(today, "occluded", 0.08, 8)
    # and both read back undamaged
    assert qrdamage.rate(chosen, "blur", 0.0, 2) == qrdamage.rate(today, "blur", 0.0, 2) == 1.0


def test_both_image_pipelines_make_renditions_of_the_sizes_the_site_shows() -> None:
    # Given a small camera-like JPEG (the bench uses 12 megapixels)
    quality = images.quality((800, 600))

    # Then both ways give a 1600-px-bounded display and a 400 x 300 thumbnail, close to the source
    for way in ("gatepass", "naive"):
        assert quality[way]["display_size"] == [800, 600]
        assert quality[way]["thumbnail_size"] == [400, 300]
        assert quality[way]["display_psnr_db"] > 30
        assert quality[way]["thumbnail_psnr_db"] > 30


def test_a_cold_start_child_refuses_what_the_deployment_would_not_contain() -> None:
    # Given the create-ticket function's deployment (runtime, SharedLayer, its requirements)
    refused = set(deployment.not_deployed(ROOT / "functions" / "create_ticket"))

    # Then what it lists is importable there, and the others' packages (and the X-Ray SDK, which
    # functions no longer ship) are not
    assert {"qrcode", "cryptography", "pydantic", "boto3"}.isdisjoint(refused)
    assert {"PIL", "sqlalchemy", "psycopg", "flask", "aws_xray_sdk"} <= refused
    # The reference stack (the previous one) still has it
    reference = set(deployment.not_deployed(ROOT / "functions" / "subscribe", ("aws-xray-sdk",)))
    assert "aws_xray_sdk" not in reference
    # And the floor (the runtime alone) has boto3 but not the layer's packages
    floor = set(deployment.not_deployed(None))
    assert "boto3" not in floor
    assert {"pydantic", "aws_lambda_powertools"} <= floor


def test_a_summary_gives_the_median_and_spread_of_the_samples() -> None:
    assert summary([3.0, 1.0, 2.0, 10.0, 4.0]) == {
        "median": 3.0,
        "q1": 2.0,
        "q3": 4.0,
        "min": 1.0,
        "max": 10.0,
        "n": 5,
    }


def test_the_committed_results_render_into_the_committed_report(tmp_path: Path) -> None:
    import json

    # Given the results of the last committed run
    results = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())

    # When the report is rendered from them
    text = report.render(results)

    # Then it is docs/performance.md as committed, with every suite and the goals
    assert text == (ROOT / "docs" / "performance.md").read_text()
    for heading in ("### Goals", "### 1. Cold start", "### 5. Web reads", "### 6. Local API"):
        assert heading in text


def test_every_function_of_the_template_has_a_cold_start_with_a_first_event() -> None:
    from bench import coldstart
    from devstack.template import TemplateModel

    # Given the functions template.yaml deploys
    functions = set(TemplateModel().functions)

    # Then the cold-start suite measures each one, as built, on one of the events/ samples
    measured = {
        s.function: s.event_file for s in coldstart.SUBJECTS if s.module is None and s.bytecode
    }
    assert sorted(functions - set(measured)) == []
    assert sorted(set(measured) - functions) == []
    for event_file in measured.values():
        assert (coldstart.EVENTS / event_file).is_file(), event_file


def test_counting_names_functions_as_built_and_refuses_one_it_does_not_measure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench import __main__ as bench_main
    from bench import coldstart

    # The functions named, as built, in the suite's order, whatever order they are given in
    chosen = coldstart.named(["CheckInFunction", "AuthorizerFunction"])
    assert [(s.function, s.bytecode, s.module) for s in chosen] == [
        ("AuthorizerFunction", True, None),
        ("CheckInFunction", True, None),
    ]

    # A name the suite does not measure is an error that names it, before anything runs
    with pytest.raises(SystemExit) as exited:
        bench_main.main(["--count", "AuthorizerFunction,NoSuchFunction"])
    assert exited.value.code == 2
    assert "no cold start measures NoSuchFunction" in capsys.readouterr().err
