#!/usr/bin/env python3
"""Is every log line and file Test-ProxyLogon.ps1 reported among exir's findings (same file, same line)?

    python3 bench/tpl/check.py tpl.json C findings.jsonl

The same oracle as tests/Exir.Cli.Tests/TestProxyLogonParityTests.cs: the script's HttpProxy rows are found by
their RequestId (unique for planted lines), its Set-*VirtualDirectory files by the first line its pattern
matches (Select-String -List), its OAB download paths by the lines that name them, its dumps and archives
by path. Prints what the script reported and what exir missed; exit 1 on a miss.
"""
import json
import os
import re
import sys


def strings(v):  # PowerShell writes a one-element list as the element itself
    return [v] if isinstance(v, str) else [x for x in (v or []) if isinstance(x, str)] if isinstance(v, list) else []


def rows(v):
    return [v] if isinstance(v, dict) else [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def first_line(path, match):
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if match(line.rstrip("\r\n")):
                return n
    return None


def oracle(report, root):
    rel = lambda p: os.path.relpath(p, root).replace("\\", "/")
    expected = []

    def by_request_id(section, rows_name, files_name, why):
        files = strings(section.get(files_name))
        for row in rows(section.get(rows_name)):
            rid = row["RequestId"]
            hit = next(((f, n) for f in files if (n := first_line(f, lambda l: rid in l))), None)
            if hit is None:
                raise SystemExit(f"request {rid} of the script's {rows_name} is in none of its files")
            expected.append((rel(hit[0]), hit[1], why))

    if isinstance(c55 := report.get("Cve26855"), dict):
        by_request_id(c55, "Hits", "FileList", "CVE-2021-26855 HttpProxy hit")
    if isinstance(c65 := report.get("Cve27065"), dict):
        by_request_id(c65, "resetVDirHits", "resetVDirFiles", "CVE-2021-27065 reset")
        set_vdir = re.compile(r"Set-.+VirtualDirectory.+?(?=Url).+<\w+.*>(.*?)<\/\w+>.+?(?=VirtualDirectory)", re.I)
        for f in strings(c65.get("setVDirMaliciousUrlLogs")):
            expected.append((rel(f), first_line(f, set_vdir.search), "CVE-2021-27065 Set-*VirtualDirectory URL"))
    c58 = report.get("Cve26858")
    download = re.compile("Download failed and temporary file (.*?) needs to be removed", re.I)
    for o in rows(c58):
        paths = set(strings(o.get("downloadPaths")))
        for f in strings(o.get("filePaths")):
            with open(f, encoding="utf-8", errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    if (m := download.search(line)) and m.group(1) in paths:
                        expected.append((rel(f), n, "CVE-2021-26858 OAB download"))
    for s in rows(report.get("Suspicious")):
        expected.append((rel(s["Path"]), None, s["Type"]))
    return expected


def main():
    report = json.load(open(sys.argv[1]))
    root = os.path.abspath(sys.argv[2])
    found = set()
    for line in open(sys.argv[3]):
        try:
            f = json.loads(line)
        except ValueError:
            continue
        found.add((f.get("artifact"), f.get("line")))
    files = {a for a, _ in found}
    expected = sorted(set(oracle(report, root)), key=str)
    missing = [e for e in expected if (e[0], e[1]) not in found and not (e[1] is None and e[0] in files)]
    kinds = {}
    for e in expected:
        kinds[e[2]] = kinds.get(e[2], 0) + 1
    print(f"parity  : Test-ProxyLogon reported {len(expected)} lines and files ("
          + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + f"); exir: {len(found)} findings; "
          + ("every one of the script's is among them" if not missing else f"{len(missing)} MISSING: {missing[:5]}"))
    sys.exit(1 if missing or not expected else 0)


if __name__ == "__main__":
    main()
