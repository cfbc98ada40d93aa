using System.Text;
using static Exir.Logs.Tests.LogSamples;

namespace Exir.Logs.Tests;

public class LogFormatSnifferTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void IisHeaderIsW3c() => Assert.Equal(LogFormat.IisW3c, LogFormatSniffer.Sniff(B(IisHeader()), "anything.txt"));

    [Fact]
    public void HttpProxyByLogTypeWhateverThePath() => Assert.Equal(LogFormat.HttpProxy, LogFormatSniffer.Sniff(B(HttpProxyHeader()), "collected/x.csv"));

    [Fact]
    public void HeaderMatchingIsCaseInsensitive() =>
        Assert.Equal(LogFormat.HttpProxy, LogFormatSniffer.Sniff(B(HttpProxyHeader().ToLowerInvariant()), "x.log"));

    [Fact]
    public void EcpServerLogByLogType() =>
        Assert.Equal(LogFormat.EcpServer, LogFormatSniffer.Sniff(B("#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: ECP Server Log\r\n#Date: 2021-03-03T00:01:18.223Z\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n"), "x.log"));

    [Fact]
    public void EcpActivityLogWithTheSameFieldsIsNotAnEcpServerLog() =>
        Assert.Equal(LogFormat.OtherExchange, LogFormatSniffer.Sniff(B("#Software: Microsoft Exchange Server\r\n#Log-type: ECP Activity Context Log\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n"), "Logging/ECP/Activity/x.log"));

    [Fact]
    public void OabGeneratorLogByLogTypeOrFolder()
    {
        Assert.Equal(LogFormat.OabGenerator, LogFormatSniffer.Sniff(B("#Software: Microsoft Exchange Server\r\n#Log-type: OABGenerator Log\r\n#Fields: Timestamp,Message\r\n"), "x.log"));
        Assert.Equal(LogFormat.OabGenerator, LogFormatSniffer.Sniff(B("#Software: Microsoft Exchange Server\r\n#Fields: Timestamp,Message\r\n"), "V15/Logging/OABGeneratorLog/a.LOG"));
    }

    [Fact]
    public void OtherExchangeLog() =>
        Assert.Equal(LogFormat.OtherExchange, LogFormatSniffer.Sniff(B("#Software: Microsoft Exchange Server\r\n#Log-type: EWS Logs\r\n#Fields: DateTime,RequestId\r\n"), "Ews_1.log"));

    [Fact]
    public void Utf16WithBomIsSniffed()
    {
        var bytes = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(HttpProxyHeader())).ToArray();
        Assert.Equal(LogFormat.HttpProxy, LogFormatSniffer.Sniff(bytes, "x"));
        var be = Encoding.BigEndianUnicode.GetPreamble().Concat(Encoding.BigEndianUnicode.GetBytes(IisHeader())).ToArray();
        Assert.Equal(LogFormat.IisW3c, LogFormatSniffer.Sniff(be, "x"));
    }

    [Fact]
    public void HeaderlessFileNeedsBothPathAndDataShape()
    {
        var w3c = B("2021-03-03 05:12:33 10.0.0.5 GET /owa/ - 443 - 1.2.3.4 ua - 200 0 0 15\r\n");
        Assert.Equal(LogFormat.IisW3c, LogFormatSniffer.Sniff(w3c, "inetpub/logs/LogFiles/W3SVC1/u_ex210303.log"));
        Assert.Null(LogFormatSniffer.Sniff(w3c, "notes/readme.txt"));
        Assert.Null(LogFormatSniffer.Sniff(B("hello world, nothing here\n"), "inetpub/logs/LogFiles/W3SVC1/u_ex210303.log"));
        Assert.Equal(LogFormat.HttpProxy, LogFormatSniffer.Sniff(B("2021-03-03T05:00:00.000Z,abc,15,1\r\n"), "V15/Logging/HttpProxy/Ecp/HttpProxy_2021030305-1.LOG"));
    }

    [Fact]
    public void BinaryAndEmptyAreNotLogs()
    {
        var junk = new byte[4096];
        new Random(3).NextBytes(junk);
        Assert.Null(LogFormatSniffer.Sniff(junk, "x.log"));
        Assert.Null(LogFormatSniffer.Sniff([], "x.log"));
    }

    [Fact]
    public void DetailedSniffReportsVersionAndLogType()
    {
        var r = LogFormatSniffer.SniffDetailed(B(HttpProxyHeader()), "x");
        Assert.NotNull(r);
        Assert.Equal("15.01.2176.002", r.Version);
        Assert.Equal("HttpProxy Logs", r.LogType);
    }
    /// <summary>
    /// The head is decoded a piece (4 KiB) at a time: wherever a piece ends (inside a directive, between CR and LF,
    /// inside a two-, three- or four-byte character, inside a line longer than a piece), the header reads as a whole.
    /// </summary>
    [Theory]
    [InlineData("utf-8")]
    [InlineData("utf-16")]
    [InlineData("utf-16BE")]
    public void HeaderCutByTheDecodePiecesReadsWhole(string encodingName)
    {
        var encoding = Encoding.GetEncoding(encodingName);
        const string software = "Microsoft Exchange Server \u00e9\u20ac\U0001F600";
        int checkedHeads = 0;
        foreach (var longLine in new[] { false, true })
            for (int pad = 3800; pad < 4700; pad += encoding.GetByteCount("x") == 1 ? 1 : 3)
            {
                // A bare CSV header line first (as Exchange writes it), sized so a piece boundary walks over the directives.
                var lead = longLine ? "DateTime," + new string('x', pad + 5000) : "DateTime," + new string('x', pad / encoding.GetByteCount("x"));
                var text = lead + "\r\n#Software: " + software + "\r\n#Version: 15.01.2176.002\r\n#Log-type: HttpProxy Logs\r\n#Fields: DateTime,RequestId,AnchorMailbox\r\n"
                    + "2021-03-03T05:00:00.000Z,abc,ServerInfo~a]@x:444/ecp/y.js\r\n" + new string('z', 9000);
                var head = encoding.GetPreamble().Concat(encoding.GetBytes(text)).Take(64 * 1024).ToArray();
                var r = LogFormatSniffer.SniffDetailed(head, "x.log");
                Assert.NotNull(r);
                Assert.Equal((LogFormat.HttpProxy, software, "15.01.2176.002", "HttpProxy Logs", "DateTime,RequestId,AnchorMailbox"), (r.Format, r.Software, r.Version, r.LogType, r.Fields));
                checkedHeads++;
            }
        Assert.True(checkedHeads > 500);
    }
    [Fact]
    public void AHeaderIsParsedOnceAndKnowsANameGivenTwice()
    {
        var httpProxy = LogFormats.Get(LogFormat.HttpProxy);
        var schema = httpProxy.ParseSchema("DateTime,RequestId,AnchorMailbox");
        Assert.Same(schema, httpProxy.ParseSchema("DateTime,RequestId,AnchorMailbox,x".AsSpan(0, 32)));
        Assert.NotSame(schema, LogFormats.Get(LogFormat.OtherExchange).ParseSchema("DateTime,RequestId,AnchorMailbox"));
        Assert.Null(schema.RepeatedName);
        Assert.Equal("RequestId", httpProxy.ParseSchema("DateTime,RequestId,AnchorMailbox,requestid").RepeatedName);
    }
}
