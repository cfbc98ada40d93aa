using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;

namespace Exir.Mitigation;

/// <summary>A URL Rewrite rule as found in a config file.</summary>
public sealed record FoundRule(string File, string Scope, string Name, bool Enabled, string PatternSyntax, string MatchUrl, bool MatchNegate,
    string Grouping, IReadOnlyList<FoundCondition> Conditions, string ActionType, string? StatusCode);

public sealed record FoundCondition(string Input, string Pattern, bool IgnoreCase, bool Negate);

public enum MitigationStatus { Present, Missing, Ineffective }

public sealed record MitigationVerdict(MitigationRule Rule, MitigationStatus Status, FoundRule? Found, IReadOnlyList<string> Reasons);

public sealed record VerifyResult(IReadOnlyList<string> FilesRead, IReadOnlyList<string> Unreadable, IReadOnlyList<FoundRule> Rules,
    IReadOnlyList<MitigationVerdict> Verdicts)
{
    public int ExitCode => FilesRead.Count == 0 ? 2 : Verdicts.All(v => v.Status == MitigationStatus.Present) ? 0 : 1;
}

/// <summary>
/// Reads collected web.config / applicationHost.config files offline and judges each mitigation of the rule set:
/// the rules found are run, as URL Rewrite would run them, against the rule set's attack samples.
/// </summary>
public static class ConfigVerifier
{
    public const long MaxFileBytes = 16 * 1024 * 1024;
    private const int MaxFiles = 10_000;

    public static VerifyResult Verify(IEnumerable<string> paths, MitigationRuleSet set)
    {
        var read = new List<string>();
        var unreadable = new List<string>();
        var rules = new List<FoundRule>();
        foreach (var file in ConfigFiles(paths, unreadable))
        {
            try
            {
                rules.AddRange(ReadRules(file));
                read.Add(file);
            }
            catch (Exception e) when (e is XmlException or IOException or UnauthorizedAccessException or InvalidDataException)
            {
                unreadable.Add($"{file}: {e.Message}");
            }
        }
        return new VerifyResult(read, unreadable, rules, set.Rules.Select(m => Judge(m, rules)).ToList());
    }

    private static IEnumerable<string> ConfigFiles(IEnumerable<string> paths, List<string> unreadable)
    {
        var count = 0;
        foreach (var p in paths)
        {
            if (File.Exists(p)) { yield return p; continue; }
            if (!Directory.Exists(p)) { unreadable.Add($"{p}: no such file or folder"); continue; }
            var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, MatchCasing = MatchCasing.CaseInsensitive, AttributesToSkip = FileAttributes.ReparsePoint };
            foreach (var f in Directory.EnumerateFiles(p, "*.config", options))
            {
                var name = Path.GetFileName(f);
                if (!name.Equals("web.config", StringComparison.OrdinalIgnoreCase) && !name.Equals("applicationHost.config", StringComparison.OrdinalIgnoreCase)) continue;
                if (++count > MaxFiles) { unreadable.Add($"{p}: more than {MaxFiles} config files; the rest were not read"); yield break; }
                yield return f;
            }
        }
    }

    /// <summary>Every URL Rewrite rule (rules and globalRules, enabled or not) of one file. Hostile input: no DTD, no entities, size cap.</summary>
    public static List<FoundRule> ReadRules(string file)
    {
        var info = new FileInfo(file);
        if (info.Length > MaxFileBytes) throw new InvalidDataException($"larger than {MaxFileBytes / (1024 * 1024)} MB; not a config file exir reads");
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = MaxFileBytes, MaxCharactersFromEntities = 0,
            IgnoreComments = true,
        };
        using var reader = XmlReader.Create(file, settings);
        var doc = XDocument.Load(reader, LoadOptions.None);
        var found = new List<FoundRule>();
        foreach (var list in doc.Descendants().Where(e => e.Name.LocalName is "rules" or "globalRules" && e.Parent?.Name.LocalName == "rewrite"))
        {
            var scope = list.Name.LocalName == "globalRules" ? "globalRules" : Location(list) is { } loc ? $"rules ({loc})" : "rules";
            foreach (var rule in list.Elements().Where(e => e.Name.LocalName == "rule"))
            {
                var match = rule.Elements().FirstOrDefault(e => e.Name.LocalName == "match");
                var conditions = rule.Elements().FirstOrDefault(e => e.Name.LocalName == "conditions");
                var action = rule.Elements().FirstOrDefault(e => e.Name.LocalName == "action");
                found.Add(new FoundRule(file, scope, Attr(rule, "name") ?? "", !IsFalse(Attr(rule, "enabled")), Attr(rule, "patternSyntax") ?? "ECMAScript",
                    Attr(match, "url") ?? "", IsTrue(Attr(match, "negate")), Attr(conditions, "logicalGrouping") ?? "MatchAll",
                    conditions?.Elements().Where(e => e.Name.LocalName == "add")
                        .Select(c => new FoundCondition(Attr(c, "input") ?? "", Attr(c, "pattern") ?? "", !IsFalse(Attr(c, "ignoreCase")), IsTrue(Attr(c, "negate"))))
                        .ToList() ?? [],
                    Attr(action, "type") ?? "None", Attr(action, "statusCode")));
            }
        }
        return found;
    }

    private static string? Location(XElement e) =>
        e.Ancestors().FirstOrDefault(a => a.Name.LocalName == "location") is { } l ? "location " + (Attr(l, "path") ?? "") : null;

    private static string? Attr(XElement? e, string name) => e?.Attributes().FirstOrDefault(a => a.Name.LocalName == name)?.Value;
    private static bool IsFalse(string? v) => string.Equals(v?.Trim(), "false", StringComparison.OrdinalIgnoreCase);
    private static bool IsTrue(string? v) => string.Equals(v?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    private static MitigationVerdict Judge(MitigationRule m, List<FoundRule> rules)
    {
        // Candidates: the rule of that name, or any rule that fires on at least one of the attack samples.
        var scored = rules.Select(r => (Rule: r, Hits: m.AttackSamples.Count(s => Fires(r, s)),
                Named: r.Name.Equals(m.IisName, StringComparison.OrdinalIgnoreCase)))
            .Where(x => x.Named || x.Hits > 0).ToList();
        if (scored.Count == 0) return new MitigationVerdict(m, MitigationStatus.Missing, null, [$"no URL Rewrite rule named '{m.IisName}' and none stops its attack requests"]);
        var effective = scored.Where(x => x.Hits == m.AttackSamples.Count && x.Rule.Enabled && Blocks(x.Rule)).ToList();
        if (effective.Count > 0)
        {
            // Covered by another rule, but the rule of the mitigation's own name is weak: say so, it misleads whoever reads the config.
            var weak = scored.Where(x => x.Named && !effective.Contains(x))
                .SelectMany(x => Why(m, x.Rule, x.Hits).Select(w => $"note: '{x.Rule.Name}' in {x.Rule.File} on its own is ineffective: {w}")).ToList();
            var chosen = effective.FirstOrDefault(x => x.Named) is { Rule: not null } n ? n : effective[0];
            return new MitigationVerdict(m, MitigationStatus.Present, chosen.Rule, weak);
        }
        var best = scored.OrderByDescending(x => x.Rule.Enabled && Blocks(x.Rule)).ThenByDescending(x => x.Hits).ThenByDescending(x => x.Named).First();
        return new MitigationVerdict(m, MitigationStatus.Ineffective, best.Rule, Why(m, best.Rule, best.Hits));
    }

    private static List<string> Why(MitigationRule m, FoundRule r, int hits)
    {
        var why = new List<string>();
        if (!r.Enabled) why.Add("the rule is disabled (enabled=\"false\")");
        if (!Blocks(r))
            why.Add($"the action is {r.ActionType}{(r.StatusCode is null ? "" : " " + r.StatusCode)}, not AbortRequest or CustomResponse 403");
        if (hits < m.AttackSamples.Count)
        {
            var input = r.Conditions.FirstOrDefault(c => c.Input.Contains(m.Variable, StringComparison.OrdinalIgnoreCase))?.Input;
            if (input is not null && DecodeDepth(input) < m.Decode)
                why.Add($"it matches {input}, decoded {DecodeDepth(input)} time(s); the rule set asks for {Emitters.IisInput(m)}");
            var missed = m.AttackSamples.Where(s => !Fires(r, s)).Select(s => s.Cookie.Length > 0 ? "Cookie: " + s.Cookie : s.Uri).ToList();
            why.Add($"it lets {missed.Count} of {m.AttackSamples.Count} attack requests through, e.g. {missed[0]}");
        }
        return why;
    }

    private static bool Blocks(FoundRule r) =>
        r.ActionType.Equals("AbortRequest", StringComparison.OrdinalIgnoreCase)
        || (r.ActionType.Equals("CustomResponse", StringComparison.OrdinalIgnoreCase) && r.StatusCode?.Trim() == "403");

    private static int DecodeDepth(string input) => Regex.Matches(input, @"\{\s*UrlDecode\s*:", RegexOptions.IgnoreCase).Count;

    /// <summary>Whether URL Rewrite would run this rule's action for the request (enabled or not: the caller judges that).</summary>
    public static bool Fires(FoundRule r, SampleRequest s)
    {
        var path = s.Uri.Split('?', 2)[0];
        var url = UriForms.Decode(path.TrimStart('/'), 1); // {URL} in rules: the decoded path without the leading slash
        if (Matches(r, r.MatchUrl, url, ignoreCase: true) == r.MatchNegate) return false;
        if (r.Conditions.Count == 0) return true;
        var results = r.Conditions.Select(c => Matches(r, c.Pattern, Expand(c.Input, s), c.IgnoreCase) != c.Negate);
        return r.Grouping.Equals("MatchAny", StringComparison.OrdinalIgnoreCase) ? results.Any(x => x) : results.All(x => x);
    }

    private static bool Matches(FoundRule r, string pattern, string value, bool ignoreCase)
    {
        try
        {
            var options = RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : 0);
            return r.PatternSyntax.ToLowerInvariant() switch
            {
                "exactmatch" => string.Equals(pattern, value, ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal),
                "wildcard" => Regex.IsMatch(value, "^" + Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$", options, TimeSpan.FromSeconds(1)),
                _ => Regex.IsMatch(value, pattern, options, TimeSpan.FromSeconds(1)),
            };
        }
        catch (Exception e) when (e is ArgumentException or RegexMatchTimeoutException) { return false; }
    }

    /// <summary>Expands {VAR} and {UrlDecode:...} in a condition input for a sample request; unknown variables are empty.</summary>
    public static string Expand(string input, SampleRequest s)
    {
        var path = s.Uri.Split('?', 2);
        string Var(string name) => name.Trim().ToUpperInvariant() switch
        {
            "REQUEST_URI" or "UNENCODED_URL" or "HTTP_URL" => s.Uri,
            "HTTP_COOKIE" => s.Cookie,
            "QUERY_STRING" => path.Length > 1 ? path[1] : "",
            "URL" or "PATH_INFO" or "SCRIPT_NAME" => UriForms.Decode(path[0], 1),
            _ => "",
        };
        // Innermost braces first, so {UrlDecode:{REQUEST_URI}} becomes {UrlDecode:/raw} then the decoded text.
        for (var guard = 0; guard < 16; guard++)
        {
            var m = Regex.Match(input, @"\{([^{}]*)\}");
            if (!m.Success) break;
            var inner = m.Groups[1].Value;
            var colon = inner.IndexOf(':');
            var value = colon > 0 && inner[..colon].Trim().Equals("UrlDecode", StringComparison.OrdinalIgnoreCase) ? UriForms.Decode(inner[(colon + 1)..], 1)
                : colon > 0 && inner[..colon].Trim().Equals("ToLower", StringComparison.OrdinalIgnoreCase) ? inner[(colon + 1)..].ToLowerInvariant()
                : colon > 0 ? inner[(colon + 1)..] : Var(inner);
            // Mark the substitution so braces inside a value are not read as variables again.
            input = input[..m.Index] + value.Replace("{", "\u0001").Replace("}", "\u0002") + input[(m.Index + m.Length)..];
        }
        return input.Replace("\u0001", "{").Replace("\u0002", "}");
    }
}
