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
}
