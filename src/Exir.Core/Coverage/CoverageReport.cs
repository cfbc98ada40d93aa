using System.Collections.Concurrent;

namespace Exir.Core.Coverage;

/// <summary>Kinds of input trouble. Every one is counted and listed; none stops a scan.</summary>
public enum IssueKind
{
    Unreadable,
    Malformed,
    Truncated,
    LinkNotFollowed,
    SpecialOrEmptyFile,
    UnsafeArchivePath,
    ArchiveBomb,
    TooLarge,
    BinaryContent,
    CheckNotRun,
    RuleSkipped,
    /// <summary>A .log file of no format exir reads, in a folder where IIS or Exchange logs live.</summary>
    UnknownLogFormat,
}

public sealed record CoverageIssue(IssueKind Kind, string Path, string Message);

/// <summary>Per log family: what was read, and the time span actually inside the logs (not file dates).</summary>
public sealed class LogFamilyCoverage
{
    private long _files, _lines, _malformed, _bytes;
    private long _firstTicks = long.MaxValue, _lastTicks = long.MinValue;
    public required string Family { get; init; }
    public long Files => Interlocked.Read(ref _files);
    public long Lines => Interlocked.Read(ref _lines);
    public long MalformedLines => Interlocked.Read(ref _malformed);
    public long Bytes => Interlocked.Read(ref _bytes);
    public DateTimeOffset? First => _firstTicks == long.MaxValue ? null : new DateTimeOffset(_firstTicks, TimeSpan.Zero);
    public DateTimeOffset? Last => _lastTicks == long.MinValue ? null : new DateTimeOffset(_lastTicks, TimeSpan.Zero);
    /// <summary>Days (UTC dates) that have at least one record; used to report gaps.</summary>
    public ConcurrentDictionary<DateOnly, byte> Days { get; } = new();

    public void AddFile(long bytes) { Interlocked.Increment(ref _files); Interlocked.Add(ref _bytes, bytes); }

    /// <summary>Adds the counts and time span of one file, merged once per file so the hot loop stays lock-free.</summary>
    public void AddSpan(long lines, long malformed, DateTimeOffset? first, DateTimeOffset? last, IEnumerable<DateOnly> days)
    {
        Interlocked.Add(ref _lines, lines);
        Interlocked.Add(ref _malformed, malformed);
        if (first is { } f) InterlockedMin(ref _firstTicks, f.UtcTicks);
        if (last is { } l) InterlockedMax(ref _lastTicks, l.UtcTicks);
        foreach (var d in days) Days.TryAdd(d, 0);
    }

    /// <summary>Adds another family's counts (several roots, one report).</summary>
    public void AddFrom(LogFamilyCoverage other)
    {
        Interlocked.Add(ref _files, other.Files);
        Interlocked.Add(ref _bytes, other.Bytes);
        AddSpan(other.Lines, other.MalformedLines, other.First, other.Last, other.Days.Keys);
    }

    /// <summary>Runs of missing days between the first and last day with records.</summary>
    public IReadOnlyList<(DateOnly From, DateOnly To)> Gaps(int minDays = 2)
    {
        var days = Days.Keys.OrderBy(d => d).ToList();
        var gaps = new List<(DateOnly, DateOnly)>();
        for (int i = 1; i < days.Count; i++)
        {
            int missing = days[i].DayNumber - days[i - 1].DayNumber - 1;
            if (missing >= minDays) gaps.Add((days[i - 1].AddDays(1), days[i].AddDays(-1)));
        }
        return gaps;
    }

    private static void InterlockedMin(ref long target, long value)
    {
        long cur;
        while (value < (cur = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, cur) != cur) { }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long cur;
        while (value > (cur = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, cur) != cur) { }
    }
}

/// <summary>
/// What a scan actually covered. Thread-safe: readers on all cores report into one instance.
/// The report's coverage section is rendered from it, so an analyst knows what "nothing found" means.
/// </summary>
public sealed class CoverageReport
{
    private long _filesSeen, _filesRead, _bytesRead;
    private readonly ConcurrentQueue<CoverageIssue> _issues = new();
    private readonly ConcurrentDictionary<IssueKind, long> _issueCounts = new();
    private const int MaxListedIssues = 10_000;

    public long FilesSeen => Interlocked.Read(ref _filesSeen);
    public long FilesRead => Interlocked.Read(ref _filesRead);
    public long BytesRead => Interlocked.Read(ref _bytesRead);
    public ConcurrentDictionary<string, LogFamilyCoverage> Families { get; } = new(StringComparer.OrdinalIgnoreCase);
    public ConcurrentDictionary<string, string> ChecksNotRun { get; } = new(StringComparer.Ordinal);
    /// <summary>SHA-256 of files that produced findings (or of all files read with --hash-all).</summary>
    public ConcurrentDictionary<string, string> FileHashes { get; } = new(StringComparer.Ordinal);

    public IReadOnlyCollection<CoverageIssue> Issues => _issues;
    public IReadOnlyDictionary<IssueKind, long> IssueCounts => _issueCounts;

    /// <summary>.log files of no known IIS/Exchange format (counted everywhere, listed where logs are expected).</summary>
    public long UnknownLogFiles => Interlocked.Read(ref _unknownLogs);
    private long _unknownLogs;

    /// <param name="listBecause">Lists the file with this reason wherever it is (the caller saw more than its folder).</param>
    public void UnknownLogFile(string path, string? listBecause = null)
    {
        Interlocked.Increment(ref _unknownLogs);
        if (listBecause is not null)
            AddIssue(IssueKind.UnknownLogFormat, path, listBecause);
        else if (path.Contains("/Logging/", StringComparison.OrdinalIgnoreCase) || path.Contains("/LogFiles/", StringComparison.OrdinalIgnoreCase)
            || path.StartsWith("Logging/", StringComparison.OrdinalIgnoreCase) || path.StartsWith("LogFiles/", StringComparison.OrdinalIgnoreCase))
            AddIssue(IssueKind.UnknownLogFormat, path, "a .log file in a log folder whose header names no format exir reads; not hunted");
    }

    public void FileSeen() => Interlocked.Increment(ref _filesSeen);
    public void FileRead(long bytes) { Interlocked.Increment(ref _filesRead); Interlocked.Add(ref _bytesRead, bytes); }
    public void BytesConsumed(long bytes) => Interlocked.Add(ref _bytesRead, bytes);

    public void AddIssue(IssueKind kind, string path, string message)
    {
        var n = _issueCounts.AddOrUpdate(kind, 1, (_, c) => c + 1);
        // The list is capped (a broken disk can yield millions); the counts stay exact.
        if (_issues.Count < MaxListedIssues) _issues.Enqueue(new CoverageIssue(kind, path, message));
    }

    /// <summary>Counts an issue without listing it (the thousands of refusals of one zip bomb, named once in a summary).</summary>
    public void CountIssue(IssueKind kind, long count = 1) => _issueCounts.AddOrUpdate(kind, count, (_, c) => c + count);

    public LogFamilyCoverage Family(string name) => Families.GetOrAdd(name, n => new LogFamilyCoverage { Family = n });

    public void CheckNotRun(string check, string reason) => ChecksNotRun[check] = reason;

    /// <summary>Adds everything another report holds (the coverage of several roots as one, or rule problems into a root's).</summary>
    public void AddFrom(CoverageReport other)
    {
        Interlocked.Add(ref _filesSeen, other.FilesSeen);
        Interlocked.Add(ref _filesRead, other.FilesRead);
        Interlocked.Add(ref _bytesRead, other.BytesRead);
        Interlocked.Add(ref _unknownLogs, other.UnknownLogFiles);
        foreach (var (name, f) in other.Families) Family(name).AddFrom(f);
        foreach (var (k, v) in other.ChecksNotRun) ChecksNotRun.TryAdd(k, v);
        foreach (var (k, v) in other.FileHashes) FileHashes.TryAdd(k, v);
        foreach (var (kind, n) in other.IssueCounts)
        {
            // Listed issues are re-added one by one below; counts beyond the listed ones are added here.
            long listed = other.Issues.Count(i => i.Kind == kind);
            if (n > listed) _issueCounts.AddOrUpdate(kind, n - listed, (_, c) => c + n - listed);
        }
        foreach (var i in other.Issues) AddIssue(i.Kind, i.Path, i.Message);
    }
}
