using System.Buffers;
using System.Runtime.CompilerServices;
using Exir.Core;
using Exir.Core.Coverage;
using Exir.Logs;
using Exir.Detection.Pipeline;

namespace Exir.Detection.Logs;

/// <summary>The loaded log rules, indexed by format, with each format's pre-filter literal set.</summary>
public sealed class LogRuleSet
{
    // Percent escapes that can hide a letter or a double-encoded escape: a line holding one is decoded and re-checked.
    private static readonly string[] EscapeMarkers = ["%4", "%5", "%6", "%7", "%25", "%u"];
    private static readonly ConditionalWeakTable<ScanContext, LogRuleSet> PerScan = new();

    private readonly Dictionary<LogFormat, IReadOnlyList<LogRule>> _byFormat = [];
    private readonly Dictionary<LogFormat, SearchValues<string>> _prefilter = [];
    private readonly Dictionary<LogFormat, SearchValues<string>> _plain = [];
    private readonly Dictionary<LogFormat, bool> _decodes = [];

    public LogRuleSet(IReadOnlyList<LogRule> rules, string origin = "")
    {
        Rules = rules;
        Origin = origin;
        foreach (var format in Enum.GetValues<LogFormat>())
        {
            var list = rules.Where(r => r.Formats.Contains(format)).ToList();
            _byFormat[format] = list;
            var literals = list.SelectMany(r => r.Literals).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
            bool decodes = list.Any(r => r.UsesDecoding);
            _decodes[format] = decodes;
            _plain[format] = SearchValues.Create(literals, StringComparison.OrdinalIgnoreCase);
            _prefilter[format] = SearchValues.Create(decodes ? [.. literals, .. EscapeMarkers] : literals, StringComparison.OrdinalIgnoreCase);
        }
    }

    public IReadOnlyList<LogRule> Rules { get; }
    public string Origin { get; }

    public IReadOnlyList<LogRule> For(LogFormat format) => _byFormat[format];
    /// <summary>Literals a line of this format must contain to be split and evaluated (plus escape markers when rules decode).</summary>
    public SearchValues<string> Prefilter(LogFormat format) => _prefilter[format];
    internal SearchValues<string> PlainLiterals(LogFormat format) => _plain[format];
    internal bool Decodes(LogFormat format) => _decodes[format];

    /// <summary>Loads rules/logs from the scan's rules folder (or the embedded copy), once per scan; problems go to its coverage.</summary>
    public static LogRuleSet For(ScanContext context) => PerScan.GetValue(context, c =>
    {
        DataFiles data;
        try { data = new DataFiles("rules", typeof(LogRuleSet).Assembly, c.Options.RulesDirectory); }
        catch (DirectoryNotFoundException e)
        {
            c.Coverage.AddIssue(IssueKind.RuleSkipped, c.Options.RulesDirectory ?? "rules", e.Message + "; no log rule loaded");
            return new LogRuleSet([], "none");
        }
        var rules = LogRuleLoader.Load(data, c.Coverage);
        if (rules.Count == 0) c.Coverage.CheckNotRun("log rules", $"no valid rule in {data.Origin}/logs");
        return new LogRuleSet(rules, data.Origin);
    });
}
