using System.Text;
using static Exir.Logs.Tests.LogSamples;

namespace Exir.Logs.Tests;

/// <summary>
/// An intruder who can write the logs can break their headers: wipe them, empty #Fields, name a field twice,
/// list fewer fields than the lines hold. The attack lines below must still be read by field name.
/// </summary>
public class HostileLogTests
{
    private const string Path = "inetpub/logs/LogFiles/W3SVC1/u_ex210303.log";

    private static string Benign(int n) => string.Concat(Enumerable.Range(0, n).Select(i =>
        $"2021-03-03 05:{i % 60:00}:01 10.0.0.1 GET /owa/ - 443 - 10.0.0.9 Mozilla/5.0 - 200 0 0 15\r\n"));

    private const string Attack = "2021-03-03 06:00:01 10.0.0.1 POST /ecp/y.js - 443 - 203.0.113.77 ExchangeServicesClient/0.0.0.0 - 200 0 0 15\r\n";

    /// <summary>Reads every line with the ".js " prefilter a rule would use and returns the attack line's fields.</summary>
    private static (string Stem, string Status, string ClientIp, DateTimeOffset? Time, LogReader Reader) ReadAttack(byte[] log)
    {
        var r = new LogReader(new MemoryStream(log), LogFormat.IisW3c, new LogReaderOptions { Literals = [".js "] });
        while (r.Read())
            if (r.Line.Contains("y.js", StringComparison.Ordinal))
                return (r.Field("Stem").ToString(), r.Field("Status").ToString(), r.Field("ClientIp").ToString(), r.Timestamp, r);
        throw new Xunit.Sdk.XunitException("the attack line was not returned");
    }

    private static byte[] Log(string fields, int zeroed = 0)
    {
        var b = Encoding.UTF8.GetBytes(IisHeader(fields) + Benign(20) + Attack + Benign(2));
        Array.Clear(b, 0, zeroed);
        return b;
    }

    public static TheoryData<string, string> Headers() => new()
    {
        { "duplicate name, same count", IisFields.Replace("cs-uri-stem", "cs-method") },
        { "duplicate name, shifted", "date " + IisFields },
        { "empty", "" },
        { "fewer fields than columns", "date time cs-uri-stem" },
        { "more fields than columns", IisFields + " X-Forwarded-For cs-host" },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void ABrokenFieldsHeaderDoesNotHideTheAttackLine(string what, string fields)
    {
        var (stem, status, ip, time, r) = ReadAttack(Log(fields));
        using (r)
        {
            Assert.True(stem == "/ecp/y.js", what);
            Assert.Equal("200", status);
            Assert.Equal("203.0.113.77", ip);
            Assert.Equal(new DateTimeOffset(2021, 3, 3, 6, 0, 1, TimeSpan.Zero), time);
            while (r.Read()) { }
            Assert.NotEmpty(r.Stats.Notes);
            Assert.Equal(new DateTimeOffset(2021, 3, 3, 6, 0, 1, TimeSpan.Zero), r.Stats.Last);
            Assert.Equal(0, r.Stats.UnparsedLines);
        }
    }

    [Fact]
    public void AZeroedHeaderIsStillSniffedAsIisAndItsLinesRead()
    {
        var log = Log(IisFields, zeroed: 300);
        Assert.Equal(LogFormat.IisW3c, LogFormatSniffer.Sniff(log, Path));
        var (stem, _, _, time, r) = ReadAttack(log);
        using (r)
        {
            Assert.Equal("/ecp/y.js", stem);
            Assert.NotNull(time);
        }
        // The same for an Exchange CSV log whose header was wiped.
        var proxy = Encoding.UTF8.GetBytes(HttpProxyHeader() + HttpProxyLine(new() { ["DateTime"] = "2021-03-03T05:00:00.000Z", ["UrlStem"] = "/ecp/x.js" }));
        Array.Clear(proxy, 0, 200);
        Assert.Equal(LogFormat.HttpProxy, LogFormatSniffer.Sniff(proxy, "V15/Logging/HttpProxy/Ecp/HttpProxy_2021030305-1.LOG"));
    }

    [Fact]
    public void AnUnknownFieldListIsReadByContent()
    {
        // Headerless, with site and server names in front and two custom fields at the end: no known list has 19 columns.
        var line = "2021-03-03 06:00:01 W3SVC1 EXCH01 10.0.0.1 POST /ecp/y.js - 443 - 203.0.113.77 HTTP/1.1 ExchangeServicesClient/0.0.0.0 - 200 0 0 15 198.51.100.9 x\r\n";
        using var r = new LogReader(new MemoryStream(Encoding.UTF8.GetBytes(line)), LogFormat.IisW3c);
        Assert.True(r.Read());
        Assert.True(r.Schema!.IsFallback);
        Assert.Equal("POST", r.Field("Method").ToString());
        Assert.Equal("/ecp/y.js", r.Field("Stem").ToString());
        Assert.Equal("", r.Field("Query").ToString());
        Assert.Equal("10.0.0.1", r.Field("s-ip").ToString());
        Assert.Equal("443", r.Field("s-port").ToString());
        Assert.Equal("203.0.113.77", r.Field("ClientIp").ToString());
        Assert.Equal("ExchangeServicesClient/0.0.0.0", r.Field("UserAgent").ToString());
        Assert.Equal("200", r.Field("Status").ToString());
        Assert.Equal(new DateTimeOffset(2021, 3, 3, 6, 0, 1, TimeSpan.Zero), r.Timestamp);
        Assert.Contains(r.Stats.Notes, n => n.Contains("content"));
    }

    [Fact]
    public void ARandomLogIsBinaryAndLogPathsAreKnown()
    {
        var junk = new byte[5000];
        new Random(5).NextBytes(junk);
        Assert.True(LogText.LooksBinary(junk));
        Assert.False(LogText.LooksBinary(Log(IisFields)));
        Assert.True(LogFormats.LooksLikeLogPath("collected/u_ex210303.LOG"));
        Assert.True(LogFormats.LooksLikeLogPath("x/W3SVC2/any.log"));
        Assert.True(LogFormats.LooksLikeLogPath("V15/Logging/Ews/Ews_1.log"));
        Assert.False(LogFormats.LooksLikeLogPath("Windows/setupapi.log"));
    }
}
