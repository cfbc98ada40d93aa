using System.Text;

namespace Exir.Yara;

/// <summary>An error in a rule file, or a rule skipped because it uses something this engine does not implement.</summary>
public sealed record YaraDiagnostic(string Origin, int Line, string? Rule, string Message, bool IsError)
{
    public override string ToString()
        => $"{Origin}({Line}): {(IsError ? "error" : "skipped")}{(Rule is null ? "" : $" rule {Rule}")}: {Message}";
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
    private readonly List<CompiledRule> _rules = [];
    private readonly List<CompiledString> _strings = [];
    private readonly List<string> _namespaces = [];
    private readonly Dictionary<(int, string), int> _ruleIndex = [];
    private readonly HashSet<(int, string)> _skipped = [];
    private readonly List<string> _externalNames = [];
    private readonly List<Value> _externalValues = [];
    private HashSet<string> _imports = [];
    private int _varSlots;
    private readonly HashSet<string> _includeStack = new(StringComparer.Ordinal);

    public YaraCompiler()
    {
        foreach (var e in DefaultExternals) DefineExternal(e, "");
    }

    public IReadOnlyList<YaraDiagnostic> Diagnostics => _diagnostics;

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
        string text;
        try { text = File.ReadAllText(path, Encoding.UTF8); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            _diagnostics.Add(new YaraDiagnostic(path, 0, null, "cannot read rule file: " + e.Message, true));
            return;
        }
        AddSource(text, path, ns);
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
                if (!Modules.IsModule(module))
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
        if (!_includeStack.Add(path)) { Error(origin, line, null, $"include loop on {file}"); return; }
        try
        {
            string text;
            try { text = File.ReadAllText(path, Encoding.UTF8); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Error(origin, line, null, $"cannot include {file}: {e.Message}");
                return;
            }
            AddTokens(new Lexer(text).All(), path, ns);
        }
        finally { _includeStack.Remove(path); }
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
        i++;
        var tags = new List<string>();
        if (toks[i].Kind == Tok.Colon)
        {
            i++;
            while (toks[i].Kind == Tok.Ident) tags.Add(toks[i++].Text);
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

        int ruleIndex = _rules.Count;
        var parser = new RuleParser(toks, bodyStart, j, this, ns, _strings.Count, ruleIndex, _varSlots);
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
            var key = s.Kind == StringKind.Text
                ? $"T|{(s.Ascii ? 1 : 0)}{(s.Wide ? 1 : 0)}{(s.Fullword ? 1 : 0)}{(s.Nocase ? 1 : 0)}|{s.XorLo}-{s.XorHi}|{(s.Base64 ? 1 : 0)}{(s.Base64Wide ? 1 : 0)}{(s.Base64Alphabet is null ? "" : Convert.ToHexString(s.Base64Alphabet))}|{s.FixedOffset}|{Convert.ToHexString(s.Variants[0])}"
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
            if (s.Kind == StringKind.Text)
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
            // Bounded when every atom sits at a bounded distance after the match start: search only there.
            bool bounded = (found is null || found.MaxPrefix >= 0) && (wideFound is null || wideFound.MaxPrefix >= 0);
            if (found is not null)
                foreach (var a in found.Atoms)
                    entries[AtomId(a)].Add(bounded
                        ? new AtomEntry(s.Index, -2, found.MaxPrefix, a.Length, found.MinPrefix)
                        : new AtomEntry(s.Index, -1, 0, a.Length));
            if (wideFound is not null)
                foreach (var a in wideFound.Atoms)
                {
                    var w = Atoms.Widen(a);
                    entries[AtomId(w)].Add(bounded
                        ? new AtomEntry(s.Index, -3, 2 * wideFound.MaxPrefix, w.Length, 2 * wideFound.MinPrefix)
                        : new AtomEntry(s.Index, -1, 0, w.Length));
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

    private static byte[] Narrow(byte[] wide)
    {
        var n = new byte[wide.Length / 2];
        for (int i = 0; i < n.Length; i++) n[i] = wide[2 * i];
        return n;
    }
}
