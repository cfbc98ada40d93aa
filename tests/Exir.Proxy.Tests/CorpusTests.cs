using System.Net;
using Exir.Core;
using Exir.Proxy;

namespace Exir.Proxy.Tests;

/// <summary>The shipped rule set and exposure against exploit shapes of the four waves and real client traffic.</summary>
public sealed class CorpusTests
{
    private static readonly IPAddress Outside = IPAddress.Parse("203.0.113.7");
    private static readonly IPAddress Admin = IPAddress.Parse("10.20.0.5");

    // The repository's rules/ folder: the files as shipped, with the administrators' network configured as a site would.
    private static readonly ProxyPolicy Policy = LoadPolicy();

    private static ProxyPolicy LoadPolicy()
    {
        var data = new DataFiles("rules", typeof(ProxyPolicy).Assembly, Path.Combine(TestPaths.RepoRoot, "rules"));
        var exposure = Exposure.Parse(Exposure.FileName, data.ReadAllText(Exposure.FileName), ["10.20.0.0/16"]);
        return new ProxyPolicy(exposure, ProxyRuleSet.Load(data));
    }

    private static Header[] H(params string[] pairs) =>
        pairs.Select(p => { var i = p.IndexOf(':'); return new Header(p[..i], p[(i + 1)..].Trim()); }).ToArray();

    private const string Ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)";

    /// <summary>Exploit requests; each must be answered by a block (403) or a refusal of its encoding (400).</summary>
    public static TheoryData<string, string, string, string, int> Attacks => new()
    {
        // ProxyLogon
        { "PL static js + BEResource", "POST", "/ecp/y.js", "Cookie: X-BEResource=Administrator@EXCH01:444/autodiscover/autodiscover.xml?a=~1942062522;", 403 },
        { "PL owa auth js + AnonResource", "GET", "/owa/auth/x.js", "Cookie: X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;", 403 },
        { "PL cookie percent-encoded", "GET", "/owa/auth/x.js", "Cookie: X-BEResource=localhost%2Fowa%2Fauth%2Flogon.aspx%3F%7E3", 403 },
        { "PL cookie after a comma", "GET", "/ecp/a.js", "Cookie: a=b, X-BEResource=localhost:444/ecp/about.aspx?%7E1", 403 },
        { "PL cookie name encoded", "GET", "/ecp/a.js", "Cookie: X-AnonResource-%42ackend=localhost/ecp/default.flt?~3", 403 },
        { "PL js mixed case, dot segment", "POST", "/ECP/./x/../Y.JS", "Cookie: X-BEResource=EXCH01:444/ecp/about.aspx?~1", 403 },
        { "PL proxyLogon.ecp", "POST", "/ecp/proxyLogon.ecp", "Cookie: X-BEResource=Administrator@EXCH01:444/ecp/proxyLogon.ecp?a=~1942062522;", 403 },
        { "PL shell in aspnet_client", "POST", "/aspnet_client/system_web/error.aspx", "", 403 },
        { "PL shell in aspnet_client, double slash", "POST", "//aspnet_client//shell.aspx", "", 403 },
        { "PL shell aspx;.jpg", "POST", "/aspnet_client/discover.aspx;.jpg", "", 403 },
        { "PL unknown aspx in owa/auth", "POST", "/owa/auth/OutlookEN.aspx", "", 403 },
        { "PL unknown aspx in owa/auth, encoded dot", "POST", "/owa/auth/shell%2easpx", "", 403 },
        { "PL unknown aspx in owa/auth, double encoded", "POST", "/owa/auth/shell%252easpx", "", 403 },
        { "PL antSword", "POST", "/owa/auth/logon.aspx", "User-Agent: antSword/v2.1", 403 },
        { "PL EWS client 0.0.0.0", "POST", "/EWS/Exchange.asmx", "User-Agent: ExchangeServicesClient/0.0.0.0", 403 },
        // ProxyShell
        { "PS mapi/nspi", "GET", "/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com", "", 403 },
        { "PS %40", "GET", "/autodiscover/autodiscover.json?%40evil.com/ews/exchange.asmx?&Email=autodiscover/autodiscover.json%3F%40evil.com", "", 403 },
        { "PS double encoded", "GET", "/autodiscover/autodiscover.json?%2540evil.com%252Fews%252Fexchange.asmx", "", 403 },
        { "PS %u0040", "GET", "/autodiscover/autodiscover.json?%u0040evil.com/owa/", "", 403 },
        { "PS mixed case path", "POST", "/AutoDiscover/AutoDiscover.JSON?a=b@evil.com/EWS/exchange.asmx&Email=AutoDiscover/autodiscover.json%3Fa=b@evil.com", "", 403 },
        { "PS encoded letters", "GET", "/%61utodiscover/%61utodiscover.json?@x/ews/?&Email=%61utodiscover/autodiscover.json%3F@x", "", 403 },
        { "PS ;param, dup slashes", "GET", "/autodiscover//autodiscover.json;a=1?@evil.com/owa/?&Email=autodiscover/autodiscover.json%3F@evil.com", "", 403 },
        { "PS Email only", "GET", "/autodiscover/autodiscover.json?Email=autodiscover/autodiscover.json%3Fa..b.var&Protocol=XYZ", "", 403 },
        { "PS X-Rps-CAT", "POST", "/autodiscover/autodiscover.json?@evil.com/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z&Email=autodiscover/autodiscover.json%3F@evil.com", "", 403 },
        { "PS X-Rps-CAT direct", "POST", "/PowerShell?X-Rps-CAT=VgEAVAdXaW5kb3dz", "", 403 },
        // ProxyNotShell
        { "PNS plain", "POST", "/autodiscover/autodiscover.json?@evil.com/PowerShell/?&Email=autodiscover/autodiscover.json%3F@evil.com", "", 403 },
        { "PNS encoded P", "GET", "/autodiscover/autodiscover.json?a..foo.var/owa/&Email=autodiscover/autodiscover.json?a..foo.var&Protocol=XYZ&FooProtocol=%50owershell", "", 403 },
        { "PNS double encoded P", "GET", "/autodiscover/autodiscover.json?a..foo.var/owa/&Email=x&FooProtocol=%2550owershell", "", 403 },
        { "PNS backslash", "GET", "/autodiscover\\autodiscover.json?a=x&Protocol=PowerShell", "", 403 },
        { "PNS encoded path", "GET", "/%41utodiscover/autodiscover.json%3F@evil.com/%50ower%53hell/", "", 403 },
        // OWASSRF
        { "OWASSRF path", "POST", "/owa/mastermailbox%40outlook.com/powershell", "", 403 },
        { "OWASSRF mixed case + ;param", "POST", "/OWA/user%40contoso.com/PowerShell;x", "", 403 },
        { "OWASSRF dot segments", "POST", "/owa/./x@y.com/foo/../powershell", "", 403 },
        { "OWASSRF double-encoded", "POST", "/owa/x%2540y.com/%2570owershell", "", 403 },
        { "OWASSRF explicit logon header", "POST", "/owa/service.svc", "X-OWA-ExplicitLogonUser: owa/mastermailbox@outlook.com/powershell", 403 },
        // Encodings no client uses: refused as ambiguous.
        { "overlong slash", "GET", "/owa/%c0%af..%c0%afpowershell", "", 400 },
        { "NUL", "GET", "/aspnet_client/shell.aspx%00.jpg", "", 400 },
        { "quadruple+ encoding", "GET", "/autodiscover/autodiscover.json?%252525252540evil.com/x", "", 400 },
    };

    [Theory]
    [InlineData("/ecp/proxyLogon.ecp")]
    [InlineData("/ecp/%70roxyLogon.ecp")]
    [InlineData("/ecp\\proxyLogon.ecp;x=1")]
    [InlineData("/ECP//./PROXYLOGON.ECP")]
    public void ProxyLogon_ecp_is_blocked_from_outside_and_left_to_exposure_inside(string target)
    {
        // Exchange servers call it among themselves; from the internet it is only ever the exploit.
        var outside = Policy.Decide("POST", target, [], Outside);
        Assert.Equal(403, outside.Status);
        Assert.Contains(outside.Rules.Matched, r => r.Id == "PX-PL-PROXYLOGON-ECP");
        Assert.DoesNotContain(Policy.Decide("POST", target, [], Admin).Rules.Matched, r => r.Id == "PX-PL-PROXYLOGON-ECP");
    }

    [Theory]
    [MemberData(nameof(Attacks))]
    public void Every_exploit_shape_is_blocked(string name, string method, string target, string header, int expected)
    {
        var headers = new List<Header> { new("Host", "mail.contoso.com"), new("User-Agent", Ua) };
        if (header.Length > 0)
        {
            var extra = H(header)[0];
            if (extra.Name == "User-Agent") headers.RemoveAll(h => h.Name == "User-Agent");
            headers.Add(extra);
        }
        // From outside and from the administrators' network alike: the rules do not depend on exposure.
        foreach (var client in new[] { Outside, Admin })
        {
            var outcome = Policy.Decide(method, target, headers, client);
            Assert.True(outcome.Status == expected, $"{name} from {client}: {outcome.Status} {outcome.Reason}");
            if (expected == 403)
            {
                // Blocked by a rule of its own wave, not by accident of another.
                var waves = name.Split(' ')[0] switch
                {
                    "PL" => new[] { "ProxyLogon", "post-exploitation" },
                    "PS" => ["ProxyShell"],
                    "PNS" => ["ProxyNotShell"],
                    _ => ["OWASSRF"],
                };
                Assert.Contains(outcome.Rules.Matched, r => r.Action == RuleAction.Block && waves.Contains(r.Wave));
            }
        }
    }

    /// <summary>Real client request shapes: all must be forwarded.</summary>
    public static TheoryData<string, string, string, string> Benign => new()
    {
        { "Outlook MAPI/HTTP", "POST", "/mapi/emsmdb/?MailboxId=4f1c2d3e-1234-4abc-9def-0123456789ab@contoso.com", "User-Agent: Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)" },
        { "Outlook MAPI nspi", "POST", "/mapi/nspi/?MailboxId=4f1c2d3e-1234-4abc-9def-0123456789ab@contoso.com", "Cookie: X-BackEndCookie=S-1-5-21-1-2-3-1105=u56Lnp2ejJqBzJ3Ny8/Hzc3SzsbIydLLz8bP; MapiContext=abc" },
        { "ActiveSync Sync", "POST", "/Microsoft-Server-ActiveSync?Cmd=Sync&User=jdoe&DeviceId=ANDROIDC1234567890&DeviceType=Android", "User-Agent: Android-SAMSUNG-SM-G991B/101.400" },
        { "ActiveSync OPTIONS", "OPTIONS", "/Microsoft-Server-ActiveSync", "User-Agent: Apple-iPhone14C2/2008.206" },
        { "EWS SOAP", "POST", "/EWS/Exchange.asmx", "User-Agent: ExchangeServicesClient/15.00.0913.015" },
        { "OWA start", "GET", "/owa/", "" },
        { "OWA logon page", "GET", "/owa/auth/logon.aspx?url=https%3a%2f%2fmail.contoso.com%2fowa%2f&reason=0", "" },
        { "OWA logon post", "POST", "/owa/auth.owa", "" },
        { "OWA auth static", "GET", "/owa/auth/15.2.1544/themes/resources/favicon.ico", "" },
        { "OWA attachment", "GET", "/owa/service.svc/s/GetFileAttachment?id=AAMkADk0ZjE3NzZhLTk0YjgtNDNkZC1hZTk1LTAwZDU3ZTFhZWFiNgBGAAAAAAB%2BRmnbRvKBTbn%2FaSdUpDuKBwA%3D&X-OWA-CANARY=X2ZmZ2VhYmM", "Cookie: X-OWA-CANARY=X2ZmZ2VhYmM; X-BackEndCookie=S-1-5-21-1=u56L" },
        { "OWA explicit logon to shared mailbox", "GET", "/owa/shared@contoso.com/", "X-OWA-ExplicitLogonUser: shared@contoso.com" },
        { "Autodiscover POX", "POST", "/Autodiscover/Autodiscover.xml", "User-Agent: Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)" },
        { "Autodiscover JSON as Outlook sends it", "GET", "/autodiscover/autodiscover.json?Email=user%40contoso.com&Protocol=ActiveSync&RedirectCount=1", "" },
        { "Autodiscover JSON v1.0 form", "GET", "/autodiscover/autodiscover.json/v1.0/user@contoso.com?Protocol=AutodiscoverV1&RedirectCount=1", "" },
        { "Autodiscover JSON EWS", "GET", "/autodiscover/autodiscover.json?Email=first.last%40contoso.com&Protocol=EWS&RedirectCount=1", "" },
        { "OAB", "GET", "/OAB/8f2f5c1e-1c2d-4e3f-9a8b-7c6d5e4f3a2b/oab.xml", "" },
        { "OWA name with plus", "GET", "/owa/?ae=Item&t=IPM.Note&a=New&to=first+last%40contoso.com", "" },
        { "OWA crawler", "GET", "/owa/auth/logon.aspx", "User-Agent: Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)" },
    };

    [Theory]
    [MemberData(nameof(Benign))]
    public void Real_client_requests_pass(string name, string method, string target, string header)
    {
        var headers = new List<Header> { new("Host", "mail.contoso.com"), new("User-Agent", Ua) };
        if (header.Length > 0)
            foreach (var extra in H(header))
            {
                if (extra.Name == "User-Agent") headers.RemoveAll(h => h.Name == "User-Agent");
                headers.Add(extra);
            }
        var outcome = Policy.Decide(method, target, headers, Outside);
        Assert.True(outcome.Forward, $"{name}: {outcome.Status} {outcome.Reason}");
        Assert.DoesNotContain(outcome.Rules.Matched, r => r.Action == RuleAction.Block);
    }

    [Fact]
    public void The_crawler_user_agent_is_logged_not_blocked()
    {
        var outcome = Policy.Decide("GET", "/owa/auth/logon.aspx", H("User-Agent: Mozilla/5.0 (compatible; Googlebot/2.1)"), Outside);
        Assert.True(outcome.Forward);
        Assert.Contains(outcome.Rules.Matched, r => r.Id == "PX-UA-CAMPAIGN-CRAWLER");
    }

    [Fact]
    public void The_Outlook_autodiscover_request_passes_while_its_ProxyShell_twin_is_blocked()
    {
        var benign = Policy.Decide("GET", "/autodiscover/autodiscover.json?Email=user%40contoso.com&Protocol=ActiveSync&RedirectCount=1", [], Outside);
        var attack = Policy.Decide("GET", "/autodiscover/autodiscover.json?@contoso.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@contoso.com", [], Outside);
        Assert.True(benign.Forward, benign.Reason);
        Assert.Equal(403, attack.Status);
        Assert.Contains(attack.Rules.Matched, r => r.Id == "PX-PS-AUTODISCOVER-CONFUSION");
    }

    [Theory]
    [InlineData("GET", "/ecp/", "10.20.0.5", 0)]
    [InlineData("GET", "/ecp/", "203.0.113.7", 404)]
    [InlineData("POST", "/PowerShell/", "203.0.113.7", 404)]
    [InlineData("POST", "/PowerShell/", "::ffff:10.20.1.1", 0)]
    [InlineData("GET", "/api/v2.0/me", "203.0.113.7", 404)]
    [InlineData("GET", "/owax/", "203.0.113.7", 404)]
    [InlineData("GET", "/", "203.0.113.7", 404)]
    [InlineData("GET", "/exchange/", "203.0.113.7", 404)]
    [InlineData("DELETE", "/owa/", "203.0.113.7", 405)]
    [InlineData("RPC_IN_DATA", "/rpc/rpcproxy.dll?exch01.contoso.com:6001", "203.0.113.7", 404)]
    [InlineData("RPC_IN_DATA", "/mapi/emsmdb/", "203.0.113.7", 405)]
    public void Exposure_publishes_clients_to_all_and_administration_to_the_internal_networks(string method, string target, string ip, int status)
    {
        var outcome = Policy.Decide(method, target, [], IPAddress.Parse(ip));
        Assert.Equal(status, outcome.Status);
    }

    [Fact]
    public void Outlook_Anywhere_passes_once_rpc_is_enabled()
    {
        var yaml = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "rules", "proxy", "exposure.yaml")).Replace("enabled: false", "enabled: true");
        var exposure = Exposure.Parse("exposure.yaml", yaml);
        var rpcIn = RequestNormaliser.Normalise("RPC_IN_DATA", "/rpc/rpcproxy.dll?exch01.contoso.com:6001", []);
        var get = RequestNormaliser.Normalise("GET", "/rpc/rpcproxy.dll?exch01.contoso.com:6001", []);
        Assert.Equal(ExposureDecision.Allow, exposure.Decide(rpcIn, Outside));
        Assert.Equal(ExposureDecision.Allow, exposure.Decide(RequestNormaliser.Normalise("RPC_OUT_DATA", "/rpc/rpcproxy.dll?exch01:6004", []), Outside));
        Assert.Equal(ExposureDecision.MethodNotAllowed, exposure.Decide(get, Outside));
        Assert.Equal(0, new ProxyPolicy(exposure, Policy.Rules).Decide(rpcIn, Outside).Status);
    }

    [Fact]
    public void The_embedded_copy_loads_and_matches_the_repository_files()
    {
        var embedded = ProxyPolicy.Load(EmbeddedOnly());
        Assert.Equal(Policy.Rules.Rules.Select(r => r.Id), embedded.Rules.Rules.Select(r => r.Id));
        Assert.Empty(embedded.Exposure.InternalNetworks);
    }

    // DataFiles prefers the checkout's folder when run from source; copy the embedded resources out to load exactly them.
    private static DataFiles EmbeddedOnly()
    {
        var dir = TestPaths.NewTempDir("exir-proxy-embedded");
        var asm = typeof(ProxyPolicy).Assembly;
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith("rules/proxy/", StringComparison.Ordinal)))
        {
            var target = Path.Combine(dir, name["rules/".Length..]);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            using var s = asm.GetManifestResourceStream(name)!;
            using var f = File.Create(target);
            s.CopyTo(f);
        }
        return new DataFiles("rules", asm, dir);
    }
}
