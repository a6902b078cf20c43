"""Policy as data: the company's rules change the outcome without code."""

from dataclasses import replace
from datetime import date

import psycopg

from drivers.domain import Source
from ingest.reconcile import Policy, load_policy, reconcile, save_policy
from tests.ingest.reconcile.conftest import Site, kyiv

MAY = date(2026, 5, 1)


def _set(site: Site, **changes: object) -> Policy:
    with psycopg.connect(site.url) as conn:
        policy = replace(load_policy(conn), **changes)  # type: ignore[arg-type]
        save_policy(conn, policy, actor="admin")
    return policy


def test_defaults_come_from_the_domain_rules(site: Site) -> None:
    with psycopg.connect(site.url) as conn:
        assert load_policy(conn) == Policy()
    assert Policy().precedence == ("auto", "consumer", "controller", "estimate")
    assert (Policy().window_before_days, Policy().window_until_day) == (2, 3)


def test_a_company_accepting_readings_until_the_fourth(site: Site) -> None:
    p = site.point(90)
    site.reads(p.meter_id, 0, [(kyiv(2026, 4, 30, 12), 10_000_000),
                               (kyiv(2026, 6, 4, 18), 10_100_000)],
               source=Source.CONSUMER)  # fmt: skip
    reconcile(site.url, period=MAY, now=kyiv(2026, 6, 10))
    assert site.results(MAY)[(p.eic, 0)]["consumption_wh"] is None  # the 4th is too late
    _set(site, window_until_day=4)
    reconcile(site.url, period=MAY, now=kyiv(2026, 6, 10))
    row = site.results(MAY)[(p.eic, 0)]
    assert (row["consumption_wh"], row["source"], row["version"]) == (100_000, "consumer", 2)
    audit = site.execute("SELECT actor, action FROM audit_log WHERE action = 'policy.update'")
    assert audit == [("admin", "policy.update")]


def test_precedence_is_configurable(site: Site) -> None:
    p = site.point(91)
    site.reads(p.meter_id, 0, [(kyiv(2026, 5, 1), 10_000_000), (kyiv(2026, 6, 1), 10_100_000)])
    site.reads(p.meter_id, 0, [(kyiv(2026, 6, 2, 9), 10_104_000)], source=Source.CONSUMER)
    _set(site, precedence=("consumer", "auto", "controller", "estimate"))
    reconcile(site.url, period=MAY, now=kyiv(2026, 6, 10))
    row = site.results(MAY)[(p.eic, 0)]
    assert (row["consumption_wh"], row["source"]) == (104_000, "consumer")
