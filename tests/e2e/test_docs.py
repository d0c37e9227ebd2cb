"""The documentation cannot drift: docs/configuration.md is what `fedns config reference` prints,
every flag of `fedns serve --help` is in it, every help names a doc, and scripts/check-docs.py
(references inside the repository, scenario links, markdownlint) passes and catches what it should."""

import os
import re
import subprocess
import sys

from servers import fedns_binary

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK = os.path.join(ROOT, "scripts", "check-docs.py")


def run(*args: str) -> str:
    out = subprocess.run([fedns_binary(), *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_committed_configuration_reference_is_what_the_code_generates():
    with open(os.path.join(ROOT, "docs", "configuration.md"), encoding="utf-8") as f:
        committed = f.read()
    assert run("config", "reference") == committed, \
        "docs/configuration.md is stale: run `fedns config reference > docs/configuration.md`"


def test_every_serve_flag_is_in_the_reference():
    flags = set(re.findall(r"^\s+(--[a-z][a-z-]*)", run("serve", "--help"), re.M)) - {"--help", "--version"}
    assert flags, "no flag found in fedns serve --help"
    reference = run("config", "reference")
    missing = [f for f in sorted(flags) if f"| `{f}` |" not in reference]
    assert not missing, f"flags missing from docs/configuration.md: {missing}"


def test_every_help_names_the_doc_to_read():
    for command in [[], ["serve"], ["check-config"], ["resolve"], ["conformance"], ["conformance", "run"],
                    ["config"], ["config", "reference"]]:
        text = run(*command, "--help")
        named = re.findall(r"(docs/[a-z]+\.md|conformance/README\.md)", text.split("SUBCOMMANDS:")[0])
        assert named, f"fedns {' '.join(command)} --help names no doc"
        for doc in named:
            assert os.path.exists(os.path.join(ROOT, doc)), f"fedns {' '.join(command)} --help names {doc}, missing"


def test_the_repository_documentation_passes_check_docs():
    out = subprocess.run([sys.executable, CHECK, ROOT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_check_docs_fails_on_outside_and_missing_references(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "conformance" / "cluster").mkdir(parents=True)
    (tmp_path / "conformance" / "cluster" / "a.yaml").write_text("name: a\n")
    (tmp_path / "conformance" / "cluster" / "orphan.yaml").write_text("name: orphan\n")
    links = "[a](../conformance/cluster/a.yaml)"
    (tmp_path / "docs" / "behaviour.md").write_text(f"# B\n\n{links}\n[gone](../conformance/cluster/gone.yaml)\n")
    (tmp_path / "README.md").write_text("# R\n\nSee [the design](../shared/DESIGN.md) and [ops](docs/ops.md#x).\n")
    (tmp_path / "Sources").mkdir()
    (tmp_path / "Sources" / "A.swift").write_text(
        "// DESIGN §4: the cache\n// see docs/missing.md\n// as in /work/shared/notes.txt\nlet c = Counter(label: \"fedns_undocumented_total\")\n")
    out = subprocess.run([sys.executable, CHECK, "--no-lint", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    problems = out.stdout
    assert "Sources/A.swift:1: refers to 'DESIGN §N'" in problems
    assert "Sources/A.swift:2: names 'docs/missing.md'" in problems
    assert "Sources/A.swift:3: names a path on one machine" in problems
    assert "README.md:3: refers to ../shared" in problems
    assert "link '../shared/DESIGN.md' leaves the repository" in problems
    assert "link 'docs/ops.md#x' names a file that does not exist" in problems
    assert "docs/behaviour.md: scenario '../conformance/cluster/gone.yaml' does not exist" in problems
    assert "docs/behaviour.md: scenario conformance/cluster/orphan.yaml is not linked from any rule" in problems
    assert "metric fedns_undocumented_total (declared in Sources/A.swift) is not described" in problems
