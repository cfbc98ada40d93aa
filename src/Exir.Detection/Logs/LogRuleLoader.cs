using System.Text.RegularExpressions;
using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Findings;
using Exir.Logs;
using YamlDotNet.Serialization;

namespace Exir.Detection.Logs;

/// <summary>
/// Reads rules/logs/*.yaml into <see cref="LogRule"/>s. A broken rule is reported (RuleSkipped, with the
/// file, the rule id and the reason) and the rest load; a broken file skips only that file.
/// </summary>
public static class LogRuleLoader
{
    public static IReadOnlyList<LogRule> Load(DataFiles data, CoverageReport coverage)
    {
        var rules = new List<LogRule>();
        var allowLists = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in data.List("logs", ".yaml").Concat(data.List("logs", ".yml")))
        {
            string text;
            try { text = data.ReadAllText(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                coverage.AddIssue(IssueKind.RuleSkipped, "rules/" + file, "cannot read rule file: " + e.Message);
                continue;
            }
            rules.AddRange(Parse(text, "rules/" + file, coverage, name => LoadAllowList(data, name, allowLists)));
        }
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var unique = new List<LogRule>();
        foreach (var r in rules)
        {
            if (seen.Add(r.Info.Id)) unique.Add(r);
            else coverage.AddIssue(IssueKind.RuleSkipped, r.SourceFile, $"rule {r.Info.Id}: duplicate id, the later copy is ignored");
        }
        return unique;
    }

    /// <summary>Parses one rule file's text; <paramref name="allowList"/> resolves allow-list names to entries.</summary>
    public static IReadOnlyList<LogRule> Parse(string yaml, string sourceName, CoverageReport coverage, Func<string, IReadOnlyList<string>> allowList)
    {
        object? doc;
        try { doc = new DeserializerBuilder().Build().Deserialize<object>(yaml); }
        catch (Exception e)
        {
            coverage.AddIssue(IssueKind.RuleSkipped, sourceName, "not valid YAML, no rule of this file loaded: " + e.Message);
            return [];
        }
        if (Map(doc)?.GetValueOrDefault("rules") is not List<object> list)
        {
            coverage.AddIssue(IssueKind.RuleSkipped, sourceName, "no 'rules:' list");
            return [];
        }
        var result = new List<LogRule>();
        for (int i = 0; i < list.Count; i++)
        {
            var node = Map(list[i]);
            var id = node is null ? null : Str(node, "id");
            try
            {
                if (node is null) throw new RuleException("a rule must be a mapping");
                result.Add(Build(node, sourceName, allowList));
            }
            catch (RuleException e)
            {
                coverage.AddIssue(IssueKind.RuleSkipped, sourceName, $"rule {id ?? "#" + (i + 1)}: {e.Message}");
            }
            catch (ArgumentException e)
            {
                coverage.AddIssue(IssueKind.RuleSkipped, sourceName, $"rule {id ?? "#" + (i + 1)}: {e.Message}");
            }
        }
        return result;
    }

    private static LogRule Build(Dictionary<string, object?> n, string source, Func<string, IReadOnlyList<string>> allowList)
    {
        var id = Str(n, "id") ?? throw new RuleException("missing id");
        var title = Str(n, "title") ?? throw new RuleException("missing title");
        var severity = Severity.Medium;
        if (Str(n, "severity") is { } sv && !SeverityNames.TryParseSeverity(sv, out severity)) throw new RuleException($"unknown severity '{sv}'");
        var outcome = Outcome.Indicator;
        if (Str(n, "outcome") is { } ov && !SeverityNames.TryParseOutcome(ov, out outcome)) throw new RuleException($"unknown outcome '{ov}'");
        var formats = StrList(n, "formats").Select(ParseFormat).ToList();
        if (formats.Count == 0) throw new RuleException("no formats");
        var literals = StrList(n, "literals");
        if (literals.Any(string.IsNullOrEmpty)) throw new RuleException("empty literal");
        bool decodes = false;
        var match = Condition(n.GetValueOrDefault("match") ?? throw new RuleException("missing match"), allowList, ref decodes);
        var derive = new List<Derivation>();
        if (n.GetValueOrDefault("derive") is List<object> dl)
            foreach (var d in dl.Select(Map))
            {
                if (d is null) throw new RuleException("derive entries must be mappings");
                var name = Str(d, "name") ?? throw new RuleException("derive entry without name");
                var sources = new List<(string, RuleRegex)>();
                foreach (var s in (d.GetValueOrDefault("from") as List<object>) ?? [])
                {
                    var sm = Map(s) ?? throw new RuleException($"derive {name}: 'from' entries need field and regex");
                    sources.Add((Str(sm, "field") ?? throw new RuleException($"derive {name}: missing field"),
                        CompileRegex(Str(sm, "regex") ?? throw new RuleException($"derive {name}: missing regex"))));
                }
                if (sources.Count == 0) throw new RuleException($"derive {name}: no sources");
                var tr = Transforms(d, ref decodes);
                derive.Add(new Derivation(name, sources, tr));
            }
        var grades = new List<Grade>();
        if (n.GetValueOrDefault("grades") is List<object> gl)
            foreach (var g in gl.Select(Map))
            {
                if (g is null) throw new RuleException("grades must be mappings");
                var when = g.GetValueOrDefault("when") is { } w ? Condition(w, allowList, ref decodes) : new AllCondition([]);
                var gs = severity;
                if (Str(g, "severity") is { } gsv && !SeverityNames.TryParseSeverity(gsv, out gs)) throw new RuleException($"grade: unknown severity '{gsv}'");
                var go = outcome;
                if (Str(g, "outcome") is { } gov && !SeverityNames.TryParseOutcome(gov, out go)) throw new RuleException($"grade: unknown outcome '{gov}'");
                grades.Add(new Grade(when, gs, go, Str(g, "note") ?? ""));
            }
        if (literals.Count == 0) throw new RuleException("no literals: every rule needs the pre-filter literals its lines must contain");
        return new LogRule
        {
            Info = new RuleInfo
            {
                Id = id, Title = title, Severity = severity, Outcome = outcome,
                Cves = StrList(n, "cves"), Attack = StrList(n, "attack"),
                Explanation = (Str(n, "explanation") ?? "").Trim(), References = StrList(n, "references"),
            },
            Formats = formats,
            Literals = literals,
            RequireAll = StrList(n, "require_all"),
            Match = match,
            Derive = derive,
            Grades = grades,
            DetailFields = StrList(n, "details"),
            Group = Str(n, "group"),
            UsesDecoding = decodes,
            SourceFile = source,
        };
    }

    private static LogCondition Condition(object node, Func<string, IReadOnlyList<string>> allowList, ref bool decodes)
    {
        if (node is List<object> list)
        {
            var parts = new List<LogCondition>();
            foreach (var item in list) parts.Add(Condition(item, allowList, ref decodes));
            return new AllCondition(parts);
        }
        var m = Map(node) ?? throw new RuleException("a condition must be a mapping or a list");
        if (m.GetValueOrDefault("all") is { } all) return Condition(all is List<object> ? all : new List<object> { all }, allowList, ref decodes);
        if (m.GetValueOrDefault("any") is List<object> any)
        {
            var parts = new List<LogCondition>();
            foreach (var item in any) parts.Add(Condition(item, allowList, ref decodes));
            return new AnyCondition(parts);
        }
        if (m.GetValueOrDefault("not") is { } not) return new NotCondition(Condition(not, allowList, ref decodes));
        var field = Str(m, "field") ?? throw new RuleException("condition without field (or all/any/not)");
        var transforms = Transforms(m, ref decodes);
        bool negate = Bool(m, "negate");
        (FieldOperator op, string key)[] ops =
        [
            (FieldOperator.Equals, "equals"), (FieldOperator.Equals, "any_of"), (FieldOperator.Contains, "contains"),
            (FieldOperator.StartsWith, "starts_with"), (FieldOperator.EndsWith, "ends_with"), (FieldOperator.Wildcard, "wildcard"),
            (FieldOperator.Regex, "regex"), (FieldOperator.AllowList, "allowlist"), (FieldOperator.Empty, "empty"), (FieldOperator.Present, "present"),
        ];
        var found = ops.Where(o => m.ContainsKey(o.key)).ToList();
        if (found.Count != 1) throw new RuleException($"condition on {field} needs exactly one operator ({string.Join(", ", ops.Select(o => o.key).Distinct())})");
        var (op, key) = found[0];
        switch (op)
        {
            case FieldOperator.Empty or FieldOperator.Present:
                return new FieldCondition { Field = field, Operator = op, ExpectEmpty = Bool(m, key), Transforms = transforms, Negate = negate };
            case FieldOperator.Regex:
                return new FieldCondition { Field = field, Operator = op, Regexes = Values(m[key]).Select(CompileRegex).ToList(), Transforms = transforms, Negate = negate };
            case FieldOperator.AllowList:
                var entries = new List<string>();
                foreach (var name in Values(m[key])) entries.AddRange(allowList(name));
                return new FieldCondition { Field = field, Operator = op, Values = entries, Transforms = transforms, Negate = negate };
            default:
                var values = Values(m[key]);
                if (values.Count == 0) throw new RuleException($"condition on {field}: no values");
                return new FieldCondition { Field = field, Operator = op, Values = values, Transforms = transforms, Negate = negate };
        }
    }

    private static IReadOnlyList<ValueTransform> Transforms(Dictionary<string, object?> m, ref bool decodes)
    {
        var list = new List<ValueTransform>();
        foreach (var t in m.GetValueOrDefault("decode") is { } d ? Values(d) : [])
        {
            var tr = t.ToLowerInvariant() switch
            {
                "percent" or "url" => ValueTransform.Percent,
                "plus" => ValueTransform.Plus,
                "winpath" => ValueTransform.WinPath,
                _ => throw new RuleException($"unknown decode '{t}' (percent, plus, winpath)"),
            };
            if (tr == ValueTransform.Percent) decodes = true;
            list.Add(tr);
        }
        return list;
    }

    /// <summary>
    /// Regexes are case-insensitive and linear-time (no backtracking), so a hostile 64 KiB line cannot stall a scan;
    /// look-arounds and back-references get the backtracking engine bounded by a timeout. Checked now, built at first use.
    /// </summary>
    private static RuleRegex CompileRegex(string pattern)
    {
        try { return new RuleRegex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant); }
        catch (ArgumentException e) { throw new RuleException($"bad regex '{pattern}': {e.Message}"); }
    }

    /// <summary>A format by the one name rules use for it (iis, httpproxy, ecp-server, oab-generator, exchange-other).</summary>
    public static LogFormat ParseFormat(string s) =>
        LogFormats.ByName(s)?.Format ?? throw new RuleException($"unknown format '{s}' ({LogFormats.Names})");

    private static IReadOnlyList<string> LoadAllowList(DataFiles data, string name, Dictionary<string, IReadOnlyList<string>> cache)
    {
        if (cache.TryGetValue(name, out var list)) return list;
        var rel = "allowlists/" + (name.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) ? name : name + ".txt");
        if (!data.Exists(rel)) throw new RuleException($"allow-list {rel} not found");
        list = ParseAllowList(data.ReadAllText(rel));
        cache[name] = list;
        return list;
    }

    /// <summary>One wildcard pattern per line; '#' starts a comment.</summary>
    public static IReadOnlyList<string> ParseAllowList(string text) =>
        text.Split('\n').Select(l => { int h = l.IndexOf('#'); return (h >= 0 ? l[..h] : l).Trim(); }).Where(l => l.Length > 0).ToList();

    private static Dictionary<string, object?>? Map(object? o) => o is Dictionary<object, object?> d
        ? d.ToDictionary(kv => kv.Key.ToString() ?? "", kv => kv.Value, StringComparer.OrdinalIgnoreCase)
        : null;

    private static string? Str(Dictionary<string, object?> m, string key) => m.GetValueOrDefault(key) switch
    {
        null => null,
        string s => s,
        List<object> => throw new RuleException($"'{key}' must be a single value"),
        Dictionary<object, object?> => throw new RuleException($"'{key}' must be a single value"),
        var o => o.ToString(),
    };

    private static bool Bool(Dictionary<string, object?> m, string key) => Str(m, key) is { } s &&
        (bool.TryParse(s, out var b) ? b : throw new RuleException($"'{key}' must be true or false"));

    private static IReadOnlyList<string> StrList(Dictionary<string, object?> m, string key) => m.GetValueOrDefault(key) is { } v ? Values(v) : [];

    private static IReadOnlyList<string> Values(object? v) => v switch
    {
        null => [],
        List<object> l => l.Select(x => x is string or not (List<object> or Dictionary<object, object?>) ? x?.ToString() ?? "" : throw new RuleException("lists of values must hold plain values")).ToList(),
        Dictionary<object, object?> => throw new RuleException("expected a value or a list of values"),
        _ => [v.ToString() ?? ""],
    };

    private sealed class RuleException(string message) : Exception(message);
}
