using System.Buffers;
using Exir.Core;
using Exir.Core.Coverage;
using Exir.Logs;

namespace Exir.Detection.Logs;

/// <summary>The loaded log rules, indexed by format, with each format's pre-filter literal set.</summary>
public sealed class LogRuleSet
{
    private readonly Dictionary<LogFormat, IReadOnlyList<LogRule>> _byFormat = [];
    private readonly Dictionary<LogFormat, IReadOnlyList<string>> _literals = [];
    private readonly Dictionary<LogFormat, SearchValues<string>> _plain = [];
    private readonly Dictionary<LogFormat, bool> _decodes = [];
    private readonly Dictionary<LogFormat, (LiteralIndex Index, ulong Prefilter, ulong[] Any, ulong[] All)> _masks = [];

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
            _literals[format] = literals;
            var index = new LiteralIndex(literals.Concat(list.SelectMany(r => r.RequireAll)));
            _masks[format] = (index, index.MaskOf(literals), list.Select(r => index.MaskOf(r.Literals)).ToArray(), list.Select(r => index.MaskOf(r.RequireAll)).ToArray());
        }
    }

    public IReadOnlyList<LogRule> Rules { get; }

    /// <summary>Literal masks of a format: the index, the pre-filter literals, and per rule (aligned with <see cref="For"/>) its any-of and all-of masks.</summary>
    internal (LiteralIndex Index, ulong Prefilter, ulong[] Any, ulong[] All) Masks(LogFormat format) => _masks[format];
    public string Origin { get; }

    public IReadOnlyList<LogRule> For(LogFormat format) => _byFormat[format];
    /// <summary>Literals a line of this format must contain to be split and evaluated.</summary>
    public IReadOnlyList<string> Literals(LogFormat format) => _literals[format];
    internal SearchValues<string> PlainLiterals(LogFormat format) => _plain[format];
    /// <summary>True when a rule of this format percent-decodes: lines with '%' are then decoded and checked too.</summary>
    public bool Decodes(LogFormat format) => _decodes[format];

    /// <summary>Loads rules/logs; problems (a broken rule, no rule at all) go to <paramref name="problems"/>.</summary>
    public static LogRuleSet Load(DataFiles data, CoverageReport problems)
    {
        var rules = LogRuleLoader.Load(data, problems);
        if (rules.Count == 0) problems.CheckNotRun("log rules", $"no valid rule in {data.Origin}/logs");
        return new LogRuleSet(rules, data.Origin);
    }
}
