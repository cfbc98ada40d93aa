#!/usr/bin/env python3
"""Extract YARA's own test assertions into exir's test data.

Reads VirusTotal/yara's tests/ (test-rules.c, test-re-split.c and the module tests) from
../shared/reference/yara-tests/tests and writes tests/Exir.Yara.Tests/yara-suite/<file>.jsonl: one case per
line with where it came from (upstream commit, file, line, function), the rule text, the data (bytes as Latin-1
characters, or a tests/data file name read at test time), the expectation, and the result of Debian's yara 4.2.3
on the same case (run once here, so the test can compare exir's pass share with yara's per file).

Assertions whose arguments are built at run time (sprintf, loops, variables the C code computes) are kept
with a `skip` reason instead of being dropped.

usage: scripts/extract-yara-suite.py [--tests DIR] [--out DIR] [--no-yara]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

FILES = ["test-rules.c", "test-re-split.c", "test-pe.c", "test-math.c", "test-string.c", "test-dotnet.c", "test-elf.c"]

# The macro name -> (kind of expectation, argument roles).
MACROS = {
    "assert_true_rule": ("match", ["rule", "data"]),
    "assert_false_rule": ("nomatch", ["rule", "data"]),
    "assert_true_rule_blob": ("match", ["rule", "blob"]),
    "assert_false_rule_blob": ("nomatch", ["rule", "blob"]),
    "assert_true_rule_blob_size": ("match", ["rule", "blob", "size"]),
    "assert_false_rule_blob_size": ("nomatch", ["rule", "blob", "size"]),
    "assert_true_rule_file": ("match", ["rule", "file"]),
    "assert_false_rule_file": ("nomatch", ["rule", "file"]),
    "assert_true_rule_module_data_file": ("match-module-data", ["rule", "file"]),
    "assert_error": ("error", ["rule", "error"]),
    "assert_warning": ("warning", ["rule"]),
    "assert_warnings": ("warning", ["rule", "count"]),
    "assert_warning_strict_escape": ("warning-strict-escape", ["rule"]),
    "assert_warnings_strict_escape": ("warning-strict-escape", ["rule", "count"]),
    "assert_no_warnings": ("no-warning", ["rule"]),
    "assert_true_regexp": ("capture", ["regexp", "data", "capture"]),
    "assert_false_regexp": ("nomatch", ["regexp", "data"]),
    "assert_regexp_syntax_error": ("error", ["regexp"]),
    "assert_string_capture": ("capture", ["rule", "data", "capture"]),
    "assert_match_count": ("count", ["rule", "data", "count"]),
}

EXTERNALS = {"var_zero": "0", "var_one": "1", "var_true": "true", "var_false": "false"}

TOKEN = re.compile(r"""
    (?P<ws>\s+|\\\n)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:[^"\\\n]|\\.|\\\n)*")
  | (?P<chr>'(?:[^'\\\n]|\\.)*')
  | (?P<pp>\#(?:[^\n\\]|\\.)*)
  | (?P<num>0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*)
  | (?P<id>[A-Za-z_]\w*)
  | (?P<op>\.\.\.|->|[^\s])
""", re.S | re.X)


def tokenize(text):
    line = 1
    for m in TOKEN.finditer(text):
        kind = m.lastgroup
        val = m.group()
        if kind not in ("ws", "comment"):
            yield (kind, val, line)
        line += val.count("\n")


SIMPLE_ESC = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, '"': 34, "'": 39, "a": 7, "b": 8, "f": 12, "v": 11, "?": 63, "e": 27}


def c_string(lit):
    """Bytes of a C string literal (without the trailing NUL)."""
    body = lit[1:-1].replace("\\\n", "")
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        n = body[i + 1]
        if n == "x":
            j = i + 2
            while j < len(body) and body[j] in "0123456789abcdefABCDEF":
                j += 1
            out.append(int(body[i + 2:j], 16) & 0xFF)
            i = j
        elif n in "01234567":
            j = i + 1
            while j < len(body) and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(int(body[i + 1:j], 8) & 0xFF)
            i = j
        else:
            # An unknown escape keeps the character (what gcc and clang do, with a warning).
            out += bytes([SIMPLE_ESC[n]]) if n in SIMPLE_ESC else n.encode("utf-8")
            i += 2
    return bytes(out)


class Unsupported(Exception):
    pass


class Extractor:
    def __init__(self, tests_dir):
        self.tests_dir = tests_dir
        self.macros = {}   # name -> token list (object-like #defines of strings)
        self.vars = {}     # name -> bytes (string pointer, no NUL) or ("array", bytes) (sizeof includes all)
        self.load_header("util.h")
        self.load_header("blob.h")

    def load_header(self, name):
        toks = list(tokenize(open(os.path.join(self.tests_dir, name), encoding="latin-1").read()))
        self.scan_defs(toks)

    def scan_defs(self, toks):
        """Record #defines of string macros and array/pointer variables initialised with constants."""
        for i, (kind, val, _) in enumerate(toks):
            if kind == "pp":
                m = re.match(r"#\s*define\s+(\w+)\s+(.*)", val, re.S)
                if m and "(" not in m.group(1):
                    body = [t for t in tokenize(m.group(2))]
                    if body and all(t[0] in ("str", "id") for t in body):
                        self.macros[m.group(1)] = body
            self.try_var(toks, i)

    def try_var(self, toks, i):
        # uint8_t NAME[] = ... ;   or   char* NAME = "..." ;
        kind, val, _ = toks[i]
        if kind != "id" or val not in ("uint8_t", "char", "unsigned"):
            return
        j = i + 1
        if j < len(toks) and toks[j][1] == "char":
            j += 1
        ptr = False
        if j < len(toks) and toks[j][1] == "*":
            ptr = True
            j += 1
        if j >= len(toks) or toks[j][0] != "id":
            return
        name = toks[j][1]
        j += 1
        array = False
        if j + 1 < len(toks) and toks[j][1] == "[" and toks[j + 1][1] == "]":
            array = True
            j += 2
        if j >= len(toks) or toks[j][1] != "=" or not (array or ptr):
            return
        j += 1
        end = j
        depth = 0
        while end < len(toks):
            if toks[end][1] in "({":
                depth += 1
            elif toks[end][1] in ")}":
                depth -= 1
            elif toks[end][1] == ";" and depth == 0:
                break
            end += 1
        init = toks[j:end]
        try:
            if init and init[0][1] == "{":
                data = bytes(int(t[1].rstrip("uUlL"), 0) & 0xFF for t in init[1:-1] if t[0] == "num")
            else:
                data = self.string_value(init)
                if array:
                    data += b"\0"  # sizeof of a char array counts the terminating NUL
        except Unsupported:
            return
        self.vars[name] = data

    def expand(self, toks, depth=0):
        out = []
        for t in toks:
            if t[0] == "id" and t[1] in self.macros and depth < 10:
                out += self.expand(self.macros[t[1]], depth + 1)
            else:
                out.append(t)
        return out

    def string_value(self, toks):
        toks = self.expand(toks)
        if not toks or any(t[0] != "str" for t in toks):
            raise Unsupported("not a constant string: " + " ".join(t[1] for t in toks)[:80])
        return b"".join(c_string(t[1]) for t in toks)

    def arg(self, role, toks):
        text = " ".join(t[1] for t in toks)
        if role in ("rule", "regexp", "capture"):
            if role == "capture" and text == "NULL":
                return None
            return self.string_value(toks)
        if role == "data":
            if text == "NULL":
                return None
            # The C helpers take strlen() of the data: it ends at the first NUL.
            if len(toks) == 1 and toks[0][0] == "id" and toks[0][1] in self.vars:
                return self.vars[toks[0][1]].split(b"\0")[0]
            return self.string_value(toks).split(b"\0")[0]
        if role == "blob":
            if len(toks) == 1 and toks[0][1] in self.vars:
                return self.vars[toks[0][1]]
            if self.expand(toks[:1]) and self.expand(toks[:1])[0][0] == "str":
                return self.string_value(toks) + b"\0"  # sizeof("...") counts the terminating NUL
            raise Unsupported("blob built at run time: " + text)
        if role == "size":
            if len(toks) == 1 and toks[0][0] == "num":
                return int(toks[0][1].rstrip("uUlL"), 0)
            raise Unsupported("blob size computed at run time: " + text)
        if role == "file":
            return self.string_value(toks).decode("latin-1")
        if role == "error":
            return text
        if role == "count":
            if len(toks) == 1 and toks[0][0] == "num":
                return int(toks[0][1], 0)
            raise Unsupported("count computed at run time: " + text)
        raise AssertionError(role)

    def extract(self, fname, commit):
        path = os.path.join(self.tests_dir, fname)
        toks = list(tokenize(open(path, encoding="latin-1").read()))
        cases = []
        function = None
        loop_depth_stack = []
        depth = 0
        i = 0
        while i < len(toks):
            kind, val, line = toks[i]
            self.try_var(toks, i)
            if kind == "pp":
                m = re.match(r"#\s*define\s+(\w+)\s+(.*)", val, re.S)
                if m and "(" not in m.group(1):
                    body = list(tokenize(m.group(2)))
                    if body and all(t[0] in ("str", "id") for t in body):
                        self.macros[m.group(1)] = body
            elif val == "{":
                depth += 1
            elif val == "}":
                depth -= 1
                while loop_depth_stack and loop_depth_stack[-1] > depth:
                    loop_depth_stack.pop()
            elif kind == "id" and depth == 0 and i + 1 < len(toks) and toks[i + 1][1] == "(":
                function = val
            elif kind == "id" and val in ("for", "while") and depth > 0:
                loop_depth_stack.append(depth + 1)
            if kind == "id" and val in MACROS and i + 1 < len(toks) and toks[i + 1][1] == "(" and depth > 0:
                args, i = self.call_args(toks, i + 1)
                cases.append(self.case(fname, commit, function, val, line, args, bool(loop_depth_stack)))
                continue
            if kind == "id" and val == "assert" and depth > 0 and i + 1 < len(toks) and toks[i + 1][1] == "(":
                args, i = self.call_args(toks, i + 1)
                cases.append({"id": f"{fname}:{line}", "file": fname, "line": line, "commit": commit,
                              "function": function, "macro": "assert",
                              "skip": "tests the C API of libyara (regex code, AST), not a rule"})
                continue
            i += 1
        seen = {}
        for c in cases:
            n = seen.get(c["id"], 0)
            seen[c["id"]] = n + 1
            if n:
                c["id"] += f".{n + 1}"
        return cases

    @staticmethod
    def call_args(toks, i):
        assert toks[i][1] == "("
        depth = 0
        args = [[]]
        j = i
        while True:
            v = toks[j][1]
            if v in "([{":
                depth += 1
                if depth > 1:
                    args[-1].append(toks[j])
            elif v in ")]}":
                depth -= 1
                if depth == 0:
                    return args, j + 1
                args[-1].append(toks[j])
            elif v == "," and depth == 1:
                args.append([])
            else:
                args[-1].append(toks[j])
            j += 1

    def case(self, fname, commit, function, macro, line, args, in_loop):
        kind, roles = MACROS[macro]
        c = {"id": f"{fname}:{line}", "file": fname, "line": line, "commit": commit, "function": function,
             "macro": macro, "expect": kind}
        try:
            if in_loop:
                raise Unsupported("inside a C loop: the arguments change per iteration")
            vals = {role: self.arg(role, toks) for role, toks in zip(roles, args)}
            if "regexp" in vals:
                vals["rule"] = b"rule test { strings: $a = /" + vals.pop("regexp") + b"/ condition: $a }"
            c["rule"] = vals["rule"].decode("latin-1")
            if "blob" in vals:
                blob = vals["blob"]
                if "size" in vals:
                    blob = blob[:vals["size"]]
                c["data"] = blob.decode("latin-1")
            elif "file" in vals:
                c["data_file"] = vals["file"]
            elif kind not in ("error", "warning", "warning-strict-escape", "no-warning"):
                data = vals.get("data")
                # matches_blob scans the 5 bytes "dummy" when the test passes no data.
                c["data"] = "dummy" if data is None else data.decode("latin-1")
            if "error" in vals:
                c["error"] = vals["error"]
                if vals["error"] == "ERROR_SUCCESS":
                    c["expect"] = "compiles"
            elif macro == "assert_regexp_syntax_error":
                c["error"] = "ERROR_INVALID_REGULAR_EXPRESSION"
            if "capture" in vals:
                if vals["capture"] is None:
                    c["expect"] = "match"
                else:
                    c["capture"] = vals["capture"].decode("latin-1")
            if kind.startswith("warning"):
                c["warnings"] = vals.get("count", 1)
            if kind == "count":
                c["count"] = vals["count"]
            if b'import "tests"' in vals["rule"]:
                c["skip"] = "needs yara's test-only module `tests` (not part of any yara build users run)"
        except Unsupported as e:
            c["skip"] = "built at run time: " + str(e)
        return c


class YaraOracle:
    """Runs Debian's yara 4.2.3 on one case, as its CLI allows."""

    def __init__(self, tests_dir, tmp):
        self.tests_dir = tests_dir
        self.tmp = tmp
        self.top = os.path.dirname(os.path.abspath(tests_dir))

    def run(self, c):
        rule = os.path.join(self.tmp, "rule.yar")
        with open(rule, "wb") as f:
            f.write(c["rule"].encode("latin-1"))
        if "data_file" in c:
            data = os.path.join(self.top, c["data_file"])
            if not os.path.exists(data):
                return {"result": "skip", "detail": "data file missing"}
        else:
            data = os.path.join(self.tmp, "data")
            with open(data, "wb") as f:
                f.write(c.get("data", "dummy").encode("latin-1"))
        cmd = ["yara", "-s", "-L"]
        for k, v in EXTERNALS.items():
            cmd += ["-d", f"{k}={v}"]
        if c["expect"] == "match-module-data":
            return {"result": "skip", "detail": "module data needs the module's name"}
        cmd += [rule, data]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            return {"result": "fail", "detail": "timeout"}
        err = p.stderr.decode("latin-1")
        out = p.stdout.decode("latin-1")
        errors = [l for l in err.splitlines() if ": error" in l or l.startswith("error")]
        warnings = [l for l in err.splitlines() if l.startswith("warning") or ": warning" in l]
        compiled = not errors
        matched = [l for l in out.splitlines() if not l.startswith("0x")]
        exp = c["expect"]
        detail = (errors[0] if errors else (warnings[0] if warnings else ""))
        detail = detail.replace(rule, "rule.yar")
        if exp == "error":
            ok = not compiled
        elif exp == "compiles":
            ok = compiled
        elif exp.startswith("warning"):
            ok = compiled and len(warnings) >= c["warnings"]
        elif exp == "no-warning":
            ok = compiled and not warnings
        elif not compiled:
            ok = False
        elif exp == "match":
            ok = len(matched) > 0
        elif exp == "nomatch":
            ok = len(matched) == 0
        elif exp == "count":
            ok = len(matched) == c["count"]
        elif exp == "capture":
            want = c["capture"].encode("latin-1")
            blob = open(data, "rb").read()
            ok = False
            for l in out.splitlines():
                m = re.match(r"0x([0-9a-f]+):(\d+):\$", l)
                if m:
                    off, ln = int(m.group(1), 16), int(m.group(2))
                    if blob[off:off + ln] == want:
                        ok = True
        else:
            raise AssertionError(exp)
        return {"result": "pass" if ok else "fail", "detail": detail[:200]}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", default=os.path.join(repo, "..", "shared", "reference", "yara-tests", "tests"))
    ap.add_argument("--out", default=os.path.join(repo, "tests", "Exir.Yara.Tests", "yara-suite"))
    ap.add_argument("--no-yara", action="store_true", help="do not run yara (keep the field empty)")
    a = ap.parse_args()
    readme = open(os.path.join(a.tests, "..", "README.md")).read()
    commit = re.search(r"\b[0-9a-f]{40}\b", readme).group()
    version = None
    if not a.no_yara:
        if not shutil.which("yara"):
            sys.exit("yara is not installed (apt-get install yara), or pass --no-yara")
        version = subprocess.run(["yara", "--version"], capture_output=True, text=True).stdout.strip()
    os.makedirs(a.out, exist_ok=True)
    ex = Extractor(a.tests)
    tmp = tempfile.mkdtemp(prefix="exir-yara-suite-")
    try:
        oracle = YaraOracle(a.tests, tmp)
        for fname in FILES:
            cases = ex.extract(fname, commit)
            for c in cases:
                if version and "skip" not in c:
                    r = oracle.run(c)
                    c["yara"] = {"version": version, **r}
            out = os.path.join(a.out, fname.replace(".c", ".jsonl"))
            with open(out, "w", encoding="utf-8") as f:
                for c in cases:
                    f.write(json.dumps(c, ensure_ascii=True, sort_keys=False) + "\n")
            run = [c for c in cases if "skip" not in c]
            yp = sum(1 for c in run if c.get("yara", {}).get("result") == "pass")
            print(f"{fname}: {len(cases)} assertions, {len(run)} runnable, yara {version or '-'} passes {yp}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
