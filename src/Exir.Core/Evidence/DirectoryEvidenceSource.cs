using Exir.Core.Coverage;

namespace Exir.Core.Evidence;

/// <summary>
/// A folder (mounted drive, copy, triage collection). The tree is the intruder's, so the walk trusts none of it:
/// a link is followed only when its target, every link on the way resolved, stays inside the evidence (links to
/// folders never are: their targets are walked where they are, so no loop); links out of the tree, FIFOs,
/// devices and sockets are never opened, only named in the coverage. There is no depth limit (an explicit stack,
/// and a folder already walked, by device and inode, is not walked again). On Linux names are read and opened as
/// raw bytes (a name that is not UTF-8 is still read; its text shows U+FFFD), paths beyond PATH_MAX are opened
/// one folder at a time, and each file is opened without following links, without updating its access time,
/// and only if it is still the regular file the walk listed.
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

    public IEnumerable<EvidenceFile> EnumerateFiles(CoverageReport coverage, CancellationToken cancellationToken = default) =>
        NativeFile.IsNative ? NativeWalk(coverage, cancellationToken) : ManagedWalk(coverage, cancellationToken);

    private EvidenceException RootUnreadable(string why) => new($"cannot read the evidence folder {_root}: {why}");

    /// <summary>Throws <see cref="EvidenceException"/> with the reason when the folder cannot be listed (so the run stops before it starts).</summary>
    public void EnsureReadable()
    {
        if (NativeFile.IsNative)
        {
            var bytes = NativeFile.RealPath(NativeFile.Bytes(_root), out int errno) ?? throw RootUnreadable(NativeFile.Message(errno));
            int fd = NativeFile.OpenDirectory(NativeFile.AT_FDCWD, bytes, followLinks: true, out errno);
            if (fd < 0) throw RootUnreadable(NativeFile.Message(errno));
            NativeFile.Close(fd);
            return;
        }
        try { using var e = Directory.EnumerateFileSystemEntries(_root).GetEnumerator(); e.MoveNext(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException) { throw RootUnreadable(e.Message); }
    }

    // ---- Linux --------------------------------------------------------------------------------------------

    private sealed record PendingDir(string Relative, byte[] RelativeBytes, FileStat Stat);

    private readonly record struct Entry(byte[] Name, string Text, FileStat Stat, int Errno);

    private IEnumerable<EvidenceFile> NativeWalk(CoverageReport coverage, CancellationToken cancellationToken)
    {
        var rootBytes = NativeFile.RealPath(NativeFile.Bytes(_root), out int errno) ?? throw RootUnreadable(NativeFile.Message(errno));
        int rootFd = NativeFile.OpenDirectory(NativeFile.AT_FDCWD, rootBytes, followLinks: true, out errno);
        if (rootFd < 0) throw RootUnreadable(NativeFile.Message(errno));
        try
        {
            var rootStat = NativeFile.StatFd(rootFd, out _);
            var walked = new HashSet<(ulong, ulong)> { (rootStat.Device, rootStat.Inode) };
            var pending = new Stack<PendingDir>();
            pending.Push(new PendingDir("", [], rootStat));
            var entries = new List<Entry>();
            while (pending.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var dir = pending.Pop();
                bool isRoot = dir.RelativeBytes.Length == 0;
                entries.Clear();
                int fd = isRoot ? NativeFile.OpenDirectoryBelow(rootFd, default, out errno) : OpenListedDirectory(rootBytes, rootFd, dir, out errno);
                if (fd < 0)
                {
                    if (isRoot) throw RootUnreadable(NativeFile.Message(errno));
                    coverage.AddIssue(IssueKind.Unreadable, dir.Relative, errno == 0 ? "replaced since it was listed: not walked" : NativeFile.Message(errno));
                    continue;
                }
                bool listed;
                try
                {
                    listed = NativeFile.List(fd, name =>
                    {
                        var st = NativeFile.StatAt(fd, name, followLinks: false, out int e);
                        entries.Add(new Entry(name.ToArray(), NativeFile.Text(name), st, e));
                    }, out errno);
                }
                finally { NativeFile.Close(fd); }
                if (!listed)
                {
                    if (isRoot) throw RootUnreadable(NativeFile.Message(errno));
                    coverage.AddIssue(IssueKind.Unreadable, dir.Relative, $"folder listing failed: {NativeFile.Message(errno)}");
                }
                // Sorted so output order is stable across runs and file systems (raw bytes break ties of U+FFFD names).
                entries.Sort((a, b) =>
                {
                    int c = string.CompareOrdinal(a.Text, b.Text);
                    return c != 0 ? c : a.Name.AsSpan().SequenceCompareTo(b.Name);
                });
                for (int i = entries.Count - 1; i >= 0; i--)
                {
                    var e = entries[i];
                    if (e.Stat.Kind != EntryKind.Directory) continue;
                    var rel = Join(dir, e);
                    if (!walked.Add((e.Stat.Device, e.Stat.Inode)))
                    {
                        coverage.AddIssue(IssueKind.LinkNotFollowed, rel.Text, "the same folder as one already walked (a bind mount or folder hard link): not walked again");
                        continue;
                    }
                    pending.Push(new PendingDir(rel.Text, rel.Bytes, e.Stat));
                }
                foreach (var e in entries)
                {
                    if (e.Stat.Kind == EntryKind.Directory) continue;
                    var rel = Join(dir, e);
                    var file = NativeEntry(rootBytes, rel.Text, rel.Bytes, e, coverage);
                    if (file is not null) yield return file;
                }
            }
        }
        finally { NativeFile.Close(rootFd); }
    }

    private static (string Text, byte[] Bytes) Join(PendingDir dir, Entry e)
    {
        if (dir.RelativeBytes.Length == 0) return (e.Text, e.Name);
        var bytes = new byte[dir.RelativeBytes.Length + 1 + e.Name.Length];
        dir.RelativeBytes.CopyTo(bytes, 0);
        bytes[dir.RelativeBytes.Length] = (byte)'/';
        e.Name.CopyTo(bytes, dir.RelativeBytes.Length + 1);
        return (dir.Relative + "/" + e.Text, bytes);
    }

    private static byte[] Under(byte[] rootBytes, byte[] relative)
    {
        if (rootBytes is [(byte)'/']) return [(byte)'/', .. relative];
        return [.. rootBytes, (byte)'/', .. relative];
    }

    /// <summary>Opens a folder the walk listed, by path and never through a link; -1 (errno 0) when it is no longer the folder listed.</summary>
    private static int OpenListedDirectory(byte[] rootBytes, int rootFd, PendingDir dir, out int errno)
    {
        var full = Under(rootBytes, dir.RelativeBytes);
        int fd = full.Length <= NativeFile.MaxPathBytes
            ? NativeFile.OpenDirectory(NativeFile.AT_FDCWD, full, followLinks: false, out errno)
            : NativeFile.OpenDirectoryBelow(rootFd, dir.RelativeBytes, out errno);
        if (fd < 0) return fd;
        if (!NativeFile.StatFd(fd, out _).SameFileAs(dir.Stat))
        {
            NativeFile.Close(fd);
            errno = 0;
            return -1;
        }
        return fd;
    }

    private EvidenceFile? NativeEntry(byte[] rootBytes, string rel, byte[] relBytes, Entry e, CoverageReport coverage)
    {
        var st = e.Stat;
        if (st.Kind == EntryKind.Symlink) return NativeLink(rootBytes, rel, relBytes, coverage);
        coverage.FileSeen();
        switch (st.Kind)
        {
            case EntryKind.Missing:
                coverage.AddIssue(IssueKind.Unreadable, rel, NativeFile.Message(e.Errno));
                return null;
            case EntryKind.Regular when st.Length == 0:
                coverage.AddIssue(IssueKind.SpecialOrEmptyFile, rel, "empty file, not read");
                return null;
            case EntryKind.Regular:
                var physical = Path.Combine(_root, rel);
                return new EvidenceFile(rel, st.Length, st.LastWriteUtc, () => OpenListed(rootBytes, relBytes, st, physical), physical);
            default:
                // Opening a FIFO blocks, a device never ends: named, never opened.
                coverage.AddIssue(IssueKind.SpecialOrEmptyFile, rel, $"{NativeFile.Describe(st.Kind)}, not read");
                return null;
        }
    }

    /// <summary>A link: followed only to a regular file inside the evidence, every link on the way resolved.</summary>
    private EvidenceFile? NativeLink(byte[] rootBytes, string rel, byte[] relBytes, CoverageReport coverage)
    {
        var full = Under(rootBytes, relBytes);
        int errno = 0;
        var real = full.Length <= NativeFile.MaxPathBytes ? NativeFile.RealPath(full, out errno) : null;
        if (real is null)
        {
            coverage.FileSeen();
            var why = full.Length > NativeFile.MaxPathBytes ? "too deep to resolve" : $"target missing or a loop: {NativeFile.Message(errno)}";
            coverage.AddIssue(IssueKind.LinkNotFollowed, rel, $"link not followed ({why})");
            return null;
        }
        var target = NativeFile.StatAt(NativeFile.AT_FDCWD, real, followLinks: false, out _);
        bool inside = IsUnder(real, rootBytes);
        var shown = NativeFile.Text(real);
        if (target.Kind == EntryKind.Directory)
        {
            coverage.AddIssue(IssueKind.LinkNotFollowed, rel, inside
                ? "link to a folder inside the evidence (walked where it is): not followed"
                : $"link to the folder {shown}, outside the evidence: not followed");
            return null;
        }
        coverage.FileSeen();
        if (!inside)
        {
            coverage.AddIssue(IssueKind.LinkNotFollowed, rel, $"link to {shown}, outside the evidence: not read");
            return null;
        }
        if (target.Kind != EntryKind.Regular || target.Length == 0)
        {
            coverage.AddIssue(IssueKind.SpecialOrEmptyFile, rel, target.Kind == EntryKind.Regular ? "link to an empty file, not read" : $"link to a {NativeFile.Describe(target.Kind)}, not read");
            return null;
        }
        return new EvidenceFile(rel, target.Length, target.LastWriteUtc,
            () => new FileStream(NativeFile.OpenChecked(real, follow: false, target, rel), FileAccess.Read, bufferSize: 0), shown);
    }

    private static bool IsUnder(byte[] path, byte[] root)
    {
        if (root is [(byte)'/']) return true;
        if (!path.AsSpan().StartsWith(root)) return false;
        return path.Length == root.Length || path[root.Length] == (byte)'/';
    }

    /// <summary>Opens a listed file by its raw path, never through a link, and only if it is still the file listed.</summary>
    private static Stream OpenListed(byte[] rootBytes, byte[] relBytes, FileStat listed, string shown)
    {
        var full = Under(rootBytes, relBytes);
        if (full.Length <= NativeFile.MaxPathBytes)
            return new FileStream(NativeFile.OpenChecked(full, follow: false, listed, shown), FileAccess.Read, bufferSize: 0);
        int rootFd = NativeFile.OpenDirectory(NativeFile.AT_FDCWD, rootBytes, followLinks: false, out int errno);
        if (rootFd < 0) throw NativeFile.Error(errno, shown);
        try
        {
            return new FileStream(NativeFile.OpenChecked(full, follow: false, listed, shown, rootFd, relBytes), FileAccess.Read, bufferSize: 0);
        }
        finally { NativeFile.Close(rootFd); }
    }

    // ---- Elsewhere (Windows, macOS): the managed walk --------------------------------------------------------

    private IEnumerable<EvidenceFile> ManagedWalk(CoverageReport coverage, CancellationToken cancellationToken)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = false, IgnoreInaccessible = false, AttributesToSkip = 0,
            ReturnSpecialDirectories = false,
        };
        string realRoot;
        try { realRoot = OutputFolder.RealPath(_root); }
        catch (EvidenceException e) { throw RootUnreadable(e.Message); }
        var stack = new Stack<string>();
        stack.Push(_root);
        while (stack.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var dir = stack.Pop();
            List<FileSystemInfo> entries;
            try
            {
                entries = new DirectoryInfo(dir).EnumerateFileSystemInfos("*", options).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
            {
                if (dir == _root) throw RootUnreadable(e.Message);
                coverage.AddIssue(IssueKind.Unreadable, Relative(dir), e.Message);
                continue;
            }
            // Sorted so output order is stable across runs and file systems.
            entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            for (int i = entries.Count - 1; i >= 0; i--)
            {
                if (entries[i] is not DirectoryInfo sub) continue;
                if (sub.LinkTarget is not null)
                {
                    coverage.AddIssue(IssueKind.LinkNotFollowed, Relative(sub.FullName), $"link to the folder {sub.LinkTarget}: not followed");
                    continue;
                }
                stack.Push(sub.FullName);
            }
            foreach (var entry in entries)
            {
                if (entry is not FileInfo file) continue;
                coverage.FileSeen();
                var rel = Relative(file.FullName);
                var physical = file.FullName;
                if (file.LinkTarget is not null)
                {
                    try { physical = OutputFolder.RealPath(file.FullName); }
                    catch (EvidenceException e)
                    {
                        coverage.AddIssue(IssueKind.LinkNotFollowed, rel, $"link not followed ({e.Message})");
                        continue;
                    }
                    if (!OutputFolder.IsInside(physical, realRoot))
                    {
                        coverage.AddIssue(IssueKind.LinkNotFollowed, rel, $"link to {physical}, outside the evidence: not read");
                        continue;
                    }
                }
                var st = NativeFile.ManagedStat(physical, followLinks: false);
                if (st.Kind != EntryKind.Regular || st.Length == 0)
                {
                    // A FIFO or device shows as an empty file here: opening it would block the scan forever.
                    var what = st.Kind switch
                    {
                        EntryKind.Missing => "link target missing",
                        EntryKind.Regular => "empty or special file",
                        _ => NativeFile.Describe(st.Kind),
                    };
                    coverage.AddIssue(st.Kind == EntryKind.Missing ? IssueKind.LinkNotFollowed : IssueKind.SpecialOrEmptyFile, rel, $"{what}, not read");
                    continue;
                }
                yield return new EvidenceFile(rel, st.Length, st.LastWriteUtc, () => NativeFile.ManagedOpen(physical), physical);
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
        var name = Path.GetFileName(_path);
        var st = NativeFile.Stat(_path, followLinks: true);
        coverage.FileSeen();
        if (st.Kind != EntryKind.Regular || st.Length == 0)
        {
            coverage.AddIssue(st.Kind == EntryKind.Missing ? IssueKind.Unreadable : IssueKind.SpecialOrEmptyFile, name,
                st.Kind == EntryKind.Regular ? "empty file, not read" : $"{NativeFile.Describe(st.Kind)}, not read");
            yield break;
        }
        yield return new EvidenceFile(name, st.Length, st.LastWriteUtc, () => NativeFile.OpenRegular(_path), _path);
    }

    public void Dispose() { }
}
