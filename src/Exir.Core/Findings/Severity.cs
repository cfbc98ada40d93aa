namespace Exir.Core.Findings;

/// <summary>Severity of a finding, ordered so that comparisons work (Critical is highest).</summary>
public enum Severity { Info = 0, Low = 1, Medium = 2, High = 3, Critical = 4 }

/// <summary>
/// What a finding says about the attack's progress. The verdict is derived from it:
/// any <see cref="Success"/> makes the host COMPROMISED, any <see cref="Attempt"/> ATTEMPTED.
/// </summary>
public enum Outcome
{
    /// <summary>Context only (e.g. an archive with no other sign); never changes the verdict alone.</summary>
    Indicator = 0,
    /// <summary>Reconnaissance or a vulnerability scan (e.g. the nmap NSE probe).</summary>
    Scan = 1,
    /// <summary>Exploit traffic without a sign that it worked.</summary>
    Attempt = 2,
    /// <summary>Exploitation succeeded, a web shell exists or was used, credentials were dumped.</summary>
    Success = 3,
}

public static class SeverityNames
{
    public static string ToWire(this Severity s) => s switch
    {
        Severity.Info => "info", Severity.Low => "low", Severity.Medium => "medium",
        Severity.High => "high", _ => "critical",
    };

    public static string ToWire(this Outcome o) => o switch
    {
        Outcome.Indicator => "indicator", Outcome.Scan => "scan", Outcome.Attempt => "attempt", _ => "success",
    };

    public static bool TryParseSeverity(string? text, out Severity severity)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "info" or "informational": severity = Severity.Info; return true;
            case "low": severity = Severity.Low; return true;
            case "medium": severity = Severity.Medium; return true;
            case "high": severity = Severity.High; return true;
            case "critical": severity = Severity.Critical; return true;
            default: severity = Severity.Info; return false;
        }
    }

    public static bool TryParseOutcome(string? text, out Outcome outcome)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "indicator": outcome = Outcome.Indicator; return true;
            case "scan": outcome = Outcome.Scan; return true;
            case "attempt": outcome = Outcome.Attempt; return true;
            case "success": outcome = Outcome.Success; return true;
            default: outcome = Outcome.Indicator; return false;
        }
    }
}
