using System.Net;
using Exir.Proxy.Host.Tests.Corpora;
using Exir.Proxy.Host.Tests.Emulator;

namespace Exir.Proxy.Host.Tests;

/// <summary>Who counts as internal: the connection's address, never a header the client writes.</summary>
public sealed class InternalClientTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_forged_X_Forwarded_For_neither_opens_the_admin_routes_nor_reaches_Exchange()
    {
        await using var h = await ProxyHarness.StartAsync(new EmulatorOptions { RequireAuthentication = false },
            o => o with { Policy = o.Policy with { InternalNetworks = ["10.20.0.0/16"] } });
        var ecp = new ClientShape("ecp", "GET", "/ecp/", [new("X-Forwarded-For", "10.20.0.5"), new("User-Agent", BenignShapes.EdgeUa)], []);
        var (response, marker) = await h.SendAsync(ecp, Generous);
        Assert.Equal(404, response!.Status);
        Assert.Null(h.Received(marker));

        var owa = ecp with { Target = "/owa/" };
        var (ok, okMarker) = await h.SendAsync(owa, Generous);
        Assert.Equal(302, ok!.Status);
        // Exchange sees the real client, not the forged one.
        Assert.Equal(["127.0.0.1"], h.Received(okMarker)!.HeaderValues("X-Forwarded-For"));
    }

    [Fact]
    public async Task Every_attack_is_refused_from_the_administrators_network_too()
    {
        await using var h = await ProxyHarness.StartAsync(new EmulatorOptions { RequireAuthentication = false },
            o => o with { Policy = o.Policy with { InternalNetworks = ["127.0.0.0/8"] } });
        // ECP's own /ecp/proxyLogon.ecp is what Exchange servers call among themselves: blocked from outside only.
        var shapes = AttackShapes.All.Where(s => !s.Name.StartsWith("PL proxyLogon.ecp without cookie", StringComparison.Ordinal)).ToList();
        var failures = new List<string>();
        foreach (var s in shapes)
        {
            var (response, marker) = await h.SendAsync(s, Generous);
            if (h.Received(marker) is not null) failures.Add($"{s.Name}: reached Exchange ({response?.Status})");
            else if (response?.Status is not (403 or 400)) failures.Add($"{s.Name}: {response?.Status}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // And the admin routes are open to it: the emulator answers ECP.
        using var c = h.Client();
        var ecp = await c.GetAsync("/ecp/");
        Assert.Equal(HttpStatusCode.Found, ecp.StatusCode);
        Assert.NotNull(ecp.Headers.GetValues(ExchangeEmulator.ConnectionHeader).SingleOrDefault());
    }
}
