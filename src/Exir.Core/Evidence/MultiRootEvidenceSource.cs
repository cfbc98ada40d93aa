using Exir.Core.Coverage;

namespace Exir.Core.Evidence;

/// <summary>
/// Several folders of one live server scanned as one evidence set. Each file's relative path keeps
/// the folder's full path (drive letter without the colon, e.g. "C/Program Files/Microsoft/..."),
/// so path-based rules see the same shape as on a mounted drive.
/// </summary>
public sealed class MultiRootEvidenceSource : IEvidenceSource
{
    private readonly IReadOnlyList<string> _roots;
    private readonly EvidenceLimits _limits;

    public MultiRootEvidenceSource(IEnumerable<string> roots, EvidenceLimits? limits = null)
    {
        // Drop folders inside other folders of the list, so no file is scanned twice.
        var full = roots.Select(r => Path.GetFullPath(r).TrimEnd('\\', '/')).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        _roots = full.Where(r => !full.Any(o => o != r && r.StartsWith(o + Path.DirectorySeparatorChar, StringComparison.OrdinalIgnoreCase))).ToList();
        _limits = limits ?? EvidenceLimits.Default;
    }

    public IReadOnlyList<string> Roots => _roots;
    public string Root => string.Join(";", _roots);
    public string Kind => "live";

    public IEnumerable<EvidenceFile> EnumerateFiles(CoverageReport coverage, CancellationToken cancellationToken = default)
    {
        foreach (var root in _roots)
        {
            if (!Directory.Exists(root))
            {
                coverage.AddIssue(IssueKind.Unreadable, root, "folder not found on this server");
                continue;
            }
            var prefix = Prefix(root);
            using var inner = new DirectoryEvidenceSource(root, _limits);
            foreach (var f in inner.EnumerateFiles(coverage, cancellationToken))
                yield return new EvidenceFile(prefix + "/" + f.RelativePath, f.Length, f.LastWriteUtc, f.OpenRead, f.PhysicalPath);
        }
    }

    /// <summary>"C:\Program Files\X" becomes "C/Program Files/X"; "/mnt/x" becomes "mnt/x".</summary>
    public static string Prefix(string root) => root.Replace(":", "").Replace('\\', '/').Trim('/');

    public void Dispose() { }
}
