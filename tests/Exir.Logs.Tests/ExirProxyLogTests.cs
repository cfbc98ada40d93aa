using System.Text;

namespace Exir.Logs.Tests;

/// <summary>exir proxy's access log (W3C, "#Software: exir proxy ...") is read as an IIS log and counted under its own family.</summary>
public class ExirProxyLogTests
{
    private const string Header =
        "#Software: exir proxy 0.1.0\r\n#Version: 1.0\r\n#Date: 2021-03-03 02:14:07\r\n#Fields: " + LogFormats.ExirProxyFields + "\r\n";

    private const string Line =
        "2021-03-03 02:14:07 192.0.2.10 POST /ecp/y.js - 443 - 203.0.113.77 HTTP/1.1 ExchangeServicesClient/0.0.0.0 " +
        "X-BEResource=localhost/owa/auth/x.js~1942062522 - mail.contoso.com 403 0 0 512 2 203.0.113.77 block PX-PL-STATIC-SSRF /ecp/y.js\r\n";

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static LogReader ReadAll(string text, out List<string> actions)
    {
        var reader = new LogReader(new MemoryStream(B(text)), LogFormat.IisW3c);
        actions = [];
        while (reader.Read()) actions.Add(reader.Field("x-exir-action").ToString() + " " + reader.Field("Stem").ToString());
        return reader;
    }

    [Theory]
    [InlineData("exir-proxy_20210303.log")]
    [InlineData("collected/anything.txt")]
    [InlineData("inetpub/logs/LogFiles/W3SVC1/u_ex210303.log")]
    public void The_header_is_claimed_as_iis_wherever_the_file_lies(string path)
    {
        var sniff = LogFormatSniffer.SniffDetailed(B(Header + Line), path);
        Assert.NotNull(sniff);
        Assert.Equal(LogFormat.IisW3c, sniff.Format);
        Assert.Equal("iis", sniff.Descriptor.Name);
        Assert.Equal("exir proxy 0.1.0", sniff.Software);
    }

    [Fact]
    public void The_software_line_alone_claims_it()
    {
        // A field list without cs-uri-stem (an older or trimmed writer) is still the proxy's log.
        Assert.Equal(LogFormat.IisW3c, LogFormatSniffer.Sniff(B("#Software: exir proxy 9.9\r\n#Fields: date time cs-method x-exir-action\r\n"), "x.log"));
    }

    [Theory]
    [InlineData("proxy01/exir-proxy_20210303.log")]
    [InlineData("inetpub/logs/LogFiles/W3SVC1/renamed.log")]
    public void Coverage_counts_it_under_its_own_family(string path)
    {
        using var reader = ReadAll(Header + Line, out var seen);
        Assert.Equal(["block /ecp/y.js"], seen);
        Assert.Equal(LogFormats.ExirProxyFamily, LogFormats.Iis.CoverageFamily(path, reader));
        Assert.Equal("exir proxy", LogFormats.Iis.CoverageFamily(path, reader));
    }

    [Fact]
    public void An_iis_log_keeps_its_site_family()
    {
        using var reader = ReadAll(LogFixtureText.IisHeader() + "2021-03-03 02:14:07 192.0.2.10 GET /owa/ - 443 - 203.0.113.77 UA - 200 0 0 15\r\n", out _);
        Assert.Equal("IIS/W3SVC1", LogFormats.Iis.CoverageFamily("inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", reader));
        Assert.Equal("IIS", LogFormats.Iis.CoverageFamily("collected/u_ex210303.log", reader));
    }

    [Fact]
    public void A_file_that_lost_its_header_is_read_by_its_name_and_the_proxys_field_list()
    {
        var path = "proxy01/exir-proxy_20210303.log";
        Assert.Equal(LogFormat.IisW3c, LogFormatSniffer.Sniff(B(Line), path));
        Assert.Null(LogFormatSniffer.Sniff(B(Line), "proxy01/other.log"));
        using var reader = ReadAll(Line, out var seen);
        Assert.Equal(["block /ecp/y.js"], seen);
        Assert.Equal(LogFormats.ExirProxyFamily, LogFormats.Iis.CoverageFamily(path, reader));
    }

    [Theory]
    [InlineData("proxy01/exir-proxy_20210303.log", true)]
    [InlineData("EXIR-PROXY_20210303.LOG", true)]
    [InlineData("var/log/exir/exir-proxy_20261203.log", true)]
    [InlineData("var/log/nginx/access.log", false)]
    [InlineData("proxy01/my-exir-proxy_notes.log", false)]
    public void The_file_name_is_known_as_a_log_name(string path, bool expected) =>
        Assert.Equal(expected, LogFormats.LooksLikeLogPath(path));
}
