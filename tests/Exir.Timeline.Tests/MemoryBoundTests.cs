using Exir.Engine;
using Exir.Pipeline;
using Exir.Tests;

namespace Exir.Timeline.Tests;

/// <summary>Timeline memory does not grow with the input: the sort spills by bytes, the analyses keep summaries.</summary>
/// <remarks>Tier slow: copies the EVTX corpus several times and runs the timeline over it twice.</remarks>
[Trait("Tier", "slow")]
[Collection(nameof(MemoryBoundTests))] // alone: other tests' live objects would count in the sampled heap
public sealed class MemoryBoundTests(ITestOutputHelper output)
{
    [Fact]
    public void Live_heap_over_four_times_the_input_stays_near_the_heap_over_one()
    {
        var corpus = TestPaths.InCorpus("evtx");
        if (!Directory.Exists(corpus)) Assert.Skip("EVTX corpus not present (../shared/corpus/evtx)");
        var files = Directory.EnumerateFiles(corpus, "*.evtx", SearchOption.AllDirectories).ToList();
        var temp = TestPaths.NewTempDir("exir-tlmem");
        // Each copy is another folder: other file paths, so every row is distinct (no record is merged away).
        for (int copy = 0; copy < 12; copy++)
        {
            var dir = Directory.CreateDirectory(Path.Combine(temp, $"c{copy}")).FullName;
            for (int i = 0; i < files.Count; i++) File.Copy(files[i], Path.Combine(dir, $"{i}.evtx"));
        }
        var one = Path.Combine(temp, "one");
        Directory.CreateDirectory(one);
        for (int copy = 0; copy < 3; copy++) Directory.Move(Path.Combine(temp, $"c{copy}"), Path.Combine(one, $"c{copy}"));

        var (small, smallRows) = PeakLiveHeap([one]);
        var (large, largeRows) = PeakLiveHeap(Enumerable.Range(3, 9).Select(c => Path.Combine(temp, $"c{c}")).Append(one).ToArray());

        output.WriteLine($"peak live heap {small >> 20} MiB over {smallRows} rows, {large >> 20} MiB over {largeRows}");
        // Four times the rows, give or take a few log-gap rows and merged process twins.
        Assert.InRange(largeRows, 4 * smallRows * 99 / 100, 4 * smallRows * 101 / 100);
        Assert.True(smallRows > 10_000, $"{smallRows} rows: too few to show growth");
        // Rows held for the sort would add ~1 KB a row (50 MiB here); bounded state keeps it nearly flat.
        Assert.True(large < small + (24L << 20), $"peak live heap {small >> 20} MiB over {smallRows} rows, {large >> 20} MiB over {largeRows}");
    }

    /// <summary>Runs the timeline as the verb does, rows streamed and dropped, sampling the live heap (after a full GC) throughout.</summary>
    private static (long Peak, long Rows) PeakLiveHeap(string[] paths)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        long baseline = GC.GetTotalMemory(forceFullCollection: true), peak = 0, rows = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
                try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        using (var evidence = EvidenceSet.Open(paths))
        using (var run = new TimelineRun(new RunOptions { RulesDirectory = Path.Combine(TestPaths.RepoRoot, "rules") }, new TimelineOptions()))
        {
            run.Run(evidence, [], "test");
            foreach (var _ in run.Rows()) rows++;
        }
        stop.Cancel();
        sampler.Wait();
        return (peak, rows);
    }
}

[CollectionDefinition(nameof(MemoryBoundTests), DisableParallelization = true)]
public sealed class MemoryBoundCollection;
