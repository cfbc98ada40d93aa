using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Findings;
using Exir.Detection.EventLogs;
using Exir.Evtx;
using Exir.Logs;
using Exir.Pipeline;
using Exir.Sigma;

namespace Exir.Detection.Sigma;

/// <summary>
/// Sigma rules (the built-in pack in rules/sigma/ and the user's --sigma files) on the one record pipeline: every
/// event record and web-log line goes through <see cref="SigmaEngine"/>; a hit tags the record (the timeline shows
/// it) and becomes a finding in the finding contract, with the rule's author and licence (the Detection Rule
/// License requires attribution). Hits of rules that correlations read go to one correlator for the whole run,
/// so a correlation holds across the hosts of a collection (<see cref="Correlate"/> after the last root).
/// Custom tags in the <c>exir.</c> namespace give a rule exir's semantics (<see cref="SemanticsOf"/>): timeline tags
/// the process trees and the administrator summary read, the finding's outcome, or no finding at all.
/// </summary>
public sealed class SigmaHunt(SigmaEngine engine) : IEventConsumer, ILogConsumer
{
    /// <summary>Findings kept per rule and file; the rest are counted in the coverage (a flood is summarised, not listed).</summary>
    public const int MaxFindingsPerRuleAndFile = 200;
    public const string RulePrefix = "sigma:";

    private readonly SigmaCorrelator? _correlator = engine.RuleSet.Correlations.Count > 0 ? engine.NewCorrelator() : null;
    private readonly Lock _gate = new();
    // Which root each host's hits came from, so a correlation finding lands with its host.
    private readonly Dictionary<string, string> _artifactOfHost = new(StringComparer.OrdinalIgnoreCase);

    public string Name => "sigma";
    public SigmaEngine Engine => engine;
    public SigmaRuleSet RuleSet => engine.RuleSet;

    // ---- event logs -----------------------------------------------------------------------------------------

    public IEventHandler Open(ArtifactProbe probe, RunContext context) => new Handler(this, probe.File.RelativePath, context);

    /// <summary>One file's hits, event log or web log: tags, the correlator, and findings up to the per-rule cap.</summary>
    private sealed class Handler(SigmaHunt hunt, string artifact, RunContext context) : IEventHandler, ILogLineHandler
    {
        private readonly List<SigmaHit> _hits = [];
        private readonly Dictionary<string, int> _perRule = new(StringComparer.Ordinal);

        public void Event(WinEvent e, EventTags tags)
        {
            _hits.Clear();
            if (hunt.Engine.Match(e, _hits) == 0) return;
            foreach (var hit in _hits) Take(hit, tags);
        }

        public void Line(LogReader reader)
        {
            _hits.Clear();
            if (hunt.Engine.MatchWeb(reader, _hits, context.Host) == 0) return;
            foreach (var hit in _hits) Take(hit, null);
        }

        private void Take(SigmaHit hit, EventTags? tags)
        {
            var exir = SemanticsOf(hit.Rule);
            if (tags is not null)
            {
                tags.Add(RulePrefix + hit.Rule.Id);
                foreach (var t in exir.TimelineTags) tags.Add(t);
            }
            hunt.Feed(hit, artifact);
            if (!exir.Scan || hit.CorrelationOnly || !context.Options.InWindow(new DateTimeOffset(hit.TimeUtc, TimeSpan.Zero))) return;
            var n = _perRule[hit.Rule.Id] = _perRule.GetValueOrDefault(hit.Rule.Id) + 1;
            if (n <= MaxFindingsPerRuleAndFile) context.Report(ToFinding(hit, artifact));
        }

        public void Close(EvtxReadStats stats) => hunt.CloseFile(_perRule, artifact, context);
        public void Close(LogReader reader) => hunt.CloseFile(_perRule, artifact, context);
    }

    // ---- web logs -------------------------------------------------------------------------------------------

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, LogLineNeeds?> _needs = new(StringComparer.Ordinal);

    /// <summary>
    /// The lines the web rules can match: those holding one of the rules' literals (Sigma compares raw values, case-
    /// insensitively, so a line without any of them cannot match), or every line when a rule has no usable literal.
    /// </summary>
    public LogLineNeeds? Needs(LogFormatDescriptor format, RunContext context) =>
        _needs.GetOrAdd(format.Name, static (_, s) => !s.Engine.WantsLog(s.Format) ? null
            : s.Engine.WebLiterals(s.Format) is { Count: > 0 } literals ? new LogLineNeeds { Literals = literals }
            : new LogLineNeeds { EveryLine = true }, (Engine: engine, Format: format));

    public ILogLineHandler Open(ArtifactProbe probe, LogReader reader, RunContext context) => new Handler(this, probe.File.RelativePath, context);

    private void CloseFile(Dictionary<string, int> perRule, string artifact, RunContext context)
    {
        foreach (var (id, n) in perRule)
            if (n > MaxFindingsPerRuleAndFile)
                context.Coverage.AddIssue(IssueKind.TooLarge, artifact, $"{RulePrefix}{id}: {n:N0} matching records, first {MaxFindingsPerRuleAndFile} reported");
    }

    private void Feed(SigmaHit hit, string artifact)
    {
        if (_correlator is null || !_correlator.Wants(hit.Rule)) return;
        lock (_gate)
        {
            _correlator.Add(hit);
            if (hit.Host is { Length: > 0 } h) _artifactOfHost[h] = artifact;
        }
    }

    /// <summary>The correlations that held over everything fed so far (every root of the run), as findings.</summary>
    public IReadOnlyList<Finding> Correlate()
    {
        if (_correlator is null) return [];
        lock (_gate)
        {
            return _correlator.Complete().Where(hit => SemanticsOf(hit.Rule).Scan).Select(hit =>
            {
                var last = hit.Contributing.Count > 0 ? hit.Contributing[^1] : null;
                var artifact = last?.Host is { } h && _artifactOfHost.TryGetValue(h, out var a) ? a : "(correlation)";
                // One correlation can hold several times (other groups, other windows): each gets its own id.
                var where = string.Join(",", hit.GroupValues.Select(g => g.Key + "=" + g.Value));
                return ToFinding(hit, $"{artifact}#{hit.TimeUtc:yyyyMMdd'T'HHmmss'Z'}{(where.Length > 0 ? "/" + StableIds.Hash(where, 8) : "")}");
            }).ToList();
        }
    }

    // ---- findings -------------------------------------------------------------------------------------------

    // ---- exir's semantics for a Sigma rule: custom tags in the `exir.` namespace ------------------------------

    /// <summary>The tag namespace exir reads in Sigma rules (other tools ignore it, as Sigma allows custom namespaces).</summary>
    public const string ExirTagPrefix = "exir.";

    /// <summary>
    /// What exir does with a rule's hits beyond Sigma: <c>exir.tag.NAME</c> puts timeline tag NAME on the record (with
    /// <c>sigma:ID</c>), <c>exir.outcome.success|attempt|scan|indicator</c> gives the finding's outcome (instead of the
    /// one the level implies), <c>exir.scan.false</c> makes the rule a timeline highlight only (no finding).
    /// <see cref="Problems"/> lists <c>exir.*</c> tags that say nothing exir knows (they are ignored).
    /// </summary>
    public sealed record ExirSemantics(IReadOnlyList<string> TimelineTags, Outcome? Outcome, bool Scan, IReadOnlyList<string> Problems)
    {
        public static readonly ExirSemantics None = new([], null, true, []);
    }

    private static readonly ConditionalWeakTable<SigmaRule, ExirSemantics> SemanticsCache = new();

    /// <summary>The rule's <c>exir.*</c> tags, read once per rule.</summary>
    public static ExirSemantics SemanticsOf(SigmaRule rule) => SemanticsCache.GetValue(rule, static r => ParseSemantics(r.Tags));

    /// <summary>Reads <c>exir.tag.*</c>, <c>exir.outcome.*</c> and <c>exir.scan.*</c> out of a rule's tags (case-insensitive).</summary>
    public static ExirSemantics ParseSemantics(IEnumerable<string> ruleTags)
    {
        List<string>? tags = null, problems = null;
        Outcome? outcome = null;
        bool scan = true;
        foreach (var raw in ruleTags)
        {
            var t = raw.Trim();
            if (!t.StartsWith(ExirTagPrefix, StringComparison.OrdinalIgnoreCase)) continue;
            var rest = t[ExirTagPrefix.Length..];
            int dot = rest.IndexOf('.');
            var key = dot < 0 ? rest : rest[..dot];
            var value = dot < 0 ? "" : rest[(dot + 1)..].Trim();
            switch (key.ToLowerInvariant())
            {
                case "tag" when value.Length > 0:
                    tags ??= [];
                    if (!tags.Contains(value, StringComparer.OrdinalIgnoreCase)) tags.Add(value.ToLowerInvariant());
                    break;
                case "outcome" when OutcomeOf(value) is { } o:
                    if (outcome is { } before && before != o) (problems ??= []).Add($"{t}: a second outcome ({before.ToWire()} kept)");
                    else outcome = o;
                    break;
                case "scan" when value.Equals("false", StringComparison.OrdinalIgnoreCase):
                    scan = false;
                    break;
                case "scan" when value.Equals("true", StringComparison.OrdinalIgnoreCase):
                    break;
                default:
                    (problems ??= []).Add($"{t}: not an exir tag (use exir.tag.NAME, exir.outcome.success|attempt|scan|indicator, exir.scan.false)");
                    break;
            }
        }
        return tags is null && outcome is null && scan && problems is null ? ExirSemantics.None : new ExirSemantics(tags ?? [], outcome, scan, problems ?? []);
    }

    private static Outcome? OutcomeOf(string value) => value.ToLowerInvariant() switch
    {
        "success" => Outcome.Success,
        "attempt" => Outcome.Attempt,
        "scan" => Outcome.Scan,
        "indicator" => Outcome.Indicator,
        _ => null,
    };

    /// <summary>The outcome a level implies when the rule has no <c>exir.outcome.*</c> tag.</summary>
    public static Outcome OutcomeOf(SigmaLevel level) => level switch
    {
        SigmaLevel.Critical => Outcome.Success,
        SigmaLevel.High => Outcome.Attempt,
        _ => Outcome.Indicator,
    };

    /// <summary>
    /// A Sigma hit as a finding. The level gives the severity; the outcome is the rule's <c>exir.outcome.*</c> tag,
    /// else it follows the level (critical: exploitation or post-exploitation that succeeded, high: an attempt,
    /// below: context), since Sigma rules say nothing else.
    /// </summary>
    public static Finding ToFinding(SigmaHit hit, string artifact)
    {
        var rule = hit.Rule;
        var details = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["sigma_id"] = rule.Id,
            ["level"] = rule.LevelName,
            ["source"] = hit.Source,
            ["author"] = rule.Author ?? "",
            ["license"] = rule.LicenseUrl,
            ["rule_file"] = rule.File,
        };
        if (rule.Status is { } status) details["status"] = status;
        if (hit.Channel is { } channel) details["channel"] = channel;
        if (hit.EventId is { } id) details["event_id"] = id.ToString(CultureInfo.InvariantCulture);
        if (hit.RecordId is { } rec) details["record_id"] = rec.ToString(CultureInfo.InvariantCulture);
        foreach (var (k, v) in hit.RuleFields) details.TryAdd("field." + k, Cap(v, 1000));
        if (hit.IsCorrelation)
        {
            details["correlation"] = rule.Correlation!.ToString() ?? "";
            details["contributing"] = hit.Contributing.Count.ToString(CultureInfo.InvariantCulture);
            foreach (var (k, v) in hit.GroupValues) details.TryAdd("group." + k, Cap(v, 200));
        }
        var cves = rule.Tags.Where(t => t.StartsWith("cve.", StringComparison.OrdinalIgnoreCase))
            .Select(t => "CVE-" + t[4..].ToUpperInvariant().Replace("CVE-", "", StringComparison.Ordinal)).ToList();
        return new Finding
        {
            RuleId = RulePrefix + rule.Id,
            Title = rule.Title,
            Severity = Severity(rule.Level),
            Outcome = SemanticsOf(rule).Outcome ?? OutcomeOf(rule.Level),
            Cves = cves,
            Attack = rule.AttackTechniques,
            Host = hit.Host is { Length: > 0 } h ? EventLogHunts.Clean(h) : null,
            Artifact = artifact,
            Line = hit.RecordId is { } r ? (long)Math.Min(r, long.MaxValue) : hit.LineNumber,
            Timestamp = hit.TimeUtc == default ? null : new DateTimeOffset(DateTime.SpecifyKind(hit.TimeUtc, DateTimeKind.Utc)),
            TimeSource = hit.RecordId is not null ? TimeSources.EventRecord : TimeSources.LogLine,
            ClientIp = ClientIp(hit),
            Evidence = Evidence(hit),
            Details = details,
            Explanation = (rule.Description ?? rule.Title).Trim() +
                          $" (Sigma rule {rule.Id}" + (rule.Author is { Length: > 0 } a ? $" by {a}" : "") + $"; licence {rule.LicenseUrl})",
            References = rule.References,
        };
    }

    public static Severity Severity(SigmaLevel level) => level switch
    {
        SigmaLevel.Critical => Core.Findings.Severity.Critical,
        SigmaLevel.High => Core.Findings.Severity.High,
        SigmaLevel.Medium => Core.Findings.Severity.Medium,
        SigmaLevel.Low => Core.Findings.Severity.Low,
        _ => Core.Findings.Severity.Info,
    };

    private static string? ClientIp(SigmaHit hit)
    {
        foreach (var name in new[] { "c-ip", "ClientIpAddress", "IpAddress", "SourceAddress" })
            if (hit.Field(name) is { Length: > 1 } ip && ip != "-" && System.Net.IPAddress.TryParse(ip, out _)) return ip;
        return null;
    }

    /// <summary>"name=value; ..." of the event (for a correlation: its contributing events, one per line), capped.</summary>
    private static string Evidence(SigmaHit hit, int max = 2000)
    {
        var sb = new StringBuilder();
        if (hit.IsCorrelation)
            foreach (var c in hit.Contributing.Take(20))
                sb.Append(c.TimeUtc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)).Append(' ').Append(c.Host).Append(' ')
                  .Append(c.Rule.Title).Append(": ").Append(Fields(c.RuleFields, 300)).Append('\n');
        else sb.Append(Fields(hit.EventFields, max));
        return EventLogHunts.Clean(Cap(sb.ToString(), max));
    }

    private static string Fields(IReadOnlyList<KeyValuePair<string, string>> fields, int max)
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in fields)
        {
            if (string.IsNullOrEmpty(v) || v == "-") continue;
            if (sb.Length > 0) sb.Append("; ");
            if (k.Length > 0) sb.Append(k).Append('=');
            sb.Append(v);
            if (sb.Length >= max) break;
        }
        return sb.ToString();
    }

    private static string Cap(string s, int max) => s.Length <= max ? s : s[..max] + "…";

    /// <summary>The Sigma rules a run uses: the pack and <see cref="RunOptions.ExtraSigma"/>, filtered by <see cref="RunOptions.SigmaMinLevel"/>.</summary>
    public static SigmaEngine Load(DataFiles rules, RunOptions options)
    {
        var level = SigmaLevel.Unknown;
        if (options.SigmaMinLevel is { Length: > 0 } text && !Enum.TryParse(text.Trim(), ignoreCase: true, out level))
            throw new ArgumentException($"unknown Sigma level '{text}' (use informational, low, medium, high or critical)");
        return Load(rules, options.ExtraSigma, new SigmaLoadOptions { MinimumLevel = level }, options.SigmaBuiltIn, options.SigmaBuiltInWeb);
    }

    /// <summary>What loading said, into a root's coverage: every rule not loaded by file and reason, rules a source cannot run.</summary>
    public void ReportInto(CoverageReport coverage)
    {
        var report = engine.RuleSet.Report;
        foreach (var f in report.Failed.Take(200))
            coverage.AddIssue(IssueKind.RuleSkipped, f.File, $"Sigma rule {f.Title ?? f.RuleId ?? "?"} not loaded: {f.Reason}");
        if (report.Failed.Count > 200) coverage.AddIssue(IssueKind.RuleSkipped, "sigma", $"{report.Failed.Count - 200:N0} more Sigma rules not loaded");
        foreach (var rule in engine.RuleSet.Rules.Concat(engine.RuleSet.Correlations))
            foreach (var problem in SemanticsOf(rule).Problems)
                coverage.AddIssue(IssueKind.Malformed, rule.File, $"Sigma rule {rule.Title} ({rule.Id}): {problem}");
    }

    /// <summary>One line: how many rules loaded, the share, what was filtered and skipped.</summary>
    public string Summary()
    {
        var r = engine.RuleSet.Report;
        return $"Sigma: {r.Loaded:N0} rule(s) and {r.CorrelationsLoaded:N0} correlation(s) loaded from {r.Files:N0} file(s) " +
               $"({r.LoadedShare:P1} of those read)" + (r.Failed.Count > 0 ? $", {r.Failed.Count:N0} not loaded" : "") +
               (r.Filtered > 0 ? $", {r.Filtered:N0} filtered out" : "") + (r.WithoutSource.Any() ? $", {r.WithoutSource.Count():N0} with no event source here" : "");
    }

    /// <summary>The pack embedded in exir (or the rules folder's sigma/) plus the user's files and folders, compiled once.</summary>
    public static SigmaEngine Load(DataFiles rules, IEnumerable<string> extraPaths, SigmaLoadOptions? options = null, bool builtIn = true, bool builtInWeb = true)
    {
        options ??= new SigmaLoadOptions();
        options = options with { RulesDirectory = options.RulesDirectory ?? rules.Directory };
        var texts = builtIn
            ? rules.List("sigma").Where(f => f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase))
                .Where(f => builtInWeb || !f.StartsWith("sigma/web/", StringComparison.OrdinalIgnoreCase))
                .Select(f => ("rules/" + f, rules.ReadAllText(f)))
            : [];
        return new SigmaEngine(SigmaRuleSet.Load(texts, extraPaths, options));
    }
}
