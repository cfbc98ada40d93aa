#!/usr/bin/env python3
"""Leave-one-family-out evaluation of exir's built-in web-shell rules (issue 13).

For every family of ../shared/corpus/webshells/LABELS.tsv, the rules whose only purpose is that family
(meta family_specific = "<family>[, <family>...]" in rules/yara/*.yar) are removed from a copy of rules/, and
`exir scan --deep --rules COPY` runs over that family's shells: does what remains still find them? Prints recall
by family and overall (all rules, without the family's own rules, and by behaviour alone, i.e. without tool-banner
rules), and the false positives of the full rule set on the benign pages.

    bench/webshells/run.py                      # builds exir (Release) into a temp folder first
    EXIR=/path/to/exir bench/webshells/run.py
    bench/webshells/run.py --misses             # also list each file not found
Temporary files live under /tmp/exir-lofo-* and are removed at the end.
"""
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.environ.get("CORPUS", os.path.join(ROOT, "..", "shared", "corpus", "webshells"))
RULE_RE = re.compile(r"^rule\s+(\w+)", re.M)
META_RE = re.compile(r'^\s*(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"', re.M)


def rules_meta(rules_dir):
    """rule name -> meta dict, for every built-in rule; and rule name -> (file, start, end) of its text."""
    meta, where = {}, {}
    yara_dir = os.path.join(rules_dir, "yara")
    for name in sorted(os.listdir(yara_dir)):
        if not name.endswith(".yar"):
            continue
        text = open(os.path.join(yara_dir, name), encoding="utf-8").read()
        starts = [m for m in RULE_RE.finditer(text)]
        for i, m in enumerate(starts):
            # a rule ends at the first line that is a lone "}" after its start
            end = text.find("\n}", m.start())
            end = len(text) if end < 0 else end + 2
            body = text[m.start():end]
            meta_block = body.split("strings:")[0].split("condition:")[0]
            meta[m.group(1)] = dict(META_RE.findall(meta_block))
            where[m.group(1)] = (name, m.start(), end)
    return meta, where


def families_of(meta_value):
    return [f.strip() for f in meta_value.split(",") if f.strip()]


def strip_rules(src_rules, dst_rules, names, where):
    shutil.copytree(src_rules, dst_rules)
    by_file = collections.defaultdict(list)
    for n in names:
        f, s, e = where[n]
        by_file[f].append((s, e))
    for f, spans in by_file.items():
        path = os.path.join(dst_rules, "yara", f)
        text = open(path, encoding="utf-8").read()
        for s, e in sorted(spans, reverse=True):
            text = text[:s] + text[e:]
        open(path, "w", encoding="utf-8").write(text)


def scan(exir, rules_dir, paths):
    """file base name -> set of rule ids (yara:* and FILE-*) reported for it."""
    cmd = [exir, "scan", *paths, "--deep", "--rules", rules_dir, "--format", "jsonl", "--no-progress"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode not in (0, 1, 3, 4) and not out.stdout:
        sys.exit(f"exir scan failed ({out.returncode}): {out.stderr[-2000:]}")
    hits = collections.defaultdict(set)
    for line in out.stdout.splitlines():
        if not line.startswith("{"):
            continue
        f = json.loads(line)
        art = f.get("artifact") or ""
        if art:
            hits[os.path.basename(art)].add(f["rule_id"])
    return hits


def main():
    show_misses = "--misses" in sys.argv
    # --draft-expectations FILE: the capabilities each shell is found by today, as a draft of
    # tests/Exir.Detection.Tests/webshell-expectations.tsv (to be reviewed by hand: right reason, not whatever fired)
    draft = sys.argv[sys.argv.index("--draft-expectations") + 1] if "--draft-expectations" in sys.argv else None
    labels = os.path.join(CORPUS, "LABELS.tsv")
    if not os.path.exists(labels):
        sys.exit(f"corpus not found: {CORPUS}")
    work = tempfile.mkdtemp(prefix="exir-lofo-", dir="/tmp")
    try:
        exir = os.environ.get("EXIR")
        if not exir:
            print("building exir (Release)...", file=sys.stderr)
            subprocess.run(["dotnet", "build", os.path.join(ROOT, "src", "Exir.Cli"), "-c", "Release",
                            "--artifacts-path", os.path.join(work, "art"), "-v", "q", "-nologo"],
                           check=True, stdout=sys.stderr)
            exir = os.path.join(work, "art", "bin", "Exir.Cli", "release", "exir")
        rows = [l.rstrip("\n").split("\t") for l in open(labels, encoding="utf-8")][1:]
        malicious = [(r[0], r[2]) for r in rows if len(r) > 2 and r[1] == "malicious"]
        benign = [r[0] for r in rows if len(r) > 2 and r[1] == "benign"]
        rules_dir = os.path.join(ROOT, "rules")
        meta, where = rules_meta(rules_dir)
        banner = {n for n, m in meta.items() if m.get("capability") == "banner"}
        own = collections.defaultdict(list)
        for n, m in meta.items():
            for fam in families_of(m.get("family_specific", "")):
                own[fam].append(n)

        full = scan(exir, rules_dir, [os.path.join(CORPUS, "malicious"), os.path.join(CORPUS, "benign")])
        yara = lambda ids: {i[5:] for i in ids if i.startswith("yara:")}
        by_family = collections.defaultdict(list)
        for path, fam in malicious:
            by_family[fam].append(path)

        # Stricter: a rule that fires on this family's shells only (whatever it declares) is left out too.
        fams_of_rule = collections.defaultdict(set)
        for path, fam in malicious:
            for r in yara(full.get(os.path.basename(path), ())):
                fams_of_rule[r].add(fam)
        only = collections.defaultdict(list)
        for r, fs in fams_of_rule.items():
            if len(fs) == 1:
                only[next(iter(fs))].append(r)

        def without(fam, names):
            if not names:
                return full
            dst = os.path.join(work, "rules-" + fam)
            strip_rules(rules_dir, dst, names, where)
            folders = sorted({os.path.join(CORPUS, os.path.dirname(p)) for p in by_family[fam]})
            hits = scan(exir, dst, folders)
            shutil.rmtree(dst)
            return hits

        table, misses = [], []
        tot = collections.Counter()
        for fam in sorted(by_family, key=lambda f: (-len(by_family[f]), f)):
            files = by_family[fam]
            lofo = without(fam, own[fam])
            strict_names = sorted(set(own[fam]) | set(only[fam]))
            strict = lofo if strict_names == sorted(own[fam]) else without(fam, strict_names)
            n_all = sum(1 for p in files if yara(full.get(os.path.basename(p), ())))
            n_lofo = sum(1 for p in files if yara(lofo.get(os.path.basename(p), ())))
            n_beh = sum(1 for p in files if yara(lofo.get(os.path.basename(p), ())) - banner)
            n_strict = sum(1 for p in files if yara(strict.get(os.path.basename(p), ())) - banner)
            for p in files:
                if not (yara(lofo.get(os.path.basename(p), ())) - banner):
                    misses.append((fam, p, sorted(yara(full.get(os.path.basename(p), ())))))
            table.append((fam, len(files), n_all, n_lofo, n_beh, n_strict, ", ".join(sorted(own[fam])) or "-",
                          ", ".join(sorted(set(only[fam]) - set(own[fam]))) or "-"))
            tot.update(total=len(files), all=n_all, lofo=n_lofo, beh=n_beh, strict=n_strict)

        if draft:
            sha = {r[0]: r[4] for r in rows if len(r) > 4}
            with open(draft, "w", encoding="utf-8") as out:
                out.write("path\tsha256\tfamily\tcapabilities\n")
                for path, fam in malicious:
                    caps = sorted({meta[r].get("capability", "?") for r in yara(full.get(os.path.basename(path), ()))} - {"banner"})
                    out.write(f"{path}\t{sha[path]}\t{fam}\t{','.join(caps) or '-'}\n")
        fps = {p: sorted(full[os.path.basename(p)]) for p in benign if full.get(os.path.basename(p))}
        print("| family | shells | all rules | without its own rules | by behaviour alone (no banner) "
              "| also without rules firing on it only | family_specific rules | rules firing on it only |")
        print("|---|---|---|---|---|---|---|---|")
        for fam, n, a, l, b, st, r, o in table:
            print(f"| {fam} | {n} | {a} | {l} | {b} | {st} | {r} | {o} |")
        pct = lambda x: f"{100.0 * x / max(1, tot['total']):.1f}%"
        print(f"| **overall** | **{tot['total']}** | **{tot['all']} ({pct(tot['all'])})** | **{tot['lofo']} ({pct(tot['lofo'])})** "
              f"| **{tot['beh']} ({pct(tot['beh'])})** | **{tot['strict']} ({pct(tot['strict'])})** | | |")
        print(f"\nfalse positives (all rules, any finding): {len(fps)} of {len(benign)} benign files")
        for p, ids in fps.items():
            print(f"  {p}: {', '.join(ids)}")
        # A behaviour rule that fires on one family only may be that family's rule in disguise: listed for review.
        single = sorted((r, next(iter(f))) for r, f in fams_of_rule.items()
                        if len(f) == 1 and r not in banner and not meta.get(r, {}).get("family_specific"))
        if single:
            print("\nbehaviour rules that fire on one family only (not marked family_specific):")
            for r, fam in single:
                print(f"  {r}: {fam}")
        silent = sorted(n for n in meta if n not in fams_of_rule)
        if silent:
            print("\nrules that fire on no dev shell: " + ", ".join(silent))
        if show_misses:
            print("\nnot found by behaviour with the family's own rules left out:")
            for fam, p, full_ids in misses:
                print(f"  {fam}: {p}" + (f" (all rules: {', '.join(full_ids)})" if full_ids else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
