using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Exir.Proxy.Host.Tests.Corpora;
using Exir.Proxy.Host.Tests.Emulator;

namespace Exir.Proxy.Host.Tests;

/// <summary>One emulator and one proxy (Outlook Anywhere on, fast MAPI and Ping) shared by the corpus tests.</summary>
public sealed class CorpusProxyFixture : IAsyncLifetime
{
    public ProxyHarness Harness { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Harness = await ProxyHarness.StartAsync(
        new EmulatorOptions
        {
            RequireAuthentication = false, // Basic shapes still log on; NTLM is its own test
            MapiPendingInterval = TimeSpan.FromMilliseconds(50),
            MapiPendingCount = 2,
            PingHold = TimeSpan.FromMilliseconds(200),
        },
        o => o with { Policy = o.Policy with { EnableRpc = true, FailedAuthLimit = 1_000_000 } });

    public async ValueTask DisposeAsync() => await Harness.DisposeAsync();
}

/// <summary>The corpora sent through a running proxy to the emulator, on real sockets.</summary>
public sealed class ThroughProxyTests(CorpusProxyFixture fixture) : IClassFixture<CorpusProxyFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);
    private ProxyHarness H => fixture.Harness;

    public static TheoryData<string> AttackNames => new(AttackShapes.All.Select(s => s.Name));
    public static TheoryData<string> BenignNames => new(BenignShapes.Complete.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(AttackNames))]
    public async Task Every_attack_variant_is_refused_and_never_reaches_Exchange(string name)
    {
        var shape = AttackShapes.Get(name);
        var (response, marker) = await H.SendAsync(shape, Generous);
        Assert.Null(H.Received(marker));
        Assert.NotNull(response);
        Assert.True(response!.Status == shape.ExpectedStatus || (shape.ExpectedStatus == 403 && response.Status == 400),
            $"{shape.Method} {shape.Target}: {response.Status}, expected {shape.ExpectedStatus}");
        Assert.Null(response.Header(ExchangeEmulator.ConnectionHeader));
    }

    [Theory]
    [MemberData(nameof(BenignNames))]
    public async Task Every_client_shape_reaches_Exchange_unchanged_and_the_answer_leaks_nothing(string name)
    {
        var shape = BenignShapes.Get(name);
        var (response, marker) = await H.SendAsync(shape, Generous);
        var got = H.Received(marker);
        Assert.True(got is not null, $"{name}: not forwarded ({response?.StatusLine})");

        Assert.Null(got!.Error);
        Assert.Equal(shape.Method, got.Method);
        Assert.Equal(shape.Target, got.RawTarget);
        Assert.Equal(shape.Body, got.Body);
        // Headers: everything the client sent but the connection's own, plus the client's address; values byte for byte.
        var expected = shape.Headers.Where(h => !ProxyHarness.HopByHop.Contains(h.Key) && !ProxyHarness.DroppedByForwarder.Contains(h.Key))
            .Append(new("Host", "mail.contoso.com"))
            .Append(new("X-Forwarded-For", "127.0.0.1"))
            .Concat(shape.Body.Length > 0 || shape.Method is "POST" or "RPC_OUT_DATA" ? [new KeyValuePair<string, string>("Content-Length", shape.Body.Length.ToString())] : [])
            .Select(h => $"{h.Key.ToLowerInvariant()}: {h.Value}").Order(StringComparer.Ordinal).ToList();
        var actual = got.Headers.Where(h => h.Key != "X-Corpus-Id")
            .Select(h => $"{h.Key.ToLowerInvariant()}: {h.Value}").Order(StringComparer.Ordinal).ToList();
        Assert.True(expected.SequenceEqual(actual),
            $"{name}: headers differ\n missing at Exchange: {string.Join(" | ", expected.Except(actual))}\n added on the way: {string.Join(" | ", actual.Except(expected))}");

        Assert.NotNull(response);
        Assert.Equal(got.ConnectionId, response!.Header(ExchangeEmulator.ConnectionHeader));
        foreach (var leak in ExchangeEmulator.LeakingHeaders)
            Assert.True(response.Header(leak) is null, $"{name}: {leak} reached the client");
        // The user Exchange answered as reaches the client (the proxy must not strip it).
        if (got.User is not null) Assert.Equal(got.User, response.Header(ExchangeEmulator.UserHeader));
    }

    [Fact]
    public async Task The_forwarder_drops_Upgrade_Insecure_Requests_and_nothing_else_a_browser_sends()
    {
        // Documented here so a change in YARP's list shows up: the one client header the proxy does not pass.
        var shape = BenignShapes.Get("OWA start page");
        var (_, marker) = await H.SendAsync(shape, Generous);
        var got = H.Received(marker)!;
        Assert.Null(got.Header("Upgrade-Insecure-Requests"));
        foreach (var (n, v) in shape.Headers.Where(h => !ProxyHarness.DroppedByForwarder.Contains(h.Key)))
            Assert.Equal(v, got.Header(n));
    }

    [Fact]
    public async Task Basic_logons_pass_and_the_user_comes_back()
    {
        var (response, marker) = await H.SendAsync(BenignShapes.Get("iPhone ActiveSync Sync"), Generous);
        Assert.Equal(200, response!.Status);
        Assert.Equal("jdoe", response.Header(ExchangeEmulator.UserHeader));
        Assert.Equal(Wbxml.SyncOk, response.Body);
        Assert.Equal("basic-ok", H.Received(marker)!.AuthNote);
    }

    [Fact]
    public async Task The_OAB_file_comes_through_whole()
    {
        var (response, _) = await H.SendAsync(BenignShapes.Get("BITS OAB download"), Generous);
        Assert.Equal(200, response!.Status);
        Assert.Equal(ExchangeEmulator.OabFile(H.Emulator.Options.OabFileSize), response.Body);
    }

    [Theory]
    [InlineData("GET", "/", 404)]
    [InlineData("GET", "/exchange/", 404)]
    [InlineData("GET", "/ecp/", 404)]
    [InlineData("POST", "/PowerShell/", 404)]
    [InlineData("GET", "/owax/", 404)]
    [InlineData("DELETE", "/owa/", 405)]
    [InlineData("PUT", "/EWS/Exchange.asmx", 405)]
    [InlineData("RPC_IN_DATA", "/mapi/emsmdb/", 405)]
    public async Task Unpublished_routes_and_methods_never_reach_Exchange(string method, string target, int status)
    {
        var shape = new ClientShape($"{method} {target}", method, target, [new("User-Agent", BenignShapes.EdgeUa)], []);
        var (response, marker) = await H.SendAsync(shape, Generous);
        Assert.Equal(status, response!.Status);
        Assert.Null(H.Received(marker));
    }

    [Fact]
    public async Task Mapi_PENDING_lines_come_through_as_they_are_written()
    {
        var options = H.Emulator.Options;
        await using var h = await ProxyHarness.StartAsync(new EmulatorOptions { MapiPendingInterval = TimeSpan.FromMilliseconds(400), MapiPendingCount = 4 });
        using var client = h.Client();
        Assert.Equal("jdoe", NtlmTestClient.UserOf(await client.LoginAsync("jdoe", h.Emulator.Options.Users["jdoe"], "/mapi/emsmdb/")));
        var shape = BenignShapes.Get("Outlook MAPI Execute");
        using var request = new HttpRequestMessage(HttpMethod.Post, shape.Target) { Content = new ByteArrayContent(shape.Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/mapi-http");
        foreach (var (n, v) in shape.Headers.Where(x => x.Key.StartsWith("X-", StringComparison.Ordinal))) request.Headers.TryAddWithoutValidation(n, v);
        var clock = Stopwatch.StartNew();
        using var response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("jdoe", NtlmTestClient.UserOf(response));
        var lines = await MapiStream.ReadMetaLinesAsync(await response.Content.ReadAsStreamAsync(), clock);
        Assert.Equal(["PROCESSING", "PENDING", "PENDING", "PENDING", "PENDING", "DONE"], lines.Select(l => l.Text).Take(6));
        var done = lines.First(l => l.Text == "DONE").At;
        // 4 x 400 ms at the source: a buffering proxy would deliver everything at once.
        Assert.True(done - lines[0].At > TimeSpan.FromMilliseconds(800), $"PROCESSING at {lines[0].At}, DONE at {done}");
        Assert.True(lines[2].At - lines[0].At > TimeSpan.FromMilliseconds(300), $"first PENDING at {lines[1].At}, second at {lines[2].At}");
        Assert.Equal(ExchangeEmulator.MapiPayload("Execute", shape.Body), lines[^1].Payload);
        _ = options;
    }

    [Fact]
    public async Task Outlook_Anywhere_channels_stream_both_ways()
    {
        using var client = H.Client();
        // IN channel: 1 GB declared, 2 MB trickled; Exchange counts the bytes while the request is still open.
        var content = new SlowContent(1L << 30, chunk: 32 << 10, chunks: 64, pause: TimeSpan.FromMilliseconds(3));
        using var request = new HttpRequestMessage(new HttpMethod("RPC_IN_DATA"), "/rpc/rpcproxy.dll?exch01.contoso.com:6001") { Content = content };
        request.Headers.UserAgent.ParseAdd("MSRPC");
        request.Headers.Add("X-Corpus-Id", "rpc-in");
        using var cts = new CancellationTokenSource();
        var sending = client.Http.SendAsync(request, cts.Token);
        var record = await H.Emulator.WaitForRequestAsync(r => r.Header("X-Corpus-Id") == "rpc-in", Generous);
        Assert.True(await ExchangeEmulator.EventuallyAsync(() => record.BodyBytesSoFar == 64 * (32 << 10), Generous), $"{record.BodyBytesSoFar} bytes at Exchange");
        Assert.Equal("1073741824", record.Header("Content-Length"));
        Assert.False(record.BodyComplete);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
        await record.Completed.WaitAsync(Generous);
        Assert.False(record.BodyComplete);

        // OUT channel: 1 GB declared, chunks every 50 ms reach the client as they are sent.
        using var client2 = H.Client();
        using var outRequest = new HttpRequestMessage(new HttpMethod("RPC_OUT_DATA"), "/rpc/rpcproxy.dll?exch01.contoso.com:6001") { Content = new ByteArrayContent(new byte[76]) };
        using var outResponse = await client2.Http.SendAsync(outRequest, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, outResponse.StatusCode);
        Assert.Equal(1L << 30, outResponse.Content.Headers.ContentLength);
        await using var stream = await outResponse.Content.ReadAsStreamAsync();
        var buffer = new byte[8192];
        long read = 0;
        var clock = Stopwatch.StartNew();
        while (read < 8 * H.Emulator.Options.RpcOutChunkSize)
        {
            var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(Generous);
            Assert.True(n > 0);
            read += n;
        }
        var outRecord = H.Emulator.Requests.Last(r => r.Method == "RPC_OUT_DATA");
        // The client has what was sent so far, long before 1 GB: nothing waits for the end.
        Assert.True(outRecord.ResponseBytesSoFar < 1L << 20, $"{outRecord.ResponseBytesSoFar} bytes sent");
        outResponse.Dispose();
        await outRecord.Completed.WaitAsync(Generous);
    }
}
