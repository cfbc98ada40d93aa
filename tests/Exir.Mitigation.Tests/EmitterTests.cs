using System.Diagnostics;
using System.Xml;
using System.Xml.Linq;
using Exir.Mitigation;

namespace Exir.Mitigation.Tests;

/// <summary>The emitted configuration, checked by the engines themselves where they are installed.</summary>
public sealed class EmitterTests
{
    private static readonly MitigationRuleSet Set = MitigationRuleSet.Load();

    [Fact]
    public void EveryOutputNamesVersionsRulesAndThatItIsAStopGap()
    {
        foreach (var target in Enum.GetValues<EmitTarget>())
        {
            var text = Emitters.Emit(target, Set);
            Assert.Contains($"exir {Emitters.ExirVersion}", text);
            Assert.Contains($"rule set {Set.Version}", text);
            Assert.Contains("STOP-GAP, NOT A PATCH", text);
            foreach (var r in Set.Rules) Assert.Contains(r.Id, text);
        }
    }

    [Fact]
    public void IisFragmentsAreWellFormedWithEomtNamesInRulesAndGlobalRules()
    {
        var doc = XDocument.Parse(Emitters.Iis(Set));
        var rewrites = doc.Root!.Elements("rewrite").ToList();
        Assert.Equal(["rules", "globalRules"], rewrites.Select(r => r.Elements().Single().Name.LocalName));
        foreach (var list in rewrites.Select(r => r.Elements().Single()))
        {
            var rules = list.Elements("rule").ToList();
            Assert.Equal(Set.Rules.Select(r => r.IisName), rules.Select(r => (string)r.Attribute("name")!));
            Assert.All(rules, r => Assert.Equal("AbortRequest", (string)r.Element("action")!.Attribute("type")!));
        }
        var pns = rewrites[1].Descendants("rule").Single(r => (string)r.Attribute("name")! == "PowerShell - inbound");
        var condition = pns.Element("conditions")!.Element("add")!;
        Assert.Equal("{UrlDecode:{REQUEST_URI}}", (string)condition.Attribute("input")!);
        Assert.Equal("(?=.*autodiscover)(?=.*powershell)", (string)condition.Attribute("pattern")!);
        var twice = rewrites[1].Descendants("rule").Single(r => (string)r.Attribute("name")! == "exir ProxyNotShell double-decoded - inbound");
        Assert.Equal("{UrlDecode:{UrlDecode:{REQUEST_URI}}}", (string)twice.Element("conditions")!.Element("add")!.Attribute("input")!);
    }

    [Fact]
    public void WhatIisEmitsVerifiesAsPresentInBothPlaces()
    {
        var fragment = XDocument.Parse(Emitters.Iis(Set)).Root!.Elements("rewrite").ToList();
        foreach (var (file, rewrite) in new[] { ("web.config", fragment[0]), ("applicationHost.config", fragment[1]) })
        {
            var dir = TestPaths.NewTempDir();
            new XDocument(new XElement("configuration", new XElement("system.webServer", rewrite))).Save(Path.Combine(dir, file));
            var result = ConfigVerifier.Verify([dir], Set);
            Assert.All(result.Verdicts, v => Assert.Equal(MitigationStatus.Present, v.Status));
            Assert.Equal(0, result.ExitCode);
        }
    }

    private static string Write(string name, string text)
    {
        var path = Path.Combine(TestPaths.NewTempDir(), name);
        File.WriteAllText(path, text);
        return path;
    }

    private static IEnumerable<(SampleRequest Request, bool Blocked)> Traffic() =>
        Set.Rules.SelectMany(r => r.AttackSamples.Select(s => (s, true)).Concat(r.BenignSamples.Select(s => (s, false))));

    [Fact]
    [Trait("Tier", "slow")]
    public void NginxAcceptsTheConfigAndBlocksEveryAttackButNoBenignRequest()
    {
        var nginx = Tools.Require("nginx", "the nginx output is checked with nginx -t and real requests");
        var dir = TestPaths.NewTempDir();
        var port = Tools.FreePort();
        File.WriteAllText(Path.Combine(dir, "exir.conf"), Emitters.Nginx(Set));
        var conf = Path.Combine(dir, "nginx.conf");
        File.WriteAllText(conf, $$"""
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log;
            daemon off;
            events {}
            http {
              access_log off;
              client_body_temp_path {{dir}}; proxy_temp_path {{dir}}; fastcgi_temp_path {{dir}}; uwsgi_temp_path {{dir}}; scgi_temp_path {{dir}};
              include {{dir}}/exir.conf;
              server { listen 127.0.0.1:{{port}}; if ($exir_mitigate) { return 403; } location / { return 200 ok; } }
            }
            """);
        var (exit, output) = Tools.Run(nginx, "-t", "-c", conf, "-p", dir);
        Assert.True(exit == 0, output);
        Serve(nginx, ["-c", conf, "-p", dir], port);
    }

    [Fact]
    [Trait("Tier", "slow")]
    public void HaproxyAcceptsTheConfigAndBlocksEveryAttackButNoBenignRequest()
    {
        var haproxy = Tools.Require("haproxy", "the HAProxy output is checked with haproxy -c and real requests");
        var port = Tools.FreePort();
        var indented = string.Join("\n", Emitters.HaProxy(Set).Split('\n').Select(l => "  " + l));
        var cfg = Write("haproxy.cfg", $"""
            defaults
              mode http
              timeout connect 5s
              timeout client 5s
              timeout server 5s
            frontend exchange
              bind 127.0.0.1:{port}
            {indented}
              http-request return status 200 content-type text/plain string ok
            """ + "\n");
        var (exit, output) = Tools.Run(haproxy, "-c", "-f", cfg);
        Assert.True(exit == 0, output);
        Serve(haproxy, ["-db", "-f", cfg], port);
    }

    private static void Serve(string program, string[] args, int port)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var server = Process.Start(psi)!;
        try
        {
            foreach (var (request, blocked) in Traffic())
                Assert.True((Tools.Status(port, request.Uri, request.Cookie) == 403) == blocked,
                    $"{Path.GetFileName(program)} {(blocked ? "let through" : "blocked")} {request.Uri} {request.Cookie}");
        }
        finally
        {
            server.Kill(true);
            server.WaitForExit(10_000);
        }
    }

    [Fact]
    [Trait("Tier", "slow")]
    public void ThePowerShellScriptParsesAndHasWhatIfRollbackAndBackup()
    {
        var script = Emitters.PowerShell(Set);
        Assert.Contains("SupportsShouldProcess", script);
        Assert.Contains("[switch]$Rollback", script);
        Assert.Contains("Copy-Item -LiteralPath $config", script);
        Assert.Contains("system.webServer/rewrite/globalRules", script);
        Assert.Contains("already present, unchanged", script); // idempotent: detected by name
        foreach (var r in Set.Rules) Assert.Contains($"Name = '{r.IisName}'", script);
        var pwsh = Tools.Require("pwsh", "the script is checked with PowerShell's own parser");
        var file = Write("exir-mitigations.ps1", script);
        var (exit, output) = Tools.Run(pwsh, "-NoProfile", "-NonInteractive", "-Command",
            "$t=$null; $e=$null; [void][System.Management.Automation.Language.Parser]::ParseFile('" + file.Replace("'", "''") + "', [ref]$t, [ref]$e); " +
            "$e | ForEach-Object { $_.Message }; exit $e.Count");
        Assert.True(exit == 0, output);
    }
}
