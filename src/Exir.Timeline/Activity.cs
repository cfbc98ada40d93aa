using System.Collections.Concurrent;

namespace Exir.Timeline;

/// <summary>Events per hour and category, counted while reading (the HTML activity plot).</summary>
public sealed class ActivityHistogram
{
    private readonly ConcurrentDictionary<(long Hour, string Category), long> _counts = new();

    public void Add(DateTime utc, string category) =>
        _counts.AddOrUpdate((utc.Ticks / TimeSpan.TicksPerHour, category), 1, (_, c) => c + 1);

    public IReadOnlyDictionary<(long Hour, string Category), long> Counts => _counts;

    public long Total => _counts.Values.Sum();
}
