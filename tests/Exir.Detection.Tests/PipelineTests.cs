using System.Text;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Artifacts;
using Exir.Detection.LocalServer;
using Exir.Detection.Correlation;
using Exir.Detection.Rules;
using Exir.Engine;
using Exir.Logs;
using Exir.Pipeline;
using Exir.Tests;

namespace Exir.Detection.Tests;

public class PipelineTests
{
    private static readonly DateTimeOffset T0 = new(2021, 3, 3, 5, 0, 0, TimeSpan.Zero);

    [Fact]
    public void MiniDumpReaderNamesTheDumpedProcess()
    {
        var info = MiniDumpReader.Read(PipelineFixtures.MiniDump(T0, @"C:\Windows\System32\lsass.exe", @"C:\Windows\System32\lsasrv.dll"));
        Assert.True(info.Valid);
        Assert.Equal(@"C:\Windows\System32\lsass.exe", info.ProcessImage);
        Assert.Equal(2, info.Modules.Count);
        Assert.Equal(T0, info.Created);
    }

    [Fact]
    public void MiniDumpReaderSurvivesTruncationAndLyingOffsets()
    {
        var dump = PipelineFixtures.MiniDump(T0, @"C:\x\lsass.exe");
        for (int cut = 0; cut < dump.Length; cut += 7) MiniDumpReader.Read(dump.AsSpan(0, cut));
        var lying = (byte[])dump.Clone();
        BitConverter.GetBytes(uint.MaxValue).CopyTo(lying, 8);   // stream count
        BitConverter.GetBytes(0x7FFFFFF0u).CopyTo(lying, 12);   // directory far beyond the end
        Assert.Empty(MiniDumpReader.Read(lying).Modules);
    }

    [Fact]
    public void LsassDumpIsFoundByContentWhateverItsName()
    {
        var root = TestPaths.NewTempDir();
        PipelineFixtures.Write(root, "Windows/Temp/report.tmp", PipelineFixtures.MiniDump(T0, @"C:\Windows\System32\lsass.exe"));
        PipelineFixtures.Write(root, "ProgramData/Microsoft/Windows/WER/ReportQueue/x/app.mdmp", PipelineFixtures.MiniDump(T0, @"C:\app\app.exe"));
        PipelineFixtures.Write(root, "Users/Public/dbg.bin", PipelineFixtures.MiniDump(T0, @"C:\Program Files\Microsoft\Exchange Server\V15\Bin\MSExchangeMailboxAssistants.exe"));
        var result = Scan(root);
        var lsass = Assert.Single(result.Findings, f => f.RuleId == "FILE-LSASS-DUMP");
        Assert.Equal("Windows/Temp/report.tmp", lsass.Artifact);
        Assert.Equal(Severity.Critical, lsass.Severity);
        Assert.Equal(Outcome.Success, lsass.Outcome);
        Assert.Equal(T0, lsass.Timestamp);
        var other = Assert.Single(result.Findings, f => f.RuleId == "FILE-PROCESS-DUMP");
        Assert.Equal("Users/Public/dbg.bin", other.Artifact); // the WER crash dump is not reported
        Assert.Equal(VerdictKind.Compromised, result.Verdict.Kind);
        Assert.True(result.Coverage.FileHashes.ContainsKey("Windows/Temp/report.tmp"), "files with findings are hashed");
    }

    [Fact]
    public void ArchivesAreReportedInStagingFoldersOnlyAndVendorArchivesAreAllowed()
    {
        var root = TestPaths.NewTempDir();
        PipelineFixtures.Write(root, "C/ProgramData/out.txt", PipelineFixtures.SevenZip());
        PipelineFixtures.Write(root, "C/ProgramData/McAfee/Agent/update.zip", "PK\x03\x04abcdefgh"u8.ToArray());
        PipelineFixtures.Write(root, "C/Users/bob/Documents/holiday.zip", "PK\x03\x04abcdefgh"u8.ToArray());
        PipelineFixtures.Write(root, "C/root/x.rar", "Rar!\x1A\x07\x00abc"u8.ToArray());
        var result = Scan(root);
        var archives = result.Findings.Where(f => f.RuleId == "FILE-STAGED-ARCHIVE").Select(f => f.Artifact).Order().ToList();
        Assert.Equal(["C/ProgramData/out.txt", "C/root/x.rar"], archives);
        Assert.All(result.Findings, f => Assert.Equal(Severity.Low, f.Severity)); // no exploitation: not graded up
        Assert.DoesNotContain(result.Findings, f => f.RuleId == "FILE-VENDOR-ARCHIVE"); // nor vendor archives listed
        Assert.Equal(VerdictKind.NoEvidenceFound, result.Verdict.Kind);
        Assert.Equal("7z", result.Findings.First(f => f.Artifact.EndsWith("out.txt")).Details["format"]);
    }

    [Fact]
    public void ArchiveIsGradedUpWhenTheSameScanFoundExploitation()
    {
        var root = TestPaths.NewTempDir();
        PipelineFixtures.Write(root, "ProgramData/a.7z", PipelineFixtures.SevenZip());
        PipelineFixtures.Write(root, "root/l.dmp", PipelineFixtures.MiniDump(T0, @"C:\Windows\System32\lsass.exe"));
        PipelineFixtures.Write(root, "ProgramData/McAfee/Agent/update.zip", "PK\x03\x04abcdefgh"u8.ToArray());
        PipelineFixtures.Write(root, "ProgramData/x/ntds.7z.002", "volume two"u8.ToArray());
        PipelineFixtures.Write(root, "ProgramData/x/empty.zip", []);   // not read (empty), its name still counts
        var result = Scan(root);
        Assert.Equal(Severity.High, Assert.Single(result.Findings, f => f.RuleId == "FILE-STAGED-ARCHIVE").Severity);
        // With exploitation the vendor archive is listed (Test-ProxyLogon lists every archive below ProgramData), as info.
        var vendor = Assert.Single(result.Findings, f => f.RuleId == "FILE-VENDOR-ARCHIVE");
        Assert.Equal(("ProgramData/McAfee/Agent/update.zip", Severity.Info), (vendor.Artifact, vendor.Severity));
        // A split volume named after the AD database: high by its name already, not graded down by the exploitation grade.
        var named = result.Findings.Where(f => f.RuleId == "FILE-ARCHIVE-NAME").ToDictionary(f => f.Artifact);
        Assert.Equal(2, named.Count);
        Assert.Equal(Severity.High, named["ProgramData/x/ntds.7z.002"].Severity);
        Assert.Equal("ntds", named["ProgramData/x/ntds.7z.002"].Details["credential_store_name"]);
        Assert.Equal("empty", named["ProgramData/x/empty.zip"].Details["content"]);
        Assert.Equal(Severity.Medium, named["ProgramData/x/empty.zip"].Severity);   // low, graded up by the exploitation
    }

    [Fact]
    public void ClassifierUsesContentBeforeName()
    {
        var f = new EvidenceFile("x/renamed.txt", 10, null, () => Stream.Null);
        Assert.Equal((ArtifactKind.Log, (LogFormat?)LogFormat.IisW3c), Kind(f, "#Software: Microsoft Internet Information Services 10.0\r\n#Fields: date time cs-uri-stem\r\n"u8));
        var proxy = FilesTestSupport.Classifier.Probe(f, "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2176.002\r\n#Log-type: HttpProxy Logs\r\n"u8.ToArray());
        Assert.Equal((ArtifactKind.Log, LogFormat.HttpProxy), (proxy.Kind, proxy.Log!.Format));
        Assert.Equal("HttpProxy Logs", proxy.LogType);
        Assert.Equal("15.01.2176.002", proxy.LogVersion);
        // ECP activity logs share the ECP server field list: the Log-type (or the folder) tells them apart.
        Assert.Equal((ArtifactKind.Log, (LogFormat?)LogFormat.EcpServer), Kind(f, "#Software: Microsoft Exchange Server\r\n#Log-type: ECP Server Log\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n"u8));
        var ecp = new EvidenceFile("V15/Logging/ECP/Server/ECPServer2021030300-1.LOG", 10, null, () => Stream.Null);
        Assert.Equal((ArtifactKind.Log, (LogFormat?)LogFormat.EcpServer), Kind(ecp, "#Software: Microsoft Exchange Server\r\n#Fields: TimeStamp,ServerName,EventId,EventData\r\n"u8));
        Assert.Equal((ArtifactKind.EventLog, (LogFormat?)null), Kind(f, "ElfFile\0rest"u8));
        Assert.Equal((ArtifactKind.MiniDump, (LogFormat?)null), Kind(f, "MDMP\x93\xA7"u8));
        Assert.Equal((ArtifactKind.Executable, (LogFormat?)null), Kind(f, "MZ\x90\0"u8));
        var utf16 = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("#Software: Microsoft Internet Information Services 8.5\r\n")).ToArray();
        Assert.Equal((ArtifactKind.Log, (LogFormat?)LogFormat.IisW3c), Kind(f, utf16));
        var aspx = new EvidenceFile("inetpub/wwwroot/aspnet_client/X.ASPX", 10, null, () => Stream.Null);
        Assert.Equal((ArtifactKind.WebFile, (LogFormat?)null), Kind(aspx, "<%@ Page Language=\"Jscript\"%>"u8));
        Assert.Equal((ArtifactKind.Unknown, (LogFormat?)null), Kind(f, "\0\x01\x02 binary junk"u8));
    }

    [Fact]
    public void CorrelatorGroupsByClientAndTimeAndLinksFilesNamedInLogs()
    {
        // Each log finding on its own line (the line of its minute), as in a real log.
        Finding F(string rule, string ip, int minutes, Outcome o, string evidence = "", long? line = -1, string artifact = "log") => new()
        {
            RuleId = rule, Title = rule, Artifact = artifact, Line = line == -1 ? minutes + 1 : line, ClientIp = ip, Timestamp = ip.Length == 0 ? null : T0.AddMinutes(minutes),
            TimeSource = ip.Length == 0 ? null : TimeSources.LogLine,
            Outcome = o, Severity = Severity.High, Evidence = evidence,
        };
        var findings = new List<Finding>
        {
            F("ssrf", "203.0.113.7", 0, Outcome.Success),
            F("vdir", "203.0.113.7", 5, Outcome.Success),
            F("shell-used", "203.0.113.7", 30, Outcome.Success, "POST /aspnet_client/system_web/xyzzy1.aspx 200"),
            F("ssrf", "198.51.100.9", 60 * 24 * 10, Outcome.Attempt), // another actor, days later
            F("yara", "", 0, Outcome.Success, line: null, artifact: "inetpub/wwwroot/aspnet_client/system_web/xyzzy1.aspx"),
            F("archive", "", 0, Outcome.Indicator, line: null, artifact: "ProgramData/a.zip"),
        };
        var (result, incidents) = IncidentCorrelator.Correlate(findings);
        Assert.Equal(2, incidents.Count);
        var first = result[0].Incident;
        Assert.NotNull(first);
        Assert.All(result.Take(3), f => Assert.Equal(first, f.Incident));
        Assert.Equal(first, result[4].Incident); // the shell file joins the story that used it
        Assert.NotEqual(first, result[3].Incident);
        Assert.Null(result[5].Incident);          // a lone indicator is not an incident
        Assert.Contains("shell-used", incidents[0].Story);
    }

    [Fact]
    public void VerdictSaysWhyAndWhatTheLogsCannotShow()
    {
        var cov = new Exir.Core.Coverage.CoverageReport();
        cov.Family("IIS W3SVC").AddFile(1);
        cov.Family("IIS W3SVC").AddSpan(1, 0, new DateTimeOffset(2021, 2, 15, 0, 0, 0, TimeSpan.Zero), null, []);
        var attempt = new Finding { RuleId = "r", Title = "ProxyShell probe", Artifact = "a", Outcome = Outcome.Attempt };
        var start = ScanSettings.Default.AttackWindowStart;
        var v = VerdictBuilder.Build([attempt], cov, start);
        Assert.Equal(VerdictKind.Attempted, v.Kind);
        Assert.Contains("2021-02-15", v.CoverageCaveat);
        Assert.Contains("2021-01-01", v.CoverageCaveat);
        Assert.Equal(VerdictKind.NoEvidenceFound, VerdictBuilder.Build([], new Exir.Core.Coverage.CoverageReport(), start).Kind);
        Assert.Contains("No Exchange or IIS logs", VerdictBuilder.Build([], new Exir.Core.Coverage.CoverageReport(), start).CoverageCaveat);
    }

    [Fact]
    public void IisLogFoldersComeFromApplicationHostConfig()
    {
        const string config = """
            <configuration><system.applicationHost><sites>
              <site name="Default Web Site" id="1"><logFile directory="D:\IISLogs" /></site>
              <siteDefaults><logFile logFormat="W3C" directory="%SystemDrive%\inetpub\logs\LogFiles" /></siteDefaults>
            </sites></system.applicationHost></configuration>
            """;
        Assert.Equal([@"%SystemDrive%\inetpub\logs\LogFiles", @"D:\IISLogs"], LocalExchangeServer.IisLogFolders(config).Order());
        Assert.Equal([LocalExchangeServer.DefaultIisLogs], LocalExchangeServer.IisLogFolders("<not xml"));
        Assert.Equal([LocalExchangeServer.DefaultIisLogs], LocalExchangeServer.IisLogFolders(null));
    }

    [Fact]
    public void LocalServerFoldersFollowTheRegistryInstallPath()
    {
        var facts = new RecordedFacts(@"D:\Exchange\V15\", null);
        var folders = LocalExchangeServer.EvidenceFolders(facts);
        Assert.Equal(@"D:\Exchange\V15\", folders[0]);
        Assert.Contains(@"C:\inetpub\logs\LogFiles", folders);
        Assert.Contains(@"C:\Windows\System32\winevt\Logs", folders);
        Assert.Throws<EvidenceException>(() => LocalExchangeServer.EvidenceFolders(new RecordedFacts(null, null)));
    }

    private sealed class RecordedFacts(string? install, string? config) : IServerFacts
    {
        public string? ReadLocalMachineString(string subKey, string valueName) =>
            subKey == LocalExchangeServer.SetupKey && valueName == LocalExchangeServer.InstallValue ? install : null;
        public string? ReadTextFile(string path) => config;
        public string ExpandEnvironment(string text) => text.Replace("%SystemDrive%", "C:").Replace("%windir%", @"C:\Windows").Replace("%ProgramData%", @"C:\ProgramData");
    }

    private static ScanResult Scan(string root)
    {
        using var source = EvidenceSource.Open(root);
        return ScanOnce(new RunOptions(), source);
    }

    /// <summary>What the classifier makes of a file: its kind and, for a log, its format.</summary>
    private static (ArtifactKind, LogFormat?) Kind(EvidenceFile f, ReadOnlySpan<byte> head)
    {
        var probe = FilesTestSupport.Classifier.Probe(f, head.ToArray());
        return (probe.Kind, probe.Log?.Format);
    }

    internal static ScanResult ScanOnce(RunOptions options, IEvidenceSource source)
    {
        using var run = new ScanRun(options);
        using var evidence = EvidenceSet.Of(new EvidenceInput(source, "test"));
        return run.Scan(evidence, "test");
    }
}

public class ScanWithEventLogsTests
{
    [Fact]
    public void ApplicationLogMakesTheUnifiedMessagingCheckRunAndACleanOneStaysQuiet()
    {
        var appLog = TestPaths.InCorpus("evtx", "deepbluecli", "many-events-application.evtx");
        Assert.True(File.Exists(appLog), "corpus Application log present");
        var root = TestPaths.NewTempDir();
        var dir = Path.Combine(root, "Windows", "System32", "winevt", "Logs");
        Directory.CreateDirectory(dir);
        File.Copy(appLog, Path.Combine(dir, "Application.evtx"));

        using var source = EvidenceSource.Open(root);
        var result = PipelineTests.ScanOnce(new RunOptions(), source);
        Assert.False(result.ChecksNotRun.ContainsKey(ScanRun.Cve202126857Check));
        Assert.True(result.Coverage.Families.ContainsKey(ScanRun.ApplicationLogFamily));
        Assert.True(result.Coverage.Families[ScanRun.ApplicationLogFamily].Lines > 2000);
        Assert.DoesNotContain(result.Findings, f => f.Cves.Contains("CVE-2021-26857"));
    }

    [Fact]
    public void WithoutAnApplicationLogTheCheckIsReportedAsNotRun()
    {
        var root = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(root, "x.txt"), "x");
        using var source = EvidenceSource.Open(root);
        var result = PipelineTests.ScanOnce(new RunOptions(), source);
        Assert.Contains(ScanRun.Cve202126857Check, result.ChecksNotRun.Keys);
    }
}

public class RulesAreDataTests
{
    private static string CopyRules()
    {
        var dir = Path.Combine(TestPaths.NewTempDir(), "rules");
        foreach (var f in Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, "rules"), "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir, Path.GetRelativePath(Path.Combine(TestPaths.RepoRoot, "rules"), f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        return dir;
    }

    [Fact]
    public void EditedRuleFileChangesGradingWithoutARebuild()
    {
        var rules = CopyRules();
        var yaml = Path.Combine(rules, "files", "suspicious-files.yaml");
        File.WriteAllText(yaml, File.ReadAllText(yaml).Replace("title: LSASS memory dump on disk (credential theft)\n    severity: critical", "title: Edited title\n    severity: high"));
        var evidence = TestPaths.NewTempDir();
        PipelineFixtures.Write(evidence, "root/x.dmp", PipelineFixtures.MiniDump(new DateTimeOffset(2021, 3, 3, 0, 0, 0, TimeSpan.Zero), @"C:\Windows\System32\lsass.exe"));
        using var source = EvidenceSource.Open(evidence);
        var f = Assert.Single(PipelineTests.ScanOnce(new RunOptions { RulesDirectory = rules }, source).Findings);
        Assert.Equal("Edited title", f.Title);
        Assert.Equal(Severity.High, f.Severity);
    }

    [Fact]
    public void BrokenRuleFileIsAClearError()
    {
        var rules = CopyRules();
        File.WriteAllText(Path.Combine(rules, "files", "file-hunt.yaml"), "rules:\n  - id: FILE-KNOWN-BAD-HASH\n    title: x\n    severity: apocalyptic\n");
        var e = Assert.Throws<Exir.Detection.Rules.RuleDataException>(() => new ScanRun(new RunOptions { RulesDirectory = rules }));
        Assert.Contains("file-hunt.yaml", e.Message);
    }
}
