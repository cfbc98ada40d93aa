using System.Globalization;
using Exir.Sigma.Internals;
using YamlDotNet.Core;

namespace Exir.Sigma;

/// <summary>One rule compiled for one event source.</summary>
internal sealed class CompiledVariant
{
    public required SigmaRule Rule { get; init; }
    public required SigmaEventSource Source { get; init; }
    public required DetectionNode Root { get; init; }
    /// <summary>Rule field name -> event field id, for evidence and correlation group-by.</summary>
    public required (string Sigma, int Id)[] Fields { get; init; }
    /// <summary>EventIDs this variant can match (empty: any of its channel).</summary>
    public required int[] EventIds { get; init; }
    /// <summary>The keyword selections, to name the values that held a keyword in a hit's evidence.</summary>
    public KeywordTest[] Keywords { get; init; } = [];

    public static IEnumerable<KeywordTest> KeywordTests(DetectionNode node) => node switch
    {
        KeywordTest k => [k],
        SelectionNode s => KeywordTests(s.Body),
        AndNode a => a.Children.SelectMany(KeywordTests),
        OrNode o => o.Children.SelectMany(KeywordTests),
        _ => [], // keywords under a "not" are not evidence
    };
}

/// <summary>
/// A loaded, compiled set of Sigma rules: detection rules (compiled once per event source of the logsource
/// mapping) and v2 correlation rules. Immutable once loaded; <see cref="SigmaEngine"/> matches with it.
/// </summary>
public sealed class SigmaRuleSet
{
    /// <summary>The licence SigmaHQ rules are under; attribution (the rule's author) must reach every alert.</summary>
    public const string DetectionRuleLicenseUrl = "https://github.com/SigmaHQ/Detection-Rule-License";

    private static readonly HashSet<string> KnownTopKeys = new(StringComparer.Ordinal)
    {
        "title", "id", "name", "status", "description", "references", "author", "date", "modified", "tags", "logsource",
        "detection", "fields", "falsepositives", "level", "license", "related", "taxonomy", "scope", "tests", "action",
        "correlation", "generate", "simulation", "regression_tests_path",
    };

    internal FieldTable Table { get; } = new();
    internal List<CompiledVariant> Variants { get; } = [];
    internal Dictionary<SigmaRule, YMap> RawDocuments { get; } = [];
    private readonly List<SigmaRule> _rules = [];
    private readonly List<SigmaRule> _correlations = [];
    private readonly Dictionary<SigmaRule, (List<CompiledVariant> Variants, List<SigmaSourceSkip> Skips, YMap Doc)> _filtered = [];
    private readonly HashSet<SigmaRule> _pulledIn = [];
    private readonly Dictionary<(string, System.Text.RegularExpressions.RegexOptions), Exir.Core.RuleRegex> _regexCache = [];

    /// <summary>
    /// Rules the filters left out but a loaded correlation needs: loaded for the correlation only (their hits carry
    /// <see cref="SigmaHit.CorrelationOnly"/>).
    /// </summary>
    public IReadOnlyCollection<SigmaRule> PulledInForCorrelations => _pulledIn;

    private SigmaRuleSet(SigmaLoadOptions options) { Options = options; }

    public SigmaLoadOptions Options { get; }
    /// <summary>The detection rules loaded (correlations not included).</summary>
    public IReadOnlyList<SigmaRule> Rules => _rules;
    /// <summary>The correlation rules loaded; each has <see cref="SigmaRule.Correlation"/>.</summary>
    public IReadOnlyList<SigmaRule> Correlations => _correlations;
    public SigmaLoadReport Report { get; } = new();
    public LogsourceMap Logsources { get; private set; } = null!;

    /// <summary>
    /// Loads every .yml/.yaml file under the given files and folders (recursively), compiles each detection
    /// rule for the event sources of its logsource, and reports every rule it could not load.
    /// </summary>
    public static SigmaRuleSet Load(IEnumerable<string> paths, SigmaLoadOptions? options = null) => Load([], paths, options);

    /// <summary>Loads named texts (a pack embedded in exir) and files and folders into one set.</summary>
    public static SigmaRuleSet Load(IEnumerable<(string File, string Text)> texts, IEnumerable<string> paths, SigmaLoadOptions? options = null)
    {
        options ??= new SigmaLoadOptions();
        var set = new SigmaRuleSet(options) { Logsources = options.Logsources ?? LogsourceMap.Load(options.RulesDirectory) };
        foreach (var (name, text) in texts)
        {
            set.Report.Files++;
            set.LoadText(text, name);
        }
        foreach (var file in ExpandPaths(paths))
        {
            set.Report.Files++;
            string text;
            try { text = File.ReadAllText(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                set.Report.Failed.Add(new(file, 1, null, null, "unreadable: " + e.Message));
                continue;
            }
            set.LoadText(text, file);
        }
        set.Finish();
        return set;
    }

    /// <summary>Loads rules from YAML text (tests, embedded packs); <paramref name="file"/> names it in the report.</summary>
    public static SigmaRuleSet Parse(string yaml, string file = "<text>", SigmaLoadOptions? options = null)
    {
        options ??= new SigmaLoadOptions();
        var set = new SigmaRuleSet(options) { Logsources = options.Logsources ?? LogsourceMap.Load(options.RulesDirectory) };
        set.Report.Files = 1;
        set.LoadText(yaml, file);
        set.Finish();
        return set;
    }

    private static IEnumerable<string> ExpandPaths(IEnumerable<string> paths)
    {
        foreach (var p in paths)
        {
            if (Directory.Exists(p))
            {
                foreach (var f in Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories)
                             .Where(f => f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase))
                             .Order(StringComparer.Ordinal))
                    yield return f;
            }
            else yield return p;
        }
    }

    private void LoadText(string text, string file)
    {
        List<object?> docs;
        try { docs = YamlTree.LoadAll(new StringReader(text)); }
        catch (YamlException e)
        {
            Report.Documents++;
            Report.Failed.Add(new(file, 1, null, null, $"YAML error at line {e.Start.Line}: {e.Message}"));
            return;
        }
        YMap? global = null;
        YMap? previous = null;
        for (int i = 0; i < docs.Count; i++)
        {
            if (docs[i] is null) continue;
            if (docs[i] is not YMap doc)
            {
                Report.Documents++;
                Report.Failed.Add(new(file, i + 1, null, null, "the document is not a YAML map"));
                continue;
            }
            // Sigma v1 rule collections: a global document merges into every following one, repeat into the previous one.
            switch (doc.Str("action"))
            {
                case "global":
                    global = doc;
                    Report.Notes.Add($"{file}: document {i + 1} is 'action: global', merged into the following documents");
                    continue;
                case "reset":
                    global = null;
                    continue;
                case "repeat":
                    if (previous is null) { Report.Failed.Add(new(file, i + 1, null, null, "'action: repeat' without a previous rule")); continue; }
                    doc = Merge(previous, doc);
                    break;
                default:
                    if (global is not null) doc = Merge(global, doc);
                    break;
            }
            previous = doc;
            Report.Documents++;
            LoadDocument(doc, file, i + 1);
        }
    }

    private static YMap Merge(YMap baseMap, YMap over)
    {
        var result = new YMap();
        foreach (var (k, v) in baseMap.Entries)
        {
            if (k == "action") continue;
            var o = over.Has(k) ? over[k] : null;
            result.Entries.Add(new(k, over.Has(k) ? (v is YMap bm && o is YMap om ? Merge(bm, om) : o) : v));
        }
        foreach (var (k, v) in over.Entries)
            if (k != "action" && !baseMap.Has(k)) result.Entries.Add(new(k, v));
        return result;
    }

    private void LoadDocument(YMap doc, string file, int docNo)
    {
        var id = doc.Str("id");
        var title = doc.Str("title");
        try
        {
            if (title is null) throw new SigmaCompileException("no title");
            if (doc.Has("filter") && !doc.Has("detection") && !doc.Has("correlation"))
                throw new SigmaCompileException("Sigma filter (meta) rules are not supported");
            var rule = Metadata(doc, file, docNo);
            if (!Wanted(rule))
            {
                Report.Filtered++;
                // Kept aside, compiled: a correlation that passes the filters may need it (an informational base rule
                // under --min-level high). Its own failures do not count: it was not asked for.
                if (!doc.Has("correlation"))
                {
                    var variants = new List<CompiledVariant>();
                    var skips = new List<SigmaSourceSkip>();
                    try { Compile(rule, doc, variants, skips); _filtered[rule] = (variants, skips, doc); }
                    catch (Exception e) when (e is SigmaCompileException or FormatException or InvalidCastException or OverflowException) { }
                }
                return;
            }
            if (doc.Map("correlation") is { } corr)
            {
                var withCorr = CloneWith(rule, ParseCorrelation(corr, doc.Str("generate")));
                _correlations.Add(withCorr);
                RawDocuments[withCorr] = doc;
                Report.CorrelationsLoaded++;
                return;
            }
            Compile(rule, doc, Variants, Report.SourceSkips);
            _rules.Add(rule);
            RawDocuments[rule] = doc;
            Report.Loaded++;
        }
        catch (Exception e) when (e is SigmaCompileException or FormatException or InvalidCastException or OverflowException)
        {
            Report.Failed.Add(new(file, docNo, id, title, e.Message));
        }
    }

    private bool Wanted(SigmaRule r)
    {
        var o = Options;
        var status = r.Status ?? "";
        if (o.Statuses is not null ? !o.Statuses.Contains(status) : o.ExcludedStatuses.Contains(status)) return false;
        if (o.Levels is not null && !o.Levels.Contains(r.Level)) return false;
        if (r.Level < o.MinimumLevel) return false;
        if (o.Tags is { Count: > 0 } tags && !r.Tags.Any(t => tags.Contains(t, StringComparer.OrdinalIgnoreCase))) return false;
        return true;
    }

    private static SigmaRule CloneWith(SigmaRule r, SigmaCorrelation c) => new()
    {
        Id = r.Id, Name = r.Name, Title = r.Title, Description = r.Description, Status = r.Status, Level = r.Level,
        LevelName = r.LevelName, Author = r.Author, Date = r.Date, Modified = r.Modified, References = r.References,
        Tags = r.Tags, FalsePositives = r.FalsePositives, License = r.License, LicenseUrl = r.LicenseUrl,
        Logsource = r.Logsource, File = r.File, Document = r.Document, Correlation = c, Tests = r.Tests,
    };

    private static SigmaRule Metadata(YMap doc, string file, int docNo)
    {
        var levelName = (doc.Str("level") ?? "").Trim().ToLowerInvariant();
        var level = levelName switch
        {
            "informational" => SigmaLevel.Informational, "low" => SigmaLevel.Low, "medium" => SigmaLevel.Medium,
            "high" => SigmaLevel.High, "critical" => SigmaLevel.Critical, _ => SigmaLevel.Unknown,
        };
        var ls = doc.Map("logsource");
        var license = doc.Str("license");
        return new SigmaRule
        {
            Id = doc.Str("id") ?? Path.GetFileNameWithoutExtension(file) + (docNo > 1 ? "#" + docNo.ToString(CultureInfo.InvariantCulture) : ""),
            Name = doc.Str("name"),
            Title = doc.Str("title")!,
            Description = doc.Str("description")?.Trim(),
            Status = doc.Str("status")?.Trim().ToLowerInvariant(),
            Level = level,
            LevelName = levelName,
            Author = doc.Str("author")?.Trim(),
            Date = doc.Str("date"),
            Modified = doc.Str("modified"),
            References = doc.Strings("references"),
            Tags = doc.Strings("tags"),
            FalsePositives = doc.Strings("falsepositives"),
            License = license,
            LicenseUrl = license is not null && license.StartsWith("http", StringComparison.OrdinalIgnoreCase) ? license : DetectionRuleLicenseUrl,
            Logsource = new SigmaLogsource(ls?.Str("product")?.Trim().ToLowerInvariant(), ls?.Str("category")?.Trim().ToLowerInvariant(), ls?.Str("service")?.Trim().ToLowerInvariant()),
            File = file,
            Document = docNo,
            Tests = doc["tests"] as List<object?> is { Count: > 0 } t ? t.Count : 0,
        };
    }

    private void Compile(SigmaRule rule, YMap doc, List<CompiledVariant> variants, List<SigmaSourceSkip> skips)
    {
        var detection = doc.Map("detection") ?? throw new SigmaCompileException("no detection");
        if (doc.Map("logsource") is null) throw new SigmaCompileException("no logsource");
        var conditions = detection["condition"] switch
        {
            string s => [s],
            List<object?> l when l.All(x => x is string) && l.Count > 0 => l.Cast<string>().ToList(),
            _ => throw new SigmaCompileException("no condition"),
        };
        var sources = Logsources.SourcesFor(rule.Logsource);
        if (sources.Count == 0)
        {
            // Check the rule compiles at all, so a broken rule is a failure even where nothing would read it.
            CompileFor(rule, detection, conditions, new SigmaEventSource { Name = "(none)" });
            skips.Add(new(rule, "", $"no event source for logsource {rule.Logsource}"));
            return;
        }
        int compiled = 0;
        foreach (var source in sources)
        {
            try
            {
                variants.Add(CompileFor(rule, detection, conditions, source));
                compiled++;
            }
            catch (FieldUnavailableException e)
            {
                skips.Add(new(rule, source.Name, e.Message));
            }
        }
        if (compiled == 0) { /* every source lacks a field: the rule is loaded, but reads nothing */ }
    }

    private CompiledVariant CompileFor(SigmaRule rule, YMap detection, List<string> conditions, SigmaEventSource source)
    {
        var compiler = new SelectionCompiler(Table, source.Mapping, Logsources.Placeholders, _regexCache);
        var selections = new Dictionary<string, DetectionNode>(StringComparer.Ordinal);
        foreach (var (name, body) in detection.Entries)
        {
            if (name is "condition" or "timeframe") continue;
            selections[name] = new SelectionNode(name, compiler.Selection(name, body));
        }
        if (detection.Has("timeframe")) throw new SigmaCompileException("'timeframe' (Sigma v1 aggregation) is not supported: write a correlation rule");
        var roots = conditions.Select(c => ConditionParser.Parse(c, selections)).ToArray();
        var root = CostOrder.Optimise(roots.Length == 1 ? roots[0] : new OrNode(roots));
        var ids = source.EventIds.Count > 0 ? source.EventIds.ToArray() : [];
        var required = RequiredEventIds(root);
        if (required is not null) ids = ids.Length == 0 ? required.ToArray() : ids.Intersect(required).ToArray();
        if (required is not null && ids.Length == 0) ids = [-1]; // the rule's EventIDs and the source's never meet
        return new CompiledVariant
        {
            Rule = rule, Source = source, Root = root, Fields = compiler.Referenced.ToArray(), EventIds = ids,
            Keywords = CompiledVariant.KeywordTests(root).Distinct().ToArray(),
        };
    }

    /// <summary>The EventIDs an event must have for the condition to hold, or null when any might do.</summary>
    internal static HashSet<int>? RequiredEventIds(DetectionNode node)
    {
        switch (node)
        {
            case SelectionNode s: return RequiredEventIds(s.Body);
            case FieldTest { Field: FieldTable.EventIdId, All: false } f:
                var set = new HashSet<int>();
                foreach (var v in f.Values)
                {
                    if (v is LiteralMatcher { Op: StringOp.Equals } lit && int.TryParse(lit.Literal, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id)) set.Add(id);
                    else return null;
                }
                return set;
            case AndNode a:
                HashSet<int>? best = null;
                foreach (var c in a.Children)
                    if (RequiredEventIds(c) is { } r) { if (best is null) best = r; else best.IntersectWith(r); }
                return best;
            case OrNode o:
                var union = new HashSet<int>();
                foreach (var c in o.Children)
                {
                    if (RequiredEventIds(c) is not { } r) return null;
                    union.UnionWith(r);
                }
                return union;
            default: return null;
        }
    }

    private static SigmaCorrelation ParseCorrelation(YMap c, string? topLevelGenerate)
    {
        var type = (c.Str("type") ?? "").ToLowerInvariant() switch
        {
            "event_count" => SigmaCorrelationType.EventCount,
            "value_count" => SigmaCorrelationType.ValueCount,
            "temporal" => SigmaCorrelationType.Temporal,
            "temporal_ordered" => SigmaCorrelationType.TemporalOrdered,
            var t => throw new SigmaCompileException($"unknown correlation type '{t}'"),
        };
        var rules = c.Strings("rules");
        if (rules.Count == 0) throw new SigmaCompileException("correlation without rules");
        var span = ParseTimespan(c.Str("timespan") ?? c.Str("timeframe") ?? throw new SigmaCompileException("correlation without timespan"));
        SigmaCountCondition? cond = null;
        string? field = null;
        if (c.Map("condition") is { } cm)
        {
            var tests = new List<(string, long)>();
            foreach (var (k, v) in cm.Entries)
            {
                if (k == "field") { field = v as string; continue; }
                if (k is not ("gt" or "gte" or "lt" or "lte" or "eq" or "neq")) throw new SigmaCompileException($"unknown correlation condition '{k}'");
                if (v is not string s || !long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) throw new SigmaCompileException($"correlation condition {k} needs a number");
                tests.Add((k, n));
            }
            if (tests.Count > 0) cond = new SigmaCountCondition(tests);
        }
        if (type is SigmaCorrelationType.EventCount or SigmaCorrelationType.ValueCount && cond is null)
            throw new SigmaCompileException($"{c.Str("type")} needs a condition");
        if (type == SigmaCorrelationType.ValueCount && field is null) throw new SigmaCompileException("value_count needs condition.field");
        var aliases = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.OrdinalIgnoreCase);
        if (c.Map("aliases") is { } am)
            foreach (var (alias, v) in am.Entries)
                if (v is YMap m) aliases[alias] = m.Entries.ToDictionary(e => e.Key, e => e.Value as string ?? "", StringComparer.OrdinalIgnoreCase);
        return new SigmaCorrelation
        {
            Type = type, RuleRefs = rules, GroupBy = c.Strings("group-by"), Timespan = span, Condition = cond, ValueField = field,
            // `generate` inside correlation (as pySigma reads it) or at the top level (the specification's schema).
            Aliases = aliases, Generate = (c.Str("generate") ?? topLevelGenerate) is "true",
        };
    }

    /// <summary>Sigma timespans: a number and s, m, h, d (also w, M, y as the specification lists them).</summary>
    internal static TimeSpan ParseTimespan(string s)
    {
        s = s.Trim();
        if (s.Length < 2 || !long.TryParse(s.AsSpan(0, s.Length - 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n <= 0)
            throw new SigmaCompileException($"bad timespan '{s}'");
        return s[^1] switch
        {
            's' => TimeSpan.FromSeconds(n), 'm' => TimeSpan.FromMinutes(n), 'h' => TimeSpan.FromHours(n), 'd' => TimeSpan.FromDays(n),
            'w' => TimeSpan.FromDays(7 * n), 'M' => TimeSpan.FromDays(30 * n), 'y' => TimeSpan.FromDays(365 * n),
            _ => throw new SigmaCompileException($"bad timespan unit in '{s}'"),
        };
    }

    private void Finish()
    {
        // A correlation names rules by id or name: each must be loaded (correlations of correlations are not supported).
        foreach (var c in _correlations)
            foreach (var r in c.Correlation!.RuleRefs)
            {
                if (FindRule(r) is not null) continue;
                var held = _filtered.Keys.FirstOrDefault(k => k.Id.Equals(r, StringComparison.OrdinalIgnoreCase) || (k.Name is not null && k.Name.Equals(r, StringComparison.OrdinalIgnoreCase)));
                if (held is null) continue;
                var (variants, skips, doc) = _filtered[held];
                _rules.Add(held);
                Variants.AddRange(variants);
                Report.SourceSkips.AddRange(skips);
                RawDocuments[held] = doc;
                _pulledIn.Add(held);
                Report.Notes.Add($"{held.File}: {held.Title} is left out by the filters but loaded for correlation {c.Title} (its own hits are not alerts)");
            }
        _filtered.Clear();
        foreach (var dup in _rules.Concat(_correlations).GroupBy(r => r.Id, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            Report.Notes.Add($"rule id {dup.Key} is used by {dup.Count()} rules ({string.Join(", ", dup.Select(r => r.File).Distinct())}); a correlation naming it reads the first");
        foreach (var c in _correlations.ToList())
        {
            var missing = c.Correlation!.RuleRefs.Where(r => FindRule(r) is null).ToList();
            if (missing.Count > 0)
            {
                _correlations.Remove(c);
                Report.CorrelationsLoaded--;
                Report.Failed.Add(new(c.File, c.Document, c.Id, c.Title, "correlation refers to rules that are not loaded: " + string.Join(", ", missing)));
            }
        }
    }

    /// <summary>A loaded detection rule by id or name.</summary>
    public SigmaRule? FindRule(string idOrName) =>
        _rules.FirstOrDefault(r => r.Id.Equals(idOrName, StringComparison.OrdinalIgnoreCase))
        ?? _rules.FirstOrDefault(r => r.Name is not null && r.Name.Equals(idOrName, StringComparison.OrdinalIgnoreCase));
}
