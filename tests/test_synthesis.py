"""Notebook 8's table: every claim of notebooks 2-6, from one tiny run with every strategy."""

from __future__ import annotations

from lth_helpers.claims import FAILS, HOLDS, UNRESOLVED
from lth_helpers.imp import run_imp, run_one_shot
from lth_helpers.mask_criteria import CRITERIA, run_mask_criteria
from lth_helpers.strategies import KNOWN
from lth_helpers.supermasks import supermask_records
from lth_helpers.synthesis import companion_claims, synthesis_table, verdict_counts

from conftest import tiny_config


def test_every_notebook_contributes_claims_and_the_table_has_a_row_each(tmp_path, small_data):
    config = tiny_config(",".join(KNOWN), rounds=2)
    result = run_imp(config, small_data, tmp_path, progress=False, verbose=False)
    one_shot = run_one_shot(config, [2], small_data, tmp_path, progress=False, verbose=False)
    criteria = run_mask_criteria(config, [2], CRITERIA, small_data, tmp_path, progress=False, verbose=False)
    masks = [r for r in one_shot.records + criteria.records if r["round"] == 2]
    pairs = companion_claims(result, one_shot.records, supermask_records(result, small_data), masks)
    assert {nb for nb, _ in pairs} == {"2", "3", "4", "5", "6"}
    assert all(c.verdict in (HOLDS, FAILS, UNRESOLVED) and c.here for _, c in pairs)
    assert sum(verdict_counts(pairs).values()) == len(pairs)
    assert len(synthesis_table(pairs).splitlines()) == len(pairs) + 2
    # Without the optional records, their claims are simply left out.
    assert len(companion_claims(result)) == len(pairs) - 3 - 3 - 3
