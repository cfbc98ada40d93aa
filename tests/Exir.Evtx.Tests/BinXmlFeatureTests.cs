using System.Diagnostics;
using Exir.Tests;
using V = Exir.Evtx.Tests.EvtxBuilder.Value;

namespace Exir.Evtx.Tests;

/// <summary>BinXML features checked on files written token by token (see <see cref="EvtxBuilder"/>).</summary>
public sealed class BinXmlFeatureTests
{
    private const string Ns = "http://schemas.microsoft.com/win/2004/08/events/event";
    private static readonly DateTime T1 = new DateTime(2021, 3, 2, 1, 2, 3, DateTimeKind.Utc).AddTicks(4567891);
    private static readonly Guid Activity = new("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9");

    // libevtx 20181227 rejects character references (token 0x08): the file for the live comparison
    // leaves them out.
    [ThreadStatic] private static bool t_noCharRef;

    private static void SystemAndData(EvtxBuilder b) => b
        .Open("Event", attributes: true).Attr("xmlns").Text(Ns).CloseStart()
        .Open("System").CloseStart()
        .Open("Provider", true).Attr("Name").Text("Exir-Test").CloseEmpty()
        .Open("EventID").CloseStart().Sub(0, 0x06).End()
        .Open("Level").CloseStart().Sub(1, 0x04).End()
        .Open("TimeCreated", true).Attr("SystemTime").Sub(2, 0x11).CloseEmpty()
        .Open("EventRecordID").CloseStart().Sub(3, 0x0a).End()
        .Open("Correlation", true).Attr("ActivityID").Sub(4, 0x0f, optional: true).CloseEmpty()
        .Open("Execution", true).Attr("ProcessID").Sub(5, 0x08).Attr("ThreadID").Sub(6, 0x08).CloseEmpty()
        .Open("Channel").CloseStart().Text("Exir/Test").End()
        .Open("Computer").CloseStart().Text("HOST").EntityRef("amp").Text("1").Then(x => { if (!t_noCharRef) x.CharRef('!'); }).End()
        .Open("Security", true).Attr("UserID").Sub(7, 0x13, optional: true).CloseEmpty()
        .End()
        .Open("EventData").CloseStart()
        .Open("Data", true).Attr("Name").Text("Access").CloseStart().Sub(8, 0x14).End()
        .Open("Data", true).Attr("Name").Text("Optional").CloseStart().Sub(9, 0x01, optional: true).End()
        .Open("Data", true).Attr("Name").Text("Names").CloseStart().Sub(10, 0x81).End()
        .Open("Data", true).Attr("Name").Text("Enabled").CloseStart().Sub(11, 0x0d).End()
        .Open("Binary").CloseStart().Sub(12, 0x0e, optional: true).End()
        .End()
        .Open("UserData").CloseStart().Sub(13, 0x21, optional: true).End()
        .Pi("xml-stylesheet", "href=\"x.xsl\"")
        .End();

    private static V Nested() => V.BinXml(b => b
        .Open("Extra").CloseStart()
        .Open("Inner", true).Attr("Kind").Text("k").CloseStart().Text("x").End()
        .End());

    private static byte[] TemplatedFile(bool withTemplateLessRecord)
    {
        var b = new EvtxBuilder();
        b.Record(1, T1, r => r.Fragment().Template("sys", SystemAndData,
            V.U16(4624), V.U8(4), V.FileTime(T1), V.U64(101), V.Guid(Activity), V.U32(1234), V.U32(5678),
            V.Sid("S-1-5-18"), V.Hex32(0x1fffff), V.Null, V.StrArray("alice", "bob"), V.Bool(true), V.Binary(0xde, 0xad),
            Nested()).Eof());
        b.Record(2, T1.AddSeconds(1), r => r.Fragment().Template("sys", SystemAndData,
            V.U16(4625), V.U8(0), V.FileTime(T1.AddSeconds(1)), V.U64(102), V.Null, V.U32(4), V.U32(8),
            V.Null, V.Hex32(0), V.Str("here"), V.StrArray(), V.Bool(false), V.Null, V.Null).Eof());
        if (withTemplateLessRecord)
        {
            // As Windows Event Forwarding stores records: plain BinXML, no template, no dependency ids.
            b.Record(3, T1.AddSeconds(2), r => r.Fragment()
                .Open("Event", true, dependencyId: false).Attr("xmlns").Text(Ns).CloseStart()
                .Open("System", dependencyId: false).CloseStart()
                .Open("Provider", true, false).Attr("Name").Text("MSExchange CmdletLogs").CloseEmpty()
                .Open("EventID", dependencyId: false).CloseStart().Text("1").End()
                .Open("TimeCreated", true, false).Attr("SystemTime").Text("2021-11-19T16:52:33.833733500Z").CloseEmpty()
                .Open("EventRecordID", dependencyId: false).CloseStart().Text("3229").End()
                .End()
                .Open("EventData", dependencyId: false).CloseStart()
                .Open("Data", dependencyId: false).CloseStart().Text("Set-Mailbox").End()
                .Open("Data", dependencyId: false).CloseStart().End()
                .Open("Data", dependencyId: false).CloseStart().Text("-Identity x").End()
                .End()
                .End().Eof());
        }
        return b.Build();
    }

    private static List<EvtxRecord> Read(byte[] file, EvtxReadStats stats) =>
        EvtxReader.ReadRecords(new MemoryStream(file), stats).ToList();

    [Fact]
    public void Template_with_every_feature_renders_as_Windows_does()
    {
        var stats = new EvtxReadStats();
        var records = Read(TemplatedFile(withTemplateLessRecord: true), stats);
        Assert.Equal(3, records.Count);
        Assert.Equal(0, stats.BadCrcChunks);
        Assert.Equal(0, stats.DamagedChunks);
        Assert.Empty(stats.Problems);

        var r = records[0];
        Assert.Null(r.Problem);
        Assert.Equal((4624, 4, 101UL, 1UL), (r.EventId, r.Level, r.RecordId, r.HeaderRecordId));
        Assert.Equal(T1, r.TimestampUtc);
        Assert.Equal(("Exir-Test", "Exir/Test", "HOST&1!"), (r.Provider, r.Channel, r.Computer));
        Assert.Equal((1234, 5678, "S-1-5-18"), (r.ProcessId!.Value, r.ThreadId!.Value, r.UserSid));
        Assert.Equal(
        [
            new("Access", "0x1fffff"), new("Names", "alice"), new("Names[2]", "bob"), new("Enabled", "true"),
            new("Binary", "DEAD"), new("Kind", "k"), new("Inner", "x"),
        ], r.Data);
        var xml = r.ToXml();
        Assert.Contains("<TimeCreated SystemTime=\"2021-03-02T01:02:03.4567891Z\"/>", xml);
        Assert.Contains("<Correlation ActivityID=\"{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}\"/>", xml);
        Assert.Contains("<Computer>HOST&amp;1!</Computer>", xml);
        Assert.Contains("<Data Name=\"Names\">alice</Data>\n    <Data Name=\"Names\">bob</Data>", xml);
        Assert.DoesNotContain("Optional", xml);                               // optional NULL: element omitted
        Assert.Contains("<Inner Kind=\"k\">x</Inner>", xml);                  // nested BinXML (0x21)
        Assert.Contains("<?xml-stylesheet href=\"x.xsl\"?>", xml);            // PI target and data

        // Second record: the same template by offset, other NULLs.
        var second = records[1];
        Assert.Equal((4625, 0, 102UL), (second.EventId, second.Level, second.RecordId));
        Assert.Null(second.UserSid);
        Assert.Equal([new("Access", "0x0"), new("Optional", "here"), new("Names", ""), new("Enabled", "false")], second.Data);
        var xml2 = second.ToXml();
        Assert.Contains("<Correlation/>", xml2);                               // optional NULL attribute omitted
        Assert.Contains("<Security/>", xml2);
        Assert.DoesNotContain("<Binary", xml2);
        Assert.DoesNotContain("<Extra", xml2);
        Assert.DoesNotContain("<UserData", xml2);

        // Third record: no template, no dependency ids, names referenced from the earlier records.
        var third = records[2];
        Assert.Null(third.Problem);
        Assert.Equal((1, 3229UL, "MSExchange CmdletLogs"), (third.EventId, third.RecordId, third.Provider));
        Assert.Equal(new DateTime(2021, 11, 19, 16, 52, 33, DateTimeKind.Utc).AddTicks(8337335), third.TimestampUtc);
        Assert.Equal([new("Data[1]", "Set-Mailbox"), new("Data[2]", ""), new("Data[3]", "-Identity x")], third.Data);
    }

    [Fact]
    public void Builder_files_agree_with_live_evtxexport()
    {
        // Checks the builder (and so the test above) against libevtx, on the records libevtx supports.
        if (!File.Exists("/usr/bin/evtxexport")) Assert.Skip("evtxexport not installed");
        var dir = TestPaths.NewTempDir("exir-evtx");
        try
        {
            var path = Path.Combine(dir, "built.evtx");
            t_noCharRef = true;
            try { File.WriteAllBytes(path, TemplatedFile(withTemplateLessRecord: false)); }
            finally { t_noCharRef = false; }
            var events = ReferenceCorpus.ParseEvents("<root>" + RunEvtxexport(path) + "</root>");
            var mine = EvtxReader.ReadRecords(path).ToList();
            Assert.True(events.Count == 2, $"evtxexport gave {events.Count} events: {LastStderr}");
            Assert.Equal(events.Select(ReferenceCorpus.RecordId), mine.Select(r => r.RecordId));
            for (int i = 0; i < 2; i++)
            {
                Assert.Equal(ReferenceCorpus.Normalise(ReferenceCorpus.SystemTime(events[i])!), mine[i].TimestampUtc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'"));
                var theirs = ReferenceCorpus.Data(events[i]).Select(kv => (kv.Key, ReferenceCorpus.Normalise(kv.Value)));
                Assert.Equal(theirs, mine[i].Data.Select(kv => (kv.Key, ReferenceCorpus.Normalise(kv.Value))));
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Mutated_built_files_keep_more_records_than_evtxexport()
    {
        // A zeroed template definition breaks every record that uses it; a bad record size stops
        // the chunk walk. Live runs of libevtx and python-evtx on the same bytes: exir never reads fewer records.
        if (!File.Exists("/usr/bin/evtxexport")) Assert.Skip("evtxexport not installed");
        var dir = TestPaths.NewTempDir("exir-evtx");
        try
        {
            var rng = new Random(42);
            int compared = 0;
            for (int i = 0; i < 12; i++)
            {
                t_noCharRef = true;
                byte[] bytes;
                try { bytes = TemplatedFile(withTemplateLessRecord: false); }
                finally { t_noCharRef = false; }
                for (int k = 0; k < 3; k++) bytes[0x1000 + 0x200 + rng.Next(0, 0x300)] ^= (byte)rng.Next(1, 256);
                var path = Path.Combine(dir, $"m{i}.evtx");
                File.WriteAllBytes(path, bytes);
                // Only events with a record id count: python-evtx also prints garbage for broken templates.
                int theirs = RecordIds(RunEvtxexport(path));
                int python = File.Exists("/usr/bin/evtx_dump.py") ? RecordIds(RunPythonEvtx(path)) : 0;
                int mine = EvtxReader.ReadRecords(path).Count();
                Assert.True(mine >= theirs, $"mutation {i}: exir {mine} < evtxexport {theirs}");
                Assert.True(mine >= python, $"mutation {i}: exir {mine} < python-evtx {python}");
                compared++;
            }
            Assert.Equal(12, compared);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static string LastStderr = "";

    private static int RecordIds(string xml) =>
        System.Text.RegularExpressions.Regex.Matches(xml, @"<EventRecordID>\d+</EventRecordID>").Count;

    private static string RunEvtxexport(string path) => Run("/usr/bin/evtxexport", "-f", "xml", path);

    private static string RunPythonEvtx(string path) => Run("/usr/bin/python3", "/usr/bin/evtx_dump.py", path);

    private static string Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool, args)
            { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(20_000), $"{tool} hung");
        LastStderr = stderr.Result;
        var text = stdout.Result;
        int first = text.IndexOf("<Event", StringComparison.Ordinal);
        return first < 0 ? "" : text[first..];
    }

    [Fact]
    public void Expansion_bomb_is_cut_off_by_the_node_budgets()
    {
        // 100 elements each repeating a 1,000-item array: 100,000 nodes from a 1 KB record, 50 times.
        var b = new EvtxBuilder();
        void Body(EvtxBuilder t)
        {
            t.Open("Event").CloseStart().Open("EventData").CloseStart();
            for (int i = 0; i < 100; i++) t.Open("Data").CloseStart().Sub(0, 0x84).End();
            t.End().End();
        }
        var items = new V(0x84, new byte[1000]);
        for (ulong id = 1; id <= 50; id++) b.Record(id, T1, r => r.Fragment().Template("bomb", Body, items).Eof());
        var stats = new EvtxReadStats();
        long before = GC.GetTotalAllocatedBytes();
        var clock = Stopwatch.StartNew();
        int records = 0;
        foreach (var r in EvtxReader.ReadRecords(new MemoryStream(b.Build()), stats))
        {
            Assert.Equal(100_000, r.Data.Count);
            records++;
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        Assert.True(GC.GetTotalAllocatedBytes() - before < 3L << 30, "allocation not bounded");
        Assert.InRange(records, 5, 10);                           // the chunk's budget admits some records,
        Assert.Contains(stats.Problems, p => p.Contains("budget"));
        Assert.Equal(50, records + stats.BadRecords);             // refuses the rest and counts them
    }

    [Fact]
    public void Long_text_runs_in_a_reused_template_stay_linear()
    {
        // 8,000 character references in one element (each its own token), reused by 300 small records.
        var b = new EvtxBuilder();
        void Body(EvtxBuilder t)
        {
            t.Open("Event").CloseStart().Open("EventData").CloseStart().Open("Data").CloseStart();
            for (int i = 0; i < 8000; i++) t.CharRef((char)('a' + i % 26));
            t.End().End().End();
        }
        for (ulong id = 1; id <= 300; id++) b.Record(id, T1, r => r.Fragment().Template("text", Body).Eof());
        var stats = new EvtxReadStats();
        var clock = Stopwatch.StartNew();
        int records = 0;
        foreach (var r in EvtxReader.ReadRecords(new MemoryStream(b.Build()), stats))
        {
            Assert.Equal(8000, r.GetData("Data[1]")!.Length);
            Assert.StartsWith("abcdefghijklmnopqrstuvwxyzabc", r.GetData("Data[1]"));
            records++;
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal(300, records + stats.BadRecords);
        Assert.True(records >= 100, $"{records} records");
    }

    [Fact]
    public void Json_keeps_a_data_field_named_like_a_System_field()
    {
        var b = new EvtxBuilder();
        b.Record(7, T1, r => r.Fragment()
            .Open("Event").CloseStart()
            .Open("System").CloseStart()
            .Open("EventID").CloseStart().Text("4688").End()
            .Open("Level").CloseStart().Text("0").End()
            .End()
            .Open("EventData").CloseStart()
            .Open("Data", true).Attr("Name").Text("Level").CloseStart().Text("high\"quoted\"\n").End()
            .Open("Data", true).Attr("Name").Text("Level[2]").CloseStart().Text("taken").End()
            .End()
            .End().Eof());
        var record = Assert.Single(EvtxReader.ReadRecords(new MemoryStream(b.Build())));
        using var json = System.Text.Json.JsonDocument.Parse(record.ToJson());
        var root = json.RootElement;
        Assert.Equal(0, root.GetProperty("Level").GetInt32());
        Assert.Equal(4688, root.GetProperty("EventID").GetInt32());
        Assert.Equal("high\"quoted\"\n", root.GetProperty("Level[3]").GetString());
        Assert.Equal("taken", root.GetProperty("Level[2]").GetString());
        Assert.Equal(4, root.EnumerateObject().Count());
    }
}
