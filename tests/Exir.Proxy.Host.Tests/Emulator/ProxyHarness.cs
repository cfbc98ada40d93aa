using Exir.Proxy.Host.Tests.Corpora;

namespace Exir.Proxy.Host.Tests.Emulator;

/// <summary>The Exchange emulator with a real <see cref="ProxyServer"/> in front of it, both on 127.0.0.1 ports of their own.</summary>
public sealed class ProxyHarness : IAsyncDisposable
{
    public required ExchangeEmulator Emulator { get; init; }
    public required ProxyServer Proxy { get; init; }
    public required StringWriter Log { get; init; }
    public Uri Address => Proxy.Addresses[0];

    /// <summary>Headers that are the connection's, not the request's: a proxy drops them (RFC 9110 7.6.1).</summary>
    public static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
        { "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Authorization", "Proxy-Authenticate" };

    /// <summary>
    /// Headers YARP's forwarder drops on its own besides the hop-by-hop ones (its RequestUtilities exclusion list);
    /// of what real clients send only the browsers' Upgrade-Insecure-Requests, a navigation hint Exchange ignores.
    /// </summary>
    public static readonly HashSet<string> DroppedByForwarder = new(StringComparer.OrdinalIgnoreCase) { "Upgrade-Insecure-Requests" };

    public static async Task<ProxyHarness> StartAsync(EmulatorOptions? emulatorOptions = null, Func<ProxyOptions, ProxyOptions>? configure = null)
    {
        var emulator = await ExchangeEmulator.StartAsync(emulatorOptions);
        try
        {
            var options = new ProxyOptions
            {
                Listen = [new Uri("http://127.0.0.1:0")],
                Backend = emulator.Address,
                ShutdownGrace = TimeSpan.FromSeconds(2),
            };
            if (configure is not null) options = configure(options);
            var log = new StringWriter();
            var proxy = await ProxyServer.StartAsync(options, TextWriter.Synchronized(log));
            return new ProxyHarness { Emulator = emulator, Proxy = proxy, Log = log };
        }
        catch
        {
            await emulator.DisposeAsync();
            throw;
        }
    }

    public NtlmTestClient Client() => new(Address);

    /// <summary>A copy of the shipped rules folder (rules/proxy/*.yaml) in a temp folder, exposure.yaml edited; the folder for RulesDirectory.</summary>
    public static string RulesWith(Func<string, string> editExposure)
    {
        var dir = TestPaths.NewTempDir("exir-proxy-rules");
        var proxyDir = Directory.CreateDirectory(Path.Combine(dir, "proxy")).FullName;
        foreach (var f in Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "rules", "proxy"), "*.yaml"))
        {
            var text = File.ReadAllText(f);
            if (Path.GetFileName(f) == "exposure.yaml") text = editExposure(text);
            File.WriteAllText(Path.Combine(proxyDir, Path.GetFileName(f)), text);
        }
        return dir;
    }

    /// <summary>Sends a shape on a fresh raw connection (with a marker header) and reads the answer.</summary>
    public async Task<(RawResponse? Response, string Marker)> SendAsync(ClientShape shape, TimeSpan timeout)
    {
        var marker = Guid.NewGuid().ToString("N");
        await using var raw = await RawHttpConnection.ConnectAsync(Address);
        await raw.SendAsync(shape.WithHeader("X-Corpus-Id", marker).ToWire("mail.contoso.com"));
        // HEAD has no body; RPC_OUT_DATA's declares 1 GB and streams for as long as one reads: take the head only.
        return (await raw.ReadResponseAsync(timeout, headOnly: shape.Method is "HEAD" or "RPC_OUT_DATA"), marker);
    }

    public RecordedRequest? Received(string marker) => Emulator.Requests.FirstOrDefault(r => r.Header("X-Corpus-Id") == marker);

    public async ValueTask DisposeAsync()
    {
        try { await Proxy.StopAsync(); } catch (Exception) { /* stopping is best effort; dispose follows */ }
        await Proxy.DisposeAsync();
        await Emulator.DisposeAsync();
    }
}
