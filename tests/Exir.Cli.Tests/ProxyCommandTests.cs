using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>`exir proxy` as an admin runs it: the CLI contract (check, refusals, exit codes, findings on stdout, stderr for the rest).</summary>
public sealed partial class ProxyCommandTests
{
    [Fact]
    public void CheckValidatesAndSaysWhatWouldBePublished()
    {
        var r = ExirProcess.Run("proxy", "--check", "--backend", "https://exch01.corp.local", "--internal", "10.20.0.0/16", "--enable-rpc");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Contains("config valid", r.Stderr);
        Assert.Contains("internal only (10.20.0.0/16): /api /ecp /powershell", r.Stderr);
        Assert.Contains("/rpc", r.Stderr[..r.Stderr.IndexOf("internal only", StringComparison.Ordinal)]);
    }

    [Fact]
    public void ABadConfigOrRulesFolderRefusesToStartWithTheLine()
    {
        var dir = TestPaths.NewTempDir("exir-proxy-cli");
        var config = Path.Combine(dir, "exir-proxy.yaml");
        File.WriteAllText(config, "backend: https://exch01\nlisten: [http://127.0.0.1:8080]\ninternalNetworks: [not-a-net]\n");
        var r = ExirProcess.Run("proxy", "--config", config);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("refusing to start", r.Stderr);
        Assert.Contains("exir-proxy.yaml:3", r.Stderr);

        var rules = Path.Combine(dir, "rules", "proxy");
        Directory.CreateDirectory(rules);
        r = ExirProcess.Run("proxy", "--check", "--backend", "http://127.0.0.1:1", "--rules", Path.Combine(dir, "rules"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("start from a copy", r.Stderr);
        File.Copy(Path.Combine(TestPaths.RepoRoot, "rules", "proxy", "exposure.yaml"), Path.Combine(rules, "exposure.yaml"));
        File.WriteAllText(Path.Combine(rules, "mine.yaml"), "rules:\n  - id: X\n    title: t\n    action: maybe\n    when: { field: path, equals: /x }\n");
        r = ExirProcess.Run("proxy", "--check", "--backend", "http://127.0.0.1:1", "--rules", Path.Combine(dir, "rules"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("mine.yaml:", r.Stderr);
    }

    [Theory]
    [InlineData(new[] { "proxy" }, "--backend")]
    [InlineData(new[] { "proxy", "--backend", "https://exch01/owa" }, "without a path")]
    [InlineData(new[] { "proxy", "--backend", "http://127.0.0.1:1", "--format", "csv" }, "unknown --format")]
    [InlineData(new[] { "proxy", "--backend", "http://127.0.0.1:1", "--listen", "https://127.0.0.1:0" }, "certificate")]
    [InlineData(new[] { "proxy", "--backend", "http://127.0.0.1:1", "--backend-pin", "12" }, "SHA-256")]
    public void UsageErrorsExitTwo(string[] args, string message)
    {
        var r = ExirProcess.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }

    [Fact]
    public async Task BlocksPrintAsFindingsAndTheProxyStopsOnSigtermWithExitOne()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("SIGTERM is a POSIX signal");
        var dir = TestPaths.NewTempDir("exir-proxy-run");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { ExirProcess.ExirDll, "proxy", "--listen", "http://127.0.0.1:0", "--backend", "http://127.0.0.1:9", "--out", dir, "--access-log", dir })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var start = await p.StandardError.ReadLineAsync() ?? "";
        var m = Listening().Match(start);
        Assert.True(m.Success, "start line: " + start);
        using var http = new HttpClient { BaseAddress = new Uri(m.Groups[1].Value) };
        var blocked = new HttpRequestMessage(HttpMethod.Get, "/autodiscover/autodiscover.json?@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.com");
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(blocked)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/aspnet_client/")).StatusCode);
        // The backend (port 9) is down: 502, and the proxy stays up.
        Assert.Equal(HttpStatusCode.BadGateway, (await http.GetAsync("/owa/")).StatusCode);
        await Task.Delay(300);
        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        Assert.True(p.WaitForExit(30_000), "exir proxy did not stop on SIGTERM");
        var rest = await p.StandardError.ReadToEndAsync();
        Assert.Equal(1, p.ExitCode);
        Assert.Contains("1 block(s)", rest);
        var line = Assert.Single((await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var finding = JsonDocument.Parse(line);
        Assert.Equal("PX-PS-AUTODISCOVER-CONFUSION", finding.RootElement.GetProperty("rule_id").GetString());
        Assert.Equal("127.0.0.1", finding.RootElement.GetProperty("client_ip").GetString());
        Assert.Contains("%3F@evil.com", finding.RootElement.GetProperty("evidence").GetString());
        Assert.Equal(line.Trim(), File.ReadAllText(Path.Combine(dir, "findings.jsonl")).Trim());
        var log = File.ReadAllLines(Directory.GetFiles(dir, "exir-proxy_*.log").Single());
        Assert.Contains(log, l => l.Contains(" block ") && l.Contains("PX-PS-AUTODISCOVER-CONFUSION"));
        Assert.Contains(log, l => l.Contains(" 502 ") && l.Contains(" error "));
    }

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+/)")]
    private static partial Regex Listening();
}
