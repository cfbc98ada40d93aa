using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Exir.Proxy.Host.Tests.Corpora;
using Exir.Proxy.Host.Tests.Emulator;

namespace Exir.Proxy.Host.Tests;

/// <summary>
/// The per-route activity timeout of exposure.yaml is a limit on silence, not on length: a held request with no
/// bytes for longer than its route allows is cut, a long one that keeps talking (MAPI's PENDING) is not.
/// </summary>
public sealed class RouteTimeoutTests
{
    /// <summary>Ping held 3 s; MAPI 6 PENDING 400 ms apart (2.4 s).</summary>
    private static EmulatorOptions SlowCopy() => new()
    {
        RequireAuthentication = false,
        PingHold = TimeSpan.FromSeconds(3),
        MapiPendingInterval = TimeSpan.FromMilliseconds(400),
        MapiPendingCount = 6,
    };

    private static async Task<(HttpStatusCode Status, TimeSpan Elapsed, byte[] Body)> Ping(NtlmTestClient c)
    {
        var shape = BenignShapes.Get("iPhone ActiveSync Ping");
        var m = new HttpRequestMessage(HttpMethod.Post, shape.Target) { Content = new ByteArrayContent(shape.Body) };
        m.Content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.ms-sync.wbxml");
        m.Headers.Add("MS-ASProtocolVersion", "16.1");
        var clock = Stopwatch.StartNew();
        var r = await c.SendAndDrainAsync(m);
        return (r.StatusCode, clock.Elapsed, await r.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_short_activity_timeout_cuts_a_silent_Ping_but_not_a_MAPI_request_that_keeps_sending_PENDING()
    {
        var rules = ProxyHarness.RulesWith(y => y
            .Replace("activityTimeoutSeconds: 3660", "activityTimeoutSeconds: 1", StringComparison.Ordinal)
            .Replace("activityTimeoutSeconds: 900    # NotificationWait", "activityTimeoutSeconds: 1    # NotificationWait", StringComparison.Ordinal));
        Assert.Contains("activityTimeoutSeconds: 1    # NotificationWait", File.ReadAllText(Path.Combine(rules, "proxy", "exposure.yaml")));
        await using var h = await ProxyHarness.StartAsync(SlowCopy(), o => o with { Policy = o.Policy with { RulesDirectory = rules } });
        using var client = h.Client();

        // ActiveSync: 3 s of silence against a 1 s limit: the proxy gives up (504) long before Exchange answers.
        var (status, elapsed, _) = await Ping(client);
        Assert.True(status is HttpStatusCode.GatewayTimeout or HttpStatusCode.BadGateway, status.ToString());
        Assert.True(elapsed < TimeSpan.FromSeconds(2.9), $"cut after {elapsed}");

        // MAPI: 2.4 s in all, never more than 0.4 s silent: it runs to DONE.
        using var client2 = h.Client();
        var body = RandomNumberGenerator.GetBytes(64);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/mapi/emsmdb/?MailboxId={BenignShapes.Mailbox}") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/mapi-http");
        request.Headers.Add("X-RequestType", "NotificationWait");
        var clock = Stopwatch.StartNew();
        using var response = await client2.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var lines = await MapiStream.ReadMetaLinesAsync(await response.Content.ReadAsStreamAsync(), clock);
        Assert.Contains(lines, l => l.Text == "DONE");
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(2), clock.Elapsed.ToString());
        Assert.Equal(ExchangeEmulator.MapiPayload("NotificationWait", body), lines[^1].Payload);
    }

    [Fact]
    public async Task The_shipped_ActiveSync_route_holds_a_Ping()
    {
        await using var h = await ProxyHarness.StartAsync(SlowCopy());
        using var client = h.Client();
        var (status, elapsed, body) = await Ping(client);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Wbxml.PingExpired, body);
        Assert.True(elapsed >= TimeSpan.FromSeconds(2.9), elapsed.ToString());
    }

    [Fact]
    public async Task Tls_to_a_pinned_backend_carries_NTLM_per_connection()
    {
        var options = new EmulatorOptions { Https = true, Http = false };
        options.AddNumberedUsers(4);
        await using var emulator = await ExchangeEmulator.StartAsync(options);
        await using var emulatorProbe = await ExchangeEmulator.StartAsync(new EmulatorOptions { Https = true, Http = false });
        // Pinned to the emulator's self-signed certificate (no chain to trust).
        var pin = Convert.ToHexString(SHA256.HashData(emulator.Certificate!.RawData));
        await using var pinned = await ProxyServer.StartAsync(new ProxyOptions
        {
            Listen = [new Uri("http://127.0.0.1:0")],
            Backend = emulator.HttpsAddress!,
            BackendCertificatePin = pin,
            ShutdownGrace = TimeSpan.FromSeconds(2),
        }, TextWriter.Null);
        var users = new[] { "user01", "user02", "user03", "user04" };
        var clients = users.Select(_ => new NtlmTestClient(pinned.Addresses[0])).ToArray();
        try
        {
            var logons = await Task.WhenAll(clients.Select((c, i) => c.LoginAsync(users[i], EmulatorOptions.PasswordOf(users[i]))));
            for (var i = 0; i < users.Length; i++) Assert.Equal(users[i], NtlmTestClient.UserOf(logons[i]));
            var again = await Task.WhenAll(clients.Select(c => c.GetAsync("/mapi/emsmdb/")));
            for (var i = 0; i < users.Length; i++) Assert.Equal(users[i], NtlmTestClient.UserOf(again[i]));
        }
        finally { foreach (var c in clients) c.Dispose(); }
        Assert.All(emulator.Requests, r => Assert.Equal("https", r.Scheme));

        // Another backend certificate than the pinned one: nothing reaches it.
        await using var wrong = await ProxyServer.StartAsync(new ProxyOptions
        {
            Listen = [new Uri("http://127.0.0.1:0")],
            Backend = emulatorProbe.HttpsAddress!,
            BackendCertificatePin = pin,
            ShutdownGrace = TimeSpan.FromSeconds(2),
        }, TextWriter.Null);
        using var probe = new NtlmTestClient(wrong.Addresses[0]);
        var refused = await probe.GetAsync("/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=EWS");
        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        Assert.Empty(emulatorProbe.Requests);
    }
}
