using System.Text;
using Exir.Logs;
using Exir.Proxy.AccessLog;

namespace Exir.Proxy.Tests;

public sealed class AccessLogWriterTests
{
    private static readonly DateTimeOffset T0 = new(2021, 3, 3, 2, 14, 7, TimeSpan.Zero);

    private static AccessLogEntry Entry(string target = "/owa/", DateTimeOffset? time = null) => new()
    {
        Time = time ?? T0,
        ServerIp = "192.0.2.10",
        Method = "GET",
        RawTarget = target,
        Port = 443,
        ClientIp = "203.0.113.77",
        HttpVersion = "HTTP/1.1",
        UserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        Host = "mail.contoso.com",
        Status = 200,
        BytesSent = 1234,
        BytesReceived = 321,
        TimeTakenMs = 15,
        ForwardedFor = "203.0.113.77",
        Action = AccessLogAction.Forward,
        Normalised = "/owa/",
    };

    private static string Huge(int n) => string.Concat(Enumerable.Repeat("A b\r\n%+\u00e9", n / 7 + 1))[..n];

    public static TheoryData<string> HostileValues => new()
    {
        "", "-", "a b", "line\r\nbreak", "nul\0byte", "tab\there", "del\u007f", "caf\u00e9 \u20ac \U0001F600", "lone\ud800surrogate",
        "%", "+", "a+b%20c", "#Fields: date", " leading and trailing ", "\n", Huge(100_000),
    };

    private static void AssertOneWellFormedLine(string line)
    {
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\r', line);
        Assert.All(line.Where(c => c != ' '), c => Assert.InRange(c, '!', '~'));
        var tokens = line.Split(' ');
        Assert.Equal(W3cAccessLogWriter.FieldCount, tokens.Length);
        Assert.All(tokens, t => Assert.NotEmpty(t));
    }

    [Theory]
    [MemberData(nameof(HostileValues))]
    public void A_hostile_value_in_any_field_keeps_one_line_and_the_column_count(string value)
    {
        var e = Entry();
        AccessLogEntry[] variants =
        [
            e with { RawTarget = value }, e with { RawTarget = "/owa/?" + value }, e with { Method = value }, e with { User = value },
            e with { UserAgent = value }, e with { Cookie = value }, e with { Referer = value }, e with { Host = value },
            e with { ServerIp = value, ClientIp = value, HttpVersion = value }, e with { ForwardedFor = value },
            e with { Rules = [value, value] }, e with { Normalised = value },
        ];
        foreach (var v in variants)
        {
            var line = W3cAccessLogWriter.FormatLine(v);
            AssertOneWellFormedLine(line);
            Assert.True(Encoding.ASCII.GetByteCount(line) <= new W3cAccessLogOptions().MaxLineBytes);
        }
    }

    [Fact]
    public void Values_are_escaped_as_iis_writes_them()
    {
        var line = W3cAccessLogWriter.FormatLine(Entry("/ecp/%41b+c?x=a+b%20c&y=%2540") with
        {
            UserAgent = "Mozilla/5.0 (X; Y) a+b 100%",
            Cookie = "X-BEResource=localhost/owa/auth/x.js~1942062522; a=caf\u00e9",
            Referer = "-",
            User = null,
            Rules = ["PX-A", "PX-B"],
            Normalised = "/ecp/Ab+c?x=a b c&y=%40",
        });
        var f = line.Split(' ');
        Assert.Equal("2021-03-03", f[0]);
        Assert.Equal("02:14:07", f[1]);
        Assert.Equal("/ecp/%41b+c", f[4]);                   // URI fields: '%' and '+' as on the wire
        Assert.Equal("x=a+b%20c&y=%2540", f[5]);
        Assert.Equal("443", f[6]);
        Assert.Equal("-", f[7]);                             // empty
        Assert.Equal("Mozilla/5.0+(X;+Y)+a%2Bb+100%25", f[10]); // header: space '+', literal '+' and '%' escaped
        Assert.Equal("X-BEResource=localhost/owa/auth/x.js~1942062522;+a=caf%C3%A9", f[11]);
        Assert.Equal("%2D", f[12]);                          // a literal "-" is not "empty"
        Assert.Equal("200", f[14]);
        Assert.Equal("0", f[15]);
        Assert.Equal("forward", f[20]);
        Assert.Equal("PX-A,PX-B", f[21]);
        Assert.Equal("/ecp/Ab%2Bc?x=a+b+c&y=%2540", f[22]);
    }

    [Fact]
    public void A_long_field_is_capped_with_a_mark_and_a_padded_request_still_fits_the_reader()
    {
        var one = W3cAccessLogWriter.FormatLine(Entry() with { UserAgent = new string('u', 20_000) }).Split(' ')[10];
        Assert.Equal(8 * 1024, one.Length);
        Assert.EndsWith(W3cAccessLogWriter.TruncationMark, one);

        // A cut never splits an escape.
        var escaped = W3cAccessLogWriter.FormatLine(Entry() with { UserAgent = "x" + new string('\u00e9', 5000) }).Split(' ')[10];
        Assert.EndsWith("%C3" + W3cAccessLogWriter.TruncationMark, escaped);

        // Every attacker-controlled field at its cap: the longest are cut further so the reader never skips the line.
        var big = new string('x', 30_000);
        var line = W3cAccessLogWriter.FormatLine(Entry("/" + big + "?" + big) with
        {
            UserAgent = big, Cookie = big, Referer = big, Host = big, User = big, ForwardedFor = big, Normalised = big, Method = big,
        });
        AssertOneWellFormedLine(line);
        Assert.True(line.Length <= 56 * 1024, line.Length.ToString());
        Assert.True(line.Length > 40 * 1024);
    }

    [Fact]
    public void Files_are_named_per_utc_day_start_with_a_header_and_are_appended_to()
    {
        var dir = TestPaths.NewTempDir("exir-accesslog");
        using (var w = new W3cAccessLogWriter(dir, new() { Version = "1.2.3" }))
        {
            // 23:30 at UTC-5 is the next UTC day.
            w.Write(Entry("/owa/one", new DateTimeOffset(2021, 3, 2, 23, 30, 0, TimeSpan.FromHours(-5))));
        }
        using (var w = new W3cAccessLogWriter(dir, new() { Version = "1.2.3" }))
            w.Write(Entry("/owa/two", new DateTimeOffset(2021, 3, 3, 10, 0, 0, TimeSpan.Zero)));

        Assert.Equal(["exir-proxy_20210303.log"], Directory.GetFiles(dir).Select(f => Path.GetFileName(f)));
        var lines = File.ReadAllLines(Path.Combine(dir, "exir-proxy_20210303.log"));
        string[] header(string date) => ["#Software: exir proxy 1.2.3", "#Version: 1.0", "#Date: " + date, "#Fields: " + W3cAccessLogWriter.Fields];
        Assert.Equal(header("2021-03-03 04:30:00"), lines[..4]);
        Assert.StartsWith("2021-03-03 04:30:00 ", lines[4]);
        Assert.Contains(" /owa/one ", lines[4]);
        Assert.Equal(header("2021-03-03 10:00:00"), lines[5..9]);
        Assert.Contains(" /owa/two ", lines[9]);
        Assert.Equal(10, lines.Length);
    }

    [Fact]
    public void A_line_cut_by_a_crash_stays_apart_from_the_next_header()
    {
        var dir = TestPaths.NewTempDir("exir-accesslog");
        File.WriteAllText(Path.Combine(dir, "exir-proxy_20210303.log"), "#Fields: date time\r\n2021-03-03 01:00:00 GET /ow");
        using (var w = new W3cAccessLogWriter(dir)) w.Write(Entry());
        var lines = File.ReadAllLines(Path.Combine(dir, "exir-proxy_20210303.log"));
        Assert.Equal("2021-03-03 01:00:00 GET /ow", lines[1]);
        Assert.StartsWith("#Software: exir proxy ", lines[2]);
    }

    [Fact]
    public void The_day_rolls_over_by_the_entrys_utc_date()
    {
        var dir = TestPaths.NewTempDir("exir-accesslog");
        using (var w = new W3cAccessLogWriter(dir))
        {
            w.Write(Entry("/owa/a", new DateTimeOffset(2021, 3, 2, 23, 59, 59, TimeSpan.Zero)));
            w.Write(Entry("/owa/b", new DateTimeOffset(2021, 3, 3, 0, 0, 1, TimeSpan.Zero)));
            w.Write(Entry("/owa/c", new DateTimeOffset(2021, 3, 3, 0, 0, 2, TimeSpan.Zero)));
            w.Write(Entry("/owa/d", new DateTimeOffset(2021, 3, 4, 0, 0, 0, TimeSpan.Zero)));
        }
        var files = Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).Order().ToArray();
        Assert.Equal(["exir-proxy_20210302.log", "exir-proxy_20210303.log", "exir-proxy_20210304.log"], files);
        string[] Data(string name) => File.ReadAllLines(Path.Combine(dir, name)).Where(l => !l.StartsWith('#')).ToArray();
        Assert.Single(Data(files[0]));
        Assert.Equal(2, Data(files[1]).Length);
        Assert.All(Data(files[1]), l => Assert.StartsWith("2021-03-03 ", l));
        Assert.Single(Data(files[2]));
        Assert.All(files, f => Assert.Single(File.ReadAllLines(Path.Combine(dir, f)), l => l.StartsWith("#Fields:")));
    }

    [Fact]
    public void Concurrent_writers_lose_nothing_and_never_interleave_lines()
    {
        var dir = TestPaths.NewTempDir("exir-accesslog");
        const int threads = 8, each = 2000;
        long written;
        using (var w = new W3cAccessLogWriter(dir))
        {
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                for (int i = 0; i < each; i++)
                    w.Write(Entry($"/EWS/Exchange.asmx?t={t}&i={i}") with { UserAgent = "hostile\r\n" + new string('x', i % 300) });
            });
            w.Dispose();
            written = w.Written;
            Assert.Equal(0, w.Dropped);
            Assert.Equal(0, w.WriteErrors);
        }
        Assert.Equal(threads * each, written);
        var data = File.ReadAllLines(Path.Combine(dir, "exir-proxy_20210303.log")).Where(l => !l.StartsWith('#')).ToList();
        Assert.Equal(threads * each, data.Count);
        Assert.All(data, AssertOneWellFormedLine);
        Assert.Equal(threads * each, data.Select(l => l.Split(' ')[5]).Distinct().Count());
    }

    [Fact]
    public async Task Writes_racing_with_dispose_never_throw()
    {
        var dir = TestPaths.NewTempDir("exir-accesslog");
        var w = new W3cAccessLogWriter(dir);
        long attempted = 0;
        var writers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 20_000; i++) { w.Write(Entry()); Interlocked.Increment(ref attempted); }
        })).ToArray();
        await Task.Delay(20);
        w.Dispose();
        await Task.WhenAll(writers); // rethrows anything a Write threw
        Assert.True(w.Written + w.Dropped <= attempted);
        Assert.Equal(0, w.WriteErrors);
        var lines = File.ReadAllLines(Path.Combine(dir, "exir-proxy_20210303.log")).Count(l => !l.StartsWith('#'));
        Assert.Equal(w.Written, lines);
    }

    [Fact]
    public void Lines_reach_the_file_within_the_flush_interval_without_dispose()
    {
        var dir = TestPaths.NewTempDir("exir-accesslog");
        using var w = new W3cAccessLogWriter(dir);
        w.Write(Entry("/owa/flushed"));
        var path = Path.Combine(dir, "exir-proxy_20210303.log");
        string Read()
        {
            try
            {
                using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                return new StreamReader(f).ReadToEnd();
            }
            catch (IOException) { return ""; }
        }
        // The interval is one second; the generous wait only guards against a loaded machine.
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!Read().Contains("/owa/flushed") && DateTime.UtcNow < until) Thread.Sleep(50);
        Assert.Contains("/owa/flushed", Read());
    }

    [Fact]
    public void Disk_errors_are_counted_never_thrown()
    {
        var dir = TestPaths.NewTempDir("exir-accesslog");
        var blocker = Path.Combine(dir, "not-a-folder");
        File.WriteAllText(blocker, "x");
        var w = new W3cAccessLogWriter(Path.Combine(blocker, "logs"));
        for (int i = 0; i < 50; i++) w.Write(Entry());
        w.Dispose();
        w.Dispose();
        w.Write(Entry()); // after Dispose: dropped, not thrown
        Assert.True(w.WriteErrors >= 1);
        Assert.Equal(50, w.LostEntries);
        Assert.Equal(0, w.Written);
        Assert.Equal(1, w.Dropped);
        Assert.NotNull(w.LastError);
    }

    [Fact]
    public void Memory_stays_bounded_when_the_queue_is_full()
    {
        var dir = TestPaths.NewTempDir("exir-accesslog");
        using var w = new W3cAccessLogWriter(dir, new() { MaxQueuedBytes = 64 });
        for (int i = 0; i < 100; i++) w.Write(Entry());
        w.Dispose();
        Assert.Equal(100, w.Dropped);
        Assert.Equal(0, w.Written);
    }

    [Fact]
    public void The_field_list_is_the_one_exir_logs_knows_for_a_file_without_header()
    {
        Assert.Equal(LogFormats.ExirProxyFields, W3cAccessLogWriter.Fields);
        Assert.Equal(W3cAccessLogWriter.FileNamePrefix, LogFormats.ExirProxyFilePrefix);
        Assert.StartsWith(LogFormats.ExirProxySoftware, W3cAccessLogWriter.SoftwareName);
    }

    [Fact]
    public void Exir_logs_reads_the_file_back_as_iis_with_the_original_values()
    {
        var dir = TestPaths.NewTempDir("exir-accesslog");
        var ua = "Mozilla/5.0 (Windows NT 10.0) caf\u00e9 \U0001F600 a+b 100%";
        var cookie = "X-BEResource=localhost/ecp/default.flt?~1942062522; X-AnonResource=true";
        var entry = Entry("/ecp/y.js?a=1&b=%2540") with
        {
            Method = "POST", User = "NT AUTHORITY\\SYSTEM", UserAgent = ua, Cookie = cookie, Referer = "-", Status = 403,
            Action = AccessLogAction.Block, Rules = ["PX-PL-BERESOURCE-COOKIE", "PX-PL-STATIC-SSRF"],
            Normalised = "/ecp/y.js?a=1&b=@", ForwardedFor = "198.51.100.1, 203.0.113.77",
        };
        var big = Entry("/owa/big") with { Cookie = new string('c', 60_000), UserAgent = new string('u', 60_000), Referer = new string('r', 60_000) };
        using (var w = new W3cAccessLogWriter(dir)) { w.Write(entry); w.Write(big); }

        var path = Path.Combine(dir, "exir-proxy_20210303.log");
        var bytes = File.ReadAllBytes(path);
        var sniff = LogFormatSniffer.SniffDetailed(bytes.AsSpan(0, Math.Min(bytes.Length, 65536)), "exir-proxy_20210303.log");
        Assert.NotNull(sniff);
        Assert.Equal(LogFormat.IisW3c, sniff.Format);
        Assert.StartsWith("exir proxy ", sniff.Software);

        using var reader = new LogReader(new MemoryStream(bytes), LogFormat.IisW3c);
        Assert.True(reader.Read());
        static string Unescape(ReadOnlySpan<char> v) => Uri.UnescapeDataString(v.ToString().Replace('+', ' '));
        Assert.False(reader.ColumnMismatch);
        Assert.Equal(T0, reader.Timestamp);
        Assert.Equal("POST", reader.Field("Method").ToString());
        Assert.Equal("/ecp/y.js", reader.Field("Stem").ToString());
        Assert.Equal("a=1&b=%2540", reader.Field("Query").ToString());
        Assert.Equal("403", reader.Field("Status").ToString());
        Assert.Equal("203.0.113.77", reader.Field("ClientIp").ToString());
        Assert.Equal("NT AUTHORITY\\SYSTEM", Unescape(reader.Field("User")));
        Assert.Equal(ua, Unescape(reader.Field("UserAgent")));
        Assert.Equal(cookie, Unescape(reader.Field("cs(Cookie)")));
        Assert.Equal("-", Unescape(reader.Field("cs(Referer)")));
        Assert.Equal("mail.contoso.com", reader.Field("UrlHost").ToString());
        Assert.Equal("198.51.100.1, 203.0.113.77", Unescape(reader.Field("ForwardedFor")));
        Assert.Equal("block", reader.Field("x-exir-action").ToString());
        Assert.Equal("PX-PL-BERESOURCE-COOKIE,PX-PL-STATIC-SSRF", reader.Field("x-exir-rules").ToString());
        Assert.Equal("/ecp/y.js?a=1&b=@", Unescape(reader.Field("x-exir-normalised")));

        Assert.True(reader.Read());
        Assert.False(reader.ColumnMismatch);
        Assert.Equal("/owa/big", reader.Field("Stem").ToString());
        Assert.EndsWith(W3cAccessLogWriter.TruncationMark, reader.Field("cs(Cookie)").ToString());
        Assert.False(reader.Read());
        Assert.Equal(0, reader.Stats.MalformedLines);
    }
}
