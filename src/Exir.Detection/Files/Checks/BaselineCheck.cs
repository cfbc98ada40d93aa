using System.Globalization;
using Exir.Core.Coverage;

namespace Exir.Detection.Files.Checks;

/// <summary>
/// Comparison with a known-good baseline of the same exact build (--baseline): web files added or changed.
/// Refused, with the reason in the coverage, when the scanned server's exact build is unknown or differs.
/// </summary>
public sealed class BaselineCheck(FileHuntRules rules, WebBaseline? baseline, string? baselineError, bool asked, BuildHints build) : IFileCheck
{
    public const string CheckName = "web baseline comparison";

    public void Inspect(FileUnderTest file, FileHuntReport report)
    {
        if (baseline is null) return;
        if (WebPaths.IsBaselined(file.Path, rules.ScriptExtensions) && WebPaths.AnchorKey(file.Path) is { } anchor)
            report.State.BaselineCandidates.Add((anchor, file.File, file.Sha256));
    }

    public void CompleteRoot(FileHuntReport report)
    {
        if (!asked) return;
        var context = report.Context;
        if (baselineError is not null || baseline is null)
        {
            context.Coverage.CheckNotRun(CheckName, baselineError ?? "baseline not loaded");
            return;
        }
        var (exact, anyBuild) = build.InstalledBuild(context);
        var exactBuild = exact ? anyBuild : null;
        var refusal = exactBuild is null
            ? $"the scanned server's exact build (with the Security Update) is unknown{(anyBuild is null ? "" : $": only {anyBuild} is known, which does not show the SU")}; the baseline is for {baseline.Build}. Include Bin/ExSetup.exe in the evidence"
            : baseline.RefusalFor(exactBuild);
        if (refusal is not null)
        {
            context.Coverage.CheckNotRun(CheckName, "refused: " + refusal);
            return;
        }
        foreach (var (anchor, file, sha) in report.State.BaselineCandidates.OrderBy(c => c.Anchor, StringComparer.Ordinal))
        {
            var d = FileHuntReport.BaseDetails(file, sha, sha is not null);
            d["baseline_build"] = baseline.Build;
            if (!baseline.Files.TryGetValue(WebBaseline.Key(anchor), out var known))
            {
                report.Report(rules.BaselineAdded, file, $"'{anchor}' is not in the baseline of build {baseline.Build}", d, markReported: false);
                continue;
            }
            if (sha is null)
            {
                context.Coverage.AddIssue(IssueKind.TooLarge, file.RelativePath, "larger than the per-file cap: not compared with the baseline");
                continue;
            }
            if (!sha.Equals(known.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                d["baseline_sha256"] = known.Sha256;
                d["baseline_size"] = known.Size.ToString(CultureInfo.InvariantCulture);
                report.Report(rules.BaselineChanged, file,
                    $"'{anchor}' differs from the baseline of build {baseline.Build} (size {file.Length} vs {known.Size})", d, markReported: false);
            }
        }
    }
}
