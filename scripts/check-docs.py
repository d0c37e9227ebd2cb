#!/usr/bin/env python3
"""Checks that the repository's documentation stands on its own and stays true:

- no README, doc or code comment refers to a document outside the repository ("DESIGN §N",
  "DESIGN.md", "../shared") or to a repository path that does not exist (a relative Markdown link,
  or a `docs/…`, `conformance/…`, `Sources/…` path named in a comment);
- every conformance scenario docs/behaviour.md links to exists, and every scenario is linked from a rule;
- every metric series declared in Sources/ is described in docs/operating.md;
- markdownlint (PyPI pymarkdownlnt, settings in .pymarkdown.json) passes on docs/ and README.md.

Usage: check-docs.py [--no-lint] [ROOT]. Exits 1 and prints one line per problem.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

# Files whose text is checked for references; fuzz corpora, build output and git are not text.
TEXT_SUFFIXES = (".swift", ".md", ".py", ".sh", ".yaml", ".yml", ".h", ".modulemap")
SKIP_DIRS = {".git", ".build", ".build-fuzz", "node_modules", "fuzz-corpus", "corpus", "__pycache__"}

OUTSIDE = [
    (re.compile(r"DESIGN\s*§"), "refers to 'DESIGN §N', a document outside the repository"),
    (re.compile(r"DESIGN\.md"), "refers to DESIGN.md, a document outside the repository"),
    (re.compile(r"\.\./shared\b"), "refers to ../shared, outside the repository"),
    (re.compile(r"(?<![\w.~-])/(?:work|home|root)/"), "names a path on one machine, outside the repository"),
]
# A Markdown link or image target: [text](target).
MD_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
# A repository path named in prose or a comment: docs/x.md, conformance/a/b.yaml, Sources/A/B.swift.
REPO_PATH = re.compile(r"(?<![\w./-])((?:docs|conformance|Sources|Tests|tests|scripts|bench|fuzz)/[\w./-]*\w)")


def text_files(root: str):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".build")]
        for name in filenames:
            if name.endswith(TEXT_SUFFIXES):
                yield os.path.join(dirpath, name)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: str) -> set[str]:
    out: set[str] = set()
    in_code = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
            elif not in_code and line.startswith("#"):
                out.add(slug(line.lstrip("#")))
    return out


def check_file(root: str, path: str) -> list[str]:
    problems: list[str] = []
    rel = os.path.relpath(path, root)
    if rel == os.path.join("scripts", "check-docs.py") or rel.startswith(os.path.join("tests", "e2e", "test_docs")):
        return problems  # they name the patterns they look for
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    is_md = path.endswith(".md")
    for number, line in enumerate(lines, 1):
        where = f"{rel}:{number}"
        for pattern, why in OUTSIDE:
            if pattern.search(line):
                problems.append(f"{where}: {why}")
        if is_md:
            for target in MD_LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue  # https:, mailto:
                file_part, _, anchor = target.partition("#")
                resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
                if not os.path.realpath(resolved).startswith(os.path.realpath(root) + os.sep) and resolved != root:
                    problems.append(f"{where}: link '{target}' leaves the repository")
                elif not os.path.exists(resolved):
                    problems.append(f"{where}: link '{target}' names a file that does not exist")
                elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                    problems.append(f"{where}: link '{target}' names a heading that does not exist")
        for named in REPO_PATH.findall(line):
            candidate = named.rstrip(".")
            if any(c in candidate for c in "<>*{}") or candidate.endswith("/") or any(p.isupper() for p in candidate.split("/")):
                continue
            if not os.path.exists(os.path.join(root, candidate)):
                problems.append(f"{where}: names '{candidate}', which does not exist")
    return problems


def check_behaviour_links(root: str) -> list[str]:
    path = os.path.join(root, "docs", "behaviour.md")
    if not os.path.exists(path):
        return ["docs/behaviour.md: missing"]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    scenarios = [t for t in MD_LINK.findall(text) if "conformance/" in t and t.endswith(".yaml")]
    problems = [f"docs/behaviour.md: scenario '{t}' does not exist" for t in scenarios
                if not os.path.exists(os.path.normpath(os.path.join(root, "docs", t)))]
    linked = {os.path.normpath(os.path.join(root, "docs", t)) for t in scenarios}
    conformance = os.path.join(root, "conformance")
    for dirpath, _, filenames in os.walk(conformance):
        if os.path.basename(dirpath) == "worlds":
            continue
        for name in sorted(filenames):
            path = os.path.normpath(os.path.join(dirpath, name))
            if name.endswith(".yaml") and path not in linked:
                problems.append(f"docs/behaviour.md: scenario {os.path.relpath(path, root)} is not linked from any rule")
    return problems


METRIC = re.compile(r'(?:Counter|Gauge|Timer|Recorder|FloatingPointCounter)\(label:\s*"(fedns_[a-z_]+)"')


def check_metrics(root: str) -> list[str]:
    """Every metric series the code declares is described in docs/operating.md."""
    path = os.path.join(root, "docs", "operating.md")
    documented = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    declared: dict[str, str] = {}
    for file in text_files(os.path.join(root, "Sources")):
        if file.endswith(".swift"):
            for name in METRIC.findall(open(file, encoding="utf-8").read()):
                declared.setdefault(name, os.path.relpath(file, root))
    return [f"docs/operating.md: metric {name} (declared in {where}) is not described"
            for name, where in sorted(declared.items()) if f"`{name}`" not in documented]


def lint(root: str) -> list[str]:
    targets = [os.path.join(root, "README.md"), os.path.join(root, "docs")]
    config = os.path.join(root, ".pymarkdown.json")
    run = subprocess.run([sys.executable, "-m", "pymarkdown", "--config", config, "scan", "-r", *targets],
                         capture_output=True, text=True)
    if run.returncode == 0:
        return []
    out = (run.stdout + run.stderr).strip()
    return [f"markdownlint: {line}" for line in out.split("\n")] if out else ["markdownlint: failed with no output"]


def main(argv: list[str]) -> int:
    do_lint = "--no-lint" not in argv
    args = [a for a in argv if not a.startswith("--")]
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
    problems: list[str] = []
    for path in sorted(text_files(root)):
        problems += check_file(root, path)
    problems += check_behaviour_links(root)
    if os.path.isdir(os.path.join(root, "Sources")):
        problems += check_metrics(root)
    if do_lint:
        problems += lint(root)
    problems = list(dict.fromkeys(problems))  # a line naming a path twice reports it once
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
