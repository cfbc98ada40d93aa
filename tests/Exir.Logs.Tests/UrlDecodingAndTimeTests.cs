namespace Exir.Logs.Tests;

public class UrlDecodingAndTimeTests
{
    [Theory]
    [InlineData("/autodiscover/autodiscover.json?@evil.com/%50owershell", "/autodiscover/autodiscover.json?@evil.com/Powershell")]
    [InlineData("%2540evil", "@evil")]          // double encoding
    [InlineData("%252540x", "@x")]              // triple
    [InlineData("%u0070owershell", "powershell")]
    [InlineData("100%", "100%")]                // stray percent kept
    [InlineData("%zz%4", "%zz%4")]
    [InlineData("plain", "plain")]
    public void DecodesRepeatedly(string input, string expected) => Assert.Equal(expected, UrlDecoding.DecodeRepeatedly(input));

    [Theory]
    [InlineData("url=https%3a%2f%2fmail.contoso.com%2fowa%2f", false)]
    [InlineData("%2F%3D%26", false)]
    [InlineData("FooProtocol=%50owershell", true)]
    [InlineData("%2540evil", true)]
    [InlineData("%u0070", true)]
    [InlineData("x%31", true)]
    [InlineData("100%", false)]
    public void OnlyEscapesThatCanHideTextNeedDecoding(string text, bool expected) => Assert.Equal(expected, UrlDecoding.MayHideText(text));

    [Theory]
    [InlineData("2021-03-03T05:12:33.123Z", "2021-03-03T05:12:33.1230000+00:00")]
    [InlineData("2021-03-03T05:12:33Z", "2021-03-03T05:12:33.0000000+00:00")]
    [InlineData("2021-03-03T06:12:33+01:00", "2021-03-03T05:12:33.0000000+00:00")]
    [InlineData("2021-03-03T05:12:33", "2021-03-03T05:12:33.0000000+00:00")]
    public void IsoTimesAreUtc(string text, string expected) => Assert.Equal(expected, LogTime.ParseIso(text)!.Value.ToString("o"));

    [Theory]
    [InlineData("")]
    [InlineData("not a date")]
    [InlineData("2021-13-45T99:00:00Z")]
    public void BadTimesAreNull(string text) => Assert.Null(LogTime.ParseIso(text));

    [Fact]
    public void W3cDateAndTimeAreUtc() =>
        Assert.Equal(new DateTimeOffset(2021, 3, 3, 5, 12, 33, TimeSpan.Zero), LogTime.ParseW3c("2021-03-03", "05:12:33"));
}
