namespace Exir.Core.Findings;

/// <summary>
/// One detection result. The wire names (rule_id, title, severity, cves, attack, host, artifact,
/// line, timestamp, client_ip, evidence, details, incident, explanation, references, finding_id, scan_id,
/// host_id, time_source) are a contract read by other tools and by later stages (case store, timeline,
/// quarantine); keep them stable (<see cref="FindingJson"/> writes and reads them).
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
    /// <summary>Where <see cref="Timestamp"/> comes from (<see cref="TimeSources"/>): a log line or event record dates the attack, a file's modification time may be a copy time.</summary>
    public string? TimeSource { get; init; }
    public string? ClientIp { get; init; }
    /// <summary>The raw line or an excerpt of the evidence, as found (attacker-controlled text).</summary>
    public string Evidence { get; init; } = "";
    public IReadOnlyDictionary<string, string> Details { get; init; } = new Dictionary<string, string>();
    /// <summary>Correlation id grouping findings into one story (same client and time window).</summary>
    public string? Incident { get; init; }
    public string Explanation { get; init; } = "";
    public IReadOnlyList<string> References { get; init; } = [];
    /// <summary>Stable id from host, rule, artifact and position: the same evidence gives the same id in every scan, so re-imports deduplicate.</summary>
    public string? Id { get; init; }
    /// <summary>The scan (run) that made the finding.</summary>
    public string? ScanId { get; init; }
    /// <summary>Stable id of the host the evidence belongs to (<see cref="HostIds"/>).</summary>
    public string? HostId { get; init; }

    /// <summary>True when the time dates an event of the attack (a log line, an event record, a dump header), not a file's copy.</summary>
    public bool HasEventTime => Timestamp is not null && TimeSource is not (TimeSources.FileModified or null);

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
