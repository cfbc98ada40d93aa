using System.Collections.Concurrent;
using System.IO.Compression;
using Exir.Core.Coverage;
using Microsoft.Win32.SafeHandles;

namespace Exir.Core.Evidence;

/// <summary>
/// A .zip collection read in place: members are decompressed as streams, never extracted to disk.
/// The central directory is the intruder's claim, so it is checked before anything is read:
/// members whose data overlaps another's (a flat or overlapping zip bomb names one data stream many
/// times) are refused, entries past <see cref="ArchiveLimits.MaxEntries"/> are counted, a member is read
/// up to its declared size and never past <see cref="ArchiveLimits.MaxMemberBytes"/>, a member claiming
/// more than <see cref="ArchiveLimits.MaxRatio"/>:1 only up to <see cref="ArchiveLimits.RatioMemberBytes"/>,
/// and the bytes decompressed are budgeted per archive and per scan. All of it is named in the coverage.
/// Member names are data: "../" or absolute names are reported and shown sanitised.
/// One open file serves every worker: members are read at their offsets (no reader object per thread).
/// </summary>
public sealed class ZipEvidenceSource : IEvidenceSource
{
    private readonly string _path;
    private readonly string _name;
    private readonly FileStream _stream;   // owns _file
    private readonly SafeFileHandle _file;
    private ArchiveLimits _limits = ArchiveLimits.Default;
    private DecompressionBudget _scanBudget = new(ArchiveLimits.Default.MaxScanBytes);
    private long _archiveUsed;
    private int _archiveSpentReported, _scanSpentReported;
    private readonly ConcurrentDictionary<int, byte> _noted = new();

    public ZipEvidenceSource(string path, EvidenceLimits limits)
    {
        _path = Path.GetFullPath(path);
        _name = Path.GetFileName(_path);
        // Only a regular file (a FIFO named x.zip must not block the run), read without touching its access time.
        try { _stream = (FileStream)NativeFile.OpenRegular(_path); _file = _stream.SafeFileHandle; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EvidenceException($"cannot read zip {_path}: {e.Message}");
        }
        Limits = limits.Archives;
    }

    public string Root => _path;
    public string Kind => "zip";

    /// <summary>The bounds in force; a scan sets them from rules/scan.yaml, with one budget shared by all its archives.</summary>
    public ArchiveLimits Limits
    {
        get => _limits;
        set
        {
            _limits = value;
            _scanBudget = value.ScanBudget ?? new DecompressionBudget(value.MaxScanBytes);
        }
    }

    public IEnumerable<EvidenceFile> EnumerateFiles(CoverageReport coverage, CancellationToken cancellationToken = default)
    {
        ZipCentralDirectory directory;
        try { directory = ZipCentralDirectory.Locate(_file); }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new EvidenceException($"cannot read zip {_path}: {e.Message}");
        }
        var limits = _limits;
        var layout = Layout(directory, limits, cancellationToken);

        // The archive is named as partly read before its members, so the note is listed however many follow.
        var parts = new List<string>();
        if (layout.Overlapping > 0) parts.Add($"{layout.Overlapping:N0} member(s) refused because their data overlaps another member's");
        if (layout.Outside > 0) parts.Add($"{layout.Outside:N0} member(s) refused because their data lies outside the archive");
        if (layout.Beyond > 0) parts.Add($"{layout.Beyond:N0} entries past the limit of {limits.MaxEntries:N0} per archive not read");
        if (layout.NotRead > 0) parts.Add($"{layout.NotRead:N0} encrypted or unsupported member(s) not read");
        if (layout.Damage is { } d) parts.Add(d);
        if (parts.Count > 0)
            coverage.AddIssue(layout.Overlapping + layout.Outside + layout.Beyond > 0 ? IssueKind.ArchiveBomb : IssueKind.Truncated, _name, "archive partly read: " + string.Join("; ", parts));

        var prefix = _name + "!/";
        long refused = 0;
        foreach (var record in directory.Records(_file, _ => { }))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (record.Index >= layout.Refusal.Length) break;
            if (record.IsDirectory) continue;
            coverage.FileSeen();
            var name = SanitiseName(record.Name, out bool unsafeName);
            var rel = prefix + name;
            if (unsafeName) coverage.AddIssue(IssueKind.UnsafeArchivePath, rel, $"member name '{record.Name}' escapes the archive root; read in place under a sanitised name");
            var refusal = layout.Refusal[record.Index];
            if (refusal != Refusal.None)
            {
                // Every refusal is counted; the first ones are listed (a flat bomb has 65,000 of them).
                if (++refused > MaxRefusalsListed) coverage.CountIssue(IssueKind.ArchiveBomb);
                else if (refusal == Refusal.Overlaps)
                    coverage.AddIssue(IssueKind.ArchiveBomb, rel, $"data overlaps another member's (local header at byte {record.LocalHeaderOffset:N0}); refused: a zip bomb names one data stream many times");
                else
                    coverage.AddIssue(IssueKind.ArchiveBomb, rel, "data lies outside the archive's members (past the central directory); refused");
                continue;
            }
            if (record.Encrypted || record.Method is not (0 or 8))
            {
                coverage.AddIssue(IssueKind.Unreadable, rel, record.Encrypted ? "encrypted member, not read" : $"compression method {record.Method} not supported, not read");
                continue;
            }
            if (record.UncompressedSize == 0)
            {
                coverage.AddIssue(IssueKind.SpecialOrEmptyFile, rel, "empty member, not read");
                continue;
            }
            long length = Math.Min(record.UncompressedSize, limits.MaxMemberBytes);
            double ratio = (double)record.UncompressedSize / Math.Max(1, record.CompressedSize);
            if (record.Method == 8 && record.UncompressedSize >= limits.RatioCheckFromBytes && ratio > limits.MaxRatio)
            {
                length = Math.Min(length, limits.RatioMemberBytes);
                coverage.AddIssue(IssueKind.ArchiveBomb, rel, $"claims {ratio:N0}:1 expansion ({record.UncompressedSize:N0} bytes from {record.CompressedSize:N0}), past the {limits.MaxRatio:N0}:1 limit: only the first {length:N0} bytes read");
            }
            else if (record.UncompressedSize > limits.MaxMemberBytes)
                coverage.AddIssue(IssueKind.TooLarge, rel, $"declared size {record.UncompressedSize:N0} bytes exceeds the per-member limit: only the first {length:N0} bytes read");

            var member = new Member(record.Index, record.Method, record.LocalHeaderOffset, record.CompressedSize, layout.SlotEnd[record.Index], length, rel, coverage);
            yield return new EvidenceFile(rel, length, record.LastWriteUtc, () => Open(member));
        }
    }

    /// <summary>Refused members listed one by one per archive; past this they are counted only.</summary>
    private const int MaxRefusalsListed = 200;

    private enum Refusal : byte { None, Overlaps, Outside }

    private sealed record LayoutResult(Refusal[] Refusal, long[] SlotEnd, long Overlapping, long Outside, long Beyond, long NotRead, string? Damage);

    /// <summary>
    /// First pass over the directory: each member's least extent (local header, name, data) sorted by offset.
    /// A member starting inside an earlier one is refused; each kept member may use the bytes up to the next kept
    /// member (its "slot"), which bounds what its local header may claim when it is read.
    /// </summary>
    private LayoutResult Layout(ZipCentralDirectory directory, ArchiveLimits limits, CancellationToken cancellationToken)
    {
        var spans = new List<(long Start, long End, int Index)>();
        var isFile = new List<bool>();
        long total = 0, notRead = 0;
        string? damage = null;
        foreach (var r in directory.Records(_file, d => damage = d))
        {
            cancellationToken.ThrowIfCancellationRequested();
            total++;
            if (r.Index >= limits.MaxEntries) continue;
            spans.Add((r.LocalHeaderOffset, r.MinimalEnd(directory.Offset), r.Index));
            isFile.Add(!r.IsDirectory);
            if (!r.IsDirectory && (r.Encrypted || r.Method is not (0 or 8))) notRead++;
        }
        var refusal = new Refusal[spans.Count];
        var slotEnd = new long[spans.Count];
        spans.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Index.CompareTo(b.Index));
        long keptEnd = 0, overlapping = 0, outside = 0;
        int previous = -1;
        foreach (var (start, end, index) in spans)
        {
            if (start >= 0 && start < keptEnd) { refusal[index] = Refusal.Overlaps; if (isFile[index]) overlapping++; }
            else if (start < 0 || end > directory.Offset) { refusal[index] = Refusal.Outside; if (isFile[index]) outside++; }
            else
            {
                if (previous >= 0) slotEnd[previous] = start;
                previous = index;
                keptEnd = end;
            }
        }
        if (previous >= 0) slotEnd[previous] = directory.Offset;
        return new LayoutResult(refusal, slotEnd, overlapping, outside, Math.Max(0, total - limits.MaxEntries), notRead, damage);
    }

    private sealed record Member(int Index, ushort Method, long LocalHeaderOffset, long CompressedSize, long SlotEnd, long Length, string Path, CoverageReport Coverage);

    private Stream Open(Member m)
    {
        EnsureBudget(m.Coverage);
        long dataStart = ZipCentralDirectory.DataStart(_file, m.LocalHeaderOffset);
        if (dataStart > m.SlotEnd || m.CompressedSize > m.SlotEnd - dataStart)
        {
            if (_noted.TryAdd(m.Index, 0))
                m.Coverage.AddIssue(IssueKind.ArchiveBomb, m.Path, "local header puts the data over the next member's; refused");
            throw new InvalidDataException("member data overlaps the next member; refused");
        }
        var raw = new FileRangeStream(_file, dataStart, m.CompressedSize);
        Stream inner = m.Method == 8 ? new DeflateStream(raw, CompressionMode.Decompress) : raw;
        return new MemberStream(this, m, inner);
    }

    private void EnsureBudget(CoverageReport coverage)
    {
        if (Interlocked.Read(ref _archiveUsed) >= _limits.MaxArchiveBytes)
        {
            if (Interlocked.Exchange(ref _archiveSpentReported, 1) == 0)
                coverage.AddIssue(IssueKind.ArchiveBomb, _name, $"archive partly read: its decompression budget of {_limits.MaxArchiveBytes:N0} bytes is spent; later members not read");
            throw new IOException($"not read: the archive's decompression budget ({_limits.MaxArchiveBytes:N0} bytes) is spent");
        }
        if (_scanBudget.Exhausted)
        {
            if (Interlocked.Exchange(ref _scanSpentReported, 1) == 0)
                coverage.AddIssue(IssueKind.ArchiveBomb, _name, $"archive partly read: the scan's decompression budget of {_scanBudget.Limit:N0} bytes for all archives is spent; later members not read");
            throw new IOException($"not read: the scan's decompression budget ({_scanBudget.Limit:N0} bytes) is spent");
        }
    }

    /// <summary>A member's bytes: at most its (capped) declared length, each byte charged to the archive's and the scan's budget.</summary>
    private sealed class MemberStream(ZipEvidenceSource owner, Member member, Stream inner) : Stream
    {
        private long _remaining = member.Length;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => member.Length;
        public override long Position { get => member.Length - _remaining; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            if (_remaining <= 0 || buffer.Length == 0) return 0;
            owner.EnsureBudget(member.Coverage);
            if (buffer.Length > _remaining) buffer = buffer[..(int)_remaining];
            int n = inner.Read(buffer);
            _remaining -= n;
            Interlocked.Add(ref owner._archiveUsed, n);
            owner._scanBudget.Add(n);
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
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

    public void Dispose() => _stream.Dispose();
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
