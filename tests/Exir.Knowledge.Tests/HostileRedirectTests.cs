using Exir.Knowledge.Builds;
using Exir.Knowledge.Remote;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Exir.Knowledge.Tests;

/// <summary>
/// A checked server decides where its redirects point. A check stays on the origin it was given (scheme, host
/// and port): a redirect elsewhere is reported with its target, never followed, so a hostile server cannot
/// send exir to another service of the host or downgrade it from https to plain http.
/// </summary>
public class HostileRedirectTests
{
    private static readonly ExchangeKnowledge Kb = KnowledgeFileTests.Kb;
    private static readonly RemoteCheckOptions Fast = new() { Timeout = TimeSpan.FromSeconds(5), AsOf = new DateOnly(2021, 3, 3) };

    /// <summary>Answers every path with a redirect to the same path at <paramref name="target"/>.</summary>
    private static Task<TestServer> Redirector(Func<Uri> target, System.Security.Cryptography.X509Certificates.X509Certificate2? tls = null) =>
        TestServer.Start(app => app.MapFallback((HttpContext ctx) =>
            Results.Redirect(new Uri(target(), ctx.Request.Path + ctx.Request.QueryString).ToString())), tls);

    [Fact]
    public async Task RedirectToAnotherPortOfTheSameHostIsReportedNotFollowed()
    {
        await using var other = await TestServer.Exchange(new ExchangeProfile { Build = ExchangeBuild.Parse("15.1.2176.2") });
        await using var server = await Redirector(() => other.BaseUri);
        Assert.Equal(server.BaseUri.Host, other.BaseUri.Host);

        using var checker = new RemoteChecker(Kb, Fast);
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(0, other.Requests);
        Assert.False(r.IsExchange);
        var w = Assert.Single(r.Warnings, w => w.StartsWith("/owa/", StringComparison.Ordinal));
        Assert.Contains("another port", w);
        // The target is in the result, so the user can check it on purpose.
        Assert.Contains($"{other.BaseUri.GetLeftPart(UriPartial.Authority)}/owa/", w);
        Assert.Contains("another port", CheckReportWriter.Text([r]));
    }

    [Fact]
    public async Task HttpsToHttpDowngradeIsReportedNotFollowed()
    {
        using var cert = TestServer.SelfSignedCertificate();
        await using var plain = await TestServer.Exchange(new ExchangeProfile { Build = ExchangeBuild.Parse("15.1.2176.2") });
        await using var server = await Redirector(() => plain.BaseUri, cert);
        Assert.Equal("https", server.BaseUri.Scheme);
        Assert.Equal("http", plain.BaseUri.Scheme);

        using var checker = new RemoteChecker(Kb, Fast with { Insecure = true });
        var r = await checker.CheckAsync(server.BaseUri.ToString(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(0, plain.Requests);
        Assert.False(r.IsExchange);
        Assert.Contains(r.Warnings, w => w.Contains("https to http") && w.Contains(plain.BaseUri.GetLeftPart(UriPartial.Authority)));
    }

    [Fact]
    public async Task RedirectsWithinTheOriginAreStillFollowed()
    {
        // An absolute redirect to the same scheme, host and port is the same origin (the emulator's relative ones are too).
        await using var absolute = await TestServer.Start(app =>
        {
            app.MapGet("/owa/", (HttpContext ctx) => Results.Redirect($"http://{ctx.Request.Host.Value}/owa/auth/logon.aspx"));
            app.MapGet("/owa/auth/logon.aspx", (HttpContext ctx) =>
            {
                ctx.Response.Headers["X-OWA-Version"] = "15.1.2176.2";
                return Results.Content("<html><link href=\"/owa/auth/15.1.2176/themes/resources/a.css\"></html>", "text/html");
            });
            app.MapFallback((HttpContext ctx) => { ctx.Response.StatusCode = 404; return Task.CompletedTask; });
        });
        using var checker = new RemoteChecker(Kb, Fast);
        var r = await checker.CheckAsync(absolute.BaseUri.ToString(), runProbes: false, TestContext.Current.CancellationToken);
        Assert.True(r.IsExchange);
        Assert.Equal("15.1.2176.2", r.Assessment!.Build.ToString());
        Assert.DoesNotContain(r.Warnings, w => w.Contains("redirect"));
    }
}
