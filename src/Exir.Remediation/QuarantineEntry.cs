using System.Text.Json.Serialization;

namespace Exir.Remediation;

/// <summary>The finding that named a quarantined file (from a findings.jsonl line), kept with the entry.</summary>
public sealed record FindingReference
{
    [JsonPropertyName("rule_id")] public string RuleId { get; init; } = "";
    [JsonPropertyName("title")] public string Title { get; init; } = "";
    [JsonPropertyName("severity")] public string Severity { get; init; } = "";
    [JsonPropertyName("artifact")] public string Artifact { get; init; } = "";
    [JsonPropertyName("evidence")] public string Evidence { get; init; } = "";
    [JsonPropertyName("finding_id")] public string? FindingId { get; init; }
}

/// <summary>
/// One quarantined file as recorded in the store's manifest. Times are UTC. The state follows the
/// journal: pending (copy being made) -> stored (verified copy on disk) -> removed (original deleted)
/// -> restored (put back); abandoned when a crash interrupted the copy and the original stayed.
/// </summary>
public sealed record QuarantineEntry
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("original_path")] public required string OriginalPath { get; init; }
    [JsonPropertyName("sha256")] public required string Sha256 { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("created_utc")] public DateTime? CreatedUtc { get; init; }
    [JsonPropertyName("modified_utc")] public DateTime ModifiedUtc { get; init; }
    [JsonPropertyName("accessed_utc")] public DateTime? AccessedUtc { get; init; }
    [JsonPropertyName("attributes")] public string? Attributes { get; init; }
    [JsonPropertyName("finding")] public FindingReference? Finding { get; init; }
    [JsonPropertyName("quarantined_by")] public required string QuarantinedBy { get; init; }
    [JsonPropertyName("machine")] public required string Machine { get; init; }
    [JsonPropertyName("quarantined_utc")] public DateTime QuarantinedUtc { get; init; }
    [JsonPropertyName("stored_as")] public required string StoredAs { get; init; }
    [JsonPropertyName("state")] public string State { get; init; } = QuarantineState.Pending;
    [JsonPropertyName("restored_utc")] public DateTime? RestoredUtc { get; init; }
    [JsonPropertyName("restored_by")] public string? RestoredBy { get; init; }
    [JsonPropertyName("note")] public string? Note { get; init; }
}

public static class QuarantineState
{
    public const string Pending = "pending";
    public const string Stored = "stored";
    public const string Removed = "removed";
    public const string Restored = "restored";
    public const string Abandoned = "abandoned";
}

/// <summary>One line of manifest.jsonl: an event about an entry (the full entry on "pending").</summary>
public sealed record ManifestEvent
{
    [JsonPropertyName("event")] public required string Event { get; init; }
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("utc")] public DateTime Utc { get; init; }
    [JsonPropertyName("by")] public string? By { get; init; }
    [JsonPropertyName("machine")] public string? Machine { get; init; }
    [JsonPropertyName("note")] public string? Note { get; init; }
    [JsonPropertyName("entry")] public QuarantineEntry? Entry { get; init; }
}
