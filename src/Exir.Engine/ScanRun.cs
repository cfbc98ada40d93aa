using System.Security.Cryptography;
using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Artifacts;
using Exir.Detection.Correlation;
using Exir.Detection.EventLogs;
using Exir.Detection.Files;
using Exir.Detection.Logs;
using Exir.Detection.Rules;
using Exir.Detection.Sigma;
using Exir.Engine.Rules;
using Exir.Knowledge;
using Exir.Knowledge.Assessment;
using Exir.Pipeline;
using Exir.Timeline;

namespace Exir.Engine;

/// <summary>
/// exir scan as a library: puts the hunts on the one record pipeline (log rules, event-log hunts, log
/// tamper checks, the file hunt, dumps and archives, build hints; and the timeline when asked), runs it
/// over every evidence root (one host each), then grades, correlates across hosts and judges. Rules load
/// once, here; a broken rule file stops the run before any evidence is read.
/// </summary>
public sealed class ScanRun : IDisposable
{
    /// <summary>Check names used in the coverage section when their evidence is absent.</summary>
    public const string Cve202126857Check = "CVE-2021-26857 (Unified Messaging deserialisation)";
    /// <summary>Coverage family the pipeline reports Application logs under.</summary>
    public static readonly string ApplicationLogFamily = RecordPipeline.EventLogFamily("Application");

    private readonly RunOptions _options;
    private readonly DataFiles _rules;
    private readonly RuleCatalog _catalog;
    private readonly ScanSettings _settings;
    private readonly SuspiciousFilesDetector _suspicious;
    private readonly BuildHints _build = new();
    private readonly RecordPipeline _pipeline;
    // Contexts of the last scan: their spools of findings past the per-rule cap are read by the outputs, then deleted.
    private readonly List<RunContext> _contexts = [];

    /// <param name="timeline">Also build the forensic timeline in the same pass (scan --timeline).</param>
    /// <param name="sigmaOnly">Only the Sigma rules (exir hunt): no log rules, event-log hunts, file hunt or dumps.</param>
    public ScanRun(RunOptions options, TimelineOptions? timeline = null, bool sigmaOnly = false)
    {
        StartupTrace.Mark("scan: start");
        var rules = _rules = new DataFiles("rules", typeof(FileHunt).Assembly, options.RulesDirectory);
        // The YARA rules and the Sigma pack parse on a second core while the catalog loads (a tenth of a second each);
        // their errors still surface below, after the catalog's, as when they loaded one after the other.
        var given = options;
        // exir hunt (Sigma only) runs no file hunt: its YARA rules would be parsed for nothing.
        var yara = Task.Run(() => YaraContentRules.Load(rules, given.ExtraYara, builtIn: !sigmaOnly));
        var sigma = Task.Run(() => SigmaHunt.Load(rules, given));
        _catalog = RuleCatalog.Load(_rules);
        StartupTrace.Mark("scan: rule catalog loaded");
        _settings = _catalog.Settings;
        // Memory bounds from rules/scan.yaml unless the caller set them.
        _options = options = options with
        {
            MaxFindingsPerRule = options.MaxFindingsPerRule == int.MaxValue ? _settings.MaxFindingsPerRule : options.MaxFindingsPerRule,
            BigFileBuffers = _settings.BigFileBuffers,
        };
        var fileHunt = new FileHunt(options, _rules, yara.GetAwaiter().GetResult(), _build, _catalog.FileHunt);
        StartupTrace.Mark("scan: file hunt (YARA) ready");
        _suspicious = new SuspiciousFilesDetector(_catalog.SuspiciousFiles);
        Sigma = new SigmaHunt(sigma.GetAwaiter().GetResult());
        StartupTrace.Mark("scan: Sigma ready");
        var timelineRules = _catalog.Timeline;
        var consumers = sigmaOnly
            ? new List<IConsumer> { _build, Sigma }
            : new List<IConsumer>
            {
                _build,
                new LogRuleConsumer(_catalog.LogRules),
                // The hunts tag records before the timeline maps them: consumers run in this order.
                new EventLogHunts(_catalog.EventRules),
                Sigma,
                new LogTamperCheck(timelineRules.Tamper, timelineRules.Events),
                fileHunt,
                _suspicious,
            };
        if (timeline is not null)
        {
            Timeline = new TimelineCollector(timeline, timelineRules);
            consumers.Add(Timeline);
        }
        _pipeline = new RecordPipeline(new ArtifactClassifier(fileHunt.Rules.ScriptExtensions), consumers);
        StartupTrace.Mark("scan: consumers ready");
    }

    public DataFiles Rules => _rules;
    /// <summary>The Sigma rules of the run (the built-in pack and --sigma), loaded and compiled at start.</summary>
    public SigmaHunt Sigma { get; }
    /// <summary>The rules of the run, validated at start; their problems are in <see cref="RuleCatalog.Problems"/>.</summary>
    public RuleCatalog Catalog => _catalog;
    public IReadOnlyList<IConsumer> Consumers => _pipeline.Consumers;
    /// <summary>The timeline built in the same pass, when asked for; its rows and analyses after <see cref="Scan"/>.</summary>
    public TimelineCollector? Timeline { get; }
    public TimelineResult? TimelineResult { get; private set; }

    public ScanResult Scan(EvidenceSet evidence, string command, PipelineProgress? progress = null, CancellationToken cancellationToken = default)
    {
        var started = DateTimeOffset.UtcNow;
        var scanId = StableIds.NewScanId();
        ExchangeKnowledge? knowledge = null;
        string? knowledgeError = null;
        try { knowledge = ExchangeKnowledge.Load(_options.KnowledgeDirectory); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            knowledgeError = $"knowledge tables not readable: {e.Message}";
        }

        var roots = new List<(EvidenceInput Input, RunContext Context, string Host, string NameSource, PatchStatus Patch, string? Build)>();
        var tagged = new List<(Finding Finding, int Root)>();
        var overflow = new List<Func<IEnumerable<Finding>>>();
        var overflowByRule = new Dictionary<string, long>(StringComparer.Ordinal);
        var overflowBySeverity = new Dictionary<Severity, long>();
        long overflowCount = 0;
        // One decompression budget for every archive of the scan (rules/scan.yaml archives:).
        var archives = _settings.Archives with { ScanBudget = new DecompressionBudget(_settings.Archives.MaxScanBytes) };
        foreach (var input in evidence.Inputs)
            if (input.Source is ZipEvidenceSource zip) zip.Limits = archives;
        foreach (var context in _contexts) context.Dispose();
        _contexts.Clear();
        StartupTrace.Mark("scan: knowledge loaded");
        foreach (var input in evidence.Inputs)
        {
            var context = _pipeline.Run(input.Source, _options, input.Label, progress, cancellationToken);
            StartupTrace.Mark("scan: evidence read: " + input.Label);
            _contexts.Add(context);
            var coverage = context.Coverage;
            _catalog.ReportInto(coverage);
            Sigma.ReportInto(coverage);
            if (!coverage.Families.ContainsKey(ApplicationLogFamily))
                coverage.CheckNotRun(Cve202126857Check, "no Windows Application event log (Application.evtx) in the evidence");
            var (host, nameSource) = HostName(context, input.Label);
            var (patch, build) = PatchStatusOf(knowledge, knowledgeError, context, input.Source.Root);
            if (patch.Error is not null && knowledgeError is not null) coverage.CheckNotRun("patch status", knowledgeError);
            var findings = FindingIdentity.Apply(context.Findings, host, scanId).ToList();
            // Archives in staging folders grade up when this host shows exploitation (vendor-folder ones are listed only
            // then). Every rule and outcome keeps its first findings in memory, so what decides this is among them.
            bool escalate = findings.Any(f => f.Outcome == Outcome.Success || (f.Outcome == Outcome.Attempt && f.Cves.Count > 0));
            findings = _suspicious.Grade(findings, escalate).ToList();
            tagged.AddRange(findings.Select(f => (f, roots.Count)));
            if (context.Overflow is { } spool)
            {
                overflowCount += spool.Count;
                foreach (var (rule, n) in spool.ByRule) overflowByRule[rule] = overflowByRule.GetValueOrDefault(rule) + n;
                foreach (var (sev, n) in spool.BySeverity) overflowBySeverity[sev] = overflowBySeverity.GetValueOrDefault(sev) + n;
                var rootHost = host;
                var suspicious = _suspicious;
                overflow.Add(() =>
                {
                    var left = FindingIdentity.Apply(spool.Read(), rootHost, scanId);
                    return suspicious.Grade(left, escalate);
                });
            }
            roots.Add((input, context, host, nameSource, patch, build));
        }

        // Sigma correlations hold over every root: each lands with the host of its last contributing event.
        foreach (var f in Sigma.Correlate())
        {
            var root = Math.Max(0, roots.FindIndex(r => string.Equals(r.Host, f.Host, StringComparison.OrdinalIgnoreCase)));
            if (roots.Count > 0)
                tagged.AddRange(FindingIdentity.Apply([f], f.Host is { Length: > 0 } ? f.Host : roots[root].Host, scanId).Select(x => (x, root)));
        }
        tagged = tagged
            .OrderBy(t => t.Finding.Timestamp ?? DateTimeOffset.MaxValue)
            .ThenBy(t => t.Finding.Host, StringComparer.Ordinal)
            .ThenBy(t => t.Finding.Artifact, StringComparer.Ordinal)
            .ThenBy(t => t.Finding.Line ?? 0)
            .ThenBy(t => t.Finding.RuleId, StringComparer.Ordinal)
            .ToList();
        var (correlated, incidents) = IncidentCorrelator.Correlate(tagged.Select(t => t.Finding).ToList(), _settings);

        var hosts = new List<HostResult>();
        for (int r = 0; r < roots.Count; r++)
        {
            var (input, context, host, nameSource, patch, build) = roots[r];
            var mine = correlated.Where((_, i) => tagged[i].Root == r).ToList();
            hosts.Add(new HostResult
            {
                HostId = HostIds.For(host), Name = host, NameSource = nameSource,
                Evidence = new EvidenceRoot(input.Source.Root, input.Source.Kind, input.Source.Kind == "folder" || input.Source.Kind == "live" ? null : Sha256OfFile(input.Source.Root)),
                ExchangeBuild = build, PatchStatus = patch,
                Verdict = VerdictBuilder.Build(mine, context.Coverage, _settings.AttackWindowStart),
                Coverage = context.Coverage, FindingCount = mine.Count + (int)Math.Min(int.MaxValue, context.Overflow?.Count ?? 0),
            });
        }
        StartupTrace.Mark("scan: hosts judged");
        var verdict = VerdictBuilder.Overall(hosts.Select(h => (h.Name, h.Verdict)).ToList());
        var result = new ScanResult
        {
            Findings = correlated,
            Incidents = incidents,
            Verdict = verdict,
            Hosts = hosts,
            NextSteps = NextSteps.For(_rules, verdict.Kind),
            AttackWindowStart = _settings.AttackWindowStart,
            Overflow = overflowCount == 0 ? null
                : new FindingOverflow(overflowCount, overflowByRule, overflowBySeverity, _options.MaxFindingsPerRule, () => overflow.SelectMany(read => read())),
            Provenance = new Provenance
            {
                Tool = "exir",
                ToolVersion = ExirVersion.Tool,
                ScanId = scanId,
                Command = command,
                Input = string.Join("; ", evidence.Inputs.Select(i => i.Source.Root)),
                InputKind = string.Join("; ", evidence.Inputs.Select(i => i.Source.Kind).Distinct()),
                InputSha256 = hosts.Count == 1 ? hosts[0].Evidence.Sha256 : null,
                RulesOrigin = _rules.Origin,
                RulesVersion = ExirVersion.Rules(_rules),
                KnowledgeOrigin = knowledge is null ? null : $"{knowledge.Origin} (version {knowledge.Version})",
                StartedUtc = started,
                FinishedUtc = DateTimeOffset.UtcNow,
            },
        };
        if (Timeline is not null)
        {
            var merged = new CoverageReport();
            foreach (var h in hosts) merged.AddFrom(h.Coverage);
            TimelineResult = Timeline.Finish(correlated, merged);
        }
        return result;
    }

    /// <summary>The host a root stands for: --host, else what its logs say, else its event logs' Computer, else the evidence's name.</summary>
    internal static (string Name, string Source) HostName(RunContext context, string label) =>
        context.Options.Host is { Length: > 0 } given ? (given, "option")
        : context.Host is { Length: > 0 } logs ? (logs, "logs")
        : context.EventHost is { Length: > 0 } events ? (events, "event logs")
        : (label.Length > 0 ? label : "unknown", "evidence name");

    /// <summary>
    /// "Patch or shut down" is the first question: the build the evidence shows (ExSetup.exe, OWA folders, log
    /// headers, noted during the one pass), which exploited CVEs it is open to and what to install.
    /// </summary>
    private (PatchStatus Patch, string? Build) PatchStatusOf(ExchangeKnowledge? knowledge, string? knowledgeError, RunContext context, string root)
    {
        if (knowledge is null) return (new PatchStatus { Error = knowledgeError }, context.ExchangeBuild);
        var a = knowledge.AssessFound(_build.Found(context), root);
        if (a.Error is not null || a.Build is null)
            return (new PatchStatus
            {
                Error = $"build not found in the evidence: {a.Error}",
                ActionText = "Run 'exir inventory BUILD' with the build from the server (Get-ExchangeServer | fl AdminDisplayVersion) or 'exir check URL'.",
                KnowledgeVersion = knowledge.Version,
            }, context.ExchangeBuild);
        return (a.ToPatchStatus(), a.Build.ToString());
    }

    private static string? Sha256OfFile(string path)
    {
        try
        {
            using var s = EvidenceSource.OpenPhysical(path);
            return Convert.ToHexStringLower(SHA256.HashData(s));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    public void Dispose()
    {
        Timeline?.Dispose();
        foreach (var context in _contexts) context.Dispose();
        _contexts.Clear();
    }
}

/// <summary>Gives a run's findings their host, host id, scan id and stable finding id.</summary>
public static class FindingIdentity
{
    public static IEnumerable<Finding> Apply(IEnumerable<Finding> findings, string rootHost, string scanId)
    {
        foreach (var f in findings)
        {
            var host = string.IsNullOrEmpty(f.Host) ? rootHost : f.Host;
            var hostId = HostIds.For(host);
            yield return f with { Host = host, HostId = hostId, ScanId = scanId, Id = StableIds.Finding(hostId, f.RuleId, f.Artifact, f.Line) };
        }
    }
}
