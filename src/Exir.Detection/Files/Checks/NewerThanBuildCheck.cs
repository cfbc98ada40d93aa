using System.Globalization;
using Exir.Knowledge;

namespace Exir.Detection.Files.Checks;

/// <summary>
/// Scripts in Exchange's own web folders modified after the installed build was released: Exchange does
/// not change its pages between updates, an attacker does. The build comes from the evidence (ExSetup.exe
/// to the SU, else OWA folders or log headers to the CU), the release date from the knowledge base.
/// </summary>
public sealed class NewerThanBuildCheck(FileHuntRules rules, BuildHints build, string? knowledgeDirectory) : IFileCheck
{
    public const string CheckName = "web files newer than the installed build";

    public void Inspect(FileUnderTest file, FileHuntReport report)
    {
        if (file.IsScript && (WebPaths.ContainsSegments(file.Path, "FrontEnd/HttpProxy") || WebPaths.ContainsSegments(file.Path, "ClientAccess")))
            report.State.ExchangeScripts.Add((file.File, file.Sha256));
    }

    public void CompleteRoot(FileHuntReport report)
    {
        var state = report.State;
        var context = report.Context;
        if (state.ExchangeScripts.IsEmpty) return;
        var (exact, buildText) = build.InstalledBuild(context);
        DateTimeOffset? released = null;
        string? releaseName = null;
        if (buildText is not null && Exir.Knowledge.Builds.ExchangeBuild.TryParse(buildText, out var b))
        {
            try
            {
                var knowledge = ExchangeKnowledge.Load(knowledgeDirectory);
                // Without the SU-exact build, later SUs of the line may have replaced pages: compare with the
                // newest release of the line, or every SU-updated page would be reported.
                var rel = exact ? knowledge.Find(b) : knowledge.LatestInLine(b) ?? knowledge.Find(b);
                if (rel?.Released is { } text && DateOnly.TryParse(text, CultureInfo.InvariantCulture, out var day))
                {
                    released = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
                    releaseName = $"{rel.Name} ({rel.Build})";
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException or FormatException)
            {
                context.Coverage.CheckNotRun(CheckName, $"build knowledge not readable: {e.Message}");
                return;
            }
        }
        if (released is null)
        {
            context.Coverage.CheckNotRun(CheckName, buildText is null ? "the Exchange build is not known from the evidence" : $"no release date known for build {buildText}");
            return;
        }
        var limit = released.Value.AddDays(rules.NewerThanBuildSlackDays);
        foreach (var (file, sha) in state.ExchangeScripts)
        {
            if (file.LastWriteUtc is not { } mtime || mtime <= limit) continue;
            if (state.Reported.ContainsKey(file.RelativePath)) continue;
            var d = FileHuntReport.BaseDetails(file, sha, true);
            d["installed_build"] = buildText!;
            d["build_released_utc"] = released.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            d["compared_with_release"] = releaseName ?? buildText!;
            d["build_precision"] = exact ? "exact (ExSetup.exe)" : "CU only: compared with the newest release of the line";
            // Without the exact build the page is compared with the newest release of the line: name that release.
            report.Report(rules.NewerThanBuild, file,
                $"modified {mtime.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z, after {(exact ? $"build {buildText}" : releaseName ?? $"build {buildText}")} was released ({released:yyyy-MM-dd})", d, markReported: false);
        }
    }
}
