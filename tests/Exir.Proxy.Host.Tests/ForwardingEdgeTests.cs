using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Exir.Proxy.Host.Tests.Corpora;
using Exir.Proxy.Host.Tests.Emulator;

namespace Exir.Proxy.Host.Tests;

/// <summary>HTTP details real clients rely on: 100-continue, chunked uploads, pipelining, a client that leaves, a backend that is down.</summary>
public sealed class ForwardingEdgeTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Expect_100_continue_uploads_arrive_whole()
    {
        // The EWS Managed API and .NET's HttpWebRequest send Expect: 100-continue on every POST.
        await using var h = await ProxyHarness.StartAsync(new EmulatorOptions { RequireAuthentication = false });
        using var c = h.Client();
        var body = Encoding.UTF8.GetBytes(EwsShapes.FindItem);
        var m = new HttpRequestMessage(HttpMethod.Post, "/EWS/Exchange.asmx") { Content = new ByteArrayContent(body) };
        m.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("text/xml; charset=utf-8");
        m.Headers.ExpectContinue = true;
        var r = await c.SendAndDrainAsync(m);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("FindItemResponse", await r.Content.ReadAsStringAsync());
        Assert.Equal(body, h.Emulator.Requests[^1].Body);
    }

    [Fact]
    public async Task A_chunked_upload_arrives_byte_identical()
    {
        await using var h = await ProxyHarness.StartAsync(new EmulatorOptions { RequireAuthentication = false });
        var payload = OwaShapes.CreateAttachmentJson(OwaShapes.Attachment(700_000));
        await using var raw = await RawHttpConnection.ConnectAsync(h.Address);
        var head = "POST /owa/service.svc?action=CreateAttachmentFromLocalFile&UA=0 HTTP/1.1\r\nHost: mail.contoso.com\r\nContent-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n";
        await raw.SendAsync(head);
        for (var at = 0; at < payload.Length; at += 65_537)
        {
            var n = Math.Min(65_537, payload.Length - at);
            await raw.SendAsync([.. Encoding.ASCII.GetBytes($"{n:x}\r\n"), .. payload.AsSpan(at, n), .. "\r\n"u8]);
        }
        await raw.SendAsync("0\r\n\r\n");
        var response = await raw.ReadResponseAsync(Generous);
        Assert.Equal(440, response!.Status); // no OWA session at the emulator: it answered
        var got = h.Emulator.Requests.Single();
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(payload)), got.BodySha256);
        Assert.Equal(payload.Length, got.BodyLength);
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order()
    {
        await using var h = await ProxyHarness.StartAsync(new EmulatorOptions { RequireAuthentication = false });
        await using var raw = await RawHttpConnection.ConnectAsync(h.Address);
        var protocols = new[] { "EWS", "ActiveSync", "AutodiscoverV1", "EWS" };
        await raw.SendAsync(string.Concat(protocols.Select(p => $"GET /autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol={p} HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n")));
        foreach (var p in protocols)
        {
            var r = await raw.ReadResponseAsync(Generous);
            Assert.Equal(200, r!.Status);
            Assert.Contains($"\"Protocol\":\"{p}\"", r.BodyText);
        }
        Assert.Single(h.Emulator.Requests.Select(r => r.ConnectionId).Distinct());
    }

    [Fact]
    public async Task A_client_that_leaves_a_long_poll_ends_it_at_Exchange()
    {
        await using var h = await ProxyHarness.StartAsync(new EmulatorOptions
        {
            RequireAuthentication = false,
            MapiPendingInterval = TimeSpan.FromMilliseconds(200),
            MapiPendingCount = 1000, // minutes, unless the client's departure reaches Exchange
        });
        var raw = await RawHttpConnection.ConnectAsync(h.Address);
        var shape = BenignShapes.Get("Outlook MAPI NotificationWait");
        await raw.SendAsync(shape.ToWire("mail.contoso.com"));
        var head = await raw.ReadResponseAsync(Generous, headOnly: true);
        Assert.Equal(200, head!.Status);
        var record = h.Emulator.Requests.Single();
        Assert.True(await ExchangeEmulator.EventuallyAsync(() => record.ResponseBytesSoFar > 20, Generous));
        await raw.DisposeAsync();
        await record.Completed.WaitAsync(Generous);
        Assert.True(record.Aborted);
    }

    [Fact]
    public async Task A_backend_that_is_down_gives_502_and_the_same_client_connection_is_served_when_it_is_back()
    {
        var port = FreePort();
        await using var proxy = await ProxyServer.StartAsync(new ProxyOptions
        {
            Listen = [new Uri("http://127.0.0.1:0")],
            Backend = new Uri($"http://127.0.0.1:{port}"),
            ShutdownGrace = TimeSpan.FromSeconds(2),
        }, TextWriter.Null);
        await using var raw = await RawHttpConnection.ConnectAsync(proxy.Addresses[0]);
        const string get = "GET /autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=EWS HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n";
        await raw.SendAsync(get);
        Assert.Equal(502, (await raw.ReadResponseAsync(Generous))!.Status);

        await using var emulator = await ExchangeEmulator.StartAsync(new EmulatorOptions { RequireAuthentication = false, HttpPort = port });
        await raw.SendAsync(get);
        var r = await raw.ReadResponseAsync(Generous);
        Assert.Equal(200, r!.Status);
        Assert.Single(emulator.Requests);
    }

    // Exchange's 401 arrives before the body: HttpClient on HTTP/1.1 reads no answer before it has sent the whole body,
    // and the client, waiting for the answer, sends no more. The proxy passes the answer on at once (EarlyAnswer.cs),
    // stops reading the body, and closes the client's connection after the answer.
    [Fact]
    public async Task A_1_GB_RPC_IN_DATA_without_a_logon_gets_its_401_without_sending_the_gigabyte()
    {
        // Exchange (IIS) answers 401 at once and closes; the proxy must pass the 401 on rather than wait for a body that
        // the client would only send slowly, and the next connection must work.
        await using var h = await ProxyHarness.StartAsync(new EmulatorOptions(), o => o with { Policy = o.Policy with { EnableRpc = true } });
        await using var raw = await RawHttpConnection.ConnectAsync(h.Address);
        var shape = BenignShapes.Get("Outlook Anywhere RPC_IN_DATA");
        await raw.SendAsync(shape.ToWire("mail.contoso.com")); // headers and the 104-byte CONN/B1, of 1 GB declared
        var response = await raw.ReadResponseAsync(Generous);
        Assert.Equal(401, response!.Status);
        Assert.Contains(response.Headers, x => x.Key.Equals("WWW-Authenticate", StringComparison.OrdinalIgnoreCase) && x.Value == "NTLM");
        var record = h.Emulator.Requests.Single();
        Assert.False(record.BodyRead);
        Assert.True(await raw.IsClosedAsync(Generous));

        using var c = h.Client();
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=EWS")).StatusCode);
    }

    [Fact]
    public async Task A_refused_large_upload_gets_Exchanges_401_not_502()
    {
        await using var h = await ProxyHarness.StartAsync(new EmulatorOptions());
        await using var raw = await RawHttpConnection.ConnectAsync(h.Address);
        const int length = 2 << 20; // above what the emulator reads before a 401
        await raw.SendAsync($"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail.contoso.com\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {length}\r\n\r\n");
        await raw.SendAsync(new byte[length]);
        var response = await raw.ReadResponseAsync(Generous);
        Assert.Equal(401, response!.Status);
        Assert.Single(h.Emulator.Requests);
    }

    [Fact]
    public async Task An_early_401_over_TLS_to_Exchange_is_passed_on_too()
    {
        // TLS to Exchange is made below the stream that watches for the answer: the watch sees plain text, not TLS records.
        await using var emulator = await ExchangeEmulator.StartAsync(new EmulatorOptions { Https = true, Http = false });
        await using var proxy = await ProxyServer.StartAsync(new ProxyOptions
        {
            Listen = [new Uri("http://127.0.0.1:0")],
            Backend = emulator.HttpsAddress!,
            BackendCertificatePin = Convert.ToHexString(SHA256.HashData(emulator.Certificate!.RawData)),
            ShutdownGrace = TimeSpan.FromSeconds(2),
        }, TextWriter.Null);
        await using var raw = await RawHttpConnection.ConnectAsync(proxy.Addresses[0]);
        const int length = 2 << 20;
        await raw.SendAsync($"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail.contoso.com\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {length}\r\n\r\n");
        await raw.SendAsync(new byte[64 * 1024]); // a part of the body, then the client waits
        var response = await raw.ReadResponseAsync(Generous);
        Assert.Equal(401, response!.Status);
        Assert.Equal("https", Assert.Single(emulator.Requests).Scheme);
        Assert.Contains("exir_proxy_early_answers_total 1", proxy.Metrics.Render(), StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
