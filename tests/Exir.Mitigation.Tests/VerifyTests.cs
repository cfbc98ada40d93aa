using System.Text.Json;
using Exir.Cli.Commands;
using Exir.Mitigation;

namespace Exir.Mitigation.Tests;

/// <summary>--verify on collected IIS configs: present, missing, ineffective and why; hostile files; the verb's exit codes and streams.</summary>
public sealed class VerifyTests
{
    private static readonly MitigationRuleSet Set = MitigationRuleSet.Load();

    private static string Rule(string name, string input, string pattern, string action = "<action type=\"AbortRequest\" />", string extra = "") => $"""
        <rule name="{name}" patternSyntax="ECMAScript" stopProcessing="true"{extra}>
          <match url=".*" />
          <conditions><add input="{input}" pattern="{pattern}" /></conditions>
          {action}
        </rule>
        """;

    /// <summary>What Microsoft's EOMT and EOMTv2 leave in the Default Web Site's web.config.</summary>
    private static readonly string Eomt =
        Rule("X-AnonResource-Backend Abort - inbound", "{HTTP_COOKIE}", "(.*)X-AnonResource-Backend(.*)") +
        Rule("X-BEResource Abort - inbound", "{HTTP_COOKIE}", "(.*)X-BEResource=(.+)/(.+)~(.+)") +
        Rule("PowerShell - inbound", "{UrlDecode:{REQUEST_URI}}", "(?=.*autodiscover)(?=.*powershell)");

    private static string WebConfig(string rules, string list = "rules")
    {
        var dir = TestPaths.NewTempDir();
        var site = Path.Combine(dir, "inetpub", "wwwroot");
        Directory.CreateDirectory(site);
        File.WriteAllText(Path.Combine(site, "web.config"),
            $"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<configuration><system.webServer><rewrite><{list}>{rules}</{list}></rewrite></system.webServer></configuration>");
        return dir;
    }

    private static MitigationVerdict Of(VerifyResult r, string id) => r.Verdicts.Single(v => v.Rule.Id == id);

    [Fact]
    public void EomtAloneHasMicrosoftsThreeAndMissesExirsOwn()
    {
        var r = ConfigVerifier.Verify([WebConfig(Eomt)], Set);
        Assert.Equal(MitigationStatus.Present, Of(r, "eomt-proxylogon-anonresource-cookie").Status);
        Assert.Equal(MitigationStatus.Present, Of(r, "eomt-proxylogon-beresource-cookie").Status);
        Assert.Equal(MitigationStatus.Present, Of(r, "eomt-proxynotshell-powershell").Status);
        Assert.Equal("PowerShell - inbound", Of(r, "eomt-proxynotshell-powershell").Found!.Name);
        Assert.Equal(MitigationStatus.Missing, Of(r, "exir-owassrf-owa-powershell").Status);
        // Microsoft's rule catches part of the double-encoded traffic (autodiscover spelt plainly) but not all.
        var twice = Of(r, "exir-proxynotshell-double-decoded");
        Assert.Equal(MitigationStatus.Ineffective, twice.Status);
        Assert.Contains(twice.Reasons, w => w.Contains("decoded 1 time(s); the rule set asks for {UrlDecode:{UrlDecode:{REQUEST_URI}}}"));
        Assert.Equal(1, r.ExitCode);
    }

    [Fact]
    public void ProxyNotShellOnTheRawUriIsIneffectiveAndSaysWhy()
    {
        var r = ConfigVerifier.Verify([WebConfig(Rule("PowerShell - inbound", "{REQUEST_URI}", ".*autodiscover\\.json.*\\@.*Powershell.*"))], Set);
        var v = Of(r, "eomt-proxynotshell-powershell");
        Assert.Equal(MitigationStatus.Ineffective, v.Status);
        Assert.Contains(v.Reasons, w => w.Contains("it matches {REQUEST_URI}, decoded 0 time(s); the rule set asks for {UrlDecode:{REQUEST_URI}}"));
        Assert.Contains(v.Reasons, w => w.Contains("attack requests through, e.g."));
    }

    [Fact]
    public void ADisabledRuleOrOneThatDoesNotBlockIsIneffective()
    {
        var rules = Rule("X-AnonResource-Backend Abort - inbound", "{HTTP_COOKIE}", "(.*)X-AnonResource-Backend(.*)", extra: " enabled=\"false\"") +
                    Rule("X-BEResource Abort - inbound", "{HTTP_COOKIE}", "(.*)X-BEResource=(.+)/(.+)~(.+)", "<action type=\"Rewrite\" url=\"/\" />") +
                    Rule("my 403", "{UrlDecode:{REQUEST_URI}}", "(?=.*autodiscover)(?=.*powershell)", "<action type=\"CustomResponse\" statusCode=\"403\" />");
        var r = ConfigVerifier.Verify([WebConfig(rules, "globalRules")], Set);
        Assert.Contains("disabled", Assert.Single(Of(r, "eomt-proxylogon-anonresource-cookie").Reasons));
        var be = Of(r, "eomt-proxylogon-beresource-cookie");
        Assert.Equal(MitigationStatus.Ineffective, be.Status);
        Assert.Contains("the action is Rewrite, not AbortRequest or CustomResponse 403", be.Reasons);
        // A rule of another name that blocks with 403 counts.
        var pns = Of(r, "eomt-proxynotshell-powershell");
        Assert.Equal((MitigationStatus.Present, "my 403", "globalRules"), (pns.Status, pns.Found!.Name, pns.Found.Scope));
    }

    [Fact]
    public void ANegatedOrNarrowedRuleIsJudgedByWhatItActuallyStops()
    {
        // Right name, but a second condition (MatchAll) only lets it fire for one host: the samples go through.
        var narrowed = """
            <rule name="X-BEResource Abort - inbound" stopProcessing="true">
              <match url=".*" />
              <conditions logicalGrouping="MatchAll">
                <add input="{HTTP_COOKIE}" pattern="(.*)X-BEResource=(.+)/(.+)~(.+)" />
                <add input="{HTTP_HOST}" pattern="^legacy\.contoso\.com$" />
              </conditions>
              <action type="AbortRequest" />
            </rule>
            """;
        var v = Of(ConfigVerifier.Verify([WebConfig(narrowed)], Set), "eomt-proxylogon-beresource-cookie");
        Assert.Equal(MitigationStatus.Ineffective, v.Status);
        Assert.Contains(v.Reasons, w => w.StartsWith("it lets 2 of 2 attack requests through"));
    }

    [Fact]
    public void HostileXmlIsRefusedNotExpanded()
    {
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "web.config"), """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
            <configuration><x>&lol2;</x></configuration>
            """);
        var r = ConfigVerifier.Verify([dir], Set);
        Assert.Empty(r.FilesRead);
        Assert.Contains("DTD", Assert.Single(r.Unreadable));
        Assert.Equal(2, r.ExitCode);
    }

    [Fact]
    public void TheVerbExitsZeroOneTwoWithResultsOnStdout()
    {
        var fullSet = Emitters.Iis(Set);
        var start = fullSet.IndexOf("<globalRules>", StringComparison.Ordinal) + "<globalRules>".Length;
        var all = WebConfig(fullSet[start..fullSet.IndexOf("</globalRules>", StringComparison.Ordinal)], "globalRules");
        Assert.Equal(0, RunVerb(out var stdout, out var stderr, "--verify", all));
        Assert.Contains("present", stdout);
        Assert.Contains("6 of 6 mitigations present", stderr);

        Assert.Equal(1, RunVerb(out stdout, out _, "--verify", WebConfig(Eomt), "--format", "json"));
        using (var doc = JsonDocument.Parse(stdout))
            Assert.Equal("missing", doc.RootElement.GetProperty("mitigations").EnumerateArray()
                .Single(m => m.GetProperty("id").GetString() == "exir-owassrf-owa-powershell").GetProperty("status").GetString());

        var empty = TestPaths.NewTempDir();
        Assert.Equal(2, RunVerb(out stdout, out stderr, "--verify", empty));
        Assert.Empty(stdout);
        Assert.Contains("no readable web.config", stderr);
    }

    [Fact]
    public void EmitWritesStdoutOrAFileAndRefusesUnknownTargets()
    {
        Assert.Equal(0, RunVerb(out var stdout, out var stderr, "--emit", "nginx"));
        Assert.Contains("map $http_cookie", stdout);
        Assert.Empty(stderr);
        var file = Path.Combine(TestPaths.NewTempDir(), "exir.ps1");
        Assert.Equal(0, RunVerb(out stdout, out stderr, "--emit", "powershell", "--out", file));
        Assert.Empty(stdout);
        Assert.Contains("exir: wrote", stderr);
        Assert.Equal([0xEF, 0xBB, 0xBF], File.ReadAllBytes(file)[..3]);
        Assert.Equal(2, RunVerb(out _, out stderr, "--emit", "apache"));
        Assert.Contains("unknown --emit 'apache'", stderr);
        Assert.Equal(2, RunVerb(out _, out _));
    }

    private static int RunVerb(out string stdout, out string stderr, params string[] args)
    {
        var root = new System.CommandLine.RootCommand { MitigateCommand.Create() };
        var (o, e) = (Console.Out, Console.Error);
        var (so, se) = (new StringWriter(), new StringWriter());
        // The verb writes to Console: xunit runs this class's tests one at a time and no other class here touches Console.
        lock (ConsoleLock)
        {
            Console.SetOut(so);
            Console.SetError(se);
            try { return Exir.Cli.CliRunner.Run(root, ["mitigate", .. args]); }
            finally
            {
                Console.SetOut(o);
                Console.SetError(e);
                (stdout, stderr) = (so.ToString(), se.ToString());
            }
        }
    }

    private static readonly object ConsoleLock = new();
}
