using Exir.Proxy;

namespace Exir.Proxy.Tests;

public sealed class NormaliserTests
{
    private static NormalisedRequest N(string target, params Header[] headers) => RequestNormaliser.Normalise("get", target, headers);

    [Theory]
    [InlineData("/owa/", "/owa/")]
    [InlineData("/OWA/Auth/Logon.aspx", "/OWA/Auth/Logon.aspx")]
    [InlineData("/owa/%61uth/x", "/owa/auth/x")]
    [InlineData("/owa/%2561uth/x", "/owa/auth/x")]
    [InlineData("/owa\\auth\\x", "/owa/auth/x")]
    [InlineData("//owa///auth//x", "/owa/auth/x")]
    [InlineData("/owa/./auth/../auth/x", "/owa/auth/x")]
    [InlineData("/owa/auth/x;jsessionid=1/y;a", "/owa/auth/x/y")]
    [InlineData("/owa/auth/.", "/owa/auth/")]
    [InlineData("/owa/auth/..", "/owa/")]
    [InlineData("owa", "/owa")]
    [InlineData("", "/")]
    [InlineData("https://mail.contoso.com/owa/?x=1", "/owa/")]
    [InlineData("/owa/%u0061uth", "/owa/auth")]
    [InlineData("/owa/%2e%2e/ecp/x", "/ecp/x")]
    public void Paths_come_out_in_the_form_the_server_reads(string target, string path)
    {
        var n = N(target);
        Assert.Equal(path, n.Path);
        Assert.Equal(path.ToLowerInvariant(), n.PathLower);
        Assert.False(n.IsAmbiguous, string.Join(",", n.AnomalyList));
    }

    [Fact]
    public void Query_is_decoded_with_plus_as_space_and_an_encoded_question_mark_stays_in_the_path()
    {
        var n = N("/a%3Fb/c?x=1+2&e=u%40c.com&p=%2B");
        Assert.Equal("/a?b/c", n.Path);
        Assert.Equal("x=1 2&e=u@c.com&p=+", n.Query);
        Assert.Equal("/a?b/c?x=1 2&e=u@c.com&p=+", n.DecodedUri);
        Assert.Equal(1, n.DecodingRounds);
        Assert.Equal("GET", n.Method);
    }

    [Theory]
    [InlineData("/x?a=%40", 1, false)]
    [InlineData("/x?a=%2540", 2, false)]
    [InlineData("/x?a=%252540", 3, false)]
    [InlineData("/x?a=%25252540", 4, false)]
    [InlineData("/x?a=%2525252540", 4, true)]
    public void Decoding_stops_after_four_rounds_and_more_is_ambiguous(string target, int rounds, bool ambiguous)
    {
        var n = N(target);
        Assert.Equal(rounds, n.DecodingRounds);
        Assert.Equal(ambiguous, n.IsAmbiguous);
        Assert.Equal(ambiguous, n.Anomalies.HasFlag(Anomaly.ExcessiveEncoding));
        if (!ambiguous) Assert.Equal("a=@", n.Query);
        if (rounds > 1) Assert.True(n.Anomalies.HasFlag(Anomaly.MultipleEncoding));
    }

    [Theory]
    [InlineData("/owa/%c0%af", Anomaly.OverlongUtf8)]           // '/' in two bytes
    [InlineData("/owa/%c1%9c", Anomaly.OverlongUtf8)]           // '\' in two bytes
    [InlineData("/owa/%e0%80%af", Anomaly.OverlongUtf8)]        // '/' in three bytes
    [InlineData("/owa/%f0%80%80%af", Anomaly.OverlongUtf8)]     // '/' in four bytes
    [InlineData("/owa/%25c0%25af", Anomaly.OverlongUtf8)]       // the same, encoded twice
    [InlineData("/owa/x%00.aspx", Anomaly.NulByte)]
    [InlineData("/owa/x?a=%2500", Anomaly.NulByte)]
    [InlineData("/owa/%0d%0aSet-Cookie:x", Anomaly.ControlCharacter)]
    [InlineData("/owa/%ff", Anomaly.InvalidUtf8)]
    [InlineData("/owa/%e4%b8", Anomaly.InvalidUtf8)]            // a truncated sequence
    [InlineData("/owa/%ed%a0%80", Anomaly.InvalidUtf8)]         // a UTF-16 surrogate
    [InlineData("/owa/%ud800", Anomaly.InvalidUtf8)]
    [InlineData("/../../windows/win.ini", Anomaly.AboveRoot)]
    public void Encodings_a_backend_could_read_otherwise_are_ambiguous(string target, Anomaly expected)
    {
        var n = N(target);
        Assert.True(n.Anomalies.HasFlag(expected), string.Join(",", n.AnomalyList));
        Assert.True(n.IsAmbiguous);
    }

    [Fact]
    public void A_lone_surrogate_in_the_target_text_is_ambiguous()
    {
        var n = N("/owa/\ud800x");
        Assert.True(n.Anomalies.HasFlag(Anomaly.InvalidUtf8));
        Assert.True(n.IsAmbiguous);
    }

    [Fact]
    public void Real_UTF8_is_not_an_anomaly()
    {
        var n = N("/owa/M%C3%BCller/%E4%B8%AD/%F0%9F%98%80");
        Assert.Equal("/owa/Müller/中/😀", n.Path);
        Assert.False(n.IsAmbiguous);
    }

    [Fact]
    public void Percent_u_is_decoded_and_noted()
    {
        var n = N("/autodiscover/autodiscover.json?%u0040evil.com/%U0050owershell");
        Assert.Equal("@evil.com/Powershell", n.Query);
        Assert.True(n.Anomalies.HasFlag(Anomaly.PercentU));
        Assert.False(n.IsAmbiguous);
    }

    [Fact]
    public void A_lone_percent_is_kept_and_noted_but_not_refused()
    {
        var n = N("/owa/100%?q=50%z");
        Assert.Equal("/owa/100%", n.Path);
        Assert.Equal("q=50%z", n.Query);
        Assert.True(n.Anomalies.HasFlag(Anomaly.MalformedPercent));
        Assert.False(n.IsAmbiguous);
    }

    [Fact]
    public void Cleanup_anomalies_are_recorded()
    {
        var n = N("/owa\\x//y/./z;p");
        Assert.Equal(Anomaly.Backslash | Anomaly.DuplicateSlashes | Anomaly.DotSegments | Anomaly.PathParameters, n.Anomalies);
        Assert.Equal("/owa/x/y/z", n.Path);
    }

    [Fact]
    public void Cookies_are_split_trimmed_and_decoded()
    {
        var n = N("/owa/", new Header("Cookie", "a=1; X-BEResource=localhost%2Fowa%2Fauth%2Flogon.aspx%3F%7E3 ;b=\"q%2540\"; flag"),
            new Header("cookie", "c=d"), new Header("User-Agent", "UA/1"));
        Assert.Equal(
            [new Cookie("a", "1"), new Cookie("X-BEResource", "localhost/owa/auth/logon.aspx?~3"), new Cookie("b", "q@"), new Cookie("flag", ""), new Cookie("c", "d")],
            n.Cookies);
        Assert.Equal("UA/1", n.UserAgent);
    }

    [Fact]
    public void A_comma_separates_cookies_as_ASP_NET_reads_them()
    {
        var n = N("/ecp/y.js", new Header("Cookie", "a=b, X-BEResource=localhost/owa/auth/logon.aspx?~3"));
        Assert.Equal([new Cookie("a", "b"), new Cookie("X-BEResource", "localhost/owa/auth/logon.aspx?~3")], n.Cookies);
    }

    [Fact]
    public void A_cookie_with_a_NUL_makes_the_request_ambiguous()
    {
        var n = N("/owa/", new Header("Cookie", "X-BEResource=a%00b"));
        Assert.True(n.Anomalies.HasFlag(Anomaly.BadCookie));
        Assert.True(n.IsAmbiguous);
    }

    [Fact]
    public void Long_targets_use_the_pooled_buffer_and_decode_the_same()
    {
        var segment = string.Concat(Enumerable.Repeat("%2561", 300));
        var n = N("/owa/" + segment + "?q=" + segment);
        Assert.Equal("/owa/" + new string('a', 300), n.Path);
        Assert.Equal("q=" + new string('a', 300), n.Query);
        Assert.Equal(2, n.DecodingRounds);
    }

    [Fact]
    public void Hostile_input_never_throws()
    {
        var rng = new Random(11);
        const string alphabet = "%25uU0aAfFcC/\\.;?#+&=@~ \u00e9\u0000\r\n\ud800";
        for (var i = 0; i < 5000; i++)
        {
            var chars = new char[rng.Next(0, 40)];
            for (var k = 0; k < chars.Length; k++) chars[k] = alphabet[rng.Next(alphabet.Length)];
            var text = new string(chars);
            var n = RequestNormaliser.Normalise("GET", text, [new Header("Cookie", text)]);
            Assert.StartsWith("/", n.Path);
        }
    }
}
