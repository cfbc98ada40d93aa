using System.Text.RegularExpressions;
using Exir.Mitigation;

namespace Exir.Mitigation.Tests;

/// <summary>The rule set as data: it loads, every rule stops its attacks and lets normal Exchange traffic through in every form the engines see.</summary>
public sealed class RuleSetTests
{
    private static readonly MitigationRuleSet Set = MitigationRuleSet.Load();

    [Fact]
    public void TheBuiltInSetHasMicrosoftsRulesAndExirsOwn()
    {
        var names = Set.Rules.Select(r => r.IisName).ToList();
        Assert.Contains("X-AnonResource-Backend Abort - inbound", names);
        Assert.Contains("X-BEResource Abort - inbound", names);
        Assert.Contains("PowerShell - inbound", names);
        var pns = Set.Rules.Single(r => r.IisName == "PowerShell - inbound");
        Assert.Equal(("REQUEST_URI", 1), (pns.Variable, pns.Decode));
        Assert.Contains(Set.Rules, r => r.Waves.Contains("ProxyShell"));
        Assert.Contains(Set.Rules, r => r.Waves.Contains("OWASSRF"));
        Assert.All(Set.Rules, r => Assert.NotEmpty(r.References));
    }

    /// <summary>Requests no rule may block: the everyday traffic of OWA, ECP, EWS, ActiveSync, MAPI and autodiscover.</summary>
    private static readonly SampleRequest[] Everyday =
    [
        new("/owa/", "ClientId=8D1B2C3A; X-OWA-CANARY=abc; X-BackEndCookie=S-1-5-21-1=u56Lnp2e"),
        new("/owa/auth/logon.aspx?replaceCurrent=1&url=https%3a%2f%2fmail.contoso.com%2fowa%2f", ""),
        new("/owa/service.svc?action=GetFolderMruConfiguration&app=Mail", "X-OWA-CANARY=abc"),
        new("/ecp/?rfr=owa", "msExchEcpCanary=xyz"),
        new("/EWS/Exchange.asmx", ""),
        new("/Microsoft-Server-ActiveSync?Cmd=Sync&User=jdoe%40contoso.com&DeviceId=ABC123&DeviceType=iPhone", ""),
        new("/mapi/emsmdb/?MailboxId=1b2c3d4e-aaaa@contoso.com", "MapiContext=abc; MapiRouting=def"),
        new("/autodiscover/autodiscover.xml", ""),
        new("/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=ActiveSync&RedirectCount=1", ""),
        new("/rpc/rpcproxy.dll?mail.contoso.com:6001", ""),
        new("/oab/1b2c3d4e/oab.xml", ""),
    ];

    [Fact]
    public void NoRuleBlocksEverydayExchangeTraffic()
    {
        foreach (var r in Set.Rules)
        foreach (var s in Everyday.Concat(r.BenignSamples))
        {
            Assert.False(r.Blocks(s), $"{r.Id} blocks {s.Uri}");
            if (!r.OnCookie)
            {
                Assert.False(Regex.IsMatch(s.Uri, UriForms.PercentTolerant(r.Pattern), RegexOptions.IgnoreCase), $"{r.Id} (raw form) blocks {s.Uri}");
                Assert.False(Regex.IsMatch(UriForms.Decode(s.Uri, r.Decode), r.Pattern, RegexOptions.IgnoreCase), $"{r.Id} (decoded) blocks {s.Uri}");
            }
        }
    }

    [Fact]
    public void EveryRuleStopsItsAttacksInEveryFormTheEnginesSee()
    {
        foreach (var r in Set.Rules)
        foreach (var a in r.AttackSamples)
        {
            Assert.True(r.Blocks(a), $"{r.Id} misses {a.Uri}");
            // nginx and HAProxy's raw acl see the URI as sent: the widened pattern must see through the encoding.
            if (!r.OnCookie) Assert.True(Regex.IsMatch(a.Uri, UriForms.PercentTolerant(r.Pattern), RegexOptions.IgnoreCase), $"{r.Id} (raw form) misses {a.Uri}");
        }
    }

    [Fact]
    public void DecodingOnceIsNotEnoughForTheDoubleEncodedVariants()
    {
        var pns = Set.Rules.Single(r => r.IisName == "PowerShell - inbound");
        var twice = new SampleRequest("/autodiscover/autodiscover.json?%2540evil.com/%2570owershell/", "");
        Assert.False(pns.Blocks(twice)); // Microsoft's rule decodes once: this is why exir adds its own
        Assert.True(Set.Rules.Single(r => r.Id == "exir-proxynotshell-double-decoded").Blocks(twice));
        var owassrf = new SampleRequest("/owa/mastermailbox%40outlook.com/powershell", "");
        Assert.DoesNotContain(Set.Rules.Where(r => r.Id.Contains("proxynotshell")), r => r.Blocks(owassrf)); // OWASSRF walks around the ProxyNotShell rules
        Assert.True(Set.Rules.Single(r => r.Id == "exir-owassrf-owa-powershell").Blocks(owassrf));
    }

    [Fact]
    public void PercentTolerantSeesThroughAnyNumberOfEncodingsButNotOtherLetters()
    {
        var p = UriForms.PercentTolerant("(?=.*autodiscover)(?=.*powershell)");
        Assert.Matches(new Regex(p, RegexOptions.IgnoreCase), "/autodiscover?@x/%50owershell");
        Assert.Matches(new Regex(p, RegexOptions.IgnoreCase), "/%2561utodiscover?@x/%25252570owershell");
        Assert.DoesNotMatch(new Regex(p, RegexOptions.IgnoreCase), "/autodiscover?@x/%51owershell");
        Assert.Equal("[a-z](?:@|%(?:25)*40)", UriForms.PercentTolerant("[a-z]@"));
    }

    private static string WriteRules(string yaml)
    {
        var dir = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "mitigations"));
        File.WriteAllText(Path.Combine(dir, "mitigations", "mine.yaml"), yaml);
        return dir;
    }

    private const string OneRule = """
        version: test-1
        mitigations:
          - id: my-rule
            title: mine
            waves: [ProxyNotShell]
            cves: [CVE-2022-41040]
            iis_name: my rule
            match: { variable: REQUEST_URI, decode: 1, pattern: 'autodiscover.*powershell' }
            action: abort
            stops: mine
            references: [https://example.org]
            samples:
              attack:
                - { uri: '/autodiscover/autodiscover.json?@x/%50owershell' }
              benign:
                - { uri: '/owa/' }
        """;

    [Fact]
    public void AUsersRulesFolderReplacesTheBuiltInSet()
    {
        var set = MitigationRuleSet.Load(WriteRules(OneRule));
        Assert.Equal("test-1", set.Version);
        Assert.Equal(["my-rule"], set.Rules.Select(r => r.Id));
        var dir = WriteRules(OneRule);
        Assert.Equal("test-1", MitigationRuleSet.Load(Path.Combine(dir, "mitigations")).Version); // the folder itself
        // A rules copy without mitigations/ is an error that says where it looked, not the built-in set in disguise.
        File.Delete(Path.Combine(dir, "mitigations", "mine.yaml"));
        Assert.Contains("no mitigation rules", Assert.Throws<InvalidDataException>(() => MitigationRuleSet.Load(dir)).Message);
    }

    [Fact]
    public void ProblemsAreReportedWithFileAndLine()
    {
        var bad = OneRule.Replace("decode: 1", "decode: 7").Replace("action: abort", "action: rewrite");
        var e = Assert.Throws<InvalidDataException>(() => MitigationRuleSet.Load(WriteRules(bad)));
        Assert.Contains("rules/mitigations/mine.yaml:8: decode '7'", e.Message);
        Assert.Contains("rules/mitigations/mine.yaml:9: action 'rewrite'", e.Message);

        var broken = OneRule.Replace("'autodiscover.*powershell'", "'autodiscover(.*powershell'");
        e = Assert.Throws<InvalidDataException>(() => MitigationRuleSet.Load(WriteRules(broken)));
        Assert.Contains("mine.yaml:8: pattern does not compile", e.Message);

        var hostileToNginx = OneRule.Replace("'autodiscover.*powershell'", "'autodiscover.*powershell$'");
        e = Assert.Throws<InvalidDataException>(() => MitigationRuleSet.Load(WriteRules(hostileToNginx)));
        Assert.Contains("must not contain quotes, $", e.Message);

        Assert.Throws<InvalidDataException>(() => MitigationRuleSet.Load(WriteRules("mitigations: [ {")));
    }

    [Fact]
    public void ARuleThatMissesItsOwnAttackSampleIsNotLoaded()
    {
        // Decoding 0 times: the raw %50owershell of the sample does not say powershell.
        var e = Assert.Throws<InvalidDataException>(() => MitigationRuleSet.Load(WriteRules(OneRule.Replace("decode: 1", "decode: 0"))));
        Assert.Contains("my-rule: pattern does not stop its attack sample /autodiscover/autodiscover.json?@x/%50owershell", e.Message);
        var blocksOwa = OneRule.Replace("'/owa/'", "'/autodiscover/powershell'");
        e = Assert.Throws<InvalidDataException>(() => MitigationRuleSet.Load(WriteRules(blocksOwa)));
        Assert.Contains("pattern blocks its benign sample /autodiscover/powershell", e.Message);
    }
}
