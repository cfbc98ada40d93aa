using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>
/// The evidence is written by the intruder: nothing may be followed out of it, no special file may hang a verb,
/// no output may land in it, and no broken log header may hide the attack lines below it. Each test builds its
/// hostile input in code and runs the real exir.
/// </summary>
/// <remarks>Tier slow: spawns processes.</remarks>
[Trait("Tier", "slow")]
public class HostileWalkTests
{
    private const string Shell = "<%@ Page Language=\"C#\" %><% System.Diagnostics.Process.Start(Request[\"cmd\"]); %>";

    /// <summary>Runs exir with a bound on time (the bugs these tests guard against hang), optionally as another user.</summary>
    private static ExirProcess.Result Run(int seconds, string[] args, string? asUser = null)
    {
        var psi = new ProcessStartInfo(asUser is null ? "dotnet" : "setpriv")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath(),
        };
        if (asUser is not null)
            foreach (var a in new[] { $"--reuid={asUser}", $"--regid={asUser}", "--clear-groups", "--inh-caps=-all", "dotnet" }) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(ExirProcess.ExirDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["COLUMNS"] = "160";
        psi.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(seconds * 1000))
        {
            p.Kill(true);
            Assert.Fail($"exir {string.Join(' ', args)} did not finish in {seconds} s");
        }
        return new ExirProcess.Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    private static void Sh(string script, string cwd)
    {
        var psi = new ProcessStartInfo("bash") { WorkingDirectory = cwd, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
    }

    private static JsonElement Summary(string outDir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json"))).RootElement;

    private static List<JsonElement> Issues(string outDir) =>
        Summary(outDir).GetProperty("coverage").GetProperty("issues").EnumerateArray().ToList();

    private static List<string> RuleIds(string outDir) =>
        File.ReadAllLines(Path.Combine(outDir, "findings.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("rule_id").GetString()!).ToList();

    public static TheoryData<string, string> SpecialPaths() => new()
    {
        { "scan", "fifo" }, { "timeline", "fifo" }, { "evtx", "fifo" }, { "inventory", "fifo" },
        { "scan", "/dev/zero" }, { "timeline", "/dev/zero" }, { "evtx", "/dev/zero" }, { "inventory", "/dev/zero" },
        { "scan", "socket" }, { "evtx", "socket" },
    };

    [Theory]
    [MemberData(nameof(SpecialPaths))]
    public void AFifoDeviceOrSocketGivenAsThePathIsRefusedWithExitTwo(string verb, string what)
    {
        if (OperatingSystem.IsWindows()) return;
        var dir = TestPaths.NewTempDir();
        var path = what switch
        {
            "fifo" => Path.Combine(dir, "Security.evtx"),
            "socket" => Path.Combine(dir, "evidence.zip"),
            _ => what,
        };
        if (what == "fifo") Sh("mkfifo Security.evtx", dir);
        if (what == "socket") Sh("python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('evidence.zip')\"", dir);
        string[] args = verb == "inventory" ? [verb, path] : [verb, path, "--no-progress"];
        var r = Run(60, args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("not a regular file", r.Stdout + r.Stderr);
    }

    [Fact]
    public void AShellLinkedFromOutsideTheEvidenceIsNotReportedAsOnTheServer()
    {
        if (OperatingSystem.IsWindows()) return;
        var outside = TestPaths.NewTempDir("exir-outside");
        File.WriteAllText(Path.Combine(outside, "shadow"), Shell);
        var ev = TestPaths.NewTempDir();
        var web = Directory.CreateDirectory(Path.Combine(ev, "inetpub", "wwwroot", "aspnet_client")).FullName;
        File.CreateSymbolicLink(Path.Combine(web, "secret.aspx"), Path.Combine(outside, "shadow"));
        Directory.CreateSymbolicLink(Path.Combine(web, "root"), "/");
        var outDir = TestPaths.NewTempDir();
        var r = Run(120, ["scan", ev, "--no-progress", "--format", "jsonl", "--out", outDir]);
        Assert.Equal(0, r.ExitCode);
        Assert.Empty(RuleIds(outDir));
        var issues = Issues(outDir);
        Assert.Contains(issues, i => i.GetProperty("kind").GetString() == "LinkNotFollowed"
                                     && i.GetProperty("path").GetString() == "inetpub/wwwroot/aspnet_client/secret.aspx"
                                     && i.GetProperty("message").GetString()!.Contains("outside the evidence"));
        Assert.Contains(issues, i => i.GetProperty("path").GetString() == "inetpub/wwwroot/aspnet_client/root");
    }

    [Fact]
    public void OutputThroughAChainOfLinksIntoTheEvidenceIsRefusedAndNothingIsWritten()
    {
        if (OperatingSystem.IsWindows()) return;
        var t = TestPaths.NewTempDir();
        var ev = Directory.CreateDirectory(Path.Combine(t, "real", "ev")).FullName;
        File.WriteAllText(Path.Combine(ev, "readme.txt"), "evidence");
        var links = Directory.CreateDirectory(Path.Combine(t, "links")).FullName;
        Directory.CreateSymbolicLink(Path.Combine(links, "b"), Path.Combine(t, "real"));
        Directory.CreateSymbolicLink(Path.Combine(links, "a"), "b/ev");
        var r = Run(120, ["scan", ev, "--no-progress", "--out", Path.Combine(links, "a", "res")]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("inside the evidence", r.Stderr);
        Assert.Equal(["readme.txt"], Directory.GetFileSystemEntries(ev).Select(Path.GetFileName));
    }

    [Fact]
    public void AnUnreadableEvidenceRootIsExitTwoWithTheReason()
    {
        if (OperatingSystem.IsWindows()) return;
        // Root reads every folder; the case is then made by running exir as 'nobody' (setpriv, no capabilities).
        string? asUser = null;
        if (Environment.UserName == "root")
        {
            if (!File.Exists("/usr/bin/setpriv")) Assert.Skip("running as root without setpriv: a folder cannot be made unreadable");
            asUser = "65534";
            var probe = Run(120, ["--version"], asUser);
            if (probe.ExitCode != 0) Assert.Skip($"exir cannot run as nobody here: {probe.Stderr}");
        }
        var root = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(root, "x.aspx"), Shell);
        File.SetUnixFileMode(root, UnixFileMode.None);
        try
        {
            var r = Run(120, ["scan", root, "--no-progress"], asUser);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("cannot read the evidence folder", r.Stderr);
            Assert.Contains("permission denied", r.Stderr);
        }
        finally { File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
    }

    [Fact]
    public void AShellDeepInTheTreeAndOneWithANonUtf8NameAreFound()
    {
        if (!OperatingSystem.IsLinux()) return;
        var ev = TestPaths.NewTempDir();
        var dir = Path.Combine(ev, "inetpub", "wwwroot", "aspnet_client");
        for (int i = 0; i < 71; i++) dir = Path.Combine(dir, "d" + i);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "deep.aspx"), Shell);
        var web = Path.Combine(ev, "inetpub", "wwwroot", "aspnet_client");
        File.WriteAllText(Path.Combine(ev, "shell.txt"), Shell);
        Sh("cp ../../../shell.txt $'sh\\xffell.aspx' && rm ../../../shell.txt", web);
        var outDir = TestPaths.NewTempDir();
        var r = Run(120, ["scan", ev, "--no-progress", "--format", "jsonl", "--out", outDir]);
        Assert.Equal(1, r.ExitCode);
        var artifacts = File.ReadAllLines(Path.Combine(outDir, "findings.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("artifact").GetString()!).ToList();
        Assert.Contains(artifacts, a => a.EndsWith("/d70/deep.aspx", StringComparison.Ordinal));
        Assert.Contains(artifacts, a => a.EndsWith("/sh\uFFFDell.aspx", StringComparison.Ordinal));
        Assert.DoesNotContain(Issues(outDir), i => i.GetProperty("kind").GetString() is "Unreadable" or "TooLarge");
    }

    // ---- Broken IIS log headers ----------------------------------------------------------------------------------

    private const string Fields = LogFixtureText.IisFields;

    private static string Benign(int n) => string.Concat(Enumerable.Range(0, n).Select(i =>
        $"2021-03-03 05:{i % 60:00}:01 10.0.0.1 GET /owa/ - 443 - 10.0.0.9 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 15\r\n"));

    // The ProxyLogon carrier request (rules/logs/iis-proxylogon.yaml, LOG-IIS-SSRF-RESOURCE).
    private const string Attack = "2021-03-03 06:00:01 10.0.0.1 POST /ecp/y.js - 443 - 203.0.113.77 ExchangeServicesClient/0.0.0.0 - 200 0 0 15\r\n";

    public static TheoryData<string> BrokenHeaders() => ["intact", "zeroed", "duplicate-name", "duplicate-shifts", "empty-fields", "short-fields"];

    private static byte[] IisLog(string broken)
    {
        var fields = broken switch
        {
            // cs-uri-stem renamed to a second cs-method: the column count still matches, the stem has no name.
            "duplicate-name" => Fields.Replace("cs-uri-stem", "cs-method"),
            // A name written twice at the front: every column is shifted by one.
            "duplicate-shifts" => "date " + Fields,
            "empty-fields" => "",
            // A header listing fewer fields than the lines hold.
            "short-fields" => "date time cs-uri-stem",
            _ => Fields,
        };
        var text = LogFixtureText.IisHeader(fields) + Benign(20) + Attack + Benign(3);
        var bytes = Encoding.UTF8.GetBytes(text);
        if (broken == "zeroed") Array.Clear(bytes, 0, 300);
        return bytes;
    }

    [Theory]
    [MemberData(nameof(BrokenHeaders))]
    public void ABrokenLogHeaderDoesNotHideTheAttackBelowIt(string broken)
    {
        var ev = TestPaths.NewTempDir();
        var logs = Directory.CreateDirectory(Path.Combine(ev, "inetpub", "logs", "LogFiles", "W3SVC1")).FullName;
        File.WriteAllBytes(Path.Combine(logs, "u_ex210303.log"), IisLog(broken));
        var outDir = TestPaths.NewTempDir();
        var r = Run(120, ["scan", ev, "--no-progress", "--format", "jsonl", "--out", outDir]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("LOG-IIS-SSRF-RESOURCE", RuleIds(outDir));
        var families = Summary(outDir).GetProperty("coverage").GetProperty("log_families").EnumerateArray().ToList();
        var iis = Assert.Single(families, f => f.GetProperty("family").GetString() == "IIS/W3SVC1");
        Assert.Equal(1, iis.GetProperty("files").GetInt32());
        Assert.Equal("2021-03-03T06:00:01Z", iis.GetProperty("last").GetString());
        if (broken != "intact")
            Assert.Contains(Issues(outDir), i => i.GetProperty("path").GetString() == "inetpub/logs/LogFiles/W3SVC1/u_ex210303.log");
    }

    [Fact]
    public void LogFilesThatCannotBeParsedAreListedWhereverTheyAre()
    {
        var ev = TestPaths.NewTempDir();
        var junk = new byte[5000];
        new Random(9).NextBytes(junk);
        File.WriteAllBytes(Path.Combine(ev, "u_ex210304.LOG"), junk);
        Directory.CreateDirectory(Path.Combine(ev, "collected"));
        File.WriteAllBytes(Path.Combine(ev, "collected", "HttpProxy_2021030306-1.LOG"), junk);
        File.WriteAllText(Path.Combine(ev, "collected", "setup.log"), "Setup started\r\nSetup finished\r\n");
        var outDir = TestPaths.NewTempDir();
        var r = Run(120, ["scan", ev, "--no-progress", "--format", "jsonl", "--out", outDir]);
        Assert.Equal(0, r.ExitCode);
        var listed = Issues(outDir).Where(i => i.GetProperty("kind").GetString() == "UnknownLogFormat").Select(i => i.GetProperty("path").GetString()).ToList();
        Assert.Contains("u_ex210304.LOG", listed);
        Assert.Contains("collected/HttpProxy_2021030306-1.LOG", listed);
        Assert.DoesNotContain("collected/setup.log", listed); // a text log of other software is counted, not listed
        Assert.Equal(3, Summary(outDir).GetProperty("coverage").GetProperty("unknown_log_files").GetInt32());
    }
}
