using Exir.Core.Findings;

namespace Exir.Reporting.Scan;

/// <summary>A host's patch status (data) in plain words, for the console and the HTML report.</summary>
public static class PatchStatusText
{
    public static IReadOnlyList<string> Lines(PatchStatus? p)
    {
        if (p is null) return [];
        if (p.Error is not null) return [$"Build not known: {p.Error}." + (p.ActionText.Length > 0 ? " " + p.ActionText : "")];
        var lines = new List<string>
        {
            $"{p.Product} {p.Cu}{(p.Su is null ? "" : ", " + p.Su)}: build {p.Build} from {p.Source} ({(p.Precision == "su" ? "exact build" : "CU level only: security updates are not visible in this source")})",
            p.OpenCves.Count == 0 ? "Open exploited CVEs: none known for this build." : $"Open exploited CVEs: {string.Join(", ", p.OpenCves)}.",
        };
        if (p.SupportStatus is not null) lines.Add($"Support: {p.SupportStatus}");
        lines.Add($"Action: {p.Action}: {p.ActionText}");
        lines.AddRange(p.Notes.Select(n => "Note: " + n));
        return lines;
    }
}
