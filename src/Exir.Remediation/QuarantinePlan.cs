using System.Text.Json;
using Exir.Core.Findings;

namespace Exir.Remediation;

/// <summary>One file to move and the finding that named it.</summary>
public sealed record QuarantineTarget(string Path, FindingReference? Finding);

/// <summary>
/// Which files a findings.jsonl asks to quarantine: whole-file findings that say a shell or malware is on disk
/// (outcome success; every whole-file finding with includeIndicators). Log-line findings name logs, not malware.
/// The evidence root the artifacts are relative to is --root, else the root summary.json beside the findings
/// file records for the finding's host, so the report's own next step works when pasted.
/// </summary>
public static class QuarantinePlan
{
    public static IReadOnlyList<QuarantineTarget> FromFindings(string findingsFile, string? root, bool includeIndicators, Action<string> problem)
    {
        var roots = root is null ? RootsFromSummary(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(findingsFile))!, "summary.json"), problem) : null;
        var targets = new List<QuarantineTarget>();
        foreach (var (f, line) in FindingJson.ReadLines(findingsFile, (where, why) => problem($"{where}: {why}, skipped")))
        {
            if (f.Line is not null) continue;
            if (f.Outcome != Outcome.Success && !includeIndicators) continue;
            if (f.Artifact.Length == 0) continue;
            if (f.Artifact.Contains("!/", StringComparison.Ordinal))
            {
                problem($"{f.Artifact}: inside an archive; quarantine takes files on the live file system");
                continue;
            }
            EvidenceRootRecord? r = root is not null ? new EvidenceRootRecord(Path.GetFullPath(root), "folder")
                : f.HostId is { } id && roots!.TryGetValue(id, out var found) ? found
                : roots!.Count == 1 ? roots.Values.First() : null;
            if (r is null)
            {
                problem($"{findingsFile}:{line}: no evidence root for {f.Artifact} (give --root, or keep summary.json beside the findings file)");
                continue;
            }
            var full = Resolve(r, f.Artifact);
            if (full is null)
            {
                problem($"{findingsFile}:{line}: artifact '{f.Artifact}' does not stay under the evidence root {r.Path}; refused");
                continue;
            }
            targets.Add(new QuarantineTarget(full, new FindingReference
            {
                RuleId = f.RuleId, Title = f.Title, Severity = f.Severity.ToWire(), Artifact = f.Artifact, Evidence = f.Evidence, FindingId = f.Id,
            }));
        }
        return targets;
    }

    /// <summary>An evidence root as summary.json records it.</summary>
    public sealed record EvidenceRootRecord(string Path, string Kind);

    /// <summary>host_id to evidence root, from a scan's summary.json; empty when there is none.</summary>
    public static IReadOnlyDictionary<string, EvidenceRootRecord> RootsFromSummary(string summaryPath, Action<string> problem)
    {
        var roots = new Dictionary<string, EvidenceRootRecord>(StringComparer.Ordinal);
        if (!File.Exists(summaryPath)) return roots;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(summaryPath));
            if (doc.RootElement.TryGetProperty("hosts", out var hosts) && hosts.ValueKind == JsonValueKind.Array)
                foreach (var h in hosts.EnumerateArray())
                {
                    if (h.TryGetProperty("host_id", out var id) && id.ValueKind == JsonValueKind.String &&
                        h.TryGetProperty("evidence", out var e) && e.TryGetProperty("root", out var root) && root.ValueKind == JsonValueKind.String)
                        roots[id.GetString()!] = new EvidenceRootRecord(root.GetString()!, e.TryGetProperty("kind", out var k) ? k.GetString() ?? "folder" : "folder");
                }
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            problem($"{summaryPath}: cannot read the evidence roots: {e.Message}");
        }
        return roots;
    }

    /// <summary>
    /// The file an artifact names, or null when it would leave the root: "../", absolute paths, and links in the folders on the
    /// way that lead out (the path is resolved through them and must still be under the resolved root). The last component is
    /// kept as named: a link there is refused when the file is opened, never followed.
    /// </summary>
    public static string? Resolve(EvidenceRootRecord root, string artifact)
    {
        var relative = artifact.Replace('/', Path.DirectorySeparatorChar);
        if (relative.Length == 0 || Path.IsPathRooted(relative) || relative.Contains('\0')) return null;
        string baseDir, full;
        if (root.Kind == "live")
        {
            // A live server's artifacts start with the drive letter without its colon: "C/inetpub/...".
            int slash = artifact.IndexOf('/');
            if (slash != 1 || !char.IsAsciiLetter(artifact[0])) return null;
            baseDir = artifact[0] + ":" + Path.DirectorySeparatorChar;
            full = Path.GetFullPath(Path.Combine(baseDir, artifact[2..].Replace('/', Path.DirectorySeparatorChar)));
        }
        else
        {
            baseDir = Path.GetFullPath(root.Path);
            full = Path.GetFullPath(Path.Combine(baseDir, relative));
        }
        if (!NoFollow.IsInside(full, baseDir) || NoFollow.SamePath(full, baseDir)) return null;
        var realRoot = NoFollow.Canonical(baseDir);
        var real = NoFollow.CanonicalParent(full);
        return NoFollow.IsInside(real, realRoot) && !NoFollow.SamePath(real, realRoot) ? real : null;
    }

    /// <summary>A path as quarantine takes it: absolute, with the links in its folders resolved (the last component kept as named).</summary>
    public static string RealPath(string path) => NoFollow.CanonicalParent(path);
}
