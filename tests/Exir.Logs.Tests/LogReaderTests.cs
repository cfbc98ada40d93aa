using System.Text;
using static Exir.Logs.Tests.LogSamples;

namespace Exir.Logs.Tests;

public class LogReaderTests
{
    private static List<(long Line, string Text)> ReadAll(LogReader r)
    {
        var list = new List<(long, string)>();
        while (r.Read()) list.Add((r.LineNumber, r.Line.ToString()));
        return list;
    }

    private static LogReaderOptions Filter(params string[] literals) => new() { Literals = literals };

    [Fact]
    public void W3cFieldsAreReadByHeaderNameWithDashAsEmptyAndPlusKept()
    {
        var text = IisHeader() +
                   "2021-03-03 05:12:33 10.0.0.5 GET /owa/auth/logon.aspx replaceCurrent=1 443 - 203.0.113.7 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 15\r\n";
        using var r = new LogReader(Stream(text), LogFormat.IisW3c);
        Assert.True(r.Read());
        Assert.Equal(5, r.LineNumber);
        Assert.Equal("/owa/auth/logon.aspx", r.Field("cs-uri-stem").ToString());
        Assert.Equal("/owa/auth/logon.aspx", r.Field("Stem").ToString());
        Assert.Equal("", r.Field("cs-username").ToString());
        Assert.Equal("Mozilla/5.0+(Windows+NT+10.0)", r.Field("UserAgent").ToString());
        Assert.Equal(new DateTimeOffset(2021, 3, 3, 5, 12, 33, TimeSpan.Zero), r.Timestamp);
        Assert.False(r.ColumnMismatch);
        Assert.False(r.Read());
    }

    [Fact]
    public void FieldsHeaderChangingMidFileRemapsColumns()
    {
        var text = IisHeader("date time cs-method cs-uri-stem c-ip sc-status") +
                   "2021-03-03 01:00:00 GET /a 1.1.1.1 200\n" +
                   "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time sc-status c-ip cs-uri-stem cs-method\n" +
                   "2021-03-03 02:00:00 404 2.2.2.2 /b POST\n";
        using var r = new LogReader(Stream(text), LogFormat.IisW3c);
        Assert.True(r.Read());
        Assert.Equal("/a", r.Field("cs-uri-stem").ToString());
        Assert.True(r.Read());
        Assert.Equal("/b", r.Field("cs-uri-stem").ToString());
        Assert.Equal("POST", r.Field("Method").ToString());
        Assert.Equal("404", r.Field("Status").ToString());
        Assert.Equal(8, r.LineNumber);
    }

    [Fact]
    public void DirectiveChangeIsSeenEvenWhenThePrefilterSkipsEverythingAroundIt()
    {
        var sb = new StringBuilder(IisHeader("date time cs-uri-stem c-ip"));
        for (int i = 0; i < 5000; i++) sb.Append("2021-03-03 01:00:00 /plain 1.1.1.1\n");
        sb.Append("#Fields: date time c-ip cs-uri-stem\n");
        sb.Append("2021-03-03 02:00:00 9.9.9.9 /needle\n");
        using var r = new LogReader(Stream(sb.ToString()), LogFormat.IisW3c, Filter("needle"));
        Assert.True(r.Read());
        Assert.Equal("/needle", r.Field("cs-uri-stem").ToString());
        Assert.Equal("9.9.9.9", r.Field("c-ip").ToString());
        Assert.Equal(4 + 5000 + 1 + 1, r.LineNumber);
        Assert.False(r.Read());
        Assert.Equal(4 + 5000 + 1 + 1, r.Stats.Lines);
    }

    [Fact]
    public void CsvQuotingKeepsCommasAndDoubledQuotesInsideOneField()
    {
        var text = "#Software: Microsoft Exchange Server\n#Log-type: ECP Server Log\n#Fields: TimeStamp,ServerName,EventId,EventData\n" +
                   "2021-03-03T05:00:00.000Z,EXCH01,ECP.Request,\"S:CMD=Set-OabVirtualDirectory.ExternalUrl='http://f/<script language=\"\"JScript\"\">x,y</script>';S:EX=\"\n";
        using var r = new LogReader(Stream(text), LogFormat.EcpServer);
        Assert.True(r.Read());
        Assert.Equal(4, r.FieldCount);
        Assert.Equal("S:CMD=Set-OabVirtualDirectory.ExternalUrl='http://f/<script language=\"JScript\">x,y</script>';S:EX=", r.Field("EventData").ToString());
        Assert.Equal("EXCH01", r.Field("ServerName").ToString());
        Assert.False(r.ColumnMismatch);
    }

    [Fact]
    public void Exchange_logs_that_begin_with_a_bare_csv_header_are_sniffed_and_read_without_a_malformed_line()
    {
        // As Exchange writes them: the field names as a plain line, then the directives, then the data.
        var line = HttpProxyLine(new() { ["DateTime"] = "2021-03-03T05:00:00.000Z", ["AnchorMailbox"] = "ServerInfo~a]@x:444/ecp/y#", ["HttpStatus"] = "241" }, HttpProxyFieldsE2013);
        var text = HttpProxyFieldsE2013 + "\r\n" + HttpProxyHeader(HttpProxyFieldsE2013, "15.00.1497.002") + line;
        Assert.Equal(LogFormat.HttpProxy, LogFormatSniffer.Sniff(Encoding.UTF8.GetBytes(text), "collected/x.log"));
        foreach (var filter in new[] { (LogReaderOptions?)null, Filter("ServerInfo~") })
        {
            using var r = filter is null ? new LogReader(Stream(text), LogFormat.HttpProxy) : new LogReader(Stream(text), LogFormat.HttpProxy, filter);
            Assert.True(r.Read());
            Assert.Equal("ServerInfo~a]@x:444/ecp/y#", r.Field("AnchorMailbox").ToString());
            Assert.Equal(7, r.LineNumber);
            Assert.False(r.Read());
            Assert.Equal(0, r.Stats.MalformedLines);
            Assert.Empty(r.Stats.Notes);
        }
        // A data line first is data, not a header: it holds a time.
        using var data = new LogReader(Stream(line + line), LogFormat.HttpProxy);
        Assert.True(data.Read());
        Assert.Equal(1, data.LineNumber);
    }

    [Fact]
    public void E2013ShorterFieldListMapsByName()
    {
        var line = HttpProxyLine(new() { ["DateTime"] = "2021-03-03T05:00:00.000Z", ["AnchorMailbox"] = "ServerInfo~a]@x:444/ecp/y#", ["UrlQuery"] = "?q=1", ["HttpStatus"] = "200" }, HttpProxyFieldsE2013);
        using var r = new LogReader(Stream(HttpProxyHeader(HttpProxyFieldsE2013, "15.00.1497.002") + line), LogFormat.HttpProxy);
        Assert.True(r.Read());
        Assert.Equal("?q=1", r.Field("UrlQuery").ToString());
        Assert.Equal("ServerInfo~a]@x:444/ecp/y#", r.Field("AnchorMailbox").ToString());
        Assert.Equal("15.00.1497.002", r.Version);
        Assert.False(r.ColumnMismatch);
        Assert.NotEqual(HttpProxyFields.Split(',').ToList().IndexOf("UrlQuery"), r.Schema!.IndexOf("UrlQuery"));
    }

    [Fact]
    public void MissingFieldsUsesDefaultListWhenColumnCountMatchesElseTheLineContent()
    {
        var good = "2021-03-03 05:12:33 10.0.0.5 GET /ecp/y.js - 443 - 203.0.113.7 ua - 200 0 0 15\n";
        using (var r = new LogReader(Stream(good), LogFormat.IisW3c))
        {
            Assert.True(r.Read());
            Assert.True(r.Schema!.IsFallback);
            Assert.Equal("/ecp/y.js", r.Field("cs-uri-stem").ToString());
            Assert.Contains(r.Stats.Notes, n => n.Contains("default"));
        }
        // No known list has five columns, but a method followed by a path names the request fields.
        var odd = "2021-03-03 05:12:33 GET /ecp/y.js 200\n";
        using (var r = new LogReader(Stream(odd), LogFormat.IisW3c))
        {
            Assert.True(r.Read());
            Assert.True(r.Schema!.IsFallback);
            Assert.Equal("/ecp/y.js", r.Field("Stem").ToString());
            Assert.Equal(0, r.Stats.UnparsedLines);
        }
        var unreadable = "2021-03-03 05:12:33 something else entirely\n";
        using (var r = new LogReader(Stream(unreadable), LogFormat.IisW3c))
        {
            Assert.True(r.Read()); // still handed over: line rules can read the raw text
            Assert.Null(r.Schema);
            Assert.Equal(0, r.FieldCount);
            Assert.Equal(1, r.Stats.UnparsedLines);
        }
    }

    public static TheoryData<string, bool, string> Encodings() => new()
    {
        { "utf-8", false, "\n" }, { "utf-8", true, "\r\n" }, { "utf-16le", true, "\r\n" }, { "utf-16be", true, "\n" }, { "utf-16le", false, "\n" },
    };

    [Theory]
    [MemberData(nameof(Encodings))]
    public void EncodingsAndLineEndsReadTheSame(string encoding, bool bom, string newline)
    {
        Encoding enc = encoding switch
        {
            "utf-16le" => new UnicodeEncoding(false, false),
            "utf-16be" => new UnicodeEncoding(true, false),
            _ => new UTF8Encoding(false),
        };
        var text = (IisHeader() + "2021-03-03 05:12:33 10.0.0.5 GET /ecp/y.js - 443 - 203.0.113.7 ua-é - 200 0 0 15\r\n").Replace("\r\n", newline);
        using var r = new LogReader(Stream(text, enc, bom), LogFormat.IisW3c, Filter("y.js"));
        Assert.True(r.Read());
        Assert.Equal("/ecp/y.js", r.Field("cs-uri-stem").ToString());
        Assert.Equal("ua-é", r.Field("cs(User-Agent)").ToString());
        Assert.Equal("15", r.Field("time-taken").ToString());
        Assert.Equal(5, r.LineNumber);
    }

    [Fact]
    public void TenMegabyteLineIsCountedAndSkippedAndTheNextLineStillRead()
    {
        var sb = new StringBuilder(IisHeader("date time cs-uri-stem"));
        sb.Append("2021-03-03 01:00:00 /").Append('A', 10 * 1024 * 1024).Append("needle\n");
        sb.Append("2021-03-03 01:00:01 /needle\n");
        using var r = new LogReader(Stream(sb.ToString()), LogFormat.IisW3c, Filter("needle"));
        Assert.True(r.Read());
        Assert.Equal("/needle", r.Field("cs-uri-stem").ToString());
        Assert.Equal(6, r.LineNumber);
        Assert.False(r.Read());
        Assert.Equal(1, r.Stats.OverlongLines);
        Assert.Equal(1, r.Stats.MalformedLines);
    }

    [Fact]
    public void BinaryJunkIsCountedAsMalformedAndReadingGoesOn()
    {
        var junk = new byte[3000];
        new Random(7).NextBytes(junk);
        var ms = new MemoryStream();
        ms.Write(Encoding.UTF8.GetBytes(IisHeader("date time cs-uri-stem")));
        ms.Write(junk);
        ms.Write(Encoding.UTF8.GetBytes("\n2021-03-03 01:00:01 /needle\n"));
        ms.Position = 0;
        using var r = new LogReader(ms, LogFormat.IisW3c, Filter("needle"));
        var lines = ReadAll(r);
        Assert.Contains(lines, l => l.Text.EndsWith("/needle"));
        Assert.True(r.Stats.BinaryLines > 0);
        Assert.True(r.Stats.MalformedLines >= r.Stats.BinaryLines);
    }

    [Fact]
    public void TruncatedLastLineIsFlaggedAndStillRead()
    {
        var text = IisHeader("date time cs-uri-stem c-ip") + "2021-03-03 01:00:00 /ok 1.1.1.1\n2021-03-03 01:00:01 /needle 2.2";
        using var r = new LogReader(Stream(text), LogFormat.IisW3c, Filter("needle"));
        Assert.True(r.Read());
        Assert.Equal("2.2", r.Field("c-ip").ToString());
        Assert.True(r.Stats.TruncatedLastLine);
        Assert.Equal(new DateTimeOffset(2021, 3, 3, 1, 0, 1, TimeSpan.Zero), r.Stats.Last);
    }

    [Fact]
    public void ShiftedColumnsAreFlagged()
    {
        var text = IisHeader("date time cs-uri-stem c-ip") + "2021-03-03 01:00:00 /needle extra 1.1.1.1\n";
        using var r = new LogReader(Stream(text), LogFormat.IisW3c, Filter("needle"));
        Assert.True(r.Read());
        Assert.True(r.ColumnMismatch);
        Assert.Equal(1, r.Stats.ColumnMismatchLines);
    }

    [Fact]
    public void SkippedLinesStillGiveTheTimeSpanAndDays()
    {
        var sb = new StringBuilder(IisHeader("date time cs-uri-stem"));
        foreach (var day in new[] { 1, 2, 6 })
            for (int h = 0; h < 24; h++) sb.Append($"2021-03-0{day} {h:00}:00:00 /plain\n");
        using var r = new LogReader(Stream(sb.ToString()), LogFormat.IisW3c, Filter("never-present"));
        Assert.False(r.Read());
        Assert.Equal(new DateTimeOffset(2021, 3, 1, 0, 0, 0, TimeSpan.Zero), r.Stats.First);
        Assert.Equal(new DateTimeOffset(2021, 3, 6, 23, 0, 0, TimeSpan.Zero), r.Stats.Last);
        Assert.Equal([new DateOnly(2021, 3, 1), new DateOnly(2021, 3, 2), new DateOnly(2021, 3, 6)], r.Stats.Days.Order().ToArray());
        Assert.Equal(72 + 4, r.Stats.Lines);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void TinyReadsGiveTheSameLinesAsOneRead(int seed)
    {
        var rnd = new Random(seed);
        var sb = new StringBuilder(HttpProxyHeader());
        for (int i = 0; i < 3000; i++)
        {
            var anchor = rnd.Next(50) == 0 ? "ServerInfo~a]@x:444/ecp/" + i : "SMTP:user" + i + "@contoso.com";
            sb.Append(HttpProxyLine(new() { ["DateTime"] = $"2021-03-03T01:{i / 60 % 60:00}:{i % 60:00}.000Z", ["AnchorMailbox"] = anchor, ["UserAgent"] = "a,\"b\"" }));
            if (i == 1500) sb.Append("#Fields: " + HttpProxyFields + "\r\n");
        }
        var bytes = new UTF8Encoding(true).GetPreamble().Concat(Encoding.UTF8.GetBytes(sb.ToString())).ToArray();
        var options = Filter("ServerInfo~") with { MaxLineChars = 4096 };
        using var whole = new LogReader(new MemoryStream(bytes), LogFormat.HttpProxy, options);
        using var trickle = new LogReader(new TrickleStream(bytes, seed), LogFormat.HttpProxy, options);
        var a = new List<string>();
        var b = new List<string>();
        while (whole.Read()) a.Add(whole.LineNumber + ":" + whole.Field("AnchorMailbox").ToString() + ":" + whole.Field("UserAgent").ToString());
        while (trickle.Read()) b.Add(trickle.LineNumber + ":" + trickle.Field("AnchorMailbox").ToString() + ":" + trickle.Field("UserAgent").ToString());
        Assert.NotEmpty(a);
        Assert.Equal(a, b);
        Assert.All(a, s => Assert.EndsWith(":a,\"b\"", s));
        Assert.Equal(whole.Stats.Lines, trickle.Stats.Lines);
        Assert.Equal(3000 + 6, whole.Stats.Lines);
    }

    [Fact]
    public void PrefilteredLineNumbersMatchAFullRead()
    {
        var sb = new StringBuilder(IisHeader("date time cs-uri-stem"));
        for (int i = 0; i < 20000; i++) sb.Append(i % 997 == 0 ? $"2021-03-03 01:00:00 /hit{i}\n" : "2021-03-03 01:00:00 /plain\n");
        var text = sb.ToString();
        using var all = new LogReader(Stream(text), LogFormat.IisW3c);
        var expected = ReadAll(all).Where(l => l.Text.Contains("/hit")).ToList();
        using var filtered = new LogReader(Stream(text), LogFormat.IisW3c, Filter("/HIT"));
        Assert.Equal(expected, ReadAll(filtered));
        Assert.Equal(all.Stats.Lines, filtered.Stats.Lines);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void ManyLiteralGroupsAndPercentLinesGiveExactlyTheMatchingLines(int seed)
    {
        // More literals than one search group holds, '%' lines, and buffer boundaries everywhere.
        string[] literals = ["ServerInfo~", "Server~", "powershell", "autodiscover.json", "X-Rps-CAT", "/owa/auth/", ".js ", "DDIService.svc",
                             "VirtualDirectory", "antSword", "python-requests/2.25.1", "Googlebot/2.1", "proxyLogon.ecp", "Slurp"];
        string[] noise = ["/owa/service.svc", "/EWS/Exchange.asmx", "/mapi/emsmdb/", "Mozilla/5.0", "alice@contoso.com", "x=1&y=2"];
        var rnd = new Random(seed);
        var sb = new StringBuilder(IisHeader("date time cs-uri-stem cs-uri-query"));
        var expected = new List<long>();
        for (int i = 0; i < 4000; i++)
        {
            string stem = rnd.Next(10) == 0 ? literals[rnd.Next(literals.Length)].Trim().Replace(' ', '_') : noise[rnd.Next(noise.Length)];
            if (rnd.Next(2) == 0) stem = stem.ToUpperInvariant();
            string query = rnd.Next(15) == 0 ? "a=%41" : "-";
            var line = $"2021-03-03 01:00:00 /{stem} {query}";
            sb.Append(line).Append(rnd.Next(3) == 0 ? "\r\n" : "\n");
            if (literals.Any(l => line.Contains(l, StringComparison.OrdinalIgnoreCase)) || line.Contains('%')) expected.Add(5 + i);
        }
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        var options = new LogReaderOptions { Literals = literals, IncludePercentLines = true, MaxLineChars = 200 };
        using var r = new LogReader(new TrickleStream(bytes, seed), LogFormat.IisW3c, options);
        var got = new List<long>();
        while (r.Read()) got.Add(r.LineNumber);
        Assert.True(expected.Count > 100);
        Assert.Equal(expected, got);
        Assert.Equal(4004, r.Stats.Lines);
    }

    [Fact]
    public void ReadErrorsPropagateSoTheCallerCanReportThem()
    {
        var bytes = Encoding.UTF8.GetBytes(IisHeader() + new string('x', 1000));
        using var r = new LogReader(new FailingStream(bytes, 100), LogFormat.IisW3c);
        Assert.Throws<IOException>(() => { while (r.Read()) { } });
    }

    [Fact]
    public void HostileValuesAreReturnedVerbatim()
    {
        const string hostile = "<script>alert(1)</script>=cmd|'/c calc'!A1\u001b[31m";
        var text = "#Software: Microsoft Exchange Server\n#Log-type: ECP Server Log\n#Fields: TimeStamp,ServerName,EventId,EventData\n" +
                   "2021-03-03T05:00:00.000Z,EXCH01,ECP.Request," + Csv(hostile) + "\n";
        using var r = new LogReader(Stream(text), LogFormat.EcpServer);
        Assert.True(r.Read());
        Assert.Equal(hostile, r.Field("EventData").ToString());
    }
}
