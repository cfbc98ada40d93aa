using Exir.Timeline;

namespace Exir.Timeline.Tests;

public class SorterTests
{
    [Fact]
    public void External_merge_spills_runs_and_returns_every_row_in_order()
    {
        var rnd = new Random(7);
        var rows = Enumerable.Range(0, 5000).Select(i => new TimelineEvent
        {
            Timestamp = Events.T0.AddSeconds(rnd.Next(0, 100000)), Host = "h" + rnd.Next(3), File = "f", RecordId = i, Message = "m" + i,
            Category = "process", CommandLine = i % 2 == 0 ? null : "cmd " + i, Tags = i % 3 == 0 ? ["t"] : [], Fields = [new("k", "v" + i)],
        }).ToList();
        var temp = Exir.Tests.TestPaths.NewTempDir();
        List<TimelineEvent> merged;
        using (var sorter = new ExternalSorter(maxBuffered: 300, tempDirectory: temp))
        {
            Parallel.ForEach(rows, sorter.Add);
            Assert.True(sorter.Runs >= 10, $"expected spilled runs, got {sorter.Runs}");
            merged = sorter.Merge().ToList();
        }
        Assert.Equal(rows.Count, merged.Count);
        for (int i = 1; i < merged.Count; i++) Assert.True(TimelineEvent.Compare(merged[i - 1], merged[i]) <= 0);
        var byId = merged.ToDictionary(r => r.RecordId!.Value);
        foreach (var r in rows)
        {
            var m = byId[r.RecordId!.Value];
            Assert.Equal(r.Timestamp, m.Timestamp);
            Assert.Equal(r.CommandLine, m.CommandLine);
            Assert.Equal(r.Tags, m.Tags);
            Assert.Equal(r.Fields, m.Fields);
        }
        Assert.Empty(Directory.GetFileSystemEntries(temp)); // spill files removed
    }
}
