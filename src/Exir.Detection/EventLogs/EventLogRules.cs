using System.Text.RegularExpressions;
using Exir.Core;
using Exir.Core.Findings;
using Exir.Evtx;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Exir.Detection.EventLogs;

/// <summary>
/// Event-log hunts as data (rules/eventlogs/*.yaml). A rule matches a <see cref="WinEvent"/> when one of
/// its alternatives holds; an alternative holds when every condition in it does. The same rules give
/// <c>exir scan</c> its findings and the timeline its highlights.
/// </summary>
public sealed class EventLogRule
{
    public required RuleInfo Info { get; init; }
    /// <summary>False for context-only highlights (whoami, archivers) that the timeline shows but scan does not report.</summary>
    public bool Scan { get; init; } = true;
    /// <summary>Short tag shown in the timeline (e.g. "webshell-child").</summary>
    public required string Tag { get; init; }
    public required IReadOnlyList<EventMatch> Alternatives { get; init; }

    public bool Matches(WinEvent e)
    {
        foreach (var alt in Alternatives)
            if (alt.Matches(e)) return true;
        return false;
    }
}

/// <summary>One alternative of a rule: all of its conditions must hold.</summary>
public sealed class EventMatch
{
    public IReadOnlySet<int>? EventIds { get; init; }
    public IReadOnlyList<string>? Providers { get; init; }
    public IReadOnlyList<string>? Channels { get; init; }
    public IReadOnlySet<int>? Levels { get; init; }
    public IReadOnlyList<(string Field, ValueTest Test)> Fields { get; init; } = [];

    public bool Matches(WinEvent e)
    {
        if (EventIds is not null && !EventIds.Contains(e.EventId)) return false;
        if (Levels is not null && !Levels.Contains(e.Level)) return false;
        if (Providers is not null && !AnyEqual(Providers, e.Provider)) return false;
        if (Channels is not null && !AnyEqual(Channels, e.Channel)) return false;
        foreach (var (field, test) in Fields)
        {
            if (field == "*")
            {
                bool any = false;
                foreach (var kv in e.Data)
                    if (test.Holds(kv.Value)) { any = true; break; }
                if (!any) return false;
            }
            else if (!test.Holds(e.Field(field))) return false;
        }
        return true;
    }

    private static bool AnyEqual(IReadOnlyList<string> list, string? value)
    {
        if (value is null) return false;
        foreach (var s in list)
            if (string.Equals(s, value, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}

/// <summary>
/// A test on one value, case-insensitive. The listed kinds are alternatives (any may match) except
/// contains_all, which needs every item; "not" excludes. A missing value never matches.
/// </summary>
public sealed class ValueTest
{
    public IReadOnlyList<string> EqualsAny { get; init; } = [];
    public IReadOnlyList<string> Contains { get; init; } = [];
    public IReadOnlyList<string> ContainsAll { get; init; } = [];
    public IReadOnlyList<string> StartsWith { get; init; } = [];
    public IReadOnlyList<string> EndsWith { get; init; } = [];
    public IReadOnlyList<RuleRegex> Regexes { get; init; } = [];
    public ValueTest? Not { get; init; }

    /// <summary>A regex that runs out of time on hostile input counts as no match; it never stops the scan.</summary>
    private static bool SafeMatch(RuleRegex r, string value)
    {
        try { return r.IsMatch(value); }
        catch (RegexMatchTimeoutException) { return false; }
    }

    public bool Holds(string? value)
    {
        if (value is null) return false;
        const StringComparison ci = StringComparison.OrdinalIgnoreCase;
        bool hasPositive = EqualsAny.Count + Contains.Count + StartsWith.Count + EndsWith.Count + Regexes.Count > 0;
        bool ok = !hasPositive;
        if (!ok)
        {
            foreach (var s in EqualsAny) if (value.Equals(s, ci)) { ok = true; break; }
            if (!ok) foreach (var s in Contains) if (value.Contains(s, ci)) { ok = true; break; }
            if (!ok) foreach (var s in StartsWith) if (value.StartsWith(s, ci)) { ok = true; break; }
            if (!ok) foreach (var s in EndsWith) if (value.EndsWith(s, ci)) { ok = true; break; }
            if (!ok) foreach (var r in Regexes) if (SafeMatch(r, value)) { ok = true; break; }
        }
        if (!ok) return false;
        foreach (var s in ContainsAll) if (!value.Contains(s, ci)) return false;
        if (Not is not null && Not.Holds(value)) return false;
        return true;
    }
}

/// <summary>Loads rules/eventlogs/*.yaml. A broken rule is reported and skipped, never fatal.</summary>
public static class EventLogRuleSet
{
    public const string Folder = "eventlogs";

    public static IReadOnlyList<EventLogRule> Load(DataFiles rules, Action<string, string>? onError = null)
    {
        var list = new List<EventLogRule>();
        foreach (var file in rules.List(Folder, ".yaml"))
        {
            try
            {
                list.AddRange(Parse(rules.ReadAllText(file), file, onError));
            }
            catch (Exception e) when (e is YamlDotNet.Core.YamlException or IOException or FormatException or InvalidDataException)
            {
                onError?.Invoke(file, e.Message);
            }
        }
        return list;
    }

    /// <summary>The default set: the rules folder found beside exir or in the checkout, else the embedded copy.</summary>
    public static IReadOnlyList<EventLogRule> LoadDefault(string? overrideDir = null, Action<string, string>? onError = null) =>
        Load(new DataFiles("rules", typeof(EventLogRuleSet).Assembly, overrideDir), onError);

    public static IReadOnlyList<EventLogRule> Parse(string yaml, string origin = "inline", Action<string, string>? onError = null)
    {
        var doc = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .IgnoreUnmatchedProperties().Build().Deserialize<RuleFile>(yaml) ?? new RuleFile();
        var list = new List<EventLogRule>();
        foreach (var r in doc.Rules ?? [])
        {
            try
            {
                list.Add(Build(r));
            }
            catch (Exception e) when (e is FormatException or ArgumentException or RegexParseException)
            {
                onError?.Invoke(origin, $"rule {r.Id ?? "(no id)"}: {e.Message}");
            }
        }
        return list;
    }

    private static EventLogRule Build(RuleDoc r)
    {
        if (string.IsNullOrWhiteSpace(r.Id) || string.IsNullOrWhiteSpace(r.Title)) throw new FormatException("id and title are required");
        if (r.Match is null || r.Match.Count == 0) throw new FormatException("match needs at least one alternative");
        SeverityNames.TryParseSeverity(r.Severity, out var sev);
        SeverityNames.TryParseOutcome(r.Outcome, out var outcome);
        return new EventLogRule
        {
            Info = new RuleInfo
            {
                Id = r.Id!, Title = r.Title!, Severity = r.Severity is null ? Severity.Medium : sev, Outcome = outcome,
                Cves = r.Cves ?? [], Attack = r.Attack ?? [], Explanation = r.Explanation?.Trim() ?? "", References = r.References ?? [],
            },
            Scan = r.Scan ?? true,
            Tag = string.IsNullOrWhiteSpace(r.Tag) ? r.Id! : r.Tag!,
            Alternatives = r.Match.Select(BuildMatch).ToList(),
        };
    }

    private static EventMatch BuildMatch(MatchDoc m) => new()
    {
        EventIds = m.EventId is { Count: > 0 } ids ? ids.ToHashSet() : null,
        Levels = m.Level is { Count: > 0 } lv ? lv.ToHashSet() : null,
        Providers = m.Provider is { Count: > 0 } p ? p : null,
        Channels = m.Channel is { Count: > 0 } c ? c : null,
        Fields = (m.Fields ?? []).Select(kv => (kv.Key, BuildTest(kv.Value))).ToList(),
    };

    private static ValueTest BuildTest(TestDoc t) => new()
    {
        EqualsAny = t.Equals ?? [],
        Contains = t.Contains ?? [],
        ContainsAll = t.ContainsAll ?? [],
        StartsWith = t.Startswith ?? [],
        EndsWith = t.Endswith ?? [],
        // Built at the first record that reaches the test (compiling to IL costs milliseconds per pattern at start).
        Regexes = (t.Regex ?? []).Select(x => new RuleRegex(x, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, linear: false)).ToList(),
        Not = t.Not is null ? null : BuildTest(t.Not),
    };

    private sealed class RuleFile { public List<RuleDoc>? Rules { get; set; } }

    private sealed class RuleDoc
    {
        public string? Id { get; set; }
        public string? Title { get; set; }
        public string? Tag { get; set; }
        public string? Severity { get; set; }
        public string? Outcome { get; set; }
        public bool? Scan { get; set; }
        public List<string>? Cves { get; set; }
        public List<string>? Attack { get; set; }
        public string? Explanation { get; set; }
        public List<string>? References { get; set; }
        public List<MatchDoc>? Match { get; set; }
    }

    private sealed class MatchDoc
    {
        public List<int>? EventId { get; set; }
        public List<int>? Level { get; set; }
        public List<string>? Provider { get; set; }
        public List<string>? Channel { get; set; }
        public Dictionary<string, TestDoc>? Fields { get; set; }
    }

    private sealed class TestDoc
    {
        public new List<string>? Equals { get; set; }
        public List<string>? Contains { get; set; }
        public List<string>? ContainsAll { get; set; }
        public List<string>? Startswith { get; set; }
        public List<string>? Endswith { get; set; }
        public List<string>? Regex { get; set; }
        public TestDoc? Not { get; set; }
    }
}
