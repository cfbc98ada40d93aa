namespace Exir.Core.Findings;

/// <summary>
/// Metadata of a detection rule. Rules are data (rules/*.yaml, YARA files); this is what every
/// finding carries so a reader can see why it fired without opening the rule file.
/// </summary>
public sealed record RuleInfo
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    public Severity Severity { get; init; } = Severity.Medium;
    public Outcome Outcome { get; init; } = Outcome.Indicator;
    public IReadOnlyList<string> Cves { get; init; } = [];
    public IReadOnlyList<string> Attack { get; init; } = [];
    public string Explanation { get; init; } = "";
    public IReadOnlyList<string> References { get; init; } = [];
}
