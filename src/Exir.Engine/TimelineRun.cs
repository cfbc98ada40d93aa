using Exir.Core;
using Exir.Core.Coverage;
using Exir.Core.Findings;
using Exir.Detection.EventLogs;
using Exir.Detection.Files;
using Exir.Detection.Sigma;
using Exir.Engine.Rules;
using Exir.Pipeline;
using Exir.Timeline;

namespace Exir.Engine;

/// <summary>
/// exir timeline as a library: the timeline, the event-log hunts (they tag the rows) and the log tamper
/// checks on the one record pipeline, over the evidence of one or more hosts; scan findings merged in from
/// findings.jsonl files. After <see cref="Run"/>, <see cref="Rows"/> streams the sorted rows.
/// </summary>
public sealed class TimelineRun : IDisposable
{
    private readonly RunOptions _options;
    private readonly DataFiles _rules;
    private readonly RuleCatalog _catalog;
    private readonly RecordPipeline _pipeline;
    private readonly TimelineCollector _collector;

    public TimelineRun(RunOptions options, TimelineOptions timeline)
    {
        _options = options;
        _rules = new DataFiles("rules", typeof(FileHunt).Assembly, options.RulesDirectory);
        _catalog = RuleCatalog.Load(_rules);
        var rules = _catalog.Timeline;
        _collector = new TimelineCollector(timeline, rules);
        var hunts = new EventLogHunts(_catalog.EventRules);
        Sigma = new SigmaHunt(SigmaHunt.Load(_rules, options));
        // The hunts tag records before the timeline maps them: consumers run in this order.
        _pipeline = new RecordPipeline(new ArtifactClassifier(_catalog.FileHunt.ScriptExtensions), [hunts, Sigma, new LogTamperCheck(rules.Tamper, rules.Events), _collector]);
    }

    public DataFiles Rules => _rules;
    public RuleCatalog Catalog => _catalog;
    /// <summary>The Sigma rules whose hits tag the rows and become findings.</summary>
    public SigmaHunt Sigma { get; }
    public TimelineOptions Options => _collector.Options;
    public TimelineStats Stats => _collector.Stats;

    public TimelineResult Run(EvidenceSet evidence, IReadOnlyList<string> findingsFiles, string command, PipelineProgress? progress = null,
        CancellationToken cancellationToken = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var started = DateTimeOffset.UtcNow;
        var scanId = StableIds.NewScanId();
        var coverage = new CoverageReport();
        var findings = new List<Finding>();
        foreach (var input in evidence.Inputs)
        {
            var context = _pipeline.Run(input.Source, _options, input.Label, progress, cancellationToken);
            coverage.AddFrom(context.Coverage);
            var (host, _) = ScanRun.HostName(context, input.Label);
            findings.AddRange(FindingIdentity.Apply(context.Findings, host, scanId).Where(f => _collector.Options.HostWanted(f.Host)));
        }
        _catalog.ReportInto(coverage);
        Sigma.ReportInto(coverage);
        findings.AddRange(FindingIdentity.Apply(Sigma.Correlate(), "unknown", scanId).Where(f => _collector.Options.HostWanted(f.Host)));

        foreach (var file in findingsFiles)
            foreach (var row in FindingRows.Read(file, coverage))
            {
                if (!_collector.Wanted(row)) { _collector.Stats.Filter(); continue; }
                _collector.Stats.FindingRows++;
                _collector.Keep(row);
            }

        var result = _collector.Finish(findings, coverage);
        result.Provenance = new Provenance
        {
            Tool = "exir", ToolVersion = ExirVersion.Tool, ScanId = scanId, Command = command,
            Input = string.Join("; ", evidence.Inputs.Select(i => i.Source.Root)),
            InputKind = string.Join("; ", evidence.Inputs.Select(i => i.Source.Kind).Distinct()),
            RulesOrigin = _rules.Origin, RulesVersion = ExirVersion.Rules(_rules),
            StartedUtc = started, FinishedUtc = DateTimeOffset.UtcNow,
        };
        _collector.Stats.BytesRead = coverage.BytesRead;
        _collector.Stats.Elapsed = clock.Elapsed;
        return result;
    }

    /// <summary>The rows in time order (a bounded merge), each with its process-tree tags.</summary>
    public IEnumerable<TimelineEvent> Rows(CancellationToken cancellationToken = default) => _collector.Rows(cancellationToken);

    public void Dispose() => _collector.Dispose();
}
