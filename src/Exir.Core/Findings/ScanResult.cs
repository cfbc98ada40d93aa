using Exir.Core.Coverage;

namespace Exir.Core.Findings;

/// <summary>The verdict in plain words; derived from the findings' outcomes, never set by hand.</summary>
public enum VerdictKind { NoEvidenceFound, Attempted, Compromised }

public sealed record Verdict(VerdictKind Kind, string Headline, string Reason, string CoverageCaveat)
{
    public string Label => Kind switch
    {
        VerdictKind.Compromised => "COMPROMISED",
        VerdictKind.Attempted => "ATTEMPTED",
        _ => "NO EVIDENCE FOUND",
    };
}

/// <summary>A group of findings that tell one story (same client, close in time, or the same file).</summary>
public sealed record Incident(string Id, IReadOnlyList<string> ClientIps, DateTimeOffset? First, DateTimeOffset? Last,
    Severity Severity, Outcome Outcome, IReadOnlyList<string> Cves, string Story, int FindingCount);

/// <summary>What produced a result: needed to defend it later (tool, rule and knowledge versions, inputs).</summary>
public sealed record Provenance
{
    public required string Tool { get; init; }
    public required string ToolVersion { get; init; }
    public required string Command { get; init; }
    public required string Input { get; init; }
    public required string InputKind { get; init; }
    /// <summary>SHA-256 of the input when it is a single file (a zip); folders are hashed per file.</summary>
    public string? InputSha256 { get; init; }
    public required string RulesOrigin { get; init; }
    public required string RulesVersion { get; init; }
    public string? KnowledgeOrigin { get; init; }
    public required DateTimeOffset StartedUtc { get; init; }
    public required DateTimeOffset FinishedUtc { get; init; }
    public string Machine { get; init; } = Environment.MachineName;
    public string User { get; init; } = Environment.UserName;
}

public sealed record ScanResult
{
    public required IReadOnlyList<Finding> Findings { get; init; }
    public required IReadOnlyList<Incident> Incidents { get; init; }
    public required Verdict Verdict { get; init; }
    public required CoverageReport Coverage { get; init; }
    public required Provenance Provenance { get; init; }
    public string? Host { get; init; }
    public string? ExchangeBuild { get; init; }
    /// <summary>Patch status lines for the scanned server when its build could be found (from the knowledge base).</summary>
    public IReadOnlyList<string> PatchStatus { get; init; } = [];
    /// <summary>What to do now, in order (from rules/report/next-steps.yaml for this verdict).</summary>
    public IReadOnlyList<string> NextSteps { get; init; } = [];
    /// <summary>Checks that did not run, with why (e.g. CVE-2021-26857 without an Application event log).</summary>
    public IReadOnlyDictionary<string, string> ChecksNotRun => Coverage.ChecksNotRun;
}
