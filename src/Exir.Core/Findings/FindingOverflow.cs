namespace Exir.Core.Findings;

/// <summary>
/// The findings a scan did not keep in memory: past the cap per rule and outcome (rules/scan.yaml,
/// report.max_findings_per_rule). They are streamed from disk into the finding outputs (findings.jsonl,
/// findings.csv, timesketch), counted in the report's totals, and left out of incidents and the report's lists.
/// </summary>
public sealed class FindingOverflow(long count, IReadOnlyDictionary<string, long> byRule, IReadOnlyDictionary<Severity, long> bySeverity,
    int keptPerRule, Func<IEnumerable<Finding>> read)
{
    public long Count { get; } = count;
    /// <summary>Findings left out, by rule id.</summary>
    public IReadOnlyDictionary<string, long> ByRule { get; } = byRule;
    public IReadOnlyDictionary<Severity, long> BySeverity { get; } = bySeverity;
    /// <summary>The cap: findings of one rule and outcome kept per host.</summary>
    public int KeptPerRule { get; } = keptPerRule;

    /// <summary>The findings left out, in the order they were found, with their host and ids; streamed, so enumerate once per output.</summary>
    public IEnumerable<Finding> Read() => read();
}
