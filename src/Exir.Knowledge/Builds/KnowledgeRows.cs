using System.Globalization;

namespace Exir.Knowledge.Builds;

/// <summary>One released build (a row of exchange-builds.tsv).</summary>
public sealed record BuildRelease(
    ExchangeBuild Build, string Product, string Line, string? Update, string Kind, string Name,
    string? Released, string? Kb, string? Note, string Source)
{
    /// <summary>True for a Security Update, hotfix, rollup or interim update (not a CU/RTM/SP base build).</summary>
    public bool IsUpdate => Kind is "su" or "hu" or "ru" or "interim";
}

/// <summary>How a CVE rule applies to a CU line, and what fixes it (a row of cve-fixes.tsv).</summary>
public enum FixKind
{
    /// <summary>An SU or RU for this line fixes it: open below <see cref="CveFixRule.MinFixed"/>.</summary>
    SecurityUpdate,
    /// <summary>Fixed from <see cref="CveFixRule.MinFixed"/> on (the CU ships the fix).</summary>
    CumulativeUpdate,
    /// <summary>No update exists for these CUs: the server must move to a CU that has one.</summary>
    NoFixForLine,
    /// <summary>The fix is a configuration change (e.g. Extended Protection); the build cannot tell.</summary>
    Configuration,
}

public enum LineMatch { Exact, AndLater, Before }

public sealed record CveFixRule(
    string Cve, string Wave, double Cvss, string Product, ExchangeBuild LineStart, LineMatch Match, string LineName,
    ExchangeBuild? MinFixed, string? FixName, string? FixKb, string? FixDate, FixKind Kind,
    string? InterimMitigation, string? Note, string Source)
{
    public bool AppliesTo(ExchangeBuild build)
    {
        var line = build.Line;
        return Match switch
        {
            LineMatch.Exact => line.SameLine(LineStart),
            LineMatch.AndLater => build.Major == LineStart.Major && build.Minor == LineStart.Minor && line >= LineStart.Line,
            LineMatch.Before => build.Major == LineStart.Major && build.Minor == LineStart.Minor && line < LineStart.Line,
            _ => false,
        };
    }

    /// <summary>"critical" from 9.0, "high" from 7.0, "medium" from 4.0 (CVSS 3.1 qualitative scale).</summary>
    public string Severity => Cvss >= 9 ? "critical" : Cvss >= 7 ? "high" : Cvss >= 4 ? "medium" : "low";

    public string LineText => Match switch
    {
        LineMatch.AndLater => ">=" + LineStart,
        LineMatch.Before => "<" + LineStart,
        _ => LineStart.ToString(),
    };
}

/// <summary>Support dates of one product (a row of lifecycle.tsv).</summary>
public sealed record ProductLifecycle(
    string Product, string Name, ExchangeBuild From, ExchangeBuild To, DateOnly? ExtendedEnd,
    DateOnly? EsuEnd, IReadOnlyList<ExchangeBuild> EsuLines, string MigrateTo, string Source, string? EsuEndText = null)
{
    public bool Contains(ExchangeBuild build) => build.Line >= From.Line && build.Line <= To.Line;

    /// <summary>Support status on a date: (supported, human text).</summary>
    public (bool Supported, string Status) SupportOn(DateOnly date, ExchangeBuild build)
    {
        if (ExtendedEnd is null) return (true, "supported (Modern Lifecycle: while kept current)");
        if (date <= ExtendedEnd) return (true, $"supported until {ExtendedEnd:yyyy-MM-dd}");
        if (EsuEnd is { } esu && date <= esu && EsuLines.Any(l => l.SameLine(build)))
            return (true, $"extended support ended {ExtendedEnd:yyyy-MM-dd}; covered by paid Extended Security Updates until {EsuEndText ?? esu.ToString("yyyy-MM-dd")}");
        var extra = EsuEnd is { } e ? $" (paid ESU for the last CUs ended {EsuEndText ?? e.ToString("yyyy-MM-dd")})" : "";
        return (false, $"out of support since {ExtendedEnd:yyyy-MM-dd}{extra}");
    }

    /// <summary>YYYY-MM-DD, or YYYY-MM meaning the last day of that month.</summary>
    internal static DateOnly? ParseDate(string text)
    {
        if (text.Length == 0) return null;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) return d;
        if (DateOnly.TryParseExact(text, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var m))
            return m.AddMonths(1).AddDays(-1);
        throw new FormatException($"bad date '{text}' (want YYYY-MM-DD or YYYY-MM)");
    }
}
