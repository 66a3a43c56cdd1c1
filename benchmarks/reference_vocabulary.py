"""The vocabulary of FEC-Bench's references and how much of it the landmark captioner can state.

Extracts the events of every reference caption with the project's TEM extractor
(:func:`dfec.metrics.events.extract_events`), classifies each one into a FACS-like region x action
x direction cell (:func:`dfec.dynamics.vocabulary.classify`), counts occurrences and prints one
Markdown table, with two coverage columns:

* ``before``: whether the landmark captioner of commit bea84bc (before the mesh/iris signals)
  could state the cell; frozen in the committed table (its clause set no longer exists in code);
* ``now``: whether the current captioner can, from its clause texts
  (:data:`dfec.dynamics.wording.CLAUSES`) classified by the same rules.

    python benchmarks/reference_vocabulary.py [--ref ../shared/data/fecbench_test_captions.json]
        [--table src/dfec/dynamics/fecbench_vocabulary.tsv] [--write]

``--write`` rewrites the committed table from the references (keeping its ``before`` column).
Without the references the committed table is printed.
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REF = REPO.parent / "shared" / "data" / "fecbench_test_captions.json"
DEFAULT_TABLE = REPO / "src" / "dfec" / "dynamics" / "fecbench_vocabulary.tsv"
FIELDS = ("region", "action", "direction", "count", "before")


def read_table(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t")]
    for r in rows:
        r["count"] = int(r["count"])
        r["before"] = r["before"] == "yes"
    return rows


def write_table(path: Path, rows: list[dict], n_refs: int) -> None:
    with open(path, "w", newline="") as f:
        f.write(f"# FEC-Bench test references ({n_refs} captions): event occurrences per vocabulary cell "
                "(dfec.dynamics.vocabulary.classify of dfec.metrics.events.extract_events); "
                "before = stated by the landmark captioner of commit bea84bc. Regenerate: "
                "python benchmarks/reference_vocabulary.py --write\n")
        w = csv.DictWriter(f, FIELDS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "before": "yes" if r["before"] else "no"})


def count_references(ref_path: Path) -> tuple[Counter, int]:
    from dfec.dynamics.vocabulary import count_cells
    from dfec.metrics.events import extract_events
    from dfec.metrics.references import load_references

    refs = load_references(ref_path)
    return count_cells(e for r in refs for e in extract_events(r["caption"])), len(refs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", default=str(DEFAULT_REF), help="FEC-Bench reference captions JSON")
    ap.add_argument("--table", default=str(DEFAULT_TABLE), help="the committed vocabulary table (TSV)")
    ap.add_argument("--write", action="store_true", help="rewrite --table from --ref")
    args = ap.parse_args(argv)

    from dfec.dynamics.vocabulary import NONE, Cell, covered, expressible
    from dfec.dynamics.wording import CLAUSES

    table = Path(args.table)
    old = {(r["region"], r["action"], r["direction"]): r for r in read_table(table)} if table.is_file() else {}
    ref = Path(args.ref)
    if ref.is_file():
        counts, n_refs = count_references(ref)
        rows = [{"region": c.region, "action": c.action, "direction": c.direction, "count": n,
                 "before": bool(old.get((c.region, c.action, c.direction), {}).get("before", False))}
                for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        source = f"{ref} ({n_refs} references)"
        if args.write:
            write_table(table, rows, n_refs)
            print(f"wrote {table}", file=sys.stderr)
    elif old:
        rows = list(old.values())
        source = f"{table} (committed; references not found at {ref})"
    else:
        print(f"neither {ref} nor {table} found", file=sys.stderr)
        return 1

    now = expressible(t for texts in CLAUSES.values() for t in texts)
    total = sum(r["count"] for r in rows if (r["region"], r["action"]) != (NONE.region, NONE.action))
    print(f"Vocabulary of {source}: {total} event occurrences in {len(rows)} cells\n")
    print("| region | action | direction | occurrences | share | before | now |")
    print("|---|---|---|---:|---:|:-:|:-:|")
    before_n = now_n = 0
    for r in rows:
        cell = Cell(r["region"], r["action"], r["direction"])
        is_none = cell == NONE
        n_now = (not is_none) and covered(cell, now)
        before_n += r["count"] if r["before"] and not is_none else 0
        now_n += r["count"] if n_now else 0
        share = "" if is_none else f"{r['count'] / total:.3f}"
        print(f"| {r['region']} | {r['action']} | {r['direction'] or '-'} | {r['count']} | {share} | "
              f"{'x' if r['before'] else ''} | {'x' if n_now else ''} |")
    print(f"\nnone.none = phrases that name no face event (extractor left-overs); left out of the shares.")
    print(f"Expressible by the landmark captioner, by occurrence: before {before_n}/{total} = "
          f"{before_n / max(total, 1):.3f}; now {now_n}/{total} = {now_n / max(total, 1):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
