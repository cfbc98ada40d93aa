using System.Net;
using System.Net.Sockets;
using System.Text;
using Exir.Proxy;
using Exir.Proxy.Host;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Exir.Proxy.Host.Tests;

/// <summary>exir-proxy.yaml: what it accepts, how precisely it refuses, and a live reload that keeps connections.</summary>
public sealed class ProxyConfigTests
{
    [Fact]
    public void AFullConfigReadsWithPathsRelativeToTheFile()
    {
        const string yaml = """
            listen: [https://0.0.0.0:443, http://127.0.0.1:8080]
            backend: https://exch01.corp.local
            certificate: { file: certs/mail.pfx, passwordEnv: PFX_PASS }
            backendTls: { pin: "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89" }
            admin: http://127.0.0.1:9901
            accessLog: logs
            internalNetworks: [10.20.0.0/16, "fd00::/8"]
            trustForwardedFrom: [192.0.2.10/32]
            enableRpc: true
            block: { action: abort }
            failedAuth: { limit: 5, windowSeconds: 60 }
            limits: { headerTimeoutSeconds: 10, maxHeaderKiB: 48 }
            shutdownGraceSeconds: 120
            """;
        var o = ProxyConfigFile.Parse("/etc/exir/exir-proxy.yaml", yaml, "/etc/exir");
        Assert.Equal(["https://0.0.0.0/", "http://127.0.0.1:8080/"], o.Listen.Select(u => u.ToString()));
        Assert.Equal("exch01.corp.local", o.Backend.Host);
        Assert.Equal("/etc/exir/certs/mail.pfx", o.Certificate!.File);
        Assert.Equal("PFX_PASS", o.Certificate.PasswordEnvironmentVariable);
        Assert.Equal(64, o.BackendCertificatePin!.Length);
        Assert.Equal("/etc/exir/logs", o.AccessLogDirectory);
        Assert.Equal(["10.20.0.0/16", "fd00::/8"], o.Policy.InternalNetworks);
        Assert.True(o.Policy.EnableRpc);
        Assert.Equal(BlockAction.Abort, o.Policy.BlockAction);
        Assert.Equal(5, o.Policy.FailedAuthLimit);
        Assert.Equal(TimeSpan.FromSeconds(60), o.Policy.FailedAuthWindow);
        Assert.Equal(TimeSpan.FromSeconds(10), o.HeaderTimeout);
        Assert.Equal(48 * 1024, o.MaxHeaderBytes);
        Assert.Equal(TimeSpan.FromSeconds(120), o.ShutdownGrace);
    }

    [Fact]
    public void TheShippedExampleConfigReadsAndItsPolicyBuilds()
    {
        var o = ProxyConfigFile.Load(Path.Combine(TestPaths.RepoRoot, "deploy", "exir-proxy.example.yaml"));
        Assert.Equal("exch01.corp.local", o.Backend.Host);
        Assert.EndsWith("deploy/certs/mail.pfx", o.Certificate!.File.Replace('\\', '/'));
        Assert.Equal(["10.20.0.0/16"], o.Policy.InternalNetworks);
        var runtime = ProxyRuntime.Build(o.Policy);
        Assert.Contains("internal only (10.20.0.0/16)", runtime.Describe());
        // The certificate files of the example do not exist here: validation says which.
        Assert.Contains("mail.pfx", Assert.Throws<ProxyStartException>(() => ProxyServer.Validate(o)).Message);
    }

    [Fact]
    public void ABadConfigIsRefusedWithEveryProblemAndItsLine()
    {
        const string yaml = """
            listen: [http://127.0.0.1:8080/owa]
            backend: https://exch01/ecp
            internalNetworks: [10.20.0.0/33]
            blok: { action: abort }
            failedAuth: { limit: zero }
            backendTls: { pin: "123" }
            """;
        var e = Assert.Throws<ProxyDataException>(() => ProxyConfigFile.Parse("p.yaml", yaml, "/tmp"));
        var lines = e.Problems.Select(p => (p.Line, p.Message)).ToList();
        Assert.Contains(lines, p => p.Line == 1 && p.Message.Contains("no path"));
        Assert.Contains(lines, p => p.Line == 2 && p.Message.Contains("without a path"));
        Assert.Contains(lines, p => p.Line == 3 && p.Message.Contains("CIDR"));
        Assert.Contains(lines, p => p.Line == 4 && p.Message.Contains("unknown key 'blok'"));
        Assert.Contains(lines, p => p.Line == 5 && p.Message.Contains("limit 'zero'"));
        Assert.Contains(lines, p => p.Line == 6 && p.Message.Contains("SHA-256"));
        Assert.All(e.Problems, p => Assert.Equal("p.yaml", p.File));
    }

    [Fact]
    public void AConfigWithoutABackendOrNotYamlIsRefused()
    {
        Assert.Contains(Assert.Throws<ProxyDataException>(() => ProxyConfigFile.Parse("p.yaml", "listen: [http://127.0.0.1:1]", "/tmp")).Problems,
            p => p.Message.Contains("missing 'backend'"));
        Assert.Contains(Assert.Throws<ProxyDataException>(() => ProxyConfigFile.Parse("p.yaml", "backend: [unclosed", "/tmp")).Problems,
            p => p.Message.Contains("not valid YAML"));
    }

    [Fact]
    public void RouteTransportSettingsAreReadAndCheckedInTheExposureFile()
    {
        const string yaml = """
            routes:
              - { prefix: /rpc, methods: [RPC_IN_DATA], activityTimeoutSeconds: 960, maxBodyMiB: 2048, longLived: true }
              - { prefix: /owa, methods: [GET], maxBodyMiB: unlimited }
              - { prefix: /ews, methods: [POST] }
            """;
        var e = Exposure.Parse("x.yaml", yaml);
        var rpc = e.Find("/rpc/rpcproxy.dll")!;
        Assert.Equal(TimeSpan.FromSeconds(960), rpc.ActivityTimeout);
        Assert.Equal(2048L << 20, rpc.MaxBodyBytes);
        Assert.True(rpc.LongLived);
        Assert.Null(e.Find("/owa/")!.MaxBodyBytes);
        var ews = e.Find("/ews/exchange.asmx")!;
        Assert.Equal(ExposureRoute.DefaultActivityTimeout, ews.ActivityTimeout);
        Assert.Equal(ExposureRoute.DefaultMaxBodyBytes, ews.MaxBodyBytes);
        Assert.False(ews.LongLived);

        var bad = Assert.Throws<ProxyDataException>(() => Exposure.Parse("x.yaml", """
            routes:
              - { prefix: /rpc, methods: [GET], activityTimeoutSeconds: 0, maxBodyMiB: -1, longLived: yes }
            """));
        Assert.Equal(3, bad.Problems.Count);
    }

    [Fact]
    public void TheShippedExposureCarriesTheLongLivedProtocols()
    {
        var runtime = ProxyRuntime.Build(new ProxyOptions.Reloadable { EnableRpc = true });
        var e = runtime.Policy.Exposure;
        Assert.True(e.Find("/microsoft-server-activesync")!.ActivityTimeout >= TimeSpan.FromSeconds(3540), "ActiveSync Ping holds up to 3,540 s");
        Assert.True(e.Find("/ews")!.ActivityTimeout >= TimeSpan.FromMinutes(30), "EWS streaming subscriptions hold up to 30 minutes");
        var rpc = e.Find("/rpc")!;
        Assert.True(rpc.Enabled && rpc.LongLived);
        Assert.True(rpc.MaxBodyBytes >= 2L * 1024 * 1024 * 1024 - 1, "RPC_IN_DATA declares up to 2 GB");
        Assert.False(ProxyRuntime.Build(new ProxyOptions.Reloadable()).Policy.Exposure.Find("/rpc")!.Enabled);
    }

    [Theory]
    [InlineData("GET", null, 401, "NTLM|Negotiate", null, "/ews/exchange.asmx", false)]                      // first contact: no credentials yet
    [InlineData("POST", "NTLM TlRMTVNTUAABAAAA", 401, "NTLM TlRMTVNTUAACAAAA", null, "/ews/exchange.asmx", false)] // the challenge leg
    [InlineData("POST", "NTLM TlRMTVNTUAADAAAA", 401, "NTLM|Negotiate", null, "/ews/exchange.asmx", true)]   // type 3 refused
    [InlineData("POST", "Basic dTpw", 401, "Basic realm=\"x\"", null, "/microsoft-server-activesync", true)]
    [InlineData("POST", "Negotiate YIIx", 401, "Negotiate oYIx", null, "/mapi/emsmdb/", false)]              // SPNEGO continues
    [InlineData("POST", null, 302, "", "/owa/auth/logon.aspx?url=x&reason=2", "/owa/auth.owa", true)]
    [InlineData("POST", null, 302, "", "/owa/", "/owa/auth.owa", false)]
    [InlineData("GET", "Basic dTpw", 200, "", null, "/ews/exchange.asmx", false)]
    public void AFailedLogonIsTheEndOfAHandshakeNotItsChallenge(string method, string? auth, int status, string challenges, string? location, string path, bool failure) =>
        Assert.Equal(failure, FailedLogons.IsFailure(method, auth, status, challenges.Split('|', StringSplitOptions.RemoveEmptyEntries), location, path));

    [Fact]
    public void AnAddressIsLockedOutPastTheLimitAndOnlyItself()
    {
        long now = 0;
        using var limiter = new FailedLogons(3, TimeSpan.FromMinutes(5), () => now);
        var a = IPAddress.Parse("198.51.100.7");
        var b = IPAddress.Parse("198.51.100.8");
        Assert.False(limiter.Failed(a));
        Assert.False(limiter.Failed(a));
        Assert.False(limiter.Failed(a));
        Assert.True(limiter.Failed(a));
        Assert.True(limiter.IsLockedOut(a));
        Assert.False(limiter.IsLockedOut(b));
        now += (long)TimeSpan.FromMinutes(5).TotalMilliseconds + 1;
        Assert.False(limiter.IsLockedOut(a));
    }

    [Fact]
    public async Task AChangedConfigAppliesWithoutDroppingAnOpenConnectionAndABadOneIsRefused()
    {
        var dir = TestPaths.NewTempDir("exir-proxy-reload");
        await using var backend = await TinyBackend.StartAsync();
        var file = Path.Combine(dir, "exir-proxy.yaml");
        File.WriteAllText(file, $"listen: [http://127.0.0.1:0]\nbackend: {backend.Address}\n");
        var log = new StringWriter();
        var options = ProxyConfigFile.Load(file);
        await using var proxy = await ProxyServer.StartAsync(options, TextWriter.Synchronized(log));
        var address = proxy.Addresses[0];

        using var socket = new TcpClient();
        await socket.ConnectAsync(address.Host, address.Port);
        var stream = socket.GetStream();
        Assert.Equal(200, await Get(stream, "/owa/", "203.0.113.5"));
        Assert.Equal(404, await Get(stream, "/ecp/", "203.0.113.5"));

        // ECP for 127.0.0.0/8 (the test's client), same connection before and after.
        File.WriteAllText(file, $"listen: [http://127.0.0.1:0]\nbackend: {backend.Address}\ninternalNetworks: [127.0.0.0/8]\n");
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddSeconds(5));
        await WaitFor(() => proxy.Runtime.Policy.Exposure.InternalNetworks.Count == 1);
        Assert.Equal(200, await Get(stream, "/ecp/", "203.0.113.5"));

        File.WriteAllText(file, $"backend: {backend.Address}\ninternalNetworks: [127.0.0.0/99]\n");
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddSeconds(10));
        await WaitFor(() => log.ToString().Contains("not reloaded"));
        Assert.Contains("exir-proxy.yaml:2", log.ToString());
        Assert.Equal(200, await Get(stream, "/ecp/", "203.0.113.5"));
        Assert.Equal(1, backend.Connections);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 150 && !condition(); i++) await Task.Delay(100);
        Assert.True(condition(), "the reload did not happen within 15 s");
    }

    /// <summary>One request on an open connection (keep-alive), the status of the answer; the body is drained by its Content-Length.</summary>
    internal static async Task<int> Get(NetworkStream stream, string target, string xff)
    {
        var request = Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: mail.contoso.com\r\nX-Forwarded-For: {xff}\r\n\r\n");
        await stream.WriteAsync(request);
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one) == 0) throw new IOException("connection closed");
            head.Append((char)one[0]);
        }
        var text = head.ToString();
        var length = 0;
        foreach (var line in text.Split("\r\n"))
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line[15..].Trim());
        var body = new byte[length];
        await stream.ReadExactlyAsync(body);
        return int.Parse(text.Split(' ')[1]);
    }

    /// <summary>A backend that answers 200 to everything and counts connections (the reload test needs nothing more).</summary>
    private sealed class TinyBackend : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _connections;
        public int Connections => Volatile.Read(ref _connections);
        public string Address { get; private set; } = "";
        private TinyBackend(WebApplication app) => _app = app;

        public static async Task<TinyBackend> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            TinyBackend? self = null;
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, lo => lo.Use(next => async c =>
            {
                Interlocked.Increment(ref self!._connections);
                await next(c);
            })));
            var app = builder.Build();
            self = new TinyBackend(app);
            app.Run(async ctx =>
            {
                ctx.Response.ContentLength = 2;
                await ctx.Response.WriteAsync("ok");
            });
            await app.StartAsync();
            self.Address = app.Urls.First();
            return self;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
