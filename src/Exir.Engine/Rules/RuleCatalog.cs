using Exir.Core;
using Exir.Core.Coverage;
using Exir.Detection.Artifacts;
using Exir.Detection.EventLogs;
using Exir.Detection.Files;
using Exir.Detection.Logs;
using Exir.Detection.Rules;
using Exir.Timeline;

namespace Exir.Engine.Rules;

/// <summary>
/// Every rule and data file under rules/, loaded once at the start of a run and validated against
/// rules/schemas/exir-rules.schema.json with precise errors. A detection rule with errors is left out and named
/// (the others keep running); a broken data file the hunt cannot run without (file-hunt, scan settings, the
/// timeline's mappings) stops the run before any evidence is read.
/// </summary>
public sealed class RuleCatalog
{
    private RuleCatalog(DataFiles data) => Data = data;

    public DataFiles Data { get; }
    /// <summary>Schema and load problems of every file, errors and warnings, in file order.</summary>
    public IReadOnlyList<RuleProblem> Problems { get; private set; } = [];
    public IReadOnlyList<RuleProblem> Errors => Problems.Where(p => !p.Warning).ToList();

    public required LogRuleSet LogRules { get; init; }
    public required IReadOnlyList<EventLogRule> EventRules { get; init; }
    public required FileHuntRules FileHunt { get; init; }
    public required SuspiciousFileRules SuspiciousFiles { get; init; }
    public required ScanSettings Settings { get; init; }
    public required TimelineRules Timeline { get; init; }

    /// <summary>The rule files the data holds: exir's YAML (by kind), YARA, allow-lists and indicator lists.</summary>
    public static IReadOnlyList<string> Files(DataFiles data) => data.List();

    /// <summary>Validates and loads. Throws <see cref="RuleDataException"/> for a data file the run cannot do without.</summary>
    /// <param name="validate">Check every file against the schema. By default only rules read from a folder (which a
    /// user may have edited): the copy embedded in exir is the one its own tests validated at build time, and the
    /// schema check costs a quarter of a second of start-up on every run.</param>
    public static RuleCatalog Load(DataFiles data, bool? validate = null)
    {
        var problems = new List<RuleProblem>();
        if (validate ?? data.Directory is not null) Validate(data, problems);
        bool Broken(string? id) => id is not null && problems.Any(p => !p.Warning && p.RuleId == id && (p.File.Contains("/logs/") || p.File.Contains("/eventlogs/")));

        var loadIssues = new CoverageReport();
        var logRules = LogRuleLoader.Load(data, loadIssues).Where(r => !Broken(r.Info.Id)).ToList();
        Pipeline.StartupTrace.Mark("catalog: log rules");
        var eventRules = EventLogRuleSet.Load(data, (f, m) => loadIssues.AddIssue(IssueKind.RuleSkipped, "rules/" + f, m)).Where(r => !Broken(r.Info.Id)).ToList();
        Pipeline.StartupTrace.Mark("catalog: event rules");
        foreach (var i in loadIssues.Issues)
            if (!problems.Any(p => !p.Warning && i.Message.Contains(p.RuleId ?? "\0", StringComparison.Ordinal)))
                problems.Add(new RuleProblem(i.Path, 0, 0, null, i.Message));
        foreach (var (check, why) in loadIssues.ChecksNotRun) problems.Add(new RuleProblem("rules", 0, 0, null, $"{check}: {why}"));
        var logRuleSet = new LogRuleSet(logRules, data.Origin);
        Pipeline.StartupTrace.Mark("catalog: log rule set");
        var fileHunt = FileHuntRules.Load(data);
        Pipeline.StartupTrace.Mark("catalog: file hunt rules");
        var suspicious = SuspiciousFileRules.Load(data);
        Pipeline.StartupTrace.Mark("catalog: suspicious files");
        var settings = ScanSettings.Load(data);
        Pipeline.StartupTrace.Mark("catalog: settings");
        var timeline = TimelineRules.Load(data);
        Pipeline.StartupTrace.Mark("catalog: timeline");
        return new RuleCatalog(data)
        {
            Problems = problems,
            LogRules = logRuleSet,
            EventRules = eventRules,
            FileHunt = fileHunt,
            SuspiciousFiles = suspicious,
            Settings = settings,
            Timeline = timeline,
        };
    }

    private static void Validate(DataFiles data, List<RuleProblem> problems)
    {
        var schema = RuleSchema.Load(data);
        foreach (var file in data.List())
        {
            // Sigma rules have their own format, validated by the Sigma engine when they load (and by their tests).
            if (RuleFileKinds.Of(file) is not { } kind || kind == RuleFileKinds.SigmaRules) continue;
            string text;
            try { text = data.ReadAllText(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add(new RuleProblem("rules/" + file, 0, 0, null, "cannot read: " + e.Message));
                continue;
            }
            var found = schema.Validate("rules/" + file, text, kind);
            problems.AddRange(found);
            // The hunt needs these whole: an error in them is an error of the run, not of one rule.
            if (kind is not (RuleFileKinds.LogRules or RuleFileKinds.EventRules or RuleFileKinds.YaraTests) && found.FirstOrDefault(p => !p.Warning) is { } fatal)
                throw new RuleDataException("rules/" + file, fatal.RuleId, $"line {fatal.Line}: {fatal.Message}");
        }
    }

    /// <summary>The errors (rules left out) into a root's coverage, so the report says which rules did not run.</summary>
    public void ReportInto(CoverageReport coverage)
    {
        foreach (var p in Errors) coverage.AddIssue(IssueKind.RuleSkipped, p.File + (p.Line > 0 ? $":{p.Line}" : ""), (p.RuleId is null ? "" : $"rule {p.RuleId}: ") + p.Message);
        if (LogRules.Rules.Count == 0) coverage.CheckNotRun("log rules", "no valid rule in " + Data.Origin + "/logs");
    }
}
