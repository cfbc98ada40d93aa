using System.Text;
using System.Text.RegularExpressions;
using Exir.Core;

namespace Exir.Sigma.Internals;

/// <summary>A rule that cannot be compiled at all (bad modifier, bad value, bad condition).</summary>
internal sealed class SigmaCompileException(string message) : Exception(message);

/// <summary>A field the rule needs that an event source does not have: the rule is skipped for that source only.</summary>
internal sealed class FieldUnavailableException(string field, string source) : Exception($"field {field} is not available in {source}")
{
    public string Field { get; } = field;
}

/// <summary>How field names of a rule become event field names for one event source.</summary>
internal sealed class FieldMapping
{
    public static readonly FieldMapping Identity = new("", new Dictionary<string, string>(), strict: false);

    public FieldMapping(string source, IReadOnlyDictionary<string, string> renames, bool strict)
    {
        Source = source; Renames = renames; Strict = strict;
    }

    public string Source { get; }
    public IReadOnlyDictionary<string, string> Renames { get; }
    /// <summary>Only the renamed fields (and the System fields) exist in this source.</summary>
    public bool Strict { get; }

    public string Map(string sigmaField)
    {
        if (Renames.TryGetValue(sigmaField, out var to)) return to;
        if (Strict && !FieldTable.SystemNames.Contains(sigmaField, StringComparer.OrdinalIgnoreCase) && !sigmaField.Equals("Provider", StringComparison.OrdinalIgnoreCase))
            throw new FieldUnavailableException(sigmaField, Source);
        return sigmaField.Equals("Provider", StringComparison.OrdinalIgnoreCase) ? "Provider_Name" : sigmaField;
    }
}

/// <summary>Compiles the selections of a rule's detection for one event source.</summary>
internal sealed class SelectionCompiler(FieldTable table, FieldMapping mapping, IReadOnlyDictionary<string, string[]> placeholders, Dictionary<(string, RegexOptions), RuleRegex>? regexCache = null)
{
    private static readonly HashSet<string> KnownModifiers = new(StringComparer.OrdinalIgnoreCase)
    {
        "contains", "startswith", "endswith", "all", "re", "i", "m", "s", "windash", "cidr", "base64", "base64offset",
        "utf16le", "utf16be", "utf16", "wide", "exists", "gt", "gte", "lt", "lte", "fieldref", "cased", "expand",
    };

    /// <summary>The rule fields this source reads: (rule name, event field id), for evidence and group-by.</summary>
    public List<(string Sigma, int Id)> Referenced { get; } = [];

    public DetectionNode Selection(string name, object? body) => body switch
    {
        YMap map => MapSelection(map),
        List<object?> list when list.Count > 0 && list.All(x => x is YMap) => new OrNode(list.Cast<YMap>().Select(MapSelection).ToArray()),
        List<object?> list when list.All(x => x is not YMap and not List<object?>) => new KeywordTest(Values(null, [], list), all: false),
        string s => new KeywordTest(Values(null, [], [s]), all: false),
        _ => throw new SigmaCompileException($"selection {name} is neither a map, a list of maps nor a list of keywords"),
    };

    private DetectionNode MapSelection(YMap map)
    {
        if (map.Entries.Count == 0) throw new SigmaCompileException("empty selection map");
        var tests = new List<DetectionNode>(map.Entries.Count);
        foreach (var (key, value) in map.Entries) tests.Add(Field(key, value));
        return tests.Count == 1 ? tests[0] : new AndNode(tests.ToArray());
    }

    private DetectionNode Field(string key, object? value)
    {
        var parts = key.Split('|');
        var field = parts[0].Trim();
        var mods = parts.Skip(1).Select(m => m.Trim().ToLowerInvariant()).ToList();
        foreach (var m in mods)
            if (!KnownModifiers.Contains(m)) throw new SigmaCompileException($"unsupported modifier '{m}' in '{key}'");
        var raw = value switch
        {
            List<object?> l => l,
            YMap => throw new SigmaCompileException($"a map is not a value ('{key}')"),
            _ => [value],
        };
        foreach (var r in raw)
            if (r is YMap or List<object?>) throw new SigmaCompileException($"a nested structure is not a value ('{key}')");
        bool all = mods.Contains("all");

        if (field.Length == 0)
            return new KeywordTest(Values(null, mods, raw), all);

        int id = FieldId(field);
        if (mods.Contains("exists"))
        {
            if (raw.Count != 1 || raw[0] is not string b || !bool.TryParse(b, out var exists))
                throw new SigmaCompileException($"exists takes true or false ('{key}')");
            return new ExistsTest(id, exists);
        }
        if (raw.Count == 0) throw new SigmaCompileException($"no value for '{key}'");
        return new FieldTest(id, field, Values(field, mods, raw), all);
    }

    private int FieldId(string sigmaField)
    {
        var eventField = mapping.Map(sigmaField);
        int id = table.Intern(eventField);
        if (!Referenced.Any(r => r.Sigma.Equals(sigmaField, StringComparison.OrdinalIgnoreCase))) Referenced.Add((sigmaField, id));
        return id;
    }

    private ValueMatcher[] Values(string? field, List<string> mods, List<object?> raw)
    {
        var result = new List<ValueMatcher>(raw.Count);
        foreach (var r in raw) result.Add(Value(field, mods, r));
        if (!mods.Contains("all")) result = GroupContains(result);
        return result.ToArray();
    }

    /// <summary>Any-of lists: the contains-literals become one multi-string search (per case mode); the rest stay.</summary>
    internal static List<ValueMatcher> GroupContains(List<ValueMatcher> values)
    {
        var result = new List<ValueMatcher>(values.Count);
        var grouped = new HashSet<ValueMatcher>();
        foreach (var ignoreCase in new[] { true, false })
        {
            var lits = values.OfType<LiteralMatcher>().Where(l => l.Op == StringOp.Contains && l.IgnoreCase == ignoreCase && l.Literal.Length > 0).ToList();
            if (lits.Count < 2) continue;
            result.Add(new ContainsAnyMatcher(lits.Select(l => l.Literal).Distinct().ToList(), ignoreCase));
            grouped.UnionWith(lits);
        }
        if (grouped.Count == 0) return values;
        foreach (var v in values) if (!grouped.Contains(v)) result.Add(v);
        return result;
    }

    private ValueMatcher Value(string? field, List<string> mods, object? raw)
    {
        bool Has(string m) => mods.Contains(m);
        if (raw is null)
        {
            if (mods.Any(m => m is not "all" and not "cased")) throw new SigmaCompileException("null takes no modifier");
            return NullMatcher.Instance;
        }
        var value = (string)raw;
        bool cased = Has("cased");
        var cmp = cased ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        var op = Has("contains") ? StringOp.Contains : Has("startswith") ? StringOp.StartsWith : Has("endswith") ? StringOp.EndsWith : StringOp.Equals;
        // Keywords are searched inside the values (full-text search), not compared with whole values.
        if (field is null && op == StringOp.Equals) op = StringOp.Contains;
        if (new[] { Has("contains"), Has("startswith"), Has("endswith") }.Count(x => x) > 1)
            throw new SigmaCompileException("contains, startswith and endswith exclude each other");

        if (Has("re"))
        {
            var options = Has("i") ? RegexOptions.IgnoreCase : RegexOptions.None;
            if (Has("m")) options |= RegexOptions.Multiline;
            if (Has("s")) options |= RegexOptions.Singleline;
            try
            {
                // A rule compiled for several sources (Sysmon 1 and 4688) builds each expression once.
                if (regexCache is null) return new RegexMatcher(RegexMatcher.Compile(value, options));
                if (!regexCache.TryGetValue((value, options), out var re)) regexCache[(value, options)] = re = RegexMatcher.Compile(value, options);
                return new RegexMatcher(re);
            }
            catch (ArgumentException e) { throw new SigmaCompileException($"bad regular expression '{value}': {e.Message}"); }
        }
        if (Has("cidr"))
        {
            try { return new CidrMatcher(value.Trim()); }
            catch (FormatException) { throw new SigmaCompileException($"bad CIDR '{value}'"); }
        }
        foreach (var (m, nop) in new[] { ("gt", NumericOp.Gt), ("gte", NumericOp.Gte), ("lt", NumericOp.Lt), ("lte", NumericOp.Lte) })
            if (Has(m))
            {
                if (!NumericMatcher.TryNumber(value, out var bound)) throw new SigmaCompileException($"{m} needs a number, not '{value}'");
                return new NumericMatcher(bound, nop);
            }
        if (Has("fieldref"))
        {
            if (field is null) throw new SigmaCompileException("fieldref needs a field");
            return new FieldRefMatcher(FieldId(value), op, cmp);
        }

        // Value transformations: placeholders, then dash variants, then encodings.
        IEnumerable<string> variants = [value];
        if (Has("expand")) variants = variants.SelectMany(Expand);
        if (Has("windash")) variants = variants.SelectMany(WindashVariants);
        var list = variants.Distinct(StringComparer.Ordinal).ToList();

        bool utf16le = Has("utf16le") || Has("wide") || Has("utf16");
        bool utf16be = Has("utf16be");
        bool b64 = Has("base64"), b64off = Has("base64offset");
        if (utf16le || utf16be) { if (!b64 && !b64off) throw new SigmaCompileException("utf16le/utf16be/wide need base64 or base64offset"); }
        if (b64 || b64off)
        {
            var encoding = utf16le ? Encoding.Unicode : utf16be ? Encoding.BigEndianUnicode : Encoding.UTF8;
            var encoded = new List<ValueMatcher>();
            foreach (var v in list)
            {
                var bytes = encoding.GetBytes(v);
                var forms = b64off ? Base64Offsets(bytes) : [Convert.ToBase64String(bytes)];
                // Base64 text is case-sensitive: "QQ" and "qq" are different bytes.
                foreach (var f in forms.Distinct()) encoded.Add(new LiteralMatcher(f, op, StringComparison.Ordinal));
            }
            return encoded.Count == 1 ? encoded[0] : new AnyOfMatcher(encoded.ToArray());
        }
        var matchers = list.Select(v => Pattern(v, op, cased)).ToArray();
        return matchers.Length == 1 ? matchers[0] : new AnyOfMatcher(matchers);
    }

    private IEnumerable<string> Expand(string value)
    {
        var m = Regex.Match(value, "%([A-Za-z0-9_.-]+)%");
        if (!m.Success) return [value];
        if (!placeholders.TryGetValue(m.Groups[1].Value, out var repl))
            throw new SigmaCompileException($"placeholder %{m.Groups[1].Value}% is not defined in the placeholder configuration");
        return repl.SelectMany(r => Expand(value[..m.Index] + r + value[(m.Index + m.Length)..]));
    }

    /// <summary>Windows accepts -, /, en dash, em dash and horizontal bar before an option: every form of each dash-option.</summary>
    internal static IEnumerable<string> WindashVariants(string value)
    {
        var positions = new List<int>();
        for (int i = 0; i < value.Length; i++)
            if (value[i] is '-' or '/' && (i == 0 || !IsWord(value[i - 1])) && i + 1 < value.Length && IsWord(value[i + 1]))
                positions.Add(i);
        if (positions.Count == 0) return [value];
        return "-/\u2013\u2014\u2015".Select(dash =>
        {
            var chars = value.ToCharArray();
            foreach (var p in positions) chars[p] = dash;
            return new string(chars);
        });
    }

    private static bool IsWord(char c) => char.IsLetterOrDigit(c) || c == '_';

    /// <summary>The three base64 forms of bytes at any offset in a longer encoded stream, without the edge characters that depend on the neighbours.</summary>
    internal static string[] Base64Offsets(byte[] bytes)
    {
        int[] start = [0, 2, 3], endTrim = [0, 3, 2];
        var result = new string[3];
        for (int i = 0; i < 3; i++)
        {
            var padded = new byte[i + bytes.Length];
            bytes.CopyTo(padded, i);
            var b = Convert.ToBase64String(padded);
            int end = b.Length - endTrim[(bytes.Length + i) % 3];
            result[i] = end > start[i] ? b[start[i]..end] : "";
        }
        return result.Where(r => r.Length > 0).ToArray();
    }

    /// <summary>
    /// A Sigma string with wildcards: * and ? are wildcards, \*, \? and \\ are the literal characters, any
    /// other backslash is itself. Pure literals become ordinal string tests; anything else a wildcard matcher.
    /// </summary>
    internal static ValueMatcher Pattern(string value, StringOp op, bool cased)
    {
        var chars = new StringBuilder(value.Length + 2);
        var kinds = new List<byte>(value.Length + 2);
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '\\' && i + 1 < value.Length && value[i + 1] is '*' or '?' or '\\') { chars.Append(value[++i]); kinds.Add(0); }
            else if (c == '*') { chars.Append('*'); kinds.Add(1); }
            else if (c == '?') { chars.Append('?'); kinds.Add(2); }
            else { chars.Append(c); kinds.Add(0); }
        }
        if (op is StringOp.Contains or StringOp.EndsWith) { chars.Insert(0, '*'); kinds.Insert(0, 1); }
        if (op is StringOp.Contains or StringOp.StartsWith) { chars.Append('*'); kinds.Add(1); }

        // Leading and trailing stars become the string op when the middle is free of wildcards.
        int lo = 0, hi = kinds.Count;
        while (lo < hi && kinds[lo] == 1) lo++;
        while (hi > lo && kinds[hi - 1] == 1) hi--;
        bool middleLiteral = true;
        for (int i = lo; i < hi; i++) if (kinds[i] != 0) { middleLiteral = false; break; }
        var cmp = cased ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        if (middleLiteral)
        {
            var literal = chars.ToString(lo, hi - lo);
            bool lead = lo > 0, trail = hi < kinds.Count;
            if (literal.Length == 0) return lead || trail ? new WildcardMatcher("*", [1], cased) : new LiteralMatcher("", StringOp.Equals, cmp);
            var sop = lead && trail ? StringOp.Contains : lead ? StringOp.EndsWith : trail ? StringOp.StartsWith : StringOp.Equals;
            return new LiteralMatcher(literal, sop, cmp);
        }
        // Collapse runs of stars: they mean the same and cost backtracking.
        var pc = new StringBuilder();
        var pk = new List<byte>();
        for (int i = 0; i < kinds.Count; i++)
        {
            if (kinds[i] == 1 && pk.Count > 0 && pk[^1] == 1) continue;
            pc.Append(chars[i]); pk.Add(kinds[i]);
        }
        return new WildcardMatcher(pc.ToString(), pk.ToArray(), cased);
    }
}
