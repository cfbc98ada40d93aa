using System.IO.Compression;
using Exir.Core.Coverage;

namespace Exir.Core.Evidence;

/// <summary>
/// A .zip collection read in place: members are decompressed as streams, never extracted to disk.
/// Member names are data: "../" or absolute names are reported and shown sanitised, and members
/// whose declared size or compression ratio looks like a bomb are skipped.
/// </summary>
public sealed class ZipEvidenceSource : IEvidenceSource
{
    private readonly string _path;
    private readonly EvidenceLimits _limits;
    // ZipArchive is not thread-safe; each scanning thread gets its own reader over the same file.
    private readonly ThreadLocal<ZipArchive> _archives;

    public ZipEvidenceSource(string path, EvidenceLimits limits)
    {
        _path = Path.GetFullPath(path);
        _limits = limits;
        _archives = new ThreadLocal<ZipArchive>(() => new ZipArchive(EvidenceSource.OpenPhysical(_path), ZipArchiveMode.Read, leaveOpen: false), trackAllValues: true);
    }

    public string Root => _path;
    public string Kind => "zip";

    public IEnumerable<EvidenceFile> EnumerateFiles(CoverageReport coverage, CancellationToken cancellationToken = default)
    {
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(EvidenceSource.OpenPhysical(_path), ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new EvidenceException($"cannot read zip {_path}: {e.Message}");
        }
        using (archive)
        {
            var prefix = Path.GetFileName(_path) + "!/";
            for (int index = 0; index < archive.Entries.Count; index++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var entry = archive.Entries[index];
                if (entry.FullName.EndsWith('/') || entry.FullName.EndsWith('\\')) continue;
                coverage.FileSeen();
                var name = SanitiseName(entry.FullName, out bool unsafeName);
                var rel = prefix + name;
                if (unsafeName) coverage.AddIssue(IssueKind.UnsafeArchivePath, rel, $"member name '{entry.FullName}' escapes the archive root; read in place under a sanitised name");
                if (entry.Length == 0)
                {
                    coverage.AddIssue(IssueKind.SpecialOrEmptyFile, rel, "empty member, not read");
                    continue;
                }
                if (entry.Length > _limits.MaxArchiveMemberBytes)
                {
                    coverage.AddIssue(IssueKind.ArchiveBomb, rel, $"declared size {entry.Length:N0} bytes exceeds the limit {_limits.MaxArchiveMemberBytes:N0}; skipped");
                    continue;
                }
                if (entry.Length >= _limits.RatioCheckFromBytes && entry.CompressedLength > 0 &&
                    (double)entry.Length / entry.CompressedLength > _limits.MaxCompressionRatio)
                {
                    coverage.AddIssue(IssueKind.ArchiveBomb, rel, $"compression ratio {(double)entry.Length / entry.CompressedLength:F0}:1 looks like a zip bomb; skipped");
                    continue;
                }
                int captured = index;
                long declared = entry.Length;
                yield return new EvidenceFile(rel, entry.Length, entry.LastWriteTime.ToUniversalTime(), () =>
                {
                    // The declared size can lie; the stream stops at it so a lying member cannot grow unbounded.
                    var e = _archives.Value!.Entries[captured];
                    return new BoundedReadStream(e.Open(), declared);
                });
            }
        }
    }

    internal static string SanitiseName(string name, out bool unsafeName)
    {
        var n = name.Replace('\\', '/');
        unsafeName = n.StartsWith('/') || (n.Length > 1 && n[1] == ':');
        var parts = new List<string>();
        foreach (var part in n.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..") { unsafeName = true; continue; }
            if (part.EndsWith(':')) { unsafeName = true; continue; }
            parts.Add(part);
        }
        return parts.Count == 0 ? "_" : string.Join('/', parts);
    }

    public void Dispose()
    {
        foreach (var a in _archives.Values) a.Dispose();
        _archives.Dispose();
    }
}

/// <summary>Read-only stream that ends after a fixed number of bytes.</summary>
public sealed class BoundedReadStream(Stream inner, long limit) : Stream
{
    private readonly long _limit = limit;
    private long _remaining = limit;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _limit;
    public override long Position { get => _limit - _remaining; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        if (_remaining <= 0) return 0;
        if (buffer.Length > _remaining) buffer = buffer[..(int)_remaining];
        int n = inner.Read(buffer);
        _remaining -= n;
        return n;
    }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
}
