using System.Text;

namespace Exir.Yara;

/// <summary>An error in a rule file, or a rule skipped because it uses something this engine does not implement.</summary>
public sealed record YaraDiagnostic(string Origin, int Line, string? Rule, string Message, bool IsError)
{
    /// <summary>A warning like yara's (a slow string, `0 of them`): the rule is accepted and runs.</summary>
    public bool IsWarning { get; init; }

    public override string ToString()
        => $"{Origin}({Line}): {(IsError ? "error" : IsWarning ? "warning" : "skipped")}{(Rule is null ? "" : $" rule {Rule}")}: {Message}";
}

public sealed record YaraRuleInfo(string Namespace, string Name, IReadOnlyList<string> Tags, IReadOnlyDictionary<string, string> Meta, bool IsPrivate, bool IsGlobal);

/// <summary>
/// Compiles YARA rule sources. Each rule is parsed on its own: a rule with a syntax error or an unsupported
/// feature is reported in <see cref="Diagnostics"/> and left out; the other rules of the file still compile.
/// The LOKI/THOR external variables filename, filepath, extension, filetype and owner are always declared ("").
/// </summary>
public sealed class YaraCompiler : ICompileScope
{
    private static readonly string[] DefaultExternals = ["filename", "filepath", "extension", "filetype", "owner"];

    private readonly List<YaraDiagnostic> _diagnostics = [];
    private readonly List<YaraDiagnostic> _warnings = [];
    private readonly List<CompiledRule> _rules = [];
    private readonly List<CompiledString> _strings = [];
    private readonly List<string> _namespaces = [];
    private readonly Dictionary<(int, string), int> _ruleIndex = [];
    private readonly HashSet<(int, string)> _skipped = [];
    private readonly List<string> _externalNames = [];
    private readonly List<Value> _externalValues = [];
    private HashSet<string> _imports = [];
    private int _varSlots;
    private readonly List<string> _includeStack = [];

    /// <summary>
    /// Largest rule file (or included file) read: 16 MiB, forty times the largest public rule file of the test corpus
    /// (signature-base's thor-webshells.yar, 384 KiB), so a rule set never hits it, while an include of a huge or
    /// endless file (a disk image, /dev/zero) is refused at once instead of filling memory.
    /// </summary>
    public const long MaxRuleFileBytes = 16 << 20;

    /// <summary>yara's YR_MAX_INCLUDE_DEPTH: includes nest at most this deep (it also ends any cycle the path check misses).</summary>
    public const int MaxIncludeDepth = 16;

    /// <summary>Warn about regex escapes yara does not define (yara's strict_escape option); off by default, as in yara.</summary>
    public bool StrictEscape { get; set; }

    // Rule wildcards used so far ("a" for "1 of (a*)"), per namespace: a later rule whose name they match is refused.
    private readonly List<(int Ns, string Prefix)> _ruleWildcards = [];

    public YaraCompiler()
    {
        foreach (var e in DefaultExternals) DefineExternal(e, "");
    }

    public IReadOnlyList<YaraDiagnostic> Diagnostics => _diagnostics;

    /// <summary>Warnings like yara's (kept apart from <see cref="Diagnostics"/>: the rules concerned are accepted).</summary>
    public IReadOnlyList<YaraDiagnostic> Warnings => _warnings;

    /// <summary>Number of rules accepted so far.</summary>
    public int AcceptedCount => _rules.Count;

    /// <summary>Declares an external variable (string, long, bool or double) and its default value.</summary>
    public void DefineExternal(string name, object value)
    {
        var v = Value.FromObject(value);
        int i = _externalNames.IndexOf(name);
        if (i >= 0) _externalValues[i] = v;
        else { _externalNames.Add(name); _externalValues.Add(v); }
    }

    public void AddFile(string path, string? ns = null)
    {
        if (ReadRuleFile(path, out var error) is not { } text)
        {
            _diagnostics.Add(new YaraDiagnostic(path, 0, null, "cannot read rule file: " + error, true));
            return;
        }
        _includeStack.Add(Identity(path));
        try { AddSource(text, path, ns); }
        finally { _includeStack.RemoveAt(_includeStack.Count - 1); }
    }

    /// <summary>
    /// The text of a rule file: only a regular file (a FIFO would block the open, a device never end), at most
    /// <see cref="MaxRuleFileBytes"/>. Null with the reason otherwise.
    /// </summary>
    internal static string? ReadRuleFile(string path, out string? error)
    {
        error = null;
        try
        {
            if (Directory.Exists(path)) { error = "is a folder"; return null; }
            if (!File.Exists(path)) { error = "no such file"; return null; }
            if (!FileKind.IsRegularFile(path)) { error = "not a regular file (a device, FIFO or socket)"; return null; }
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            string TooLarge(long size) => $"too large ({size:N0} bytes; rule files are read up to {MaxRuleFileBytes >> 20} MiB)";
            if (fs.Length > MaxRuleFileBytes) { error = TooLarge(fs.Length); return null; }
            // Read one byte more than allowed: a file that grows (or lies about its size) is caught too.
            var buf = new byte[(int)Math.Min(Math.Max(fs.Length, 64 << 10), MaxRuleFileBytes) + 1];
            int n = 0;
            while (true)
            {
                if (n == buf.Length)
                {
                    if (buf.Length > MaxRuleFileBytes) break;
                    Array.Resize(ref buf, (int)Math.Min(buf.Length * 2L, MaxRuleFileBytes + 1));
                }
                int r = fs.Read(buf, n, buf.Length - n);
                if (r <= 0) break;
                n += r;
            }
            if (n > MaxRuleFileBytes) { error = TooLarge(n); return null; }
            // Like File.ReadAllText: UTF-8 unless a byte-order mark says otherwise.
            using var reader = new StreamReader(new MemoryStream(buf, 0, n), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            return reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>The file a path names, through symbolic links (a link to a file that is being included is the same file).</summary>
    private static string Identity(string path)
    {
        try
        {
            var full = Path.GetFullPath(path);
            return new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return path; }
    }

    public void AddSource(string text, string origin, string? ns = null)
    {
        int nsIndex = NamespaceIndex(ns ?? "default");
        var savedImports = _imports;
        _imports = [];
        try { AddTokens(new Lexer(text).All(), origin, nsIndex); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Never let one malformed file stop the others.
            _diagnostics.Add(new YaraDiagnostic(origin, 0, null, "internal error while compiling: " + e.Message, true));
        }
        finally { _imports = savedImports; }
    }

    private void AddTokens(List<Token> toks, string origin, int ns)
    {
        int i = 0;
        while (toks[i].Kind != Tok.Eof)
        {
            var t = toks[i];
            if (t.Is("import"))
            {
                if (toks[i + 1].Kind != Tok.Text) { Error(origin, t.Line, null, "expected module name after import"); i++; continue; }
                var module = Encoding.Latin1.GetString(toks[i + 1].Bytes!);
                if (!IsModuleName(module)) { Error(origin, t.Line, null, $"invalid module name \"{string.Concat(module.Select(c => c is < ' ' or > '~' ? $"\\x{(int)c:x2}" : c.ToString()))}\""); i += 2; continue; }
                if (!RuleParser.IsKnownModule(module))
                    _diagnostics.Add(new YaraDiagnostic(origin, t.Line, null, $"module \"{module}\" is not supported; rules using it are skipped", false));
                _imports.Add(module);
                i += 2;
                continue;
            }
            if (t.Is("include"))
            {
                if (toks[i + 1].Kind != Tok.Text) { Error(origin, t.Line, null, "expected file name after include"); i++; continue; }
                Include(origin, t.Line, Encoding.UTF8.GetString(toks[i + 1].Bytes!), ns);
                i += 2;
                continue;
            }
            if (t.Is("rule") || t.Is("private") || t.Is("global"))
            {
                i = ParseRule(toks, i, origin, ns);
                continue;
            }
            Error(origin, t.Line, null, t.Kind == Tok.Error ? t.Text : $"unexpected {t} outside a rule");
            i = SkipToNextRule(toks, i + 1);
        }
    }

    // yara's reserved words: its grammar refuses them as rule names.
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "all", "and", "any", "ascii", "at", "base64", "base64wide", "condition", "contains", "defined", "endswith",
        "entrypoint", "false", "filesize", "for", "fullword", "global", "icontains", "iendswith", "iequals", "import",
        "in", "include", "int8", "int16", "int32", "int8be", "int16be", "int32be", "istartswith", "matches", "meta",
        "nocase", "none", "not", "of", "or", "private", "rule", "startswith", "strings", "them", "true", "uint8",
        "uint16", "uint32", "uint8be", "uint16be", "uint32be", "wide", "xor",
    };

    private static int SkipToNextRule(List<Token> toks, int i)
    {
        while (toks[i].Kind != Tok.Eof && !(toks[i].Is("rule") || toks[i].Is("private") || toks[i].Is("global") || toks[i].Is("import")))
            i++;
        return i;
    }

    private void Include(string origin, int line, string file, int ns)
    {
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(origin)) ?? ".";
        var path = Path.GetFullPath(Path.Combine(baseDir, file));
        var id = Identity(path);
        if (_includeStack.Contains(id)) { Error(origin, line, null, $"include loop on {file}"); return; }
        if (_includeStack.Count >= MaxIncludeDepth) { Error(origin, line, null, $"cannot include {file}: includes nested too deeply (more than {MaxIncludeDepth} levels, yara's limit)"); return; }
        if (ReadRuleFile(path, out var error) is not { } text)
        {
            Error(origin, line, null, $"cannot include {file}: {error}");
            return;
        }
        _includeStack.Add(id);
        try { AddTokens(new Lexer(text).All(), path, ns); }
        finally { _includeStack.RemoveAt(_includeStack.Count - 1); }
    }

    private void Error(string origin, int line, string? rule, string msg) => _diagnostics.Add(new YaraDiagnostic(origin, line, rule, msg, true));

    private int ParseRule(List<Token> toks, int i, string origin, int ns)
    {
        int startLine = toks[i].Line;
        bool isPrivate = false, isGlobal = false;
        while (toks[i].Is("private") || toks[i].Is("global"))
        {
            if (toks[i].Text == "private") isPrivate = true; else isGlobal = true;
            i++;
        }
        if (!toks[i].Is("rule")) { Error(origin, toks[i].Line, null, $"expected 'rule', found {toks[i]}"); return SkipToNextRule(toks, i); }
        i++;
        if (toks[i].Kind != Tok.Ident) { Error(origin, toks[i].Line, null, $"expected rule name, found {toks[i]}"); return SkipToNextRule(toks, i); }
        var name = toks[i].Text;
        if (Keywords.Contains(name)) { Error(origin, toks[i].Line, null, $"'{name}' is a keyword and cannot name a rule"); return SkipToNextRule(toks, i + 1); }
        i++;
        var tags = new List<string>();
        if (toks[i].Kind == Tok.Colon)
        {
            i++;
            while (toks[i].Kind == Tok.Ident)
            {
                if (tags.Contains(toks[i].Text)) { Error(origin, toks[i].Line, name, $"duplicated tag identifier \"{toks[i].Text}\""); _skipped.Add((ns, name)); return SkipToNextRule(toks, i); }
                tags.Add(toks[i++].Text);
            }
        }
        if (toks[i].Kind != Tok.LBrace) { Error(origin, toks[i].Line, name, $"expected '{{', found {toks[i]}"); _skipped.Add((ns, name)); return SkipToNextRule(toks, i); }
        int bodyStart = i + 1;
        int depth = 1, j = bodyStart;
        while (toks[j].Kind != Tok.Eof)
        {
            if (toks[j].Kind == Tok.Error)
            {
                Error(origin, toks[j].Line, name, toks[j].Text);
                _skipped.Add((ns, name));
                return SkipToNextRule(toks, j + 1);
            }
            if (toks[j].Kind == Tok.LBrace) depth++;
            else if (toks[j].Kind == Tok.RBrace && --depth == 0) break;
            j++;
        }
        if (toks[j].Kind == Tok.Eof) { Error(origin, startLine, name, "missing '}' at end of rule"); _skipped.Add((ns, name)); return j; }
        int next = j + 1;
        if (_ruleIndex.ContainsKey((ns, name)) || _skipped.Contains((ns, name)))
        {
            Error(origin, startLine, name, $"duplicated identifier \"{name}\"");
            return next;
        }

        if (_ruleWildcards.FirstOrDefault(w => w.Ns == ns && name.StartsWith(w.Prefix, StringComparison.Ordinal)) is { Prefix: { } prefix })
        {
            Error(origin, startLine, name, $"rule \"{name}\" matches the wildcard \"{prefix}*\" used by an earlier rule");
            _skipped.Add((ns, name));
            return next;
        }

        int ruleIndex = _rules.Count;
        var parser = new RuleParser(toks, bodyStart, j, this, ns, _strings.Count, ruleIndex, _varSlots) { StrictEscape = StrictEscape, RuleName = name };
        try
        {
            var (meta, cond) = parser.ParseBody();
            var info = new YaraRuleInfo(_namespaces[ns], name, tags, meta, isPrivate, isGlobal);
            var strings = parser.Strings;
            var rule = new CompiledRule
            {
                Info = info, Index = ruleIndex, Namespace = ns, Condition = cond,
                Strings = strings.Select(s => s.Index).ToArray(),
            };
            rule.AlwaysEvaluate = !cond.Static().DefinitelyFalse;
            _strings.AddRange(strings);
            _rules.Add(rule);
            _ruleIndex[(ns, name)] = ruleIndex;
            _varSlots += parser.MaxSlots;
            foreach (var (line, message) in parser.Warnings)
                _warnings.Add(new YaraDiagnostic(origin, line, name, message, false) { IsWarning = true });
        }
        catch (UnsupportedException e)
        {
            _diagnostics.Add(new YaraDiagnostic(origin, startLine, name, "unsupported: " + e.Message, false));
            _skipped.Add((ns, name));
        }
        catch (SyntaxException e)
        {
            Error(origin, e.Line, name, e.Message);
            _skipped.Add((ns, name));
        }
        return next;
    }

    // ICompileScope
    public int NamespaceIndex(string ns)
    {
        int i = _namespaces.IndexOf(ns);
        if (i >= 0) return i;
        _namespaces.Add(ns);
        return _namespaces.Count - 1;
    }

    int ICompileScope.FindRule(int ns, string name)
        => _ruleIndex.TryGetValue((ns, name), out var r) ? r : _skipped.Contains((ns, name)) ? -2 : -1;

    IEnumerable<(string Name, int Index)> ICompileScope.RulesInNamespace(int ns)
        => _ruleIndex.Where(kv => kv.Key.Item1 == ns).Select(kv => (kv.Key.Item2, kv.Value));

    int ICompileScope.FindExternal(string name) => _externalNames.IndexOf(name);
    bool ICompileScope.SkippedWithPrefix(int ns, string prefix) => _skipped.Any(k => k.Item1 == ns && k.Item2.StartsWith(prefix, StringComparison.Ordinal));
    void ICompileScope.RuleWildcardUsed(int ns, string prefix) => _ruleWildcards.Add((ns, prefix));

    // yara's module names are identifiers; anything else ("", "\x00") is an error, not an unknown module.
    private static bool IsModuleName(string m)
        => m.Length > 0 && (char.IsAsciiLetter(m[0]) || m[0] == '_') && m.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
    bool ICompileScope.Imported(string module) => _imports.Contains(module);

    /// <summary>Builds the scanner from every accepted rule.</summary>
    public YaraRules Compile()
    {
        var atoms = new List<byte[]>();
        var entries = new List<List<AtomEntry>>();
        var atomIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var always = new List<int>();
        var canonical = new Dictionary<string, int>(StringComparer.Ordinal);
        var hitRules = new HashSet<int>[_strings.Count];

        int AtomId(byte[] folded)
        {
            var key = Encoding.Latin1.GetString(folded);
            if (!atomIds.TryGetValue(key, out var id))
            {
                id = atoms.Count;
                atomIds[key] = id;
                atoms.Add(folded);
                entries.Add([]);
            }
            return id;
        }

        foreach (var s in _strings)
        {
            // Identical strings (common across rules of one family) are searched once per scan and shared.
            bool literal = s.Regex is null;
            var key = literal
                ? $"T{(int)s.Kind}|{(s.Ascii ? 1 : 0)}{(s.Wide ? 1 : 0)}{(s.Fullword ? 1 : 0)}{(s.Nocase ? 1 : 0)}|{s.XorLo}-{s.XorHi}|{(s.Base64 ? 1 : 0)}{(s.Base64Wide ? 1 : 0)}{(s.Base64Alphabet is null ? "" : Convert.ToHexString(s.Base64Alphabet))}|{s.FixedOffset}|{Convert.ToHexString(s.Variants[0])}"
                : $"{(int)s.Kind}|{(s.Ascii ? 1 : 0)}{(s.Wide ? 1 : 0)}{(s.Fullword ? 1 : 0)}|{s.FixedOffset}|{s.Regex!.Pattern}";
            if (canonical.TryGetValue(key, out var first))
            {
                s.Canonical = first;
                hitRules[first].Add(s.Rule);
                continue;
            }
            canonical[key] = s.Index;
            s.Canonical = s.Index;
            hitRules[s.Index] = [s.Rule];
            if (s.Kind == StringKind.Text && (s.XorLo >= 0 || s.Base64 || s.Base64Wide))
            {
                for (int v = 0; v < s.Variants.Length; v++)
                {
                    var folded = Atoms.FoldBytes(s.Variants[v]);
                    var (o, l, _) = Atoms.BestWindow(folded, Atoms.MaxLength);
                    var atom = folded.AsSpan(o, l).ToArray();
                    entries[AtomId(atom)].Add(new AtomEntry(s.Index, v, o, atom.Length));
                }
                continue;
            }
            if (literal)
            {
                var narrow = Atoms.FoldBytes(s.Variants[0].Length == 0 ? [] : s.Ascii ? s.Variants[0] : Narrow(s.Variants[0]));
                for (int v = 0; v < s.Variants.Length; v++)
                {
                    bool wide = s.WideVariant[v];
                    var (o, l, _) = Atoms.BestWindow(narrow, wide ? Atoms.MaxLength / 2 : Atoms.MaxLength);
                    var atom = narrow.AsSpan(o, l).ToArray();
                    if (wide) { atom = Atoms.Widen(atom); o *= 2; }
                    entries[AtomId(atom)].Add(new AtomEntry(s.Index, v, o, atom.Length));
                }
                continue;
            }
            var found = s.Ascii ? Atoms.ForRegex(s.Regex!.Root, Atoms.MaxLength) : null;
            var wideFound = s.Wide ? Atoms.ForRegex(s.Regex!.Root, Atoms.MaxLength / 2) : null;
            if ((s.Ascii && found is null) || (s.Wide && wideFound is null)) { s.AlwaysCandidate = true; always.Add(s.Index); continue; }
            // Matches are searched only near atom hits. A match is at most ByteRegex.ScanLimit bytes long (yara's
            // RE_SCAN_LIMIT), so even when the regex allows any distance between its start and the atom ("(a|a)*b"),
            // a match starts at most that far before the atom: one hit never costs a search of the whole file.
            if (found is not null)
            {
                var (lo, hi) = PrefixRange(found, ByteRegex.ScanLimit);
                foreach (var a in found.Atoms)
                    entries[AtomId(a)].Add(new AtomEntry(s.Index, -2, hi, a.Length, lo));
            }
            if (wideFound is not null)
            {
                var (lo, hi) = PrefixRange(wideFound, ByteRegex.ScanLimit / 2);
                foreach (var a in wideFound.Atoms)
                {
                    var w = Atoms.Widen(a);
                    entries[AtomId(w)].Add(new AtomEntry(s.Index, -3, 2 * hi, w.Length, 2 * lo));
                }
            }
        }

        foreach (var s in _strings)
            if (s.Canonical == s.Index) s.HitRules = hitRules[s.Index].Order().ToArray();

        var globals = new int[_namespaces.Count][];
        for (int n = 0; n < globals.Length; n++)
            globals[n] = _rules.Where(r => r.Namespace == n && r.Info.IsGlobal).Select(r => r.Index).ToArray();

        var program = new RuleProgram
        {
            Rules = _rules.ToArray(),
            Strings = _strings.ToArray(),
            GlobalRulesByNamespace = globals,
            ExternalNames = _externalNames.ToArray(),
            ExternalDefaults = _externalValues.ToArray(),
            VarSlots = _varSlots,
            Matcher = new AhoCorasick(atoms),
            AtomEntries = entries.Select(e => e.ToArray()).ToArray(),
            AlwaysCandidateStrings = always.ToArray(),
        };
        return new YaraRules(program);
    }

    /// <summary>Characters between a match start and its atom; "unbounded" (-1) becomes the scan limit of the view.</summary>
    private static (int Min, int Max) PrefixRange(RegexAtoms a, int limit)
        => (Math.Clamp(a.MinPrefix, 0, limit), a.MaxPrefix < 0 ? limit : Math.Min(a.MaxPrefix, limit));

    private static byte[] Narrow(byte[] wide)
    {
        var n = new byte[wide.Length / 2];
        for (int i = 0; i < n.Length; i++) n[i] = wide[2 * i];
        return n;
    }
}
