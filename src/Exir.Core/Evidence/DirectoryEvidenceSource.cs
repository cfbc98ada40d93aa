using Exir.Core.Coverage;

namespace Exir.Core.Evidence;

/// <summary>
/// A folder (mounted drive, copy, triage collection). Symbolic links to folders are not followed,
/// so link loops cannot trap the walk; each is reported in coverage.
/// </summary>
public sealed class DirectoryEvidenceSource : IEvidenceSource
{
    private readonly string _root;
    private readonly EvidenceLimits _limits;

    public DirectoryEvidenceSource(string root, EvidenceLimits limits)
    {
        _root = Path.GetFullPath(root);
        _limits = limits;
    }

    public string Root => _root;
    public string Kind => "folder";

    public IEnumerable<EvidenceFile> EnumerateFiles(CoverageReport coverage, CancellationToken cancellationToken = default)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = false, IgnoreInaccessible = false, AttributesToSkip = 0,
            ReturnSpecialDirectories = false,
        };
        var stack = new Stack<(string Path, int Depth)>();
        stack.Push((_root, 0));
        while (stack.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (dir, depth) = stack.Pop();
            List<FileSystemInfo> entries;
            try
            {
                entries = new DirectoryInfo(dir).EnumerateFileSystemInfos("*", options).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
            {
                coverage.AddIssue(IssueKind.Unreadable, Relative(dir), e.Message);
                continue;
            }
            // Sorted so output order is stable across runs and file systems.
            entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            for (int i = entries.Count - 1; i >= 0; i--)
            {
                var entry = entries[i];
                if (entry is DirectoryInfo sub)
                {
                    if (sub.LinkTarget is not null)
                    {
                        coverage.AddIssue(IssueKind.LinkNotFollowed, Relative(sub.FullName), $"link to {sub.LinkTarget} not followed");
                        continue;
                    }
                    if (depth + 1 > _limits.MaxDepth)
                    {
                        coverage.AddIssue(IssueKind.TooLarge, Relative(sub.FullName), $"deeper than {_limits.MaxDepth} levels, not walked");
                        continue;
                    }
                    stack.Push((sub.FullName, depth + 1));
                }
            }
            foreach (var entry in entries)
            {
                if (entry is not FileInfo file) continue;
                coverage.FileSeen();
                FileInfo target = file;
                if (file.LinkTarget is not null)
                {
                    // A file link is read through its target, but a dangling or looping one is reported.
                    try
                    {
                        var resolved = file.ResolveLinkTarget(returnFinalTarget: true);
                        if (resolved is not FileInfo rf || !rf.Exists)
                        {
                            coverage.AddIssue(IssueKind.LinkNotFollowed, Relative(file.FullName), "link target missing or not a file");
                            continue;
                        }
                        target = rf;
                    }
                    catch (IOException e)
                    {
                        coverage.AddIssue(IssueKind.LinkNotFollowed, Relative(file.FullName), e.Message);
                        continue;
                    }
                }
                long length;
                DateTimeOffset? mtime;
                try
                {
                    length = target.Length;
                    mtime = new DateTimeOffset(target.LastWriteTimeUtc, TimeSpan.Zero);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    coverage.AddIssue(IssueKind.Unreadable, Relative(file.FullName), e.Message);
                    continue;
                }
                if (length == 0)
                {
                    // Also covers FIFOs and devices, which .NET reports as zero-length "Normal" files:
                    // opening a FIFO would block the scan forever.
                    coverage.AddIssue(IssueKind.SpecialOrEmptyFile, Relative(file.FullName), "empty or special file, not read");
                    continue;
                }
                var physical = target.FullName;
                yield return new EvidenceFile(Relative(file.FullName), length, mtime, () => EvidenceSource.OpenPhysical(physical), physical);
            }
        }
    }

    private string Relative(string full)
    {
        var rel = Path.GetRelativePath(_root, full);
        return rel == "." ? "." : rel.Replace('\\', '/');
    }

    public void Dispose() { }
}

/// <summary>A single file given as evidence (one log, one suspected shell).</summary>
public sealed class SingleFileEvidenceSource(string path) : IEvidenceSource
{
    private readonly string _path = Path.GetFullPath(path);
    public string Root => _path;
    public string Kind => "file";

    public IEnumerable<EvidenceFile> EnumerateFiles(CoverageReport coverage, CancellationToken cancellationToken = default)
    {
        var fi = new FileInfo(_path);
        coverage.FileSeen();
        if (fi.Length == 0)
        {
            coverage.AddIssue(IssueKind.SpecialOrEmptyFile, fi.Name, "empty or special file, not read");
            yield break;
        }
        yield return new EvidenceFile(fi.Name, fi.Length, new DateTimeOffset(fi.LastWriteTimeUtc, TimeSpan.Zero), () => EvidenceSource.OpenPhysical(_path), _path);
    }

    public void Dispose() { }
}
