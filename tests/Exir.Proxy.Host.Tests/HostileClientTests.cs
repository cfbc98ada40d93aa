using System.Diagnostics;
using System.Text;
using Exir.Proxy.Host.Tests.Emulator;

namespace Exir.Proxy.Host.Tests;

public sealed class HostileProxyFixture : IAsyncLifetime
{
    public ProxyHarness Harness { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Harness = await ProxyHarness.StartAsync(
        new EmulatorOptions { RequireAuthentication = false },
        o => o with { HeaderTimeout = TimeSpan.FromSeconds(2) });

    public async ValueTask DisposeAsync() => await Harness.DisposeAsync();
}

/// <summary>
/// Clients that break HTTP on purpose (request smuggling framing, folded or oversized headers, bad request lines,
/// headers trickled for ever): the proxy refuses or closes, Exchange never sees them, and the proxy serves the next
/// normal client.
/// </summary>
public sealed class HostileClientTests(HostileProxyFixture fixture) : IClassFixture<HostileProxyFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(15);
    private ProxyHarness H => fixture.Harness;

    private const string Good = "GET /autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=EWS HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n";

    /// <summary>Sends the bytes on a fresh connection; the answer (null when the proxy closed without one) and whether it closed.</summary>
    private async Task<(RawResponse? Response, bool Closed)> Hostile(byte[] bytes)
    {
        await using var raw = await RawHttpConnection.ConnectAsync(H.Address);
        try { await raw.SendAsync(bytes); }
        catch (IOException) { return (null, true); }
        RawResponse? response;
        try { response = await raw.ReadResponseAsync(Generous); }
        catch (IOException) { return (null, true); }
        return (response, await raw.IsClosedAsync(TimeSpan.FromSeconds(5)));
    }

    private async Task StillServes()
    {
        await using var raw = await RawHttpConnection.ConnectAsync(H.Address);
        await raw.SendAsync(Good);
        var r = await raw.ReadResponseAsync(Generous);
        Assert.Equal(200, r!.Status);
        Assert.Contains("/EWS/Exchange.asmx", r.BodyText);
        Assert.All(H.Emulator.Requests, x => Assert.Null(x.Error));
    }

    private int Seen(string marker) => H.Emulator.Requests.Count(r => r.RawTarget.Contains(marker, StringComparison.Ordinal) || (r.Body is { } b && Encoding.Latin1.GetString(b).Contains(marker, StringComparison.Ordinal)));

    [Theory]
    [InlineData("obs-fold", "GET /owa/?m=obsfold HTTP/1.1\r\nHost: mail.contoso.com\r\nX-Folded: first\r\n second\r\n\r\n", 400)]
    [InlineData("invalid method", "G<T /owa/?m=badmethod HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n", 400)]
    [InlineData("space in target", "GET /owa/?m=space x HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n", 400)]
    [InlineData("bad version", "GET /owa/?m=badversion HTTP/1.7\r\nHost: mail.contoso.com\r\n\r\n", 505)]
    [InlineData("two Host headers", "GET /owa/?m=twohosts HTTP/1.1\r\nHost: mail.contoso.com\r\nHost: exch01.contoso.local\r\n\r\n", 400)]
    [InlineData("no Host", "GET /owa/?m=nohost HTTP/1.1\r\nUser-Agent: x\r\n\r\n", 400)]
    [InlineData("NUL in a header", "GET /owa/?m=nul HTTP/1.1\r\nHost: mail.contoso.com\r\nX-A: a\0b\r\n\r\n", 400)]
    [InlineData("two Content-Lengths", "POST /owa/auth.owa?m=twocl HTTP/1.1\r\nHost: mail.contoso.com\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd", 400)]
    [InlineData("negative Content-Length", "POST /owa/auth.owa?m=negcl HTTP/1.1\r\nHost: mail.contoso.com\r\nContent-Length: -1\r\n\r\nabcd", 400)]
    [InlineData("space before colon", "GET /owa/?m=spacecolon HTTP/1.1\r\nHost: mail.contoso.com\r\nTransfer-Encoding : chunked\r\n\r\n", 400)]
    public async Task Malformed_requests_are_refused_before_Exchange(string name, string request, int status)
    {
        var marker = request.Split("m=")[1].Split([' ', '\r'])[0];
        var (response, closed) = await Hostile(Encoding.Latin1.GetBytes(request));
        Assert.True(response?.Status == status || (response is null && closed), $"{name}: {response?.StatusLine ?? "no answer"}");
        Assert.True(closed, $"{name}: the connection stayed open after a malformed request");
        Assert.Equal(0, Seen("m=" + marker));
        await StillServes();
    }

    [Fact]
    public async Task Content_Length_with_Transfer_Encoding_is_never_passed_on_ambiguously()
    {
        // The classic CL.TE smuggling: a front end reading Content-Length and a back end reading chunked disagree on
        // where the request ends, and the rest becomes a second request the front end never judged.
        const string smuggled = "GET /aspnet_client/smuggled.aspx HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n";
        var chunk = $"{smuggled.Length:x}\r\n{smuggled}\r\n0\r\n\r\n";
        var request = "POST /owa/auth.owa?m=clte HTTP/1.1\r\nHost: mail.contoso.com\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
                      $"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}";
        var (response, closed) = await Hostile(Encoding.Latin1.GetBytes(request));
        Assert.Equal(0, H.Emulator.Requests.Count(r => r.RawTarget.Contains("smuggled", StringComparison.Ordinal)));
        var passed = H.Emulator.Requests.Where(r => r.RawTarget.Contains("m=clte", StringComparison.Ordinal)).ToList();
        if (passed.Count == 0)
            Assert.True(response?.Status == 400 || closed, response?.StatusLine ?? "no answer");
        else
        {
            // Read as chunked (RFC 9112 6.3: Transfer-Encoding wins), re-framed once: the body is the chunk's data.
            var r = Assert.Single(passed);
            Assert.False(r.Header("Content-Length") is not null && r.Header("Transfer-Encoding") is not null, "both framings reached Exchange");
            Assert.Equal(smuggled, Encoding.Latin1.GetString(r.Body!));
            Assert.True(closed, "RFC 9112 6.1: after a request with both, the connection must close");
        }
        await StillServes();
    }

    [Fact]
    public async Task Oversized_headers_are_refused()
    {
        var big = new string('A', 80 * 1024);
        var (response, closed) = await Hostile(Encoding.ASCII.GetBytes($"GET /owa/?m=bigheader HTTP/1.1\r\nHost: mail.contoso.com\r\nCookie: X-BEResource={big}\r\n\r\n"));
        Assert.True(response?.Status == 431 || (response is null && closed), response?.StatusLine ?? "no answer");
        Assert.Equal(0, Seen("m=bigheader"));

        var longTarget = "/owa/?m=longline&x=" + new string('B', 20 * 1024);
        var (r2, _) = await Hostile(Encoding.ASCII.GetBytes($"GET {longTarget} HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n"));
        Assert.True(r2 is null || r2.Status is 414 or 400, r2?.StatusLine);
        Assert.Equal(0, Seen("m=longline"));
        await StillServes();
    }

    [Fact]
    public async Task Headers_trickled_slower_than_the_header_timeout_lose_the_connection()
    {
        await using var raw = await RawHttpConnection.ConnectAsync(H.Address);
        var clock = Stopwatch.StartNew();
        var closed = false;
        try
        {
            await raw.SendAsync("GET /owa/?m=slowloris HTTP/1.1\r\nHost: mail.contoso.com\r\n");
            // One header line every 300 ms, for at most 12 s; the header timeout is 2 s.
            while (clock.Elapsed < TimeSpan.FromSeconds(12))
            {
                await Task.Delay(300);
                await raw.SendAsync($"X-Slow-{clock.ElapsedMilliseconds}: x\r\n");
            }
        }
        catch (IOException) { closed = true; }
        if (!closed) closed = await raw.IsClosedAsync(TimeSpan.FromSeconds(3));
        Assert.True(closed, "the proxy kept a connection whose headers never ended");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"closed only after {clock.Elapsed}");
        Assert.Equal(0, Seen("m=slowloris"));
        await StillServes();
    }

    [Fact]
    public async Task Many_idle_connections_do_not_stop_a_normal_client()
    {
        var idle = new List<RawHttpConnection>();
        try
        {
            for (var i = 0; i < 100; i++)
            {
                var c = await RawHttpConnection.ConnectAsync(H.Address);
                idle.Add(c);
                await c.SendAsync("GET /owa/ HTTP/1.1\r\n"); // started, never finished
            }
            await StillServes();
        }
        finally
        {
            foreach (var c in idle) await c.DisposeAsync();
        }
    }
}
