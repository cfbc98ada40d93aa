using System.Text;
using System.Text.RegularExpressions;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Builds;

namespace Exir.Knowledge.Discovery;

/// <summary>A build found in evidence, with where it came from and how much it can tell.</summary>
public sealed record FoundBuild(ExchangeBuild Build, string BuildText, string Source, string Precision, string Path, int Occurrences);

/// <summary>
/// Finds the Exchange build in a collection or mounted drive, from the most precise source available:
/// ExSetup.exe's file version (the only local source that moves with Security Updates), then the OWA
/// version folders (ClientAccess/Owa/prem/&lt;build&gt;, FrontEnd/HttpProxy/owa/auth/&lt;build&gt;; CU level),
/// then the "#Version:" header of Exchange's own logs (CU level). Every distinct version is returned,
/// so a half-finished upgrade or a copy of several servers shows as mixed, not hidden.
/// </summary>
public static partial class BuildDiscovery
{
    public const string ExSetupSource = "ExSetup.exe file version";
    public const string OwaFolderSource = "OWA version folder";
    public const string LogHeaderSource = "Exchange log header";
    private const int LogHeadBytes = 2048;

    /// <summary>Enumerates the source once (its files count as seen in coverage) and returns every build found, best source first.</summary>
    public static IReadOnlyList<FoundBuild> FindInCollection(IEvidenceSource source, CoverageReport coverage, CancellationToken cancellationToken = default)
        => FindInFiles(source.EnumerateFiles(coverage, cancellationToken), coverage, cancellationToken);

    /// <summary>For callers that already enumerate the evidence: looks only at the files given (log heads are read again).</summary>
    public static IReadOnlyList<FoundBuild> FindInFiles(IEnumerable<EvidenceFile> files, CoverageReport coverage, CancellationToken cancellationToken = default) =>
        FindInFiles(files, null, coverage, cancellationToken);

    /// <summary>
    /// For the record pipeline, which has read every log's header already: the ExSetup.exe and OWA-folder files
    /// it noted, plus the "#Version:" values of the Exchange log headers it read (text and path).
    /// </summary>
    public static IReadOnlyList<FoundBuild> FindInFiles(IEnumerable<EvidenceFile> files, IEnumerable<(string Version, string Path)>? logVersions,
        CoverageReport coverage, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<(ExchangeBuild, string), FoundBuild>();
        void Add(ExchangeBuild b, string text, string source, string precision, string path)
        {
            var key = (b, source);
            found[key] = found.TryGetValue(key, out var f) ? f with { Occurrences = f.Occurrences + 1 } : new FoundBuild(b, text, source, precision, path, 1);
        }

        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (file.Name.Equals("ExSetup.exe", StringComparison.OrdinalIgnoreCase))
            {
                var v = ReadPe(file, coverage);
                if (v is not null)
                {
                    var b = new ExchangeBuild(v.Major, v.Minor, v.Build, v.Revision);
                    if (b.Major is 14 or 15) Add(b, v.FileVersionText ?? b.ToString(), ExSetupSource, Precision.Su, file.RelativePath);
                    else coverage.AddIssue(IssueKind.Malformed, file.RelativePath, $"ExSetup.exe version {v} is not an Exchange 2010+ build");
                }
                continue;
            }
            var owa = OwaFolder().Match(file.RelativePath);
            if (owa.Success && ExchangeBuild.TryParse(owa.Groups["build"].Value, out var ob))
                Add(ob, owa.Groups["build"].Value, OwaFolderSource, Precision.Cu, owa.Value.TrimEnd('/'));
            if (logVersions is null && file.Extension == ".log" && ReadLogVersion(file, coverage) is { } lv)
                Add(lv.Build, lv.Text, LogHeaderSource, Precision.Cu, file.RelativePath);
        }
        foreach (var (text, path) in logVersions ?? [])
        {
            // Some logs write a placeholder ("#Version: 15.0.0.0"): no build number, no information.
            if (ExchangeBuild.TryParse(text, out var lb) && lb.Build != 0 && lb.Major is 14 or 15)
                Add(lb, text, LogHeaderSource, Precision.Cu, path);
        }
        return found.Values
            .OrderBy(f => Rank(f))
            .ThenByDescending(f => f.Build)
            .ToList();
    }

    // ExSetup under the installed Bin folder beats one on setup media copied into the collection.
    private static int Rank(FoundBuild f) => f.Source switch
    {
        ExSetupSource => f.Path.Contains("/Bin/", StringComparison.OrdinalIgnoreCase) ? 0 : 1,
        OwaFolderSource => 2,
        _ => 3,
    };

    /// <summary>The build to assess: the best-ranked source; its newest version when that source shows several.</summary>
    public static FoundBuild? Best(IReadOnlyList<FoundBuild> found) => found.Count == 0 ? null : found[0];

    private static PeVersion? ReadPe(EvidenceFile file, CoverageReport coverage)
    {
        try
        {
            using var s = file.OpenRead();
            var v = PeVersionReader.Read(s, out var error);
            if (v is null) coverage.AddIssue(IssueKind.Malformed, file.RelativePath, "ExSetup.exe: " + error);
            return v;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            coverage.AddIssue(IssueKind.Unreadable, file.RelativePath, e.Message);
            return null;
        }
    }

    private static (ExchangeBuild Build, string Text)? ReadLogVersion(EvidenceFile file, CoverageReport coverage)
    {
        string head;
        try
        {
            using var s = file.OpenRead();
            var buf = new byte[LogHeadBytes];
            int n = s.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
            head = Encoding.UTF8.GetString(buf, 0, n);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            coverage.AddIssue(IssueKind.Unreadable, file.RelativePath, e.Message);
            return null;
        }
        // IIS writes "#Version: 1.0" (the W3C format version); only Exchange's own logs carry the build.
        if (!head.Contains("#Software: Microsoft Exchange", StringComparison.OrdinalIgnoreCase)) return null;
        var m = LogVersion().Match(head);
        if (!m.Success || !ExchangeBuild.TryParse(m.Groups["v"].Value, out var b)) return null;
        // Some logs write a placeholder ("#Version: 15.0.0.0"): no build number, no information.
        return b.Build == 0 ? null : (b, m.Groups["v"].Value);
    }

    [GeneratedRegex(@"(?:^|/)(?:ClientAccess/Owa/(?:prem/)?|FrontEnd/HttpProxy/owa/auth/)(?<build>1[45]\.\d{1,2}\.\d{1,5}\.\d{1,5})/", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex OwaFolder();

    [GeneratedRegex(@"^#Version:\s*(?<v>1[45]\.\d{1,2}\.\d{1,5}\.\d{1,5})\s*$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex LogVersion();
}
