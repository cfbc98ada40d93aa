using System.Text;
using Exir.Logs;
using Exir.Sigma;
using static Exir.Sigma.Tests.SigmaTestKit;

namespace Exir.Sigma.Tests;

/// <summary>The logsource mapping as data: channels, EventIDs, field renames, skipped sources, web logs.</summary>
public sealed class LogsourceTests
{
    private const string ProcessCreation = "category: process_creation\n    product: windows";
    private const string Sysmon = "Microsoft-Windows-Sysmon/Operational";

    private static List<SigmaHit> Run(SigmaRuleSet set, Exir.Evtx.WinEvent e)
    {
        var hits = new List<SigmaHit>();
        new SigmaEngine(set).Match(e, hits);
        return hits;
    }

    [Fact]
    public void ProcessCreationReadsSysmon1AndSecurity4688WithRenamedFields()
    {
        var set = Load(Rule("    sel:\n        ParentImage|endswith: '\\w3wp.exe'\n        Image|endswith: '\\cmd.exe'\n    condition: sel", ProcessCreation));
        var sysmon = Run(set, Event(1, Sysmon, provider: "Microsoft-Windows-Sysmon", data: [("ParentImage", @"c:\windows\system32\inetsrv\w3wp.exe"), ("Image", @"C:\Windows\System32\cmd.exe")]));
        Assert.Equal("Sysmon 1", Assert.Single(sysmon).Source);
        var security = Run(set, Event(4688, "Security", data: [("ParentProcessName", @"c:\windows\system32\inetsrv\w3wp.exe"), ("NewProcessName", @"C:\Windows\System32\cmd.exe")]));
        var hit = Assert.Single(security);
        Assert.Equal("Security 4688", hit.Source);
        // Evidence names the fields as the rule does, with the 4688 values.
        Assert.Equal(@"C:\Windows\System32\cmd.exe", hit.Field("Image"));
        Assert.Contains(hit.RuleFields, f => f.Key == "ParentImage");
        // Other Security events and other Sysmon ids do not reach the rule.
        Assert.Empty(Run(set, Event(4689, "Security", data: [("ParentProcessName", @"x\w3wp.exe"), ("NewProcessName", @"x\cmd.exe")])));
        Assert.Empty(Run(set, Event(10, Sysmon, data: [("ParentImage", @"x\w3wp.exe"), ("Image", @"x\cmd.exe")])));
    }

    [Fact]
    public void RuleNeedingAFieldThat4688LacksIsSkippedFor4688AndReported()
    {
        var set = Load(Rule("    sel:\n        OriginalFileName: 'procdump'\n    condition: sel", ProcessCreation));
        var skip = Assert.Single(set.Report.SourceSkips);
        Assert.Equal("Security 4688", skip.Source);
        Assert.Contains("OriginalFileName", skip.Reason);
        Assert.Single(Run(set, Event(1, Sysmon, data: [("OriginalFileName", "procdump")])));
        Assert.Empty(Run(set, Event(4688, "Security", data: [("OriginalFileName", "procdump")])));
        Assert.Equal(1, set.Report.Loaded);
    }

    [Fact]
    public void PowerShellClassicDataLinesAreFields()
    {
        var set = Load(Rule("    sel:\n        HostApplication|contains: 'powershell.exe -version 2'\n        EngineVersion|startswith: '2.'\n    condition: sel", "category: ps_classic_start\n    product: windows"));
        var data = "Available\nNone\n\tNewEngineState=Available\r\n\tPreviousEngineState=None\r\n\r\n\tSequenceNumber=13\r\n\r\n\tHostName=ConsoleHost\r\n\tHostVersion=2.0\r\n\tHostId=6fb0d3c1\r\n\tHostApplication=powershell.exe -Version 2 -nop\r\n\tEngineVersion=2.0\r\n";
        Assert.Single(Run(set, Event(400, "Windows PowerShell", provider: "PowerShell", data: [("Data[1]", "Available"), ("Data[2]", "None"), ("Data[3]", data)])));
        var modern = data.Replace("EngineVersion=2.0", "EngineVersion=5.1.17763.1");
        Assert.Empty(Run(set, Event(400, "Windows PowerShell", provider: "PowerShell", data: [("Data[3]", modern)])));
    }

    [Fact]
    public void DataNamesWithSpacesMatchTheRuleSpellingWithout()
    {
        var set = Load(Rule("    sel:\n        ThreatName|contains: 'EICAR'\n    condition: sel", "product: windows\n    service: windefend"));
        Assert.Single(Run(set, Event(1116, "Microsoft-Windows-Windows Defender/Operational", data: [("Threat Name", "Virus:DOS/EICAR_Test_File")])));
    }

    [Fact]
    public void UnmappedLogsourceLoadsButReportsNoEventSource()
    {
        var set = Load(Rule("    sel:\n        FileName: 'x'\n    condition: sel", "category: file_access\n    product: windows"));
        Assert.Equal(1, set.Report.Loaded);
        Assert.Contains("no event source", Assert.Single(set.Report.WithoutSource).Reason);
    }

    [Fact]
    public void MappingIsReplaceableThroughARulesFolder()
    {
        var dir = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "sigma-config"));
        File.WriteAllText(Path.Combine(dir, "sigma-config", "logsources.yaml"),
            "logsources:\n  - service: msexchange-management\n    product: windows\n    sources:\n      - { name: forwarded cmdlets, channel: ForwardedEvents, event_ids: [1] }\n");
        var yaml = Rule("    keywords:\n        - 'New-MailboxExportRequest'\n    condition: keywords", "product: windows\n    service: msexchange-management");
        var set = SigmaRuleSet.Parse(yaml, "t.yml", new SigmaLoadOptions { RulesDirectory = dir });
        var engine = new SigmaEngine(set);
        Assert.True(engine.WantsChannel("ForwardedEvents"));
        Assert.False(engine.WantsChannel("MSExchange Management"));
        var hits = new List<SigmaHit>();
        engine.Match(Event(1, "ForwardedEvents", data: [("Data[1]", "New-MailboxExportRequest -Mailbox ceo")]), hits);
        Assert.Equal("forwarded cmdlets", Assert.Single(hits).Source);
    }

    [Fact]
    public void BuiltInMappingCoversEveryLogsourceOfTheExchangeSubset()
    {
        var map = LogsourceMap.Load();
        Assert.Equal(2, map.SourcesFor(new SigmaLogsource("windows", "process_creation", null)).Count);
        Assert.Equal("MSExchange Management", Assert.Single(map.SourcesFor(new SigmaLogsource("windows", null, "msexchange-management"))).Channel);
        Assert.Equal(["iis", "httpproxy"], Assert.Single(map.SourcesFor(new SigmaLogsource(null, "webserver", null))).LogFormats);
    }

    // ------------------------------------------------------------ web logs

    private const string Hafnium = """
            sel:
                cs-method: 'POST'
                cs-uri-query|contains: '/owa/auth/Current/themes/resources/'
            condition: sel
        """;

    private static List<SigmaHit> RunLog(SigmaRuleSet set, LogFormat format, string text, string? host = "EXCH01")
    {
        var engine = new SigmaEngine(set);
        using var reader = new LogReader(new MemoryStream(Encoding.UTF8.GetBytes(text)), format);
        var hits = new List<SigmaHit>();
        while (reader.Read()) engine.MatchWeb(reader, hits, host);
        return hits;
    }

    [Fact]
    public void WebserverRuleReadsIisW3cLines()
    {
        var set = Load(Rule(Hafnium, "category: webserver"));
        var log = LogFixtureText.IisHeader() +
                  "2021-03-03 04:01:12 10.0.0.5 POST /owa/auth/Current/themes/resources/logon.css - 443 - 203.0.113.9 ExchangeServicesClient/0.0.0.0 - 200 0 0 15\r\n" +
                  "2021-03-03 04:01:13 10.0.0.5 GET /owa/auth/Current/themes/resources/logon.css - 443 - 203.0.113.9 Mozilla/5.0 - 200 0 0 15\r\n";
        var hit = Assert.Single(RunLog(set, LogFormat.IisW3c, log));
        Assert.Equal(new DateTime(2021, 3, 3, 4, 1, 12, DateTimeKind.Utc), hit.TimeUtc);
        Assert.Equal("EXCH01", hit.Host);
        Assert.Equal("iis", hit.Source);
        Assert.NotNull(hit.LineNumber);
        Assert.Contains(hit.EventFields, f => f.Key == "c-ip" && f.Value == "203.0.113.9");
    }

    [Fact]
    public void WebserverRuleReadsHttpProxyLinesThroughTheSameNames()
    {
        var set = Load(Rule(Hafnium + "\n    sel2:\n        cs-user-agent|startswith: 'python'\n        c-ip: '198.51.100.7'", "category: webserver"));
        var names = LogFixtureText.HttpProxyFields.Split(',');
        string Line(string method, string stem, string agent)
        {
            var v = names.Select(n => n switch
            {
                "DateTime" => "2021-03-03T04:01:12.345Z", "UrlStem" => stem, "Method" => method, "UserAgent" => agent,
                "ClientIpAddress" => "198.51.100.7", "ServerHostName" => "EXCH02", "HttpStatus" => "200", "Protocol" => "Owa", _ => "",
            });
            return string.Join(",", v) + "\r\n";
        }
        var log = LogFixtureText.HttpProxyHeader() + Line("POST", "/owa/auth/Current/themes/resources/a.css", "Mozilla/5.0") + Line("GET", "/owa/", "Mozilla/5.0");
        var hit = Assert.Single(RunLog(set, LogFormat.HttpProxy, log));
        Assert.Equal("EXCH02", hit.Host); // the line's own server name wins over the caller's
        Assert.Equal("httpproxy", hit.Source);
    }

    [Fact]
    public void WebLinesThatMatchNothingAllocateNothing()
    {
        var set = Load(Rule("    sel1:\n        cs-method: 'POST'\n        cs-uri-query|contains: '/owa/auth/Current/themes/resources/'\n    sel2:\n        cs-user-agent|contains:\n            - 'sqlmap'\n            - 'nikto'\n        sc-status: 200\n    sel3:\n        c-uri-extension: 'aspx'\n        cs-uri-query|re: 'cmd=[a-z]+'\n    condition: 1 of sel*", "category: webserver"));
        var engine = new SigmaEngine(set);
        var line = "2021-03-03 04:01:12 10.0.0.5 GET /owa/auth/logon.aspx replaceCurrent=1&url=https%3a%2f%2fmail 443 - 203.0.113.9 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 15\r\n";
        var log = LogFixtureText.IisHeader() + string.Concat(Enumerable.Repeat(line, 12_000));
        using var reader = new LogReader(new MemoryStream(Encoding.UTF8.GetBytes(log)), LogFormat.IisW3c);
        var hits = new List<SigmaHit>();
        for (int i = 0; i < 2000 && reader.Read(); i++) engine.MatchWeb(reader, hits, "EXCH01"); // warm up
        long lines = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        while (reader.Read()) { engine.MatchWeb(reader, hits, "EXCH01"); lines++; }
        long perLine = (GC.GetAllocatedBytesForCurrentThread() - before) / lines;
        Assert.Equal(10_000, lines);
        Assert.Empty(hits);
        Assert.True(perLine < 8, $"{perLine} bytes allocated per non-matching line");
    }

    [Fact]
    public void WebLiteralsPrefilterLinesWithoutLosingHits()
    {
        var set = Load(Rule(Hafnium + "\n    sel2:\n        cs-user-agent|contains:\n            - 'sqlmap'\n            - 'nikto'\n    sel3:\n        cs-uri-stem|endswith: '.aspx'\n        cs-uri-query|contains: 'cmd='", "category: webserver")
            .Replace("condition: sel", "condition: 1 of sel*"));
        var engine = new SigmaEngine(set);
        var literals = engine.WebLiterals(LogFormats.Iis);
        Assert.NotNull(literals);
        Assert.Contains("sqlmap", literals);
        string L(string method, string stem, string query, string ua) => $"2021-03-03 04:01:12 10.0.0.5 {method} {stem} {query} 443 - 203.0.113.9 {ua} - 200 0 0 15\r\n";
        var log = LogFixtureText.IisHeader()
                  + L("POST", "/owa/auth/Current/themes/resources/a.css", "-", "Mozilla/5.0")
                  + L("GET", "/owa/", "-", "sqlmap/1.5")
                  + L("GET", "/aspnet_client/s.aspx", "cmd=whoami", "Mozilla/5.0")
                  + L("GET", "/owa/", "-", "Mozilla/5.0")
                  + L("GET", "/ecp/", "x=1", "Mozilla/5.0");
        List<string> Run(LogReaderOptions? options)
        {
            using var reader = new LogReader(new MemoryStream(Encoding.UTF8.GetBytes(log)), LogFormat.IisW3c, options);
            var hits = new List<SigmaHit>();
            while (reader.Read()) engine.MatchWeb(reader, hits);
            return hits.Select(h => $"{h.LineNumber}:{h.Rule.Id}").ToList();
        }
        var every = Run(null);
        Assert.Equal(3, every.Count);
        Assert.Equal(every, Run(new LogReaderOptions { Literals = literals }));
        // A regular expression gives the literal it needs; one that needs none makes it every line.
        var re = new SigmaEngine(Load(Rule("    sel:\n        cs-uri-query|re: 'cmd=[a-z]+'\n    condition: sel", "category: webserver")));
        Assert.Equal(["cmd="], re.WebLiterals(LogFormats.Iis));
        var digits = new SigmaEngine(Load(Rule("    sel:\n        cs-uri-query|re: '[0-9]{40,}'\n    condition: sel", "category: webserver")));
        Assert.Null(digits.WebLiterals(LogFormats.Iis));
        Assert.Single(digits.RulesNeedingEveryLine(LogFormats.Iis));
        Assert.Null(engine.WebLiterals(LogFormats.EcpServer));
    }

    [Fact]
    public void ProxyCategoryUserAgentAndUriNames()
    {
        var set = Load(Rule("    sel:\n        c-useragent|contains: 'sqlmap'\n        c-uri|contains: '?id='\n        c-uri-extension: 'aspx'\n    condition: sel", "category: proxy"));
        var engine = new SigmaEngine(set);
        var hits = new List<SigmaHit>();
        engine.MatchWeb(LogFormats.Iis, [new("cs-uri-stem", "/ecp/x.aspx"), new("cs-uri-query", "id=1"), new("cs(User-Agent)", "sqlmap/1.5")], hits);
        Assert.Single(hits);
        hits.Clear();
        engine.MatchWeb(LogFormats.Iis, [new("cs-uri-stem", "/ecp/x.js"), new("cs-uri-query", "id=1"), new("cs(User-Agent)", "sqlmap/1.5")], hits);
        Assert.Empty(hits);
    }
}

/// <summary>The image-name gates of the engine's index: exact, never a different result.</summary>
public sealed class GateTests
{
    private const string Sysmon = "Microsoft-Windows-Sysmon/Operational";

    [Theory]
    [InlineData(@"C:\Windows\System32\CMD.EXE", "", true)]
    [InlineData(@"cmd.exe", "", false)]                         // no backslash: cannot end with \cmd.exe
    [InlineData(@"C:\Windows\System32\xcmd.exe", "", false)]
    [InlineData(@"C:\tools\renamed.exe", "Cmd.Exe", true)]      // through the OriginalFileName branch
    [InlineData(@"C:\tools\renamed.exe", "other.exe", false)]
    public void GatedRuleMatchesExactlyAsUngated(string image, string original, bool expected)
    {
        var yaml = SigmaTestKit.Rule("    sel_img:\n        - Image|endswith: '\\cmd.exe'\n        - OriginalFileName: 'Cmd.Exe'\n    sel_cli:\n        CommandLine|contains: '/c'\n    condition: all of sel_*",
            "category: process_creation\n    product: windows");
        var set = SigmaTestKit.Load(yaml);
        var data = new List<(string, string)> { ("Image", image), ("CommandLine", "cmd /c whoami") };
        if (original.Length > 0) data.Add(("OriginalFileName", original));
        var e = SigmaTestKit.Event(1, Sysmon, data: data.ToArray());
        foreach (var engine in new[] { new SigmaEngine(set), new SigmaEngine(set, useGates: false) })
        {
            var hits = new List<SigmaHit>();
            engine.Match(e, hits);
            Assert.Equal(expected, hits.Count == 1);
        }
    }
}

/// <summary>The literal a regular expression needs, for the web-line prefilter.</summary>
public sealed class RequiredRunTests
{
    [Theory]
    [InlineData(@"^/owa/[^/]+/(p|%(25)?[57]0)", "/owa/")]
    [InlineData(@"x-rps-(c|%(25)?[46]3)(a|%(25)?[46]1)=", "x-rps-")]
    [InlineData(@"^/(owa|ecp)/auth/[^/]+\.(aspx|ashx)$", "/auth/")]
    [InlineData(@"cmd=[a-z]+", "cmd=")]
    [InlineData(@"abcd?ef", "abc")]
    [InlineData(@"abc\.aspx", "abc.aspx")]
    [InlineData(@"a{2}bcdef", "bcdef")]
    [InlineData(@"foo|barbaz", null)]
    [InlineData(@"(abc)?", null)]
    [InlineData(@"\d+", null)]
    public void LongestRequiredRun(string pattern, string? expected) =>
        Assert.Equal(expected, Internals.LinePrefilter.RequiredRun(pattern));

    [Fact]
    public void RequiredRunIsInEveryMatch()
    {
        // Whatever the expression matches holds the run: checked on strings the expressions match.
        (string Pattern, string Input)[] cases =
        [
            (@"^/owa/[^/]+/(p|%(25)?[57]0)owershell", "/owa/x@y.z/%2570owershell"),
            (@"x-rps-(c|%(25)?[46]3)at=", "?X-Rps-CAT=a".ToLowerInvariant()),
            (@"ab+c?d\.e{0,2}fg", "abbbd.fg"),
        ];
        foreach (var (p, input) in cases)
        {
            Assert.Matches(p, input);
            Assert.Contains(Internals.LinePrefilter.RequiredRun(p)!, input);
        }
    }
}
