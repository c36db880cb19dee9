#!/usr/bin/env python3
"""ctest hw_synth_rules: the synthesis check's verdict (synth.judge) on
made-up reports, without Yosys: a violation outside the known-failing list
fails, a listed one that no longer occurs fails (the list stays honest), a
depth deeper than recorded fails, a table outside block RAM that is not
recorded fails, entries of another geometry do not count. Also checks that
rules.json itself is well formed."""
import io
import json
import os
import sys
import unittest
from contextlib import redirect_stderr

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import synth  # noqa: E402

RULES = {
    "max_lut_levels": 7,
    "table_min_bits": 4096,
    "ff_arrays_allowed": ["cnt_q"],
    "known_failing": [
        {"module": "deep", "rule": "lut_levels", "measured": 10, "why": "x"},
        {"module": "ram", "rule": "tables_in_block_ram", "measured": ["mem_q: 64x579 in lutram"], "why": "x"},
        {"module": "big", "rule": "lut_levels", "geometries": ["reduced"], "measured": 9, "why": "x"},
    ],
}


def module(name, levels=3, mems=None, ff_arrays=None):
    return {"module": name, "instance_of": name, "lut_levels": levels, "memories": mems or {},
            "ff_arrays": ff_arrays or [], "fatal_warnings": [], "latches": 0}


def report(*mods, core_levels=5):
    return {"modules": {m.get("instance_of", m["module"]): m for m in mods},
            "core": {"module": "nic_core", "lut_levels": core_levels}}


def lutram(depth, width):
    return {"depth": depth, "width": width, "bits": depth * width, "mapped_to": "lutram"}


def verdict(rep, geometry="ci", module_only=None):
    with redirect_stderr(io.StringIO()) as err:
        rc = synth.judge(synth.check(rep, RULES), rep, RULES, geometry, module_only)
    return rc, err.getvalue()


GOOD = [module("deep", 10), module("ram", mems={"mem_q": lutram(64, 579)}), module("big", 4)]


class Judge(unittest.TestCase):
    def test_exactly_the_known_list_passes(self):
        rc, err = verdict(report(*GOOD))
        self.assertEqual(rc, 0, err)

    def test_new_violation_fails(self):
        rc, err = verdict(report(*GOOD, module("other", 8)))
        self.assertEqual(rc, 1)
        self.assertIn("other: lut_levels: not in known_failing", err)

    def test_fixed_known_failure_fails(self):
        rc, err = verdict(report(module("deep", 7), *GOOD[1:]))
        self.assertEqual(rc, 1)
        self.assertIn("deep: lut_levels: now passes", err)

    def test_deeper_than_recorded_fails_shallower_passes(self):
        rc, err = verdict(report(module("deep", 11), *GOOD[1:]))
        self.assertEqual(rc, 1)
        self.assertIn("deeper than the 10 recorded", err)
        rc, err = verdict(report(module("deep", 9), *GOOD[1:]))
        self.assertEqual(rc, 0, err)
        self.assertIn("better than the 10 recorded", err)

    def test_unrecorded_table_fails(self):
        mems = {"mem_q": lutram(64, 579), "other_q": lutram(64, 128)}
        rc, err = verdict(report(GOOD[0], module("ram", mems=mems), GOOD[2]))
        self.assertEqual(rc, 1)
        self.assertIn("not recorded: other_q: 64x128 in lutram", err)

    def test_flip_flop_array_fails_unless_allowed(self):
        rc, _ = verdict(report(*GOOD, module("regs", ff_arrays=["cnt_q"])))
        self.assertEqual(rc, 0)
        rc, err = verdict(report(*GOOD, module("regs", ff_arrays=["table_q"])))
        self.assertEqual(rc, 1)
        self.assertIn("table_q: array in flip-flops", err)

    def test_latch_and_elaboration_fail(self):
        latch = dict(module("l"), latches=2)
        rc, err = verdict(report(*GOOD, latch))
        self.assertEqual(rc, 1)
        self.assertIn("2 latch cells", err)
        rc, err = verdict(report(*GOOD, {"module": "bad", "elaborates": False, "error": "e"}))
        self.assertEqual(rc, 1)
        self.assertIn("bad: elaborates", err)

    def test_entries_of_other_geometries(self):
        # "big" is known at reduced only: 9 levels fail at ci, pass at reduced.
        rc, err = verdict(report(GOOD[0], GOOD[1], module("big", 9)))
        self.assertEqual(rc, 1)
        rc, err = verdict(report(GOOD[0], GOOD[1], module("big", 9)), geometry="reduced")
        self.assertEqual(rc, 0, err)
        # ... and at reduced, a fixed "big" fails.
        rc, err = verdict(report(*GOOD), geometry="reduced")
        self.assertEqual(rc, 1)
        self.assertIn("big: lut_levels: now passes", err)

    def test_module_runs_judge_only_what_they_synthesised(self):
        rc, err = verdict(report(GOOD[0]), module_only="deep")
        self.assertEqual(rc, 0, err)


class RulesFile(unittest.TestCase):
    def test_rules_json(self):
        with open(os.path.join(HERE, "rules.json")) as f:
            rules = json.load(f)
        geometries = set(rules["geometries"])
        self.assertIn("ci", geometries)
        seen = set()
        for k in rules["known_failing"]:
            self.assertTrue(k.get("why"), k)
            self.assertIn(k["rule"], ("elaborates", "no_fatal_warnings", "lut_levels",
                                      "tables_in_block_ram"), k)
            for g in k.get("geometries", geometries):
                self.assertIn(g, geometries, k)
                key = (k["module"], k["rule"], g)
                self.assertNotIn(key, seen, "listed twice")
                seen.add(key)
            if k["rule"] == "lut_levels" and "ci" in k.get("geometries", geometries):
                self.assertIsInstance(k.get("measured"), int, k)


if __name__ == "__main__":
    unittest.main()
