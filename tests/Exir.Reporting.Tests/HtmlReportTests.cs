using System.Diagnostics;
using Exir.Reporting.Scan;
using Exir.Tests;

namespace Exir.Reporting.Tests;

/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class HtmlReportTests
{
    [Fact]
    public void HostileEvidenceIsEscapedAndNoScriptOrHandlerReachesTheDom()
    {
        var html = HtmlReport.Render(ReportFixtures.Hostile());
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("href=\"javascript:", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;document.title=", html);
        Assert.Contains("Content-Security-Policy", html);
        Assert.DoesNotContain("http://", html.Replace("http://evil/", ""), StringComparison.Ordinal); // no external resources
    }

    /// <summary>Renders the report in real headless Chromium: the page must show the hostile text as text and run nothing.</summary>
    [Fact]
    public void ChromiumRendersTheReportWithoutRunningEvidence()
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        Assert.True(chromium is not null, "chromium is required (the test command installs it)");
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "report.html");
        File.WriteAllText(path, HtmlReport.Render(ReportFixtures.Hostile()));
        var dom = RunChromium(chromium!, dir, "--dump-dom", "file://" + path);
        Assert.Contains("<title>exir report: COMPROMISED - EXCH01</title>", dom);
        Assert.DoesNotContain("PWNED", dom.Replace("document.title='PWNED", "").Replace("document.title='PWNED2", ""));
        Assert.DoesNotContain("<script", dom, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("id=\"verdict\"", dom);
        Assert.Contains("id=\"coverage\"", dom);
        var png = Path.Combine(dir, "report.png");
        RunChromium(chromium!, dir, $"--screenshot={png}", "--window-size=1280,2000", "file://" + path);
        Assert.True(File.Exists(png) && new FileInfo(png).Length > 10_000, "screenshot rendered");
    }

    internal static string RunChromium(string chromium, string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo(chromium)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDir,
        };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", $"--user-data-dir={Path.Combine(workDir, "profile")}" })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000)) { p.Kill(true); throw new TimeoutException("chromium did not finish"); }
        return stdout.Result;
    }
}
