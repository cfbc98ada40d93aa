using Exir.Core.Findings;

namespace Exir.Case;

// The case's records as the store returns them. Times are UTC. These are the contract between the store
// (SQLite or PostgreSQL), the checklist and the report: the report never reads the database itself.

/// <summary>Case-wide facts the duties are computed from (set with <c>exir case set KEY VALUE</c>).</summary>
public sealed record CaseSettings
{
    /// <summary>Keys of <c>exir case set</c>, as stored.</summary>
    public static class Keys
    {
        public const string Name = "name";
        public const string Organisation = "organisation";
        /// <summary>When the organisation became aware of the breach: the GDPR Art. 33 clock (72 h) starts here.</summary>
        public const string AwareUtc = "aware_utc";
        /// <summary>IANA time zone deadlines are shown in (the organisation's and its authority's), e.g. Europe/Berlin.</summary>
        public const string TimeZone = "time_zone";
        /// <summary>The organisation runs critical infrastructure (KRITIS): the BSI duty applies.</summary>
        public const string CriticalInfrastructure = "critical_infrastructure";
        /// <summary>Personal data may be affected (mailboxes almost always hold them).</summary>
        public const string PersonalData = "personal_data";
        /// <summary>High risk to the people concerned: GDPR Art. 34 (inform them) applies.</summary>
        public const string HighRisk = "high_risk";
        public const string Language = "language";
    }

    public string? Name { get; init; }
    public string? Organisation { get; init; }
    public DateTimeOffset? AwareUtc { get; init; }
    public string TimeZone { get; init; } = "UTC";
    public bool? CriticalInfrastructure { get; init; }
    public bool? PersonalData { get; init; }
    public bool? HighRisk { get; init; }
    /// <summary>Report language the case was last reported in, or asked for (en, de).</summary>
    public string? Language { get; init; }
}

/// <summary>
/// A server of the case. <see cref="HostId"/> is <see cref="HostIds.For"/> of its name, equal in every scan.
/// First and last seen are when runs recorded it in the case (scan finish times), not times inside its evidence.
/// </summary>
public sealed record CaseHost(string HostId, string Name, DateTimeOffset FirstSeenUtc, DateTimeOffset LastSeenUtc);

/// <summary>One run written into the case (scan, timeline, inventory, check, quarantine, import), with its provenance.</summary>
public sealed record CaseScan
{
    public required string ScanId { get; init; }
    /// <summary>The verb that made it: scan, timeline, inventory, check, quarantine.</summary>
    public required string Verb { get; init; }
    public string Tool { get; init; } = "exir";
    public required string ToolVersion { get; init; }
    public string? RulesOrigin { get; init; }
    public string? RulesVersion { get; init; }
    public string? KnowledgeOrigin { get; init; }
    public string Command { get; init; } = "";
    public string Input { get; init; } = "";
    public string InputKind { get; init; } = "";
    public string? InputSha256 { get; init; }
    public DateTimeOffset StartedUtc { get; init; }
    public DateTimeOffset FinishedUtc { get; init; }
    public string Machine { get; init; } = "";
    public string User { get; init; } = "";
    /// <summary>When it was written into the case, and how: "direct" (--case) or "import" (exir case import DIR).</summary>
    public DateTimeOffset RecordedUtc { get; init; }
    public string RecordedBy { get; init; } = "direct";
}

/// <summary>What one scan said about one host: evidence, verdict, patch status, coverage.</summary>
public sealed record CaseHostScan
{
    public required string ScanId { get; init; }
    public required string HostId { get; init; }
    public required string HostName { get; init; }
    public string NameSource { get; init; } = "";
    public required string EvidencePath { get; init; }
    public string EvidenceKind { get; init; } = "";
    public string? EvidenceSha256 { get; init; }
    public required VerdictKind Verdict { get; init; }
    public string Headline { get; init; } = "";
    public string Reason { get; init; } = "";
    public string CoverageCaveat { get; init; } = "";
    public string? ExchangeBuild { get; init; }
    public PatchStatus? PatchStatus { get; init; }
    public required CaseCoverage Coverage { get; init; }
    public long FindingCount { get; init; }
    public DateTimeOffset FinishedUtc { get; init; }
}

/// <summary>A scan's coverage as plain data (what was read, per log family, what could not be read and why).</summary>
public sealed record CaseCoverage
{
    public long FilesSeen { get; init; }
    public long FilesRead { get; init; }
    public long BytesRead { get; init; }
    public IReadOnlyList<CaseLogFamily> Families { get; init; } = [];
    /// <summary>Counts per issue kind (unreadable, damaged, skipped, ...).</summary>
    public IReadOnlyDictionary<string, long> IssueCounts { get; init; } = new Dictionary<string, long>();
    /// <summary>The first issues with path and message (bounded).</summary>
    public IReadOnlyList<CaseCoverageIssue> Issues { get; init; } = [];
    /// <summary>Checks that did not run, with why.</summary>
    public IReadOnlyDictionary<string, string> ChecksNotRun { get; init; } = new Dictionary<string, string>();
    public long UnknownLogFiles { get; init; }
}

public sealed record CaseLogFamily(string Family, long Files, long Lines, long MalformedLines, long Bytes,
    DateTimeOffset? FirstUtc, DateTimeOffset? LastUtc, IReadOnlyList<(DateOnly From, DateOnly To)> Gaps);

public sealed record CaseCoverageIssue(string Kind, string Path, string Message);

/// <summary>A hashed evidence file (files with findings always; every file with --hash-all).</summary>
public sealed record CaseEvidenceFile(string ScanId, string HostId, string Path, string Sha256);

/// <summary>Hourly activity of one host: timeline rows and dated findings (event times only, never file copy times).</summary>
public sealed record CaseActivityBucket(string HostId, DateTimeOffset HourUtc, long Events, long Findings);

/// <summary>One account's administrator access on the case's hosts (from the timeline's admin summary).</summary>
public sealed record CaseAdminAccount
{
    public required string Account { get; init; }
    public string Display { get; init; } = "";
    public IReadOnlyList<string> Hosts { get; init; } = [];
    public int Logons { get; init; }
    public int PrivilegedLogons { get; init; }
    public int FailedLogons { get; init; }
    public IReadOnlyList<string> SourceIps { get; init; } = [];
    public IReadOnlyList<string> Cmdlets { get; init; } = [];
    public IReadOnlyList<string> Changes { get; init; } = [];
    public bool Privileged { get; init; }
    public bool AddedToPrivilegedGroup { get; init; }
    public bool Created { get; init; }
    /// <summary>Seen in the process tree of a web shell (w3wp child): the account is in the intruder's hands.</summary>
    public bool InWebShellTree { get; init; }
    /// <summary>A member of Domain/Enterprise/Schema Admins or Administrators as far as the evidence shows.</summary>
    public bool DomainAdmin { get; init; }
    public DateTimeOffset? FirstUtc { get; init; }
    public DateTimeOffset? LastUtc { get; init; }
    public string? FirstEvidence { get; init; }
}

/// <summary>A tagged timeline row kept for the report (process activity and admin access of interest).</summary>
public sealed record CaseTimelineRow(string HostId, DateTimeOffset TimeUtc, string Description, string Source, string Category,
    int? EventId, string? User, string? SrcIp, string? Process, string? CommandLine, string Message, string File, long? RecordId,
    IReadOnlyList<string> Tags);

/// <summary>Patch status of one server or build as inventory/check assessed it.</summary>
public sealed record CaseAssessment
{
    public required string ScanId { get; init; }
    public string? HostId { get; init; }
    public required string Target { get; init; }
    public string? Build { get; init; }
    public string? Product { get; init; }
    public string? Cu { get; init; }
    public string? Su { get; init; }
    public bool Supported { get; init; }
    public IReadOnlyList<string> OpenCves { get; init; } = [];
    public string Action { get; init; } = "unknown";
    public string ActionText { get; init; } = "";
    public string Source { get; init; } = "";
    public string? Error { get; init; }
    public DateTimeOffset AtUtc { get; init; }
}

/// <summary>A quarantined file (from the quarantine store's manifest).</summary>
public sealed record CaseQuarantineItem
{
    public required string Id { get; init; }
    public string? HostId { get; init; }
    public required string OriginalPath { get; init; }
    public required string Sha256 { get; init; }
    public long Size { get; init; }
    public required string State { get; init; }
    public DateTimeOffset QuarantinedUtc { get; init; }
    public string By { get; init; } = "";
    public string Machine { get; init; } = "";
    public string? FindingId { get; init; }
    public string? RuleId { get; init; }
    public string? Note { get; init; }
}

/// <summary>The state of one checklist step as the responders set it.</summary>
public static class StepStates
{
    public const string Open = "open";
    public const string Done = "done";
    public const string NotApplicable = "n/a";
    public static readonly IReadOnlyList<string> All = [Open, Done, NotApplicable];
}

/// <summary>One change of a step (every change is kept: who, when, why).</summary>
public sealed record CaseStepRecord(string StepId, string State, string? Note, string By, DateTimeOffset AtUtc);

/// <summary>A responder's note, for the case or one host.</summary>
public sealed record CaseNote(long Id, string? HostId, string Text, string By, DateTimeOffset AtUtc);

/// <summary>How many findings of one rule one host has, and how many the snapshot carries.</summary>
public sealed record CaseFindingCount(string HostId, string RuleId, string Title, Severity Severity, Outcome Outcome, long Count, long Shown);

/// <summary>What <see cref="ICaseStore.Read"/> returns at most (memory stays bounded by these, not by the case's size).</summary>
public sealed record CaseReadOptions
{
    /// <summary>Findings per host and rule carried in the snapshot (the counts cover all).</summary>
    public int MaxFindingsPerRule { get; init; } = 200;
    public int MaxTimelineRows { get; init; } = 2000;
    public int MaxEvidenceFiles { get; init; } = 5000;
    /// <summary>Correlation windows for the campaigns (rules/scan.yaml); null: the built-in rules' settings.</summary>
    public Exir.Detection.Rules.ScanSettings? Correlation { get; init; }
}

/// <summary>
/// The whole case as the report and <c>exir case status</c> see it: read in one go, bounded by
/// <see cref="CaseReadOptions"/>. <see cref="Campaigns"/> are the incidents correlated over every host's findings.
/// </summary>
public sealed record CaseSnapshot
{
    public required string StoreDescription { get; init; }
    public int SchemaVersion { get; init; }
    public DateTimeOffset ReadUtc { get; init; }
    public required CaseSettings Settings { get; init; }
    public IReadOnlyList<CaseHost> Hosts { get; init; } = [];
    public IReadOnlyList<CaseScan> Scans { get; init; } = [];
    /// <summary>Every (scan, host) result; the latest per host is the host's current state.</summary>
    public IReadOnlyList<CaseHostScan> HostScans { get; init; } = [];
    /// <summary>Findings of all hosts, deduplicated by finding id, time order (undated last), with campaign ids as <see cref="Finding.Incident"/>.</summary>
    public IReadOnlyList<Finding> Findings { get; init; } = [];
    public IReadOnlyList<CaseFindingCount> FindingCounts { get; init; } = [];
    public long TotalFindings { get; init; }
    /// <summary>Incidents correlated across hosts (the same attacker address on three servers is one campaign).</summary>
    public IReadOnlyList<Incident> Campaigns { get; init; } = [];
    public IReadOnlyList<CaseActivityBucket> Activity { get; init; } = [];
    public long TimelineEvents { get; init; }
    public IReadOnlyList<CaseTimelineRow> TimelineRows { get; init; } = [];
    public IReadOnlyList<CaseAdminAccount> AdminAccess { get; init; } = [];
    public IReadOnlyList<CaseAssessment> Assessments { get; init; } = [];
    public IReadOnlyList<CaseQuarantineItem> Quarantine { get; init; } = [];
    /// <summary>The current state of each step that was ever set (latest change).</summary>
    public IReadOnlyList<CaseStepRecord> Steps { get; init; } = [];
    public IReadOnlyList<CaseStepRecord> StepHistory { get; init; } = [];
    public IReadOnlyList<CaseNote> Notes { get; init; } = [];
    public IReadOnlyList<CaseEvidenceFile> EvidenceFiles { get; init; } = [];
    public long EvidenceFileCount { get; init; }

    /// <summary>The latest result per host (by scan finish time).</summary>
    public IReadOnlyList<CaseHostScan> LatestPerHost =>
        HostScans.GroupBy(h => h.HostId).Select(g => g.OrderByDescending(h => h.FinishedUtc).First()).OrderBy(h => h.HostName, StringComparer.OrdinalIgnoreCase).ToList();
}
