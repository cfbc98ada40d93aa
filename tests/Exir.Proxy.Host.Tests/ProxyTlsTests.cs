using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Exir.Proxy.Host;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Exir.Proxy.Host.Tests;

/// <summary>TLS bridging: the proxy terminates with its certificate and re-encrypts to Exchange, whose certificate it checks.</summary>
public sealed class ProxyTlsTests
{
    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        req.CertificateExtensions.Add(san.Build());
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12, "pw"), "pw");
    }

    private static async Task<WebApplication> HttpsBackend(X509Certificate2 cert)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, lo => lo.UseHttps(cert)));
        var app = builder.Build();
        app.Run(async ctx =>
        {
            ctx.Response.Headers["X-FEServer"] = "EXCH01";
            ctx.Response.ContentLength = 7;
            await ctx.Response.WriteAsync("exch-ok");
        });
        await app.StartAsync();
        return app;
    }

    private static async Task<(HttpStatusCode Status, string Body, bool Leaked)> Get(Uri proxy, X509Certificate2 expected)
    {
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHashString() == expected.GetCertHashString();
        using var http = new HttpClient(handler) { BaseAddress = proxy };
        using var resp = await http.GetAsync("/owa/");
        return (resp.StatusCode, await resp.Content.ReadAsStringAsync(), resp.Headers.Contains("X-FEServer"));
    }

    [Fact]
    public async Task TheProxyBridgesTlsChecksExchangesCertificateAndWarnsWhenTheCertificatesDiffer()
    {
        var dir = TestPaths.NewTempDir("exir-proxy-tls");
        using var front = SelfSigned("mail.contoso.test");
        using var exchange = SelfSigned("exch01.corp.test");
        var pfx = Path.Combine(dir, "front.pfx");
        File.WriteAllBytes(pfx, front.Export(X509ContentType.Pkcs12, "secret"));
        Environment.SetEnvironmentVariable("EXIR_TEST_PFX_PASS", "secret");
        await using var backend = await HttpsBackend(exchange);
        var backendUri = new Uri(backend.Urls.First());

        ProxyOptions Options(string? pin, bool validate = true) => new()
        {
            Listen = [new Uri("https://127.0.0.1:0")],
            Backend = backendUri,
            Certificate = new ListenCertificate(pfx, null, "EXIR_TEST_PFX_PASS"),
            BackendCertificatePin = pin,
            ValidateBackendCertificate = validate,
        };

        // Pinned to Exchange's certificate: served, the client sees the proxy's certificate, and a warning about Extended Protection.
        var log = new StringWriter();
        await using (var proxy = await ProxyServer.StartAsync(Options(Convert.ToHexString(SHA256.HashData(exchange.RawData))), TextWriter.Synchronized(log)))
        {
            var (status, body, leaked) = await Get(proxy.Addresses[0], front);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("exch-ok", body);
            Assert.False(leaked, "X-FEServer names the backend: it must not reach the client");
            Assert.Contains("Extended Protection", log.ToString());
        }
        // Trust store only: a self-signed Exchange certificate is refused (502), nothing is sent to it.
        await using (var proxy = await ProxyServer.StartAsync(Options(null), TextWriter.Null))
            Assert.Equal(HttpStatusCode.BadGateway, (await Get(proxy.Addresses[0], front)).Status);
        // A wrong pin is refused too.
        await using (var proxy = await ProxyServer.StartAsync(Options(new string('A', 64)), TextWriter.Null))
            Assert.Equal(HttpStatusCode.BadGateway, (await Get(proxy.Addresses[0], front)).Status);
        // Validation off (a lab): served, and the start line warns.
        var lab = new StringWriter();
        await using (var proxy = await ProxyServer.StartAsync(Options(null, validate: false), TextWriter.Synchronized(lab)))
            Assert.Equal(HttpStatusCode.OK, (await Get(proxy.Addresses[0], front)).Status);
        Assert.Contains("not checked", lab.ToString());
    }

    [Fact]
    public async Task AMissingPasswordOrUnreadableCertificateStopsTheStart()
    {
        var dir = TestPaths.NewTempDir("exir-proxy-tls");
        var broken = Path.Combine(dir, "broken.pfx");
        File.WriteAllText(broken, "not a certificate");
        var o = new ProxyOptions { Listen = [new Uri("https://127.0.0.1:0")], Backend = new Uri("https://127.0.0.1:9"), Certificate = new ListenCertificate(broken) };
        Assert.Contains("broken.pfx", (await Assert.ThrowsAsync<ProxyStartException>(() => ProxyServer.StartAsync(o, TextWriter.Null))).Message);
        o = o with { Certificate = new ListenCertificate(broken, null, "EXIR_TEST_UNSET_VARIABLE_X") };
        Assert.Contains("EXIR_TEST_UNSET_VARIABLE_X", (await Assert.ThrowsAsync<ProxyStartException>(() => ProxyServer.StartAsync(o, TextWriter.Null))).Message);
    }
}
