using Exir.Tests;

namespace Exir.Evtx.Tests;

/// <summary>Every DEV corpus file against the reference tools' outputs.</summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public sealed class DifferentialTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var row in ReferenceCorpus.Rows) data.Add(row.File);
        // A fresh clone without ../shared: one row that skips with the reason, rather than a theory without data.
        if (data.Count == 0) data.Add(NoCorpus);
        return data;
    }

    private static string Show(string s) => s.Length > 300 ? s[..300] + "..." : s.Replace("\r", "\\r").Replace("\n", "\\n");

    private const string NoCorpus = "(shared corpus absent)";

    private static ReferenceCorpus.Row Row(string file)
    {
        if (file == NoCorpus) TestPaths.InCorpus("evtx");
        return ReferenceCorpus.Rows.Single(r => r.File == file);
    }

    [Fact]
    public void Corpus_has_all_62_files()
    {
        TestPaths.InCorpus("evtx");
        Assert.Equal(62, ReferenceCorpus.Rows.Count);
        Assert.All(ReferenceCorpus.Rows, r => Assert.True(File.Exists(r.Path), r.File));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Record_count_equals_expected_allocated_records(string file)
    {
        var row = Row(file);
        var stats = new EvtxReadStats();
        var records = EvtxReader.ReadRecords(row.Path, stats).ToList();
        Assert.Equal(row.Expected, records.Count);
        Assert.Equal(records.Count, stats.Records);
        // Record ids are unique: no slack record sneaks in as a copy of a live one.
        Assert.Equal(records.Count, records.Select(r => r.HeaderRecordId).Distinct().Count());
        // Where a reference tool fails or falls short, the reader gets more.
        if (row.LibevtxItems < row.Expected) Assert.True(records.Count > row.LibevtxItems);
        if (row.PyevtxOk < row.Expected) Assert.True(records.Count > row.PyevtxOk);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Ids_times_and_data_equal_libevtx_after_normalising(string file)
    {
        var row = Row(file);
        var libevtx = ReferenceCorpus.LibevtxEvents(file);
        var mine = EvtxReader.ReadRecords(row.Path).ToDictionary(r => r.RecordId);
        var problems = new List<string>();
        foreach (var ev in libevtx)
        {
            var id = ReferenceCorpus.RecordId(ev);
            if (!mine.TryGetValue(id, out var record))
            {
                problems.Add($"record {id}: missing");
                continue;
            }
            var time = ReferenceCorpus.SystemTime(ev);
            if (time is not null && ReferenceCorpus.Normalise(time) != record.TimestampUtc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'"))
                problems.Add($"record {id}: time {time} vs {record.TimestampUtc:O}");
            var theirs = ReferenceCorpus.Data(ev);
            var ours = record.Data;
            if (theirs.Count != ours.Count)
            {
                problems.Add($"record {id}: {ours.Count} data fields vs libevtx {theirs.Count}");
                continue;
            }
            for (int i = 0; i < theirs.Count; i++)
            {
                if (theirs[i].Key != ours[i].Key) problems.Add($"record {id}: field {i} named {ours[i].Key} vs {theirs[i].Key}");
                else if (ReferenceCorpus.Normalise(theirs[i].Value) != ReferenceCorpus.Normalise(ours[i].Value) &&
                         !ReferenceCorpus.SameNumber(ours[i].Value, theirs[i].Value))
                    problems.Add($"record {id}: {ours[i].Key}='{Show(ours[i].Value)}' vs '{Show(theirs[i].Value)}'");
            }
        }
        Assert.True(problems.Count == 0, $"{problems.Count} differences, first: " + string.Join("\n", problems.Take(15)));
        Assert.True(libevtx.Count >= Math.Min(row.LibevtxItems, 1) || row.LibevtxItems <= 0);
    }
}
