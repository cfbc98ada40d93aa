using Exir.Timeline;

namespace Exir.Timeline.Tests;

/// <summary>The sort buffer is bounded by bytes too: a few large rows spill as many would.</summary>
public class SorterMemoryTests
{
    [Fact]
    public void Large_rows_spill_by_bytes_before_the_row_bound_and_still_merge_in_order()
    {
        var rows = Enumerable.Range(0, 400).Select(i => new TimelineEvent
        {
            Timestamp = Events.T0.AddSeconds((i * 7919) % 400), Host = "h", File = "f", RecordId = i, Category = "process",
            CommandLine = new string('x', 10_000) + i, // ~20 KB a row: 400 rows hold ~8 MB
        }).ToList();
        var temp = Exir.Tests.TestPaths.NewTempDir();
        using (var sorter = new ExternalSorter(maxBuffered: 1_000_000, tempDirectory: temp, maxBufferedBytes: 1 << 20))
        {
            foreach (var r in rows) sorter.Add(r);
            // ~1 MiB per run: the row bound alone would never have spilled.
            Assert.InRange(sorter.Runs, 6, 9);
            var merged = sorter.Merge().ToList();
            Assert.Equal(rows.OrderBy(r => r.Timestamp).ThenBy(r => r.RecordId).Select(r => r.RecordId), merged.Select(r => r.RecordId));
            Assert.All(merged, m => Assert.Equal(new string('x', 10_000) + m.RecordId, m.CommandLine));
        }
        Assert.Empty(Directory.GetFileSystemEntries(temp));
    }
}
