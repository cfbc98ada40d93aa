using System.Globalization;
using System.Text.Json;
using Exir.Tests;

namespace Exir.Evtx.Tests;

/// <summary>Single corpus files whose expected content is known from a reference other than libevtx.</summary>
public sealed class SampleTests
{
    private static string Sample(string relative) => Path.Combine(ReferenceCorpus.EvtxDir, relative);

    [Fact]
    public void Template_less_WEC_record_matches_the_omerbenamram_snapshot()
    {
        // Both Debian tools fail on this file; the expected values come from the Rust crate's snapshot.
        var snapshot = File.ReadAllText(Path.Combine(ReferenceCorpus.ReferenceDir, "omerbenamram-evtx-snapshots",
            "test_record_samples__event_json_with_multiple_data_elements-2.snap"));
        using var json = JsonDocument.Parse(snapshot[snapshot.IndexOf('{')..]);
        var expected = json.RootElement.GetProperty("Event").GetProperty("EventData").GetProperty("Data").GetProperty("#text")
            .EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(27, expected.Count);

        var record = Assert.Single(EvtxReader.ReadRecords(Sample("omerbenamram-evtx/MSExchange_Management_wec.evtx")));
        Assert.Null(record.Problem);
        Assert.Equal(3229UL, record.RecordId);
        Assert.Equal(1, record.EventId);
        Assert.Equal(4, record.Level);
        Assert.Equal("MSExchange CmdletLogs", record.Provider);
        Assert.Equal("MSExchange Management", record.Channel);
        Assert.Equal("WEC.ave.local", record.Computer);
        Assert.Equal(new DateTime(2021, 11, 19, 16, 52, 33, DateTimeKind.Utc).AddTicks(8337335), record.TimestampUtc);
        Assert.Equal(expected.Select((v, i) => new KeyValuePair<string, string>($"Data[{i + 1}]", v)), record.Data);
        Assert.Equal("Set-Mailbox", record.GetData("data[1]"));
        Assert.Contains("<EventID Qualifiers=\"16384\">1</EventID>", record.ToXml());
    }

    [Fact]
    public void Damaged_string_table_changes_nothing()
    {
        // Same records as security.evtx, but two bytes of a chunk's name hash table are zeroed: names are
        // read from their offsets, so every record must render identically.
        var healthy = EvtxReader.ReadRecords(Sample("omerbenamram-evtx/security.evtx")).Select(r => r.ToXml()).ToList();
        var damaged = EvtxReader.ReadRecords(Sample("omerbenamram-evtx/security_bad_string_cache.evtx")).Select(r => r.ToXml()).ToList();
        Assert.Equal(2261, healthy.Count);
        Assert.Equal(healthy, damaged);
    }

    [Fact]
    public void Values_render_as_Windows_does()
    {
        var sysmon = EvtxReader.ReadRecords(Sample("evtx-attack-samples/LM_typical_IIS_webshell_sysmon_1_10_traces.evtx")).ToList();
        var access = sysmon.Single(r => r.EventId == 10);
        Assert.Equal("0x1fffff", access.GetData("GrantedAccess"));          // HexInt32, no zero padding
        var create = sysmon.First(r => r.EventId == 1);
        Assert.Equal("0x9cf992", create.GetData("LogonId"));                // HexInt64
        Assert.Equal("{365ABB72-4A01-5CE7-0000-0010EE9DAC00}", create.GetData("ProcessGuid"));
        Assert.Equal("S-1-5-18", create.UserSid);
        Assert.Equal(2032, create.ProcessId);
        Assert.Equal("2019-05-24T01:33:53.1124866Z", create.TimestampUtc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
        Assert.Contains("<TimeCreated SystemTime=\"2019-05-24T01:33:53.1124866Z\"/>", create.ToXml());
        Assert.StartsWith("c:\\windows\\system32\\inetsrv\\w3wp.exe -ap \"DefaultAppPool\"", create.GetData("ParentCommandLine"));

        var issue38 = Assert.Single(EvtxReader.ReadRecords(Sample("python-evtx/issue_38.evtx")));
        Assert.Equal("0x19d3af", issue38.GetData("SubjectLogonId"));      // python-evtx pads to 0x000000000019d3af

        // SizeT renders as hex (libevtx prints decimal).
        var sizeT = EvtxReader.ReadRecords(Sample("omerbenamram-evtx/Security_with_size_t.evtx")).First(r => r.RecordId == 4);
        Assert.Equal("0x24c", sizeT.GetData("ProcessId"));
    }

    [Fact]
    public void Json_is_flat_and_parses()
    {
        foreach (var record in EvtxReader.ReadRecords(Sample("deepbluecli/new-user-security.evtx")))
        {
            using var doc = JsonDocument.Parse(record.ToJson());
            var root = doc.RootElement;
            Assert.Equal(JsonValueKind.Object, root.ValueKind);
            Assert.All(root.EnumerateObject(), p => Assert.True(p.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True, p.Name));
            Assert.Equal(record.EventId, root.GetProperty("EventID").GetInt32());
            Assert.Equal((long)record.RecordId, root.GetProperty("EventRecordID").GetInt64());
            Assert.Equal(record.Provider, root.GetProperty("Provider").GetString());
            foreach (var kv in record.Data) Assert.Equal(kv.Value, root.GetProperty(kv.Key).GetString());
        }
    }

    [Fact]
    public void Bad_crc_chunks_keep_their_records_flagged()
    {
        var stats = new EvtxReadStats();
        var records = EvtxReader.ReadRecords(Sample("omerbenamram-evtx/sample_with_a_bad_chunk_magic.evtx"), stats).ToList();
        Assert.Equal(270, records.Count);
        Assert.True(stats.BadCrcChunks > 0);
        Assert.True(stats.DamagedChunks > 0);
        Assert.Contains(stats.Problems, p => p.Contains("no ElfChnk signature"));
        Assert.Contains(records, r => r.FromBadCrcChunk);
        Assert.Equal(records.Count(r => r.FromBadCrcChunk || r.Problem is not null), stats.RecoveredOrFlaggedRecords);
    }

    [Fact]
    public void Python_evtx_agrees_on_ids_and_times_where_it_reads_records()
    {
        // python-evtx renders microseconds with 1-2 us rounding errors: compare within 3 us.
        TestPaths.InCorpus("evtx-reference");
        var problems = new List<string>();
        int compared = 0;
        foreach (var row in ReferenceCorpus.Rows)
        {
            var mine = EvtxReader.ReadRecords(row.Path).GroupBy(r => r.RecordId).ToDictionary(g => g.Key, g => g.First());
            foreach (var (id, pyTime) in ReferenceCorpus.PyevtxIdsAndTimes(row.File))
            {
                if (!mine.TryGetValue(id, out var record)) { problems.Add($"{row.File}: record {id} missing"); continue; }
                var time = DateTime.Parse(pyTime, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
                compared++;
                if (Math.Abs((time - record.TimestampUtc).Ticks) > 30) problems.Add($"{row.File}: record {id} time {time:O} vs {record.TimestampUtc:O}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
        Assert.True(compared > 10_000, $"only {compared} python-evtx records compared");
    }

    [Fact]
    public void Prerendered_output_equals_rendering_on_demand()
    {
        var file = Sample("omerbenamram-evtx/security.evtx");
        var plain = EvtxReader.ReadRecords(file).ToList();
        Assert.Equal(plain.Select(r => r.ToJson()), EvtxReader.ReadRecords(file, null, EvtxRender.Json).Select(r => r.ToJson()));
        Assert.Equal(plain.Select(r => r.ToXml()), EvtxReader.ReadRecords(file, null, EvtxRender.Xml).Select(r => r.ToXml()));
    }

    [Fact]
    public void Defender_records_without_templates_parse()
    {
        // Both Debian tools fail on this file: every record is plain BinXML.
        var records = EvtxReader.ReadRecords(Sample("evtx-to-mitre-attack/ID1116-1117-Defender threat detected.evtx")).ToList();
        Assert.Equal(6, records.Count);
        Assert.All(records, r =>
        {
            Assert.Null(r.Problem);
            Assert.Contains(r.EventId, new[] { 1116, 1117 });
            Assert.Equal("Microsoft-Windows-Windows Defender", r.Provider);
            Assert.Equal("Microsoft-Windows-Windows Defender/Operational", r.Channel);
            Assert.Contains("mi", r.GetData("Threat Name"), StringComparison.OrdinalIgnoreCase);
            Assert.StartsWith("file:_C:\\Users\\admmig\\", r.GetData("Path"));
        });
        Assert.Equal("HackTool:Win64/Mikatz!dha", records[0].GetData("threat name"));
        Assert.Equal(new DateTime(2020, 12, 11, 12, 28, 1, DateTimeKind.Utc).AddTicks(2990045), records[0].TimestampUtc);
    }
}
