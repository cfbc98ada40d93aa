using System.Diagnostics;
using System.Text.Json;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Builds;
using Exir.Knowledge.Remote;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Exir.Knowledge.Tests;

public class RemoteCheckTests
{
    private static readonly ExchangeKnowledge Kb = KnowledgeFileTests.Kb;
    private static readonly RemoteCheckOptions Fast = new() { Timeout = TimeSpan.FromSeconds(5), AsOf = new DateOnly(2021, 3, 3) };

    private static ProbeResult Probe(RemoteCheckResult r, string cve) => r.Probes.Single(p => p.Cves == cve);

    [Fact]
    public async Task VulnerableProxyLogonEraServerIsCaughtByEveryProbe()
    {
        await using var server = await TestServer.Exchange(new ExchangeProfile
        {
            Build = ExchangeBuild.Parse("15.1.2176.2"), ProxyLogonVulnerable = true, ProxyShellVulnerable = true,
        });
        using var checker = new RemoteChecker(Kb, Fast);
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(r.IsExchange);
        Assert.Equal(RemoteChecker.OwaHeaderSource, r.Fingerprint!.Source);
        Assert.Equal(Precision.Su, r.Fingerprint.Precision);
        Assert.Equal("15.1.2176.2", r.Assessment!.Build.ToString());
        Assert.Contains("CVE-2021-26855", r.Assessment.OpenCves);
        Assert.Equal(ProbeVerdict.Vulnerable, Probe(r, "CVE-2021-26855").Verdict);
        Assert.Equal(ProbeVerdict.Vulnerable, Probe(r, "CVE-2021-34473").Verdict);
        Assert.Equal(ProbeVerdict.MitigationAbsent, Probe(r, "CVE-2022-41040").Verdict);
        Assert.True(r.HasFinding);
        Assert.Equal(1, RemoteCheckResult.ExitCodeFor([r]));
        // GET only, and never a request with the ProxyShell "PowerShell" back-end path.
        Assert.All(server.RequestLines, l => Assert.StartsWith("GET ", l));
        Assert.DoesNotContain(server.RequestLines, l => l.Contains("/powershell", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task PatchedServerGivesNegativeVerdictsAndExitZero()
    {
        await using var server = await TestServer.Exchange(new ExchangeProfile { Build = ExchangeBuild.Parse("15.2.2562.46") });
        using var checker = new RemoteChecker(Kb, Fast with { AsOf = new DateOnly(2026, 11, 28) });
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(RecommendedAction.None, r.Assessment!.Action);
        Assert.Equal(ProbeVerdict.NotVulnerable, Probe(r, "CVE-2021-26855").Verdict);
        Assert.Equal(ProbeVerdict.NotVulnerable, Probe(r, "CVE-2021-34473").Verdict);
        Assert.Contains("not needed", Probe(r, "CVE-2022-41040").Detail);
        Assert.Equal(0, RemoteCheckResult.ExitCodeFor([r]));
        // A verdict line for every probe, also when nothing was found.
        var text = CheckReportWriter.Text([r]);
        Assert.Equal(3, text.Split('\n').Count(l => l.TrimStart().StartsWith("PROBE")));
        Assert.Contains("NOT-VULNERABLE", text);
    }

    [Fact]
    public async Task ExportToolManifestGivesTheExactBuildWhenTheHeaderIsHidden()
    {
        await using var server = await TestServer.Exchange(new ExchangeProfile { Build = ExchangeBuild.Parse("15.1.2176.14"), OwaVersionHeader = false });
        using var checker = new RemoteChecker(Kb, Fast);
        var r = await checker.CheckAsync(server.BaseUri.ToString(), runProbes: false, TestContext.Current.CancellationToken);
        Assert.Equal(RemoteChecker.ExportToolSource, r.Fingerprint!.Source);
        Assert.Equal("15.1.2176.14", r.Assessment!.Build.ToString());
        Assert.Equal("May21SU", r.Assessment.Su);
        Assert.Contains(r.Clues, c => c.Source == RemoteChecker.LogonPageSource && c.Build == new ExchangeBuild(15, 1, 2176));
        Assert.Empty(r.Probes);
    }

    [Fact]
    public async Task LogonPagePathAloneReachesCuPrecisionAndSaysSo()
    {
        await using var server = await TestServer.Exchange(new ExchangeProfile
        {
            Build = ExchangeBuild.Parse("15.1.2242.4"), OwaVersionHeader = false, ExportTool = false,
        });
        using var checker = new RemoteChecker(Kb, Fast);
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(RemoteChecker.LogonPageSource, r.Fingerprint!.Source);
        Assert.Equal(Precision.Cu, r.Assessment!.Precision);
        Assert.Equal("CU20", r.Assessment.Cu);
        Assert.Contains(r.Assessment.Notes, n => n.StartsWith("CU level only"));
        Assert.Contains("CU level only", CheckReportWriter.Text([r]));
    }

    [Fact]
    public async Task Exchange2010LogonPathIsRead()
    {
        await using var server = await TestServer.Exchange(new ExchangeProfile
        {
            Build = ExchangeBuild.Parse("14.3.513.0"), OwaVersionHeader = false, ExportTool = false,
        });
        using var checker = new RemoteChecker(Kb, Fast);
        var r = await checker.CheckAsync(server.BaseUri.ToString(), runProbes: false, TestContext.Current.CancellationToken);
        Assert.Equal("Exchange Server 2010", r.Assessment!.Product);
        Assert.Equal("SP3", r.Assessment.Cu);
    }

    [Theory]
    [InlineData(NotShellMitigation.AbortRequest)]
    [InlineData(NotShellMitigation.Forbidden)]
    public async Task ProxyNotShellMitigationIsSeenWhenItAnswers(NotShellMitigation mitigation)
    {
        await using var server = await TestServer.Exchange(new ExchangeProfile { Build = ExchangeBuild.Parse("15.2.1118.12"), Mitigation = mitigation });
        using var checker = new RemoteChecker(Kb, Fast with { AsOf = new DateOnly(2022, 10, 15) });
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        var p = Probe(r, "CVE-2022-41040");
        Assert.Equal(ProbeVerdict.MitigationActive, p.Verdict);
        Assert.DoesNotContain("not needed", p.Detail);
        Assert.Contains("CVE-2022-41040", r.Assessment!.OpenCves);
    }

    [Fact]
    public async Task SelfSignedCertificateIsRefusedUnlessInsecureIsAsked()
    {
        using var cert = TestServer.SelfSignedCertificate();
        await using var server = await TestServer.Exchange(new ExchangeProfile { Build = ExchangeBuild.Parse("15.1.2176.2") }, cert);
        Assert.Equal("https", server.BaseUri.Scheme);

        using (var strict = new RemoteChecker(Kb, Fast))
        {
            var r = await strict.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
            Assert.Contains("TLS", r.Error);
            Assert.Contains("--insecure", r.Error);
            Assert.Equal(3, r.Probes.Count);
            Assert.All(r.Probes, p => Assert.Equal(ProbeVerdict.Inconclusive, p.Verdict));
            Assert.Equal(2, RemoteCheckResult.ExitCodeFor([r]));
        }
        using (var insecure = new RemoteChecker(Kb, Fast with { Insecure = true }))
        {
            var r = await insecure.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
            Assert.Null(r.Error);
            Assert.Equal("15.1.2176.2", r.Assessment!.Build.ToString());
            Assert.Contains(r.Warnings, w => w.Contains("not verified"));
            Assert.Contains("WARNING", CheckReportWriter.Text([r]));
        }
    }

    [Fact]
    public async Task NonExchangeServerIsReportedAsSuch()
    {
        await using var server = await TestServer.Start(app =>
        {
            app.MapGet("/", () => Results.Content("<html><body>It works!</body></html>", "text/html"));
            app.MapFallback((HttpContext ctx) => { ctx.Response.StatusCode = 404; return Task.CompletedTask; });
        });
        using var checker = new RemoteChecker(Kb, Fast);
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(r.Reachable);
        Assert.False(r.IsExchange);
        Assert.Null(r.Assessment);
        Assert.All(r.Probes, p => Assert.Equal(ProbeVerdict.NotApplicable, p.Verdict));
        Assert.Contains("not like Exchange", CheckReportWriter.Text([r]));
        Assert.Equal(2, RemoteCheckResult.ExitCodeFor([r]));
        // Not Exchange: only the two fingerprint requests, no probes sent.
        Assert.Equal(2, server.Requests);
    }

    [Fact]
    public async Task SlowDripIsCutOffByTheTimeout()
    {
        await using var server = await TestServer.Start(app => app.MapFallback(async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = "text/html";
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            while (!ctx.RequestAborted.IsCancellationRequested)
            {
                await ctx.Response.WriteAsync("<", ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                await Task.Delay(100, ctx.RequestAborted);
            }
        }));
        using var checker = new RemoteChecker(Kb, Fast with { Timeout = TimeSpan.FromMilliseconds(700) });
        var sw = Stopwatch.StartNew();
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.5, 8);
        Assert.False(r.IsExchange);
        Assert.Contains(r.Warnings, w => w.Contains("timed out"));
        Assert.Equal(3, r.Probes.Count);
    }

    [Fact]
    public async Task ServerThatNeverAnswersIsAnErrorWithVerdicts()
    {
        await using var server = await TestServer.Start(app => app.MapFallback(async (HttpContext ctx) =>
            await Task.Delay(Timeout.Infinite, ctx.RequestAborted)));
        using var checker = new RemoteChecker(Kb, Fast with { Timeout = TimeSpan.FromMilliseconds(500) });
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains("timed out", r.Error);
        Assert.All(r.Probes, p => Assert.Equal(ProbeVerdict.Inconclusive, p.Verdict));
    }

    [Fact]
    public async Task EndlessBodyIsReadOnlyUpToTheCap()
    {
        await using var server = await TestServer.Start(app => app.MapFallback(async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = "text/html";
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'A');
            while (!ctx.RequestAborted.IsCancellationRequested) await ctx.Response.Body.WriteAsync(chunk, ctx.RequestAborted);
        }));
        using var checker = new RemoteChecker(Kb, Fast with { MaxBodyBytes = 256 * 1024 });
        var sw = Stopwatch.StartNew();
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(4), sw.Elapsed.ToString());
        Assert.False(r.IsExchange);
        Assert.Contains(r.Warnings, w => w.Contains("body larger than"));
    }

    [Fact]
    public async Task RedirectLoopStopsAtTheLimit()
    {
        await using var server = await TestServer.Start(app =>
        {
            app.MapGet("/a", () => Results.Redirect("/b"));
            app.MapGet("/b", () => Results.Redirect("/a"));
            app.MapFallback(() => Results.Redirect("/a"));
        });
        using var checker = new RemoteChecker(Kb, Fast with { MaxRedirects = 4 });
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(r.IsExchange);
        Assert.Contains(r.Warnings, w => w.Contains("more than 4 redirects"));
        Assert.InRange(server.Requests, 5, 12);
    }

    [Fact]
    public async Task RedirectToAnotherHostIsNotFollowed()
    {
        await using var server = await TestServer.Start(app => app.MapFallback(() => Results.Redirect("http://exir-elsewhere.invalid/owa/")));
        using var checker = new RemoteChecker(Kb, Fast);
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains(r.Warnings, w => w.Contains("another host"));
        Assert.False(r.IsExchange);
    }

    [Fact]
    public async Task WrongContentTypesAndJunkVersionsDoNotFoolTheFingerprint()
    {
        await using var server = await TestServer.Start(app =>
        {
            app.MapGet("/owa/", (HttpContext ctx) =>
            {
                ctx.Response.Headers["X-OWA-Version"] = "<script>alert(1)</script>";
                return Results.Content("{\"x\":\"<link href='/owa/auth/15.1.2507/themes/resources/a.css'>\"}", "application/json");
            });
            app.MapGet(RemoteChecker.ExportToolPath, () =>
                Results.Content("<html><meta name=\"version\" content=\"x\"><p version=\"15.2.9999.9\">Not a manifest</p></html>", "text/html"));
            app.MapFallback((HttpContext ctx) => { ctx.Response.StatusCode = 404; return Task.CompletedTask; });
        });
        using var checker = new RemoteChecker(Kb, Fast);
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(r.IsExchange);
        Assert.Equal(RemoteChecker.LogonPageSource, r.Fingerprint!.Source);
        Assert.Equal("15.1.2507", r.Assessment!.Build.ToString());
        Assert.Contains(r.Clues, c => c.Source == RemoteChecker.OwaHeaderSource && c.Build is null);
        Assert.DoesNotContain(r.Clues, c => c.Source == RemoteChecker.ExportToolSource);
        // The hostile header value is data in JSON, escaped, never markup.
        using var doc = JsonDocument.Parse(CheckReportWriter.Json([r]));
        Assert.Equal("inconclusive", doc.RootElement[0].GetProperty("probes")[1].GetProperty("verdict").GetString());
    }

    [Fact]
    public async Task ClosedPortIsUnreachable()
    {
        int port;
        await using (var s = await TestServer.Start(_ => { })) port = s.BaseUri.Port;
        using var checker = new RemoteChecker(Kb, Fast);
        var r = await checker.CheckAsync($"http://127.0.0.1:{port}", cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(r.Reachable);
        Assert.NotNull(r.Error);
        Assert.Equal(3, r.Probes.Count);
    }

    [Theory]
    [InlineData("mail.example.com", "https://mail.example.com/")]
    [InlineData("https://mail.example.com/owa/auth/logon.aspx", "https://mail.example.com/")]
    [InlineData("http://127.0.0.1:8080", "http://127.0.0.1:8080/")]
    [InlineData("ftp://mail.example.com", null)]
    [InlineData("", null)]
    public void TargetsAreNormalisedToTheSiteRoot(string input, string? expected) =>
        Assert.Equal(expected, RemoteChecker.NormalizeTarget(input)?.ToString());
}
