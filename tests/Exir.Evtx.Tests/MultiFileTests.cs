namespace Exir.Evtx.Tests;

/// <summary>ReadFiles: one read-ahead window across many files gives each file's records as a file-by-file read does.</summary>
public sealed class MultiFileTests
{
    private static string Sample(string relative) => Path.Combine(ReferenceCorpus.EvtxDir, relative);

    [Fact]
    public void Many_files_read_together_match_file_by_file_reads_in_order()
    {
        var big = Sample("omerbenamram-evtx/security.evtx");
        var small = Sample("deepbluecli/new-user-security.evtx");
        var damaged = Sample("omerbenamram-evtx/security_bad_string_cache.evtx");
        if (!File.Exists(big) || !File.Exists(small) || !File.Exists(damaged)) Assert.Skip("EVTX corpus not present (../shared/corpus/evtx)");
        var missing = Path.Combine(Path.GetTempPath(), $"exir-missing-{Guid.NewGuid():N}.evtx");
        // Small files between big ones and repeats: the window spans file ends at many different offsets.
        string[] paths = [small, big, small, missing, damaged, small, small, big];

        var expected = new List<string>();
        foreach (var path in paths)
        {
            if (!File.Exists(path))
            {
                expected.Add($"end {path} error");
                continue;
            }
            var stats = new EvtxReadStats();
            expected.AddRange(EvtxReader.ReadRecords(path, stats, EvtxRender.Json).Select(r => $"{path} {r.ToJson()}"));
            expected.Add($"end {path} {stats.Records} {stats.Chunks} {stats.BadCrcChunks} {stats.DamagedChunks} {stats.Problems.Count}");
        }

        var actual = new List<string>();
        foreach (var (file, record) in EvtxReader.ReadFiles(paths, EvtxRender.Json))
        {
            if (record is not null) actual.Add($"{file.Path} {record.ToJson()}");
            else if (file.Error is not null) actual.Add($"end {file.Path} error");
            else
            {
                var s = file.Stats;
                actual.Add($"end {file.Path} {s.Records} {s.Chunks} {s.BadCrcChunks} {s.DamagedChunks} {s.Problems.Count}");
            }
        }

        Assert.True(expected.Count > 1000, $"{expected.Count} lines");
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Stopping_early_closes_the_file_and_a_new_read_still_works()
    {
        var big = Sample("omerbenamram-evtx/security.evtx");
        if (!File.Exists(big)) Assert.Skip("EVTX corpus not present (../shared/corpus/evtx)");
        Assert.Equal(10, EvtxReader.ReadFiles([big, big]).Take(10).Count());
        int records = EvtxReader.ReadFiles([big]).Count(x => x.Record is not null);
        Assert.Equal(EvtxReader.ReadRecords(big).Count(), records);
    }
}
