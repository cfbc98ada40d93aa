namespace Exir.Core.Evidence;

/// <summary>
/// Bounds on what one .zip of evidence may cost (rules/scan.yaml, <c>archives:</c>). An archive is written by the
/// intruder as much as any log: its central directory can name one member thousands of times (a flat bomb),
/// point members into each other's data, claim any size, or hold millions of entries.
/// </summary>
public sealed record ArchiveLimits
{
    public static ArchiveLimits Default { get; } = new();

    /// <summary>Entries read per archive; the rest are counted, not read. A full system drive holds about a million files.</summary>
    public int MaxEntries { get; init; } = 1_000_000;
    /// <summary>Bytes read from one member (a member larger than this is read up to it and reported).</summary>
    public long MaxMemberBytes { get; init; } = 8L << 30;
    /// <summary>
    /// Expansion above which a member is a bomb: deflate tops out near 1032:1, and logs, pages and binaries stay
    /// far below 100:1, so only runs of one repeated byte get here.
    /// </summary>
    public double MaxRatio { get; init; } = 1000;
    /// <summary>Size from which the ratio is judged (small, highly compressible files are normal).</summary>
    public long RatioCheckFromBytes { get; init; } = 1L << 20;
    /// <summary>What is read of a member over <see cref="MaxRatio"/>: enough for any page or a log's head, no more.</summary>
    public long RatioMemberBytes { get; init; } = 64L << 20;
    /// <summary>Bytes decompressed from one archive, re-reads included.</summary>
    public long MaxArchiveBytes { get; init; } = 64L << 30;
    /// <summary>Bytes decompressed from every archive of a scan together; null: <see cref="MaxScanBytes"/> per source.</summary>
    public DecompressionBudget? ScanBudget { get; init; }
    /// <summary>The scan-wide budget used when no shared <see cref="ScanBudget"/> is given.</summary>
    public long MaxScanBytes { get; init; } = 256L << 30;
}

/// <summary>A count of decompressed bytes shared by every archive of a scan. Thread-safe.</summary>
public sealed class DecompressionBudget(long limit)
{
    private long _used;
    public long Limit { get; } = limit;
    public long Used => Interlocked.Read(ref _used);
    public bool Exhausted => Used >= Limit;
    public void Add(long bytes) => Interlocked.Add(ref _used, bytes);
}
