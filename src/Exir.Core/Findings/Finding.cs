namespace Exir.Core.Findings;

/// <summary>
/// One detection result. The wire names (rule_id, title, severity, cves, attack, host, artifact,
/// line, timestamp, client_ip, evidence, details, incident) are a contract read by other tools and
/// by later stages (case store, timeline); keep them stable.
/// </summary>
public sealed record Finding
{
    public required string RuleId { get; init; }
    public required string Title { get; init; }
    public Severity Severity { get; init; }
    public Outcome Outcome { get; init; }
    public IReadOnlyList<string> Cves { get; init; } = [];
    public IReadOnlyList<string> Attack { get; init; } = [];
    public string? Host { get; init; }
    /// <summary>Path relative to the evidence root, '/'-separated; zip members as "archive.zip!/inner/path".</summary>
    public required string Artifact { get; init; }
    /// <summary>1-based line (log files) or record id (event logs); null for whole-file findings.</summary>
    public long? Line { get; init; }
    /// <summary>UTC time of the evidenced event; null when the evidence carries none.</summary>
    public DateTimeOffset? Timestamp { get; init; }
    public string? ClientIp { get; init; }
    /// <summary>The raw line or an excerpt of the evidence, as found (attacker-controlled text).</summary>
    public string Evidence { get; init; } = "";
    public IReadOnlyDictionary<string, string> Details { get; init; } = new Dictionary<string, string>();
    /// <summary>Correlation id grouping findings into one story (same client and time window).</summary>
    public string? Incident { get; init; }
    public string Explanation { get; init; } = "";
    public IReadOnlyList<string> References { get; init; } = [];

    /// <summary>Builds a finding from a rule's metadata; callers fill the evidence fields.</summary>
    public static Finding FromRule(RuleInfo rule, string artifact) => new()
    {
        RuleId = rule.Id,
        Title = rule.Title,
        Severity = rule.Severity,
        Outcome = rule.Outcome,
        Cves = rule.Cves,
        Attack = rule.Attack,
        Artifact = artifact,
        Explanation = rule.Explanation,
        References = rule.References,
    };
}
