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

/// <summary>A group of findings that tell one story (same client, close in time, or the same file), possibly across hosts.</summary>
public sealed record Incident(string Id, IReadOnlyList<string> ClientIps, DateTimeOffset? First, DateTimeOffset? Last,
    Severity Severity, Outcome Outcome, IReadOnlyList<string> Cves, string Story, int FindingCount)
{
    /// <summary>The hosts the incident's findings come from.</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];
}

/// <summary>What produced a result: needed to defend it later (tool, rule and knowledge versions, inputs).</summary>
public sealed record Provenance
{
    public required string Tool { get; init; }
    public required string ToolVersion { get; init; }
    /// <summary>Unique id of this run (<see cref="StableIds.NewScanId"/>); every finding carries it.</summary>
    public string ScanId { get; init; } = "";
    public required string Command { get; init; }
    /// <summary>The evidence roots as given, separated by "; " when there are several.</summary>
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

/// <summary>An update to install, as the knowledge base names it.</summary>
public sealed record UpdateInfo(string Name, string? Kb, string Build);

/// <summary>
/// Patch status of one server as data (the same names as <c>exir inventory --format json</c>): which build,
/// which exploited CVEs are open, and what to do. Null fields mean "not known from the evidence".
/// </summary>
public sealed record PatchStatus
{
    public string? Build { get; init; }
    public string? Product { get; init; }
    public string? Cu { get; init; }
    public string? Su { get; init; }
    /// <summary>"su" (exact build) or "cu" (CU level only: security updates are not visible).</summary>
    public string? Precision { get; init; }
    /// <summary>Where the build was read ("ExSetup.exe file version", "Exchange log header (path)", ...).</summary>
    public string? Source { get; init; }
    public bool Supported { get; init; }
    public string? SupportStatus { get; init; }
    public IReadOnlyList<string> OpenCves { get; init; } = [];
    public UpdateInfo? FixedBy { get; init; }
    /// <summary>patch, shutdown-migrate, none; or unknown when the build could not be found.</summary>
    public string Action { get; init; } = "unknown";
    public string ActionText { get; init; } = "";
    public IReadOnlyList<string> Notes { get; init; } = [];
    public string? KnowledgeVersion { get; init; }
    /// <summary>Why there is no assessment (build not in the evidence, knowledge not readable).</summary>
    public string? Error { get; init; }
}

/// <summary>Where a host's evidence came from.</summary>
public sealed record EvidenceRoot(string Path, string Kind, string? Sha256);

/// <summary>What one scan found on one host: its evidence, patch status, verdict and coverage.</summary>
public sealed record HostResult
{
    public required string HostId { get; init; }
    public required string Name { get; init; }
    /// <summary>How the name was learnt: "option" (--host), "logs", "event logs" or "evidence name".</summary>
    public string NameSource { get; init; } = "";
    public required EvidenceRoot Evidence { get; init; }
    public string? ExchangeBuild { get; init; }
    public PatchStatus? PatchStatus { get; init; }
    public required Verdict Verdict { get; init; }
    public required CoverageReport Coverage { get; init; }
    public int FindingCount { get; init; }
}

/// <summary>
/// The result of one scan over one or more evidence roots (one host each): every finding with its host,
/// incidents correlated across hosts, a verdict per host and overall, coverage and provenance.
/// </summary>
public sealed record ScanResult
{
    public required IReadOnlyList<Finding> Findings { get; init; }
    public required IReadOnlyList<Incident> Incidents { get; init; }
    /// <summary>The overall verdict: the worst of the hosts'.</summary>
    public required Verdict Verdict { get; init; }
    public required IReadOnlyList<HostResult> Hosts { get; init; }
    public required Provenance Provenance { get; init; }
    /// <summary>What to do now, in order (from rules/report/next-steps.yaml for the overall verdict).</summary>
    public IReadOnlyList<string> NextSteps { get; init; } = [];
    /// <summary>The date coverage is judged against (rules/scan.yaml): logs must reach back before it.</summary>
    public DateTimeOffset AttackWindowStart { get; init; } = new(2021, 1, 1, 0, 0, 0, TimeSpan.Zero);
    /// <summary>Findings past the per-rule cap: not in <see cref="Findings"/>, but in the finding outputs and the totals.</summary>
    public FindingOverflow? Overflow { get; init; }

    /// <summary>Every finding of the scan, kept or left out of the report.</summary>
    public long TotalFindings => Findings.Count + (Overflow?.Count ?? 0);
    /// <summary>Every finding: those of the report (sorted, with incidents), then those left out of it, streamed from disk.</summary>
    public IEnumerable<Finding> AllFindings => Overflow is null ? Findings : Findings.Concat(Overflow.Read());

    /// <summary>The coverage of the first host (the only one in a one-root scan); per host in <see cref="Hosts"/>.</summary>
    public CoverageReport Coverage => Hosts.Count > 0 ? Hosts[0].Coverage : new CoverageReport();
    /// <summary>The host of a one-root scan (the first host otherwise).</summary>
    public string? Host => Hosts.Count > 0 ? Hosts[0].Name : null;
    public string? ExchangeBuild => Hosts.Count > 0 ? Hosts[0].ExchangeBuild : null;
    public PatchStatus? PatchStatus => Hosts.Count > 0 ? Hosts[0].PatchStatus : null;
    /// <summary>Checks that did not run, with why, over all hosts (e.g. CVE-2021-26857 without an Application event log).</summary>
    public IReadOnlyDictionary<string, string> ChecksNotRun =>
        Hosts.SelectMany(h => h.Coverage.ChecksNotRun).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.First().Value);
}
