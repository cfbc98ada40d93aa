using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Exir.Knowledge.Builds;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Exir.Knowledge.Tests;

public enum NotShellMitigation { None, AbortRequest, Forbidden }

/// <summary>How an emulated Exchange server answers.</summary>
public sealed record ExchangeProfile
{
    public required ExchangeBuild Build { get; init; }
    /// <summary>X-OWA-Version on OWA responses (exact build).</summary>
    public bool OwaVersionHeader { get; init; } = true;
    /// <summary>The eDiscovery export tool manifest (exact build).</summary>
    public bool ExportTool { get; init; } = true;
    public bool ProxyLogonVulnerable { get; init; }
    public bool ProxyShellVulnerable { get; init; }
    public NotShellMitigation Mitigation { get; init; }
}

/// <summary>
/// An in-process web server on 127.0.0.1 (Kestrel, random port) that answers like Exchange of a given
/// build, or like a hostile or foreign server. Counts requests and the peak of requests in flight
/// across the instances sharing a <see cref="ConcurrencyGauge"/>, so fleet tests can check the bound.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    public Uri BaseUri { get; }
    public int Requests => _requests;
    public List<string> RequestLines { get; } = [];

    private TestServer(WebApplication app, Uri baseUri) { _app = app; BaseUri = baseUri; }

    public static Task<TestServer> Exchange(ExchangeProfile p, X509Certificate2? tls = null, TimeSpan? delay = null, ConcurrencyGauge? gauge = null) =>
        Start(app => MapExchange(app, p), tls, delay, gauge);

    public static async Task<TestServer> Start(Action<WebApplication> map, X509Certificate2? tls = null, TimeSpan? delay = null, ConcurrencyGauge? gauge = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.AddServerHeader = false;
            // Tests touch no address but 127.0.0.1.
            k.Listen(IPAddress.Loopback, 0, l => { if (tls is not null) l.UseHttps(tls); });
        });
        var app = builder.Build();
        TestServer? self = null;
        app.Use(async (ctx, next) =>
        {
            Interlocked.Increment(ref self!._requests);
            lock (self.RequestLines) self.RequestLines.Add($"{ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString}");
            gauge?.Enter();
            try
            {
                if (delay is { } d) await Task.Delay(d);
                await next(ctx);
            }
            finally { gauge?.Leave(); }
        });
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new TestServer(app, new Uri(address.Replace("[::]", "127.0.0.1") + "/"));
        return self;
    }

    private static void MapExchange(WebApplication app, ExchangeProfile p)
    {
        var b = p.Build;
        string cuPath = b.Major == 14 ? b.ToString() : $"{b.Major}.{b.Minor}.{b.Build}";
        string authPrefix = b.Major == 14 ? "/owa" : "/owa/auth";
        void Headers(HttpContext ctx)
        {
            ctx.Response.Headers["X-FEServer"] = "EXCH01";
            if (p.OwaVersionHeader) ctx.Response.Headers["X-OWA-Version"] = b.ToString();
        }
        app.MapGet("/owa/", (HttpContext ctx) =>
        {
            Headers(ctx);
            return Results.Redirect("/owa/auth/logon.aspx?url=https%3a%2f%2fmail%2fowa%2f&reason=0");
        });
        app.MapGet("/owa/auth/logon.aspx", (HttpContext ctx) =>
        {
            Headers(ctx);
            return Results.Content($$"""
                <!DOCTYPE html><html><head><title>Outlook</title>
                <link rel="shortcut icon" href="{{authPrefix}}/{{cuPath}}/themes/resources/favicon.ico" type="image/x-icon">
                <link type="text/css" rel="stylesheet" href="{{authPrefix}}/{{cuPath}}/themes/resources/logon.css">
                </head><body><form action="/owa/auth.owa" method="POST" name="logonForm"></form></body></html>
                """, "text/html; charset=utf-8");
        });
        app.MapGet("/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application", (HttpContext ctx) =>
        {
            if (!p.ExportTool) return Results.NotFound();
            return Results.Content($$"""
                <?xml version="1.0" encoding="utf-8"?>
                <asmv1:assembly xsi:schemaLocation="urn:schemas-microsoft-com:asm.v1 assembly.adaptive.xsd" manifestVersion="1.0" xmlns:asmv1="urn:schemas-microsoft-com:asm.v1" xmlns="urn:schemas-microsoft-com:asm.v2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
                  <assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="{{b}}" publicKeyToken="b1d1a6c45aa418ce" language="neutral" processorArchitecture="msil" xmlns="urn:schemas-microsoft-com:asm.v1" />
                  <description asmv2:publisher="Microsoft Corporation" asmv2:product="Microsoft Exchange Server" xmlns="urn:schemas-microsoft-com:asm.v1" />
                </asmv1:assembly>
                """, "application/x-ms-application");
        });
        app.MapGet("/owa/auth/x.js", (HttpContext ctx) =>
        {
            // Vulnerable front ends compute the back end from the X-BEResource cookie and say so.
            var cookie = ctx.Request.Headers.Cookie.ToString();
            if (p.ProxyLogonVulnerable && cookie.Contains("X-BEResource=localhost", StringComparison.Ordinal))
                ctx.Response.Headers["X-CalculatedBETarget"] = "localhost";
            ctx.Response.StatusCode = p.ProxyLogonVulnerable ? 500 : 404;
            return Task.CompletedTask;
        });
        app.MapGet("/autodiscover/autodiscover.json", async (HttpContext ctx) =>
        {
            var query = Uri.UnescapeDataString(ctx.Request.QueryString.Value ?? "");
            if (p.Mitigation != NotShellMitigation.None && query.Contains("powershell", StringComparison.OrdinalIgnoreCase))
            {
                if (p.Mitigation == NotShellMitigation.Forbidden) { ctx.Response.StatusCode = 403; return; }
                ctx.Abort();   // URL Rewrite "AbortRequest"
                return;
            }
            if (query.StartsWith("?@", StringComparison.Ordinal))
            {
                if (p.ProxyShellVulnerable) { ctx.Response.Redirect("/owa/auth/logon.aspx?url=https%3a%2f%2fmail%2fowa%2f&reason=0"); return; }
                ctx.Response.StatusCode = 400;
                return;
            }
            ctx.Response.StatusCode = 401;
            await Task.CompletedTask;
        });
    }

    /// <summary>A self-signed certificate for 127.0.0.1, as lab Exchange servers have.</summary>
    public static X509Certificate2 SelfSignedCertificate()
    {
        using var rsa = RSA.Create(2048);
        var req = new CertificateRequest("CN=exir-test-exchange", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}

/// <summary>Requests in flight across a group of test servers, and the peak seen.</summary>
public sealed class ConcurrencyGauge
{
    private int _inFlight, _peak;
    public int Peak => Volatile.Read(ref _peak);

    public void Enter()
    {
        int now = Interlocked.Increment(ref _inFlight), peak;
        while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak) { }
    }

    public void Leave() => Interlocked.Decrement(ref _inFlight);
}
