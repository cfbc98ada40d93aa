using System.Net;
using Exir.Core;
using Exir.Proxy.Host.Tests.Corpora;

namespace Exir.Proxy.Host.Tests;

/// <summary>
/// The corpora against the shipped policy in process (no sockets): every attack variant is refused, every client
/// shape forwarded. The end-to-end tests send the same shapes through a running proxy.
/// </summary>
public sealed class CorpusPolicyTests
{
    private static readonly IPAddress Outside = IPAddress.Parse("203.0.113.7");
    private static readonly ProxyPolicy Policy = LoadPolicy(enableRpc: true);

    internal static ProxyPolicy LoadPolicy(bool enableRpc)
    {
        var data = new DataFiles("rules", typeof(ProxyPolicy).Assembly, Path.Combine(TestPaths.RepoRoot, "rules"));
        var text = data.ReadAllText(Exposure.FileName);
        var exposure = Exposure.Parse(Exposure.FileName, text);
        if (enableRpc) exposure = new Exposure(exposure.Routes.Select(r => r.Prefix == "/rpc" ? r with { Enabled = true } : r).ToList(), exposure.InternalNetworks);
        return new ProxyPolicy(exposure, ProxyRuleSet.Load(data));
    }

    public static TheoryData<string> AttackNames => new(AttackShapes.All.Select(s => s.Name));
    public static TheoryData<string> BenignNames => new(BenignShapes.All.Select(s => s.Name));

    private static List<Header> HeadersOf(ClientShape s) => [new("Host", "mail.contoso.com"), .. s.Headers.Select(h => new Header(h.Key, h.Value))];

    [Theory]
    [MemberData(nameof(AttackNames))]
    public void Every_attack_variant_is_refused_by_the_policy(string name)
    {
        var s = AttackShapes.Get(name);
        var outcome = Policy.Decide(s.Method, s.Target, HeadersOf(s), Outside);
        Assert.False(outcome.Forward, $"{name}: {s.Method} {s.Target} was forwarded");
        Assert.True(outcome.Status == s.ExpectedStatus || (s.ExpectedStatus == 403 && outcome.Status == 400),
            $"{name}: {s.Method} {s.Target}: {outcome.Status} {outcome.Reason}, expected {s.ExpectedStatus}");
        if (outcome.Status == 403)
        {
            // Blocked by a rule of its own wave, not by the accident of another's.
            var own = OwnRulePrefixes(s.Wave!);
            Assert.True(outcome.Rules.Matched.Any(r => r.Action == RuleAction.Block && own.Any(p => r.Id.StartsWith(p, StringComparison.Ordinal))),
                $"{name}: blocked by {string.Join(", ", outcome.Rules.Matched.Select(r => r.Id))}, none of {string.Join("/", own)}");
        }
    }

    internal static string[] OwnRulePrefixes(string wave) => wave switch
    {
        "ProxyLogon" => ["PX-PL-", "PX-UA-", "PX-WEBSHELL-"],
        "post-exploitation" => ["PX-WEBSHELL-"],
        "ProxyShell" => ["PX-PS-"],
        "ProxyNotShell" => ["PX-PNS-"],
        "OWASSRF" => ["PX-OWASSRF-"],
        _ => [],
    };

    [Theory]
    [MemberData(nameof(BenignNames))]
    public void Every_client_shape_is_forwarded_by_the_policy(string name)
    {
        var s = BenignShapes.Get(name);
        var outcome = Policy.Decide(s.Method, s.Target, HeadersOf(s), Outside);
        Assert.True(outcome.Forward, $"{name}: {outcome.Status} {outcome.Reason}");
        Assert.DoesNotContain(outcome.Rules.Matched, r => r.Action == RuleAction.Block);
    }

    [Fact]
    public void The_corpora_are_substantial_and_cover_every_wave()
    {
        Assert.True(AttackShapes.All.Count >= 200, $"{AttackShapes.All.Count} attack shapes");
        foreach (var wave in new[] { "ProxyLogon", "ProxyShell", "ProxyNotShell", "OWASSRF", "post-exploitation", "ambiguous" })
            Assert.Contains(AttackShapes.All, s => s.Wave == wave);
        Assert.Equal(AttackShapes.All.Count, AttackShapes.All.Select(s => s.Name).Distinct().Count());
        Assert.True(BenignShapes.All.Count >= 25);
        Assert.Equal(BenignShapes.All.Count, BenignShapes.All.Select(s => s.Name).Distinct().Count());
    }
}
