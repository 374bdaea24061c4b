#!/usr/bin/env python3
"""Checks Autobahn|Testsuite verdicts: reads the index.json of each role and exits 1, listing
the cases, if any verdict is not acceptable.

    python3 check.py [--markdown] ROLE=INDEX_JSON[:EXPECTED_CASES] ...

ROLE is a label ("client", "server"). A case passes when both `behavior` and `behaviorClose`
are OK, NON-STRICT, INFORMATIONAL or UNIMPLEMENTED, and UNIMPLEMENTED only in 12.x / 13.x
(permessage-deflate, which we do not negotiate). EXPECTED_CASES, when given, is how many cases
the fuzzer announced: fewer in the index means cases did not run.
"""

import json
import sys
from collections import Counter, defaultdict

ACCEPTED = {"OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED"}
# Only the compression families may be unimplemented: we negotiate no extension.
UNIMPLEMENTED_OK = {"12", "13"}
COLUMNS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]


def case_key(case_id):
    return tuple(int(p) for p in case_id.split("."))


def verdict(result):
    """One of COLUMNS: FAILED if either verdict is not accepted, else the less good of the two."""
    behaviors = [result.get("behavior"), result.get("behaviorClose")]
    if any(b not in ACCEPTED for b in behaviors):
        return "FAILED"
    for v in ["UNIMPLEMENTED", "NON-STRICT", "INFORMATIONAL"]:
        if v in behaviors:
            return v
    return "OK"


def check(role, path, expected):
    """Returns (per-family Counter table, list of problem lines, list of non-OK lines)."""
    try:
        with open(path) as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        return {}, [f"{role}: cannot read {path} ({e}): the {role} phase did not produce a report; see its log"], []
    if len(index) != 1:
        return {}, [f"{role}: {path} has agents {sorted(index)}, expected exactly one: start from an empty output directory"], []
    (agent, cases), = index.items()
    table = defaultdict(Counter)
    problems, notes = [], []
    for case_id in sorted(cases, key=case_key):
        r = cases[case_id]
        family = case_id.split(".")[0]
        v = verdict(r)
        if v == "UNIMPLEMENTED" and family not in UNIMPLEMENTED_OK:
            v = "FAILED"
        table[family][v] += 1
        line = f"{role} {case_id}: behavior={r.get('behavior')} behaviorClose={r.get('behaviorClose')} remoteCloseCode={r.get('remoteCloseCode')} report={r.get('reportfile')}"
        if v == "FAILED":
            problems.append(line)
        elif v not in ("OK", "UNIMPLEMENTED"):
            notes.append(line)
    if expected is not None and len(cases) != expected:
        problems.append(f"{role}: {len(cases)} cases in {path}, but the fuzzer announced {expected}: the run stopped early; see its log")
    return table, problems, notes


def print_table(role, table, markdown):
    families = sorted(table, key=int)
    total = Counter()
    for fam in families:
        total.update(table[fam])
    if markdown:
        print(f"| {role} | " + " | ".join(COLUMNS) + " |")
        print("|---" * (len(COLUMNS) + 1) + "|")
        for fam in families:
            print(f"| {fam}.x | " + " | ".join(str(table[fam][c]) for c in COLUMNS) + " |")
        print("| **total** | " + " | ".join(f"**{total[c]}**" for c in COLUMNS) + " |")
    else:
        print(f"{role:>8} " + " ".join(f"{c:>13}" for c in COLUMNS))
        for fam in families:
            print(f"{fam + '.x':>8} " + " ".join(f"{table[fam][c]:>13}" for c in COLUMNS))
        print(f"{'total':>8} " + " ".join(f"{total[c]:>13}" for c in COLUMNS))
    print()


def main(argv):
    markdown = "--markdown" in argv
    args = [a for a in argv if a != "--markdown"]
    if not args or any("=" not in a for a in args):
        sys.exit(__doc__)
    all_problems = []
    for arg in args:
        role, spec = arg.split("=", 1)
        path, _, expected = spec.rpartition(":") if spec.rsplit(":", 1)[-1].isdigit() else (spec, "", "")
        table, problems, notes = check(role, path, int(expected) if expected else None)
        if table:
            print_table(role, table, markdown)
        for n in notes:
            print("accepted: " + n)
        all_problems += problems
    if all_problems:
        print(f"\n{len(all_problems)} problem(s); open each case's report (the .json/.html beside index.json) for expected vs observed:", file=sys.stderr)
        for p in all_problems:
            print("  " + p, file=sys.stderr)
        return 1
    print("all cases acceptable (OK, NON-STRICT, INFORMATIONAL; UNIMPLEMENTED only in 12.x/13.x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
