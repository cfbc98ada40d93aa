using System.Globalization;
using System.Text;

namespace Exir.Cli.Tests;

/// <summary>
/// Writes random Exchange collection trees (a server's C: drive) with what Microsoft's Test-ProxyLogon.ps1 reads:
/// HttpProxy logs with CVE-2021-26855 anchors of every shape its patterns catch (and shapes it lets pass), ECP
/// HttpProxy resets (CVE-2021-27065), ECP server logs with Set-*VirtualDirectory URLs, OAB generator logs
/// (CVE-2021-26858), LSASS dumps in C:\root and Windows\Temp, archives below ProgramData (real, cut, split,
/// in vendor folders), and benign traffic. Seeded: the same seed writes the same tree.
/// </summary>
internal sealed class TestProxyLogonParityTrees(int seed)
{
    private readonly Random _r = new(seed);
    private DateTime _clock = new DateTime(2021, 3, 3, 0, 0, 0, DateTimeKind.Utc).AddMinutes(seed % 600);

    public const string ExchangeDir = "Program Files/Microsoft/Exchange Server/V15";

    private static readonly string[] HttpProxyFields = ("DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem," +
        "ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,HttpStatus," +
        "BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,RoutingType,RoutingHint,BackEndCookie,ServerLocatorHost,ServerLocatorLatency," +
        "RequestBytes,ResponseBytes,TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency," +
        "AccountForestLatencyBreakup,TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,SharedCacheLatencyBreakup," +
        "TotalSharedCacheLatency,ActivityContextLifeTime,ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency,BackendReqStreamLatency," +
        "BackendProcessingLatency,BackendRespInitLatency,BackendRespStreamLatency,ClientRespStreamLatency,KerberosAuthHeaderLatency,HandlerCompletionLatency," +
        "RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,CoreLatency,RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,UrlQuery," +
        "BackEndGenericInfo,GenericInfo,GenericErrors,EdgeTraceId,DatabaseGuid,UserADObjectGuid,PartitionEndpointLookupLatency,RoutingStatus").Split(',');

    private static readonly string[] Protocols = ["Ecp", "Owa", "Ews", "Mapi", "Autodiscover", "Oab", "PowerShell", "RpcHttp", "Eas"];
    private static readonly string[] AttackStems = ["/ecp/y.js", "/ecp/x.js", "/owa/auth/x.js", "/ecp/default.flt", "/ecp/main.css", "/ews/exchange.asmx", "/owa/auth/logon.aspx", "/mapi/nspi/"];
    private static readonly string[] AttackAgents =
    [
        "ExchangeServicesClient/0.0.0.0", "python-requests/2.25.1", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36",
        "curl/7.68.0", "antSword/v2.1", "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", "Go-http-client/1.1",
    ];
    private static readonly string[] BenignAgents =
    [
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13801; Pro)", "Apple-iPhone13C2/1803.50", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:86.0) Gecko/20100101 Firefox/86.0",
        "MSRPC", "Microsoft WinRM Client", "Outlook-iOS/2.0",
    ];
    private static readonly string[] SsrfPaths =
    [
        "/ecp/proxyLogon.ecp?#~1941962753", "/mapi/emsmdb?MailboxId=f26bc5f3-2f9c-4bbb-8d7a-5e1b7c0e8a2d@contoso.com&a=~1942062522",
        "/ecp/DDI/DDIService.svc/GetObject?schema=OABVirtualDirectory&msExchEcpCanary=bXlDYW5hcnk&a=~1942062522",
        "/ecp/DDI/DDIService.svc/SetObject?schema=OABVirtualDirectory&msExchEcpCanary=bXlDYW5hcnk&a=~1942062522",
        "/ews/exchange.asmx?a=~1942062522", "/EWS/Exchange.asmx", "/ecp/x.ecp?a=1,2&b=~19", "/owa/auth/errorFF.aspx?x=\"q\"", "/ecp/target.js#~1",
    ];
    private static readonly string[] ResetSchemas = ["ResetOABVirtualDirectory", "ResetOWAVirtualDirectory", "ResetEcpVirtualDirectory"];

    /// <summary>Writes the tree under <paramref name="root"/> (the C: drive).</summary>
    public void Write(string root)
    {
        bool csvHeaderFirst = _r.Next(2) == 0;   // real Exchange logs begin with a bare CSV header line; exir's sample with #Software
        foreach (var protocol in Protocols)
        {
            if (_r.Next(4) == 0) continue;
            int files = 1 + _r.Next(2);
            for (int i = 1; i <= files; i++)
            {
                var name = $"HttpProxy_2021030{3 + i}00-{i}.{(_r.Next(3) == 0 ? "log" : "LOG")}";
                WriteLog(root, $"{ExchangeDir}/Logging/HttpProxy/{protocol}/{name}", "HttpProxy Logs", HttpProxyFields, csvHeaderFirst,
                    Enumerable.Range(0, 5 + _r.Next(30)).Select(_ => HttpProxyRow(protocol)).ToList());
            }
        }
        if (_r.Next(3) > 0) WriteEcpServer(root, csvHeaderFirst);
        if (_r.Next(3) > 0) WriteOab(root, csvHeaderFirst);
        WriteDumps(root);
        WriteArchives(root);
    }

    private T Pick<T>(IReadOnlyList<T> xs) => xs[_r.Next(xs.Count)];
    private string Ip() => _r.Next(3) == 0 ? $"10.0.{_r.Next(256)}.{_r.Next(1, 255)}" : $"{Pick(new[] { 203, 198, 45, 185 })}.{_r.Next(256)}.{_r.Next(256)}.{_r.Next(1, 255)}";
    private string Guid() => new System.Guid(Enumerable.Range(0, 16).Select(_ => (byte)_r.Next(256)).ToArray()).ToString();
    private string Stamp() { _clock = _clock.AddSeconds(1 + _r.Next(900)).AddMilliseconds(_r.Next(1000)); return _clock.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture); }
    private string Word() => new string(Enumerable.Range(0, 3 + _r.Next(6)).Select(_ => (char)('a' + _r.Next(26))).ToArray());

    private Dictionary<string, string> HttpProxyRow(string protocol)
    {
        var row = new Dictionary<string, string>
        {
            ["DateTime"] = Stamp(), ["RequestId"] = Guid(), ["MajorVersion"] = "15", ["MinorVersion"] = "1", ["BuildVersion"] = "2176", ["RevisionVersion"] = "2",
            ["Protocol"] = protocol, ["UrlHost"] = "mail.contoso.com", ["ServerHostName"] = "EXCH01", ["ClientIpAddress"] = Ip(), ["Method"] = Pick(new[] { "GET", "POST" }),
        };
        int kind = _r.Next(10);
        if (kind < 5)
        {
            // Benign: an anchor by SMTP or PUID, or none; Test-ProxyLogon's own exclusions (localhost, autodiscover).
            row["UrlStem"] = "/" + protocol.ToLowerInvariant() + "/";
            row["UserAgent"] = Pick(BenignAgents);
            row["AuthenticatedUser"] = "alice@contoso.com";
            row["AnchorMailbox"] = Pick(new[] { "", "SMTP:alice@contoso.com", "PUID:10032000A1B2C3D4@contoso.com", "ServerInfo~EXCH02.contoso.local" });
            row["HttpStatus"] = Pick(new[] { "200", "200", "302", "401" });
            return row;
        }
        row["UrlStem"] = Pick(AttackStems);
        row["UserAgent"] = Pick(AttackAgents);
        row["HttpStatus"] = Pick(new[] { "200", "241", "500", "404", "302", "200" });
        var prefix = Pick(new[] { "ServerInfo~", "ServerInfo~", "serverinfo~", "SERVERINFO~" });
        var host = Pick(new[] { "a]@EXCH01.contoso.local:444", "EXCH01.contoso.local", $"x]@10.0.0.{_r.Next(2, 250)}:444", "a]@exch02:444", "EXCH01" });
        if (kind == 5)
        {
            // Shapes Test-ProxyLogon lets pass: localhost (the nmap check), anchors naming /autodiscover.
            row["AnchorMailbox"] = Pick(new[] { "ServerInfo~localhost/ecp/default.flt?~1942062522", $"{prefix}{host}/autodiscover/autodiscover.xml?#", "ServerInfo~localhost~1/ecp/x" });
            return row;
        }
        if ((kind == 6 || kind == 8) && protocol == "Ecp")
        {
            // CVE-2021-27065: the virtual directory reset through the SSRF.
            // Test-ProxyLogon wants the anchor to end in "VirtualDirectory#"; the other two shapes pass it by.
            var schema = Pick(ResetSchemas);
            row["AnchorMailbox"] = prefix + host + Pick(new[]
            {
                $"/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary={Word()}&schema={schema}#",
                $"/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary={Word()}&a=~1942062522&schema={schema}#",
                $"/ecp/DDI/DDIService.svc/SetObject?schema={schema}&msExchEcpCanary={Word()}&a=~1942062522#",
                $"/ecp/DDI/DDIService.svc/SetObject?schema={schema}#~1942062522",
            });
            row["HttpStatus"] = Pick(new[] { "200", "200", "500" });
            return row;
        }
        if (kind == 7)
        {
            // A back-end cookie instead of the anchor: Test-ProxyLogon does not look, exir does.
            row["BackEndCookie"] = $"Server~{host}/ecp/target.js~1942062522";
            return row;
        }
        row["AnchorMailbox"] = prefix + host + Pick(SsrfPaths);
        return row;
    }

    private void WriteEcpServer(string root, bool csvHeaderFirst)
    {
        string[] fields = ["TimeStamp", "ServerName", "EventId", "EventData"];
        var rows = new List<Dictionary<string, string>>();
        for (int i = 0, n = 4 + _r.Next(12); i < n; i++)
        {
            var vdir = Pick(new[] { "Oab", "Owa", "Ecp", "ActiveSync", "Ews" });
            var param = Pick(new[] { "ExternalUrl", "InternalUrl" });
            string url = _r.Next(3) switch
            {
                0 => $"https://mail.contoso.com/{vdir.ToLowerInvariant()}",
                1 => $"http://f/<script language=\"JScript\" runat=\"server\">function Page_Load(){{eval(Request[\"{Word()}\"],\"unsafe\");}}</script>",
                _ => Pick(new[] { $"http://{Word()}/<SCRIPT runat=server>eval(Request.Item[\"{Word()}\"])</SCRIPT>", $"http://g/<b>{Word()}</b>", "http://o/<script>Response.Write(1)</script>" }),
            };
            var cmd = _r.Next(4) == 0 ? $"Get-{vdir}VirtualDirectory" : $"Set-{vdir}VirtualDirectory.{param}='{url}'.Identity='{Guid()}'";
            rows.Add(new()
            {
                ["TimeStamp"] = Stamp(), ["ServerName"] = "EXCH01", ["EventId"] = "ECP.Request",
                ["EventData"] = $"S:TIME={_r.Next(500)};S:SID={Guid()};S:CMD={cmd};S:REQID=;S:URL=/ecp/DDI/DDIService.svc/SetObject?schema={vdir}VirtualDirectory&msExchEcpCanary={Word()};S:REFERRER=;S:EX=;S:ACTID={Guid()};S:RS=0;S:BLD=15.1.2176.2",
            });
        }
        WriteLog(root, $"{ExchangeDir}/Logging/ECP/Server/ECPServer2021030300-1.LOG", "ECP Server Log", fields, csvHeaderFirst, rows);
    }

    private void WriteOab(string root, bool csvHeaderFirst)
    {
        string[] fields = ["Timestamp", "ThreadId", "Level", "Organization", "OabName", "Message"];
        var rows = new List<Dictionary<string, string>>();
        for (int i = 0, n = 3 + _r.Next(10); i < n; i++)
        {
            string message = _r.Next(5) switch
            {
                0 or 1 => @"OABGeneratorAssistant: generation of \Default Offline Address Book completed.",
                2 => $@"Download failed and temporary file 'C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\OAB\Temp\{Guid()}.tmp' needs to be removed.",
                _ => $"Download failed and temporary file '{Pick(new[] { @"C:\inetpub\wwwroot\aspnet_client\", @"C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth\", @"C:\inetpub\wwwroot\aspnet_client\system_web\", @"D:\Exchange\V15\ClientAccess\OAB\" })}{Word()}.aspx' needs to be removed.",
            };
            rows.Add(new() { ["Timestamp"] = Stamp(), ["ThreadId"] = _r.Next(10, 90).ToString(CultureInfo.InvariantCulture), ["Level"] = Pick(new[] { "Info", "Error", "Warning" }), ["Organization"] = "contoso.local", ["OabName"] = @"\Default Offline Address Book", ["Message"] = message });
        }
        WriteLog(root, $"{ExchangeDir}/Logging/OABGeneratorLog/OABGeneratorLog_20210303-1.LOG", "OABGenerator Log", fields, csvHeaderFirst, rows);
    }

    // A minimal minidump of lsass.exe (the rule test's sample): header, module list, lsass.exe first.
    private static readonly byte[] LsassMiniDump = Convert.FromBase64String("TURNUJOnAAAHAAAAIAAAAAAAAAAAAAAAAAAAAAAAAAA=");

    private void WriteDumps(string root)
    {
        for (int i = 0, n = _r.Next(4); i < n; i++)
        {
            var dir = Pick(new[] { "root", "root/tmp", "Windows/Temp", "Windows/Temp/" + Word() });
            var name = Pick(new[] { "lsass.dmp", $"lsass.{Word()}.dmp", $"lsass.exe_{_r.Next(9999)}.dmp", "lsass.zip.dmp" });
            byte[] content = _r.Next(3) switch { 0 => LsassMiniDump, 1 => Encoding.ASCII.GetBytes("procdump failed"), _ => [] };
            WriteFile(root, $"{dir}/{name}", content);
        }
    }

    private void WriteArchives(string root)
    {
        byte[][] real =
        [
            [(byte)'7', (byte)'z', 0xBC, 0xAF, 0x27, 0x1C, 0, 4, 1, 2, 3, 4],
            Convert.FromBase64String("UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="),
            [.. "Rar!\x1A\x07\x01\x00"u8, 1, 2, 3],
        ];
        for (int i = 0, n = _r.Next(6); i < n; i++)
        {
            var dir = "ProgramData/" + Pick(new[] { "", Word() + "/", "VSSAdmin/Logs/", "Microsoft/Crypto/" + Word() + "/", "McAfee/Agent/cache/", "Package Cache/{" + Guid() + "}/",
                "Microsoft/Windows Defender/Scans/", "Microsoft/Windows/WER/ReportQueue/" });
            var stem = Pick(new[] { Word(), "ntds", "SAM", "system", "lsass", "mail_" + Word(), "update" });
            var ext = Pick(new[] { ".7z", ".zip", ".rar", ".ZIP", ".7z.001", ".7z.002", ".part1.rar", ".z01", ".r00" });
            byte[] content = _r.Next(3) switch { 0 => Encoding.ASCII.GetBytes("cut " + Word()), 1 => [], _ => Pick(real) };
            WriteFile(root, dir + stem + ext, content);
        }
    }

    private void WriteLog(string root, string relative, string logType, string[] fields, bool csvHeaderFirst, List<Dictionary<string, string>> rows)
    {
        var sb = new StringBuilder();
        if (csvHeaderFirst) sb.Append(string.Join(',', fields)).Append("\r\n");
        sb.Append("#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n#Log-type: ").Append(logType)
          .Append("\r\n#Date: 2021-03-03T00:00:00.000Z\r\n#Fields: ").Append(string.Join(',', fields)).Append("\r\n");
        foreach (var row in rows)
            sb.Append(string.Join(',', fields.Select(f => Csv(row.GetValueOrDefault(f) ?? "")))).Append("\r\n");
        WriteFile(root, relative, Encoding.UTF8.GetBytes(sb.ToString()));
    }

    private static string Csv(string v) => v.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + v.Replace("\"", "\"\"") + "\"" : v;

    private static void WriteFile(string root, string relative, byte[] content)
    {
        var path = Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
    }
}
