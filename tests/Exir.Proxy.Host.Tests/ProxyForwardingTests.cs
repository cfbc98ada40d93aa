using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Exir.Proxy.Host;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Exir.Proxy.Host.Tests;

/// <summary>What the transformer and the limits promise: the target byte for byte, Host kept, X-Forwarded-For not forgeable, lockout, limits.</summary>
public sealed class ProxyForwardingTests
{
    private sealed record Seen(string RawTarget, string Host, string? Xff, string? TraceParent);

    /// <summary>Answers 401 to Basic "wrong" (a failed logon), 200 otherwise; records what arrived.</summary>
    private static async Task<(WebApplication App, ConcurrentQueue<Seen> Seen)> Backend()
    {
        var seen = new ConcurrentQueue<Seen>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(async ctx =>
        {
            seen.Enqueue(new Seen(ctx.Features.Get<IHttpRequestFeature>()!.RawTarget, ctx.Request.Headers.Host.ToString(),
                ctx.Request.Headers["X-Forwarded-For"].ToString() is { Length: > 0 } x ? x : null,
                ctx.Request.Headers["traceparent"].ToString() is { Length: > 0 } t ? t : null));
            var auth = ctx.Request.Headers.Authorization.ToString();
            if (auth.StartsWith("Basic ", StringComparison.Ordinal) && Encoding.ASCII.GetString(Convert.FromBase64String(auth[6..])).EndsWith(":wrong", StringComparison.Ordinal))
            {
                ctx.Response.StatusCode = 401;
                ctx.Response.Headers.WWWAuthenticate = "Basic realm=\"mail\"";
            }
            ctx.Response.Headers["X-BEServer"] = "EXCH01";
            ctx.Response.Headers["X-Powered-By"] = "ASP.NET";
            ctx.Response.ContentLength = 2;
            await ctx.Response.WriteAsync("ok");
        });
        await app.StartAsync();
        return (app, seen);
    }

    private static ProxyOptions Options(string backend, ProxyOptions.Reloadable? policy = null) => new()
    {
        Listen = [new Uri("http://127.0.0.1:0")], Backend = new Uri(backend), Policy = policy ?? new ProxyOptions.Reloadable(),
    };

    private static async Task<string> Raw(Uri proxy, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(proxy.Host, proxy.Port);
        var s = tcp.GetStream();
        await s.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buf = new byte[8192];
        var n = await s.ReadAsync(buf);
        return Encoding.ASCII.GetString(buf, 0, n);
    }

    [Fact]
    public async Task TheTargetGoesByteForByteHostIsKeptForwardedForIsTheClientAndInsideHeadersAreDropped()
    {
        var (app, seen) = await Backend();
        await using var _ = app;
        await using var proxy = await ProxyServer.StartAsync(Options(app.Urls.First()), TextWriter.Null);
        var target = "/owa/service.svc?action=GetItem&ID=AAMkAD%2Bx%3D%3D&UA=0%2C1";
        var answer = await Raw(proxy.Addresses[0], $"GET {target} HTTP/1.1\r\nHost: mail.contoso.com\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", answer);
        Assert.DoesNotContain("X-BEServer", answer, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("X-Powered-By", answer, StringComparison.OrdinalIgnoreCase);
        var s = Assert.Single(seen);
        Assert.Equal(target, s.RawTarget);
        Assert.Equal("mail.contoso.com", s.Host);
        Assert.Equal("127.0.0.1", s.Xff); // the client's own 10.0.0.1 is not believed
        Assert.Null(s.TraceParent);
    }

    [Fact]
    public async Task ATrustedForwardersAddressChainIsKept()
    {
        var (app, seen) = await Backend();
        await using var _ = app;
        await using var proxy = await ProxyServer.StartAsync(Options(app.Urls.First(), new ProxyOptions.Reloadable { TrustForwardedFrom = ["127.0.0.0/8"] }), TextWriter.Null);
        await Raw(proxy.Addresses[0], "GET /owa/ HTTP/1.1\r\nHost: mail.contoso.com\r\nX-Forwarded-For: 198.51.100.4\r\nConnection: close\r\n\r\n");
        Assert.Equal("198.51.100.4, 127.0.0.1", Assert.Single(seen).Xff);
    }

    [Fact]
    public async Task ManyFailedLogonsLockTheAddressOutAndMakeAFinding()
    {
        var (app, seen) = await Backend();
        await using var _ = app;
        await using var proxy = await ProxyServer.StartAsync(Options(app.Urls.First(), new ProxyOptions.Reloadable { FailedAuthLimit = 3 }), TextWriter.Null);
        using var http = new HttpClient { BaseAddress = proxy.Addresses[0] };
        HttpResponseMessage Send(string user) => http.Send(new HttpRequestMessage(HttpMethod.Post, "/Microsoft-Server-ActiveSync?Cmd=Sync")
        {
            Headers = { { "Authorization", "Basic " + Convert.ToBase64String(Encoding.ASCII.GetBytes(user)) } },
        });
        for (var i = 0; i < 4; i++) Assert.Equal(HttpStatusCode.Unauthorized, Send("u:wrong").StatusCode);
        // Locked out now, even with the right password, without reaching Exchange.
        var before = seen.Count;
        var locked = Send("u:right");
        Assert.Equal((HttpStatusCode)429, locked.StatusCode);
        Assert.True(locked.Headers.Contains("Retry-After"));
        Assert.Equal(before, seen.Count);
        Assert.True(proxy.Findings.Reader.TryRead(out var f));
        Assert.Equal("PX-AUTH-FAILED-LOGONS", f.RuleId);
        Assert.Equal("127.0.0.1", f.ClientIp);
        Assert.DoesNotContain("dTp3cm9uZw", f.Evidence); // credentials are not kept as evidence
        Assert.Equal(1, proxy.Metrics.Requests("ratelimit"));
    }

    [Fact]
    public async Task RouteLimitsApplyBodyTooLargeWrongMethodAndUnpublishedPathsNeverReachExchange()
    {
        var (app, seen) = await Backend();
        await using var _ = app;
        await using var proxy = await ProxyServer.StartAsync(Options(app.Urls.First()), TextWriter.Null);
        var big = await Raw(proxy.Addresses[0], "POST /OAB/x HTTP/1.1\r\nHost: m\r\nContent-Length: 10\r\n\r\n0123456789");
        Assert.StartsWith("HTTP/1.1 405", big); // OAB takes GET and HEAD
        var tooLarge = await Raw(proxy.Addresses[0], "POST /owa/service.svc HTTP/1.1\r\nHost: m\r\nContent-Length: 999999999999\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 413", tooLarge);
        var rpc = await Raw(proxy.Addresses[0], "RPC_IN_DATA /rpc/rpcproxy.dll?exch01:6001 HTTP/1.1\r\nHost: m\r\nContent-Length: 1073741824\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 404", rpc); // /rpc is off unless enabled
        Assert.Empty(seen);
    }

    [Fact]
    public async Task EachClientConnectionGetsItsOwnUpstreamConnectionAndItIsClosedWithIt()
    {
        var (app, _) = await Backend();
        await using var __ = app;
        await using var proxy = await ProxyServer.StartAsync(Options(app.Urls.First()), TextWriter.Null);
        var clients = new List<TcpClient>();
        for (var i = 0; i < 5; i++)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync(proxy.Addresses[0].Host, proxy.Addresses[0].Port);
            Assert.Equal(200, await ProxyConfigTests.Get(tcp.GetStream(), "/owa/", "x"));
            Assert.Equal(200, await ProxyConfigTests.Get(tcp.GetStream(), "/EWS/Exchange.asmx", "x"));
            clients.Add(tcp);
        }
        Assert.Equal(5, proxy.Metrics.OpenUpstreams);
        foreach (var c in clients) c.Dispose();
        for (var i = 0; i < 100 && proxy.Metrics.OpenUpstreams > 0; i++) await Task.Delay(50);
        Assert.Equal(0, proxy.Metrics.OpenUpstreams);
    }
}
