using Exir.Knowledge.Assessment;
using Exir.Knowledge.Builds;
using Exir.Knowledge.Remote;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Exir.Knowledge.Tests;

/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class FleetTests
{
    [Fact]
    public async Task FleetRunOverManyEmulatedHostsIsBoundedAndInOrder()
    {
        var builds = new[]
        {
            "15.0.1497.2", "15.0.1497.48", "15.1.2176.2", "15.1.2176.9", "15.1.2242.4", "15.1.2375.37", "15.1.2507.72",
            "15.2.721.2", "15.2.1118.12", "15.2.1544.44", "15.2.1748.49", "15.2.2562.17", "15.2.2562.46", "14.3.513.0",
        };
        var servers = new List<TestServer>();
        var gauge = new ConcurrencyGauge();
        try
        {
            foreach (var b in builds)
                servers.Add(await TestServer.Exchange(new ExchangeProfile { Build = ExchangeBuild.Parse(b), ProxyLogonVulnerable = b == "15.1.2176.2" },
                    delay: TimeSpan.FromMilliseconds(15), gauge: gauge));
            servers.Add(await TestServer.Start(app => app.MapFallback(() => Results.Content("plain web server", "text/plain")), gauge: gauge));
            var hosts = servers.Select(s => s.BaseUri.ToString()).ToList();
            hosts.Add("http://127.0.0.1:1");   // nothing listens on port 1

            var kb = KnowledgeFileTests.Kb;
            using var checker = new RemoteChecker(kb, new RemoteCheckOptions { Timeout = TimeSpan.FromSeconds(5), AsOf = new DateOnly(2026, 11, 28) });
            var results = await FleetRunner.RunAsync(checker, hosts, maxConcurrency: 4, cancellationToken: TestContext.Current.CancellationToken);

            Assert.Equal(hosts.Count, results.Count);
            for (int i = 0; i < builds.Length; i++)
            {
                Assert.Equal(hosts[i], results[i].Host);
                Assert.Equal(builds[i], results[i].Assessment!.Build.ToString());
                Assert.Equal(3, results[i].Probes.Count);
            }
            Assert.Equal(ProbeVerdict.Vulnerable, results[2].Probes[0].Verdict);
            Assert.Equal(RecommendedAction.None, results[12].Assessment!.Action);        // SE, newest SU
            Assert.Equal(RecommendedAction.ShutdownMigrate, results[1].Assessment!.Action); // 2013, out of support
            Assert.False(results[builds.Length].IsExchange);
            Assert.NotNull(results[builds.Length + 1].Error);
            // Each host runs its requests one after another, so requests in flight are bounded by hosts in flight.
            Assert.InRange(gauge.Peak, 2, 4);
            Assert.Equal(1, RemoteCheckResult.ExitCodeFor(results));

            var rows = results.Select(CheckReportWriter.ToAssessment).ToList();
            Assert.Equal(hosts.Count, rows.Count);
            Assert.Contains("not an Exchange server", rows[builds.Length].Error);
            var csv = CheckReportWriter.Csv(results);
            Assert.Equal(hosts.Count + 1, csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            foreach (var s in servers) await s.DisposeAsync();
        }
    }

    [Fact]
    public void HostListsReadAsCsvOrOnePerLine()
    {
        var csv = FleetRunner.ReadHostList(new StringReader("site,Host,owner\nHQ,mail1.contoso.com,alice\nBR,\"mail2.contoso.com\",bob\nHQ,mail1.contoso.com,dup\n"));
        Assert.Equal(["mail1.contoso.com", "mail2.contoso.com"], csv);
        var plain = FleetRunner.ReadHostList(new StringReader("# fleet\nmail1.contoso.com\n\n  https://mail2.contoso.com/owa  \n"));
        Assert.Equal(["mail1.contoso.com", "https://mail2.contoso.com/owa"], plain);
        var headerless = FleetRunner.ReadHostList(new StringReader("mail1.contoso.com,HQ\nmail2.contoso.com,BR\n"));
        Assert.Equal(["mail1.contoso.com", "mail2.contoso.com"], headerless);
    }
}
