"""The instruction-count guard (bench/callgrind.py, run by scripts/test.sh): how it reads a callgrind
dump and when it fails. The guard itself runs fedns under valgrind; these check its arithmetic."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))

import callgrind  # noqa: E402

# A dump as callgrind writes it with name compression: `(id) name` the first time, `(id)` after.
DUMP = """version: 1
creator: callgrind-3.19.0
events: Ir
fn=(1) main
0 100
cfn=(2) malloc
calls=3 0
0 60
cfn=(3) swift_retain
calls=7 0
0 14
fn=(4) other
0 5
cfn=(2)
calls=2 0
0 40
summary: 219
totals: 219
"""


def test_dump_gives_instructions_and_malloc_calls(tmp_path):
    path = tmp_path / "callgrind.out.1"
    path.write_text(DUMP)
    assert callgrind.read_dump(str(path)) == (219, 5)


def test_instructions_are_the_summary_not_the_totals(tmp_path):
    # fedns's first dump after start-up carried costs `callgrind_control -z` had not cleared: the
    # cost lines summed (`totals:`) to millions more than the events counted since zeroing.
    path = tmp_path / "callgrind.out.2"
    path.write_text(DUMP.replace("totals: 219", "totals: 17000219"))
    assert callgrind.read_dump(str(path)) == (219, 5)
    path.write_text(DUMP.replace("summary: 219\n", ""))
    assert callgrind.read_dump(str(path))[0] == 219


def baseline(cluster: float, hit: float) -> dict:
    return {"cluster": {"instructions": cluster, "mallocs": 0}, "cache-hit": {"instructions": hit, "mallocs": 0}}


def test_a_rise_within_a_quarter_passes_and_beyond_fails():
    lines, failed = callgrind.compare(baseline(1240, 900), baseline(1000, 1000))
    assert not failed, lines
    lines, failed = callgrind.compare(baseline(1260, 900), baseline(1000, 1000))
    assert failed and lines[0].startswith("FAIL cluster"), lines
    assert lines[1].startswith("ok cache-hit"), lines


def test_a_path_measured_nowhere_fails():
    counts = baseline(1000, 1000)
    del counts["cache-hit"]
    lines, failed = callgrind.compare(counts, baseline(1000, 1000))
    assert failed and "cache-hit" in lines[1], lines
