namespace Exir.Sigma;

/// <summary>
/// A rule that fired on an event (or a correlation that held over several hits). Carries the rule (title, id,
/// level, tags, references, author and licence link for attribution), when and where, and the evidence.
/// </summary>
public sealed class SigmaHit
{
    public required SigmaRule Rule { get; init; }
    /// <summary>The event's time (UTC); for a correlation, the time of its last contributing event.</summary>
    public required DateTime TimeUtc { get; init; }
    /// <summary>The host of the event (Computer, the log's server name, or what the caller gave); for a correlation across hosts, the hosts joined by ", ".</summary>
    public string? Host { get; init; }
    /// <summary>The event source the rule matched through ("Sysmon 1", "Security 4688", "iis", ...).</summary>
    public required string Source { get; init; }
    /// <summary>The fields the rule reads, by the rule's names, with the event's values (absent fields left out).</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> RuleFields { get; init; }
    /// <summary>The whole event: System fields and data (Windows) or every field of the log line.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> EventFields { get; init; }
    public int? EventId { get; init; }
    public string? Channel { get; init; }
    public ulong? RecordId { get; init; }
    /// <summary>The log line number (web logs).</summary>
    public long? LineNumber { get; init; }
    /// <summary>For a correlation: the base-rule hits that made it (time order).</summary>
    public IReadOnlyList<SigmaHit> Contributing { get; init; } = [];
    /// <summary>For a correlation: its group-by values.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> GroupValues { get; init; } = [];
    /// <summary>
    /// The rule is referenced only by correlations whose `generate` is false: the Sigma specification says its
    /// own hits are not alerts (feed them to the correlator, do not report them).
    /// </summary>
    public bool CorrelationOnly { get; init; }

    public bool IsCorrelation => Rule.Correlation is not null;

    /// <summary>A rule field's value by the rule's name (case-insensitive), else an event field's, else null.</summary>
    public string? Field(string name)
    {
        foreach (var (k, v) in RuleFields) if (k.Equals(name, StringComparison.OrdinalIgnoreCase)) return v;
        foreach (var (k, v) in EventFields) if (k.Equals(name, StringComparison.OrdinalIgnoreCase)) return v;
        return null;
    }

    public override string ToString() => $"{TimeUtc:O} {Host} [{Rule.LevelName}] {Rule.Title} ({Rule.Id}) via {Source}";
}
