using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Exir.Proxy.Host.Tests.Corpora;
using Exir.Proxy.Host.Tests.Emulator;

namespace Exir.Proxy.Host.Tests;

/// <summary>A stop lets short requests finish and cuts endless ones at the grace time; a client that stops reading holds Exchange back, not the proxy's memory.</summary>
public sealed class ShutdownAndBackpressureTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_stop_finishes_a_short_hold_and_cuts_an_endless_poll_at_the_grace_time()
    {
        await using var h = await ProxyHarness.StartAsync(
            new EmulatorOptions { RequireAuthentication = false, PingHold = TimeSpan.FromSeconds(1), MapiPendingInterval = TimeSpan.FromMilliseconds(200), MapiPendingCount = 100_000 },
            o => o with { ShutdownGrace = TimeSpan.FromSeconds(3) });

        using var pingClient = h.Client();
        var ping = BenignShapes.Get("iPhone ActiveSync Ping");
        var pingRequest = new HttpRequestMessage(HttpMethod.Post, ping.Target) { Content = new ByteArrayContent(ping.Body) };
        pingRequest.Content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.ms-sync.wbxml");
        var pinging = pingClient.SendAndDrainAsync(pingRequest);

        await using var raw = await RawHttpConnection.ConnectAsync(h.Address);
        await raw.SendAsync(BenignShapes.Get("Outlook MAPI NotificationWait").ToWire("mail.contoso.com"));
        Assert.Equal(200, (await raw.ReadResponseAsync(Generous, headOnly: true))!.Status);
        var poll = await h.Emulator.WaitForRequestAsync(r => r.RawTarget.StartsWith("/mapi/", StringComparison.Ordinal), Generous);
        await h.Emulator.WaitForRequestAsync(r => r.RawTarget.StartsWith("/Microsoft-Server-ActiveSync", StringComparison.Ordinal), Generous);

        var clock = Stopwatch.StartNew();
        await h.Proxy.StopAsync();
        var stopped = clock.Elapsed;

        var pong = await pinging.WaitAsync(Generous);
        Assert.Equal(HttpStatusCode.OK, pong.StatusCode);
        Assert.Equal(Wbxml.PingExpired, await pong.Content.ReadAsByteArrayAsync());
        Assert.True(stopped >= TimeSpan.FromSeconds(2.5) && stopped < TimeSpan.FromSeconds(12), $"stop took {stopped}");
        Assert.True(await raw.IsClosedAsync(Generous), "the endless poll's client connection stayed open after the stop");
        await poll.Completed.WaitAsync(Generous);
        Assert.True(poll.Aborted);

        // Nothing listens any more.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var late = await RawHttpConnection.ConnectAsync(h.Address);
            await late.SendAsync("GET /owa/ HTTP/1.1\r\nHost: mail.contoso.com\r\n\r\n");
            if (await late.ReadResponseAsync(TimeSpan.FromSeconds(5)) is null) throw new IOException("closed");
        });
    }

    [Fact]
    public async Task A_client_that_stops_reading_an_RPC_OUT_channel_slows_Exchange_down()
    {
        await using var h = await ProxyHarness.StartAsync(
            new EmulatorOptions { RequireAuthentication = false, RpcOutChunkSize = 64 << 10, RpcOutChunkInterval = TimeSpan.FromMilliseconds(1) },
            o => o with { Policy = o.Policy with { EnableRpc = true } });
        await using var raw = await RawHttpConnection.ConnectAsync(h.Address);
        await raw.SendAsync(BenignShapes.Get("Outlook Anywhere RPC_OUT_DATA").ToWire("mail.contoso.com"));
        Assert.Equal(200, (await raw.ReadResponseAsync(Generous, headOnly: true))!.Status);
        var record = h.Emulator.Requests.Single();

        // About 20 MB/s at the source when read (64 KiB chunks); the client reads nothing for 3 s. Sockets buffer ~9 MiB.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var early = record.ResponseBytesSoFar;
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var late = record.ResponseBytesSoFar;
        Assert.True(late < 32L << 20, $"{late >> 20} MiB sent to a client that reads nothing: the proxy buffers");
        Assert.True(late - early < 8L << 20, $"{(late - early) >> 20} MiB more in 1.5 s: no back-pressure");
    }
}
