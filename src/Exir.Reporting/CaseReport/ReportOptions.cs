namespace Exir.Reporting.CaseReport;

/// <summary>How the case report is written; every limit keeps a huge case's page readable and bounded.</summary>
public sealed record ReportOptions
{
    /// <summary>The report's time (countdowns, the header); the checklist's time when not given.</summary>
    public DateTimeOffset? NowUtc { get; init; }
    /// <summary>The version of exir writing the report (the appendix); the assembly's when not given.</summary>
    public string? ToolVersion { get; init; }
    /// <summary>A rules folder given on the command line (texts in report/case-report.yaml).</summary>
    public string? RulesDirectory { get; init; }
    /// <summary>Texts already loaded (tests check them for missing keys); loaded from <see cref="RulesDirectory"/> otherwise.</summary>
    public CaseReportTexts? Texts { get; init; }
    /// <summary>Raw evidence shown per finding (the full text is in the finding exports).</summary>
    public int MaxEvidenceChars { get; init; } = 4000;
    /// <summary>Evidence file hashes listed in the appendix (the rest are counted).</summary>
    public int MaxEvidenceHashes { get; init; } = 1000;
    /// <summary>Tagged timeline rows listed (the rest are counted).</summary>
    public int MaxTimelineRows { get; init; } = 2000;
    /// <summary>Coverage problems listed per host (all are counted by kind).</summary>
    public int MaxIssuesPerHost { get; init; } = 200;
    /// <summary>Checklist changes listed in the history.</summary>
    public int MaxStepHistory { get; init; } = 500;
}
