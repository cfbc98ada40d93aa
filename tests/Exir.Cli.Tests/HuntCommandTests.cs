using System.Text.Json;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>`exir hunt` as a responder runs it: the built-in pack, their own rules, levels, outputs and exit codes.</summary>
public sealed class HuntCommandTests
{
    private static string Sample => Path.Combine(TestPaths.RepoRoot, "samples", "exch01");

    [Fact]
    public void TheBuiltInPackFindsTheSamplesRequestsWithAuthorAndLicence()
    {
        var r = ExirProcess.Run("hunt", Sample, "--no-progress", "--format", "jsonl");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("Sigma:", r.Stderr);
        var hits = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.NotEmpty(hits);
        Assert.All(hits, h =>
        {
            Assert.StartsWith("sigma:", h.GetProperty("rule_id").GetString());
            Assert.Equal("exir developers", h.GetProperty("details").GetProperty("author").GetString());
            Assert.False(string.IsNullOrEmpty(h.GetProperty("details").GetProperty("license").GetString()));
            Assert.True(h.GetProperty("line").GetInt64() > 0, "a hit points at its line");
        });
        // The ProxyLogon SSRF POST to /ecp/y.js of the sample's IIS log, line 61.
        Assert.Contains(hits, h => h.GetProperty("artifact").GetString()!.EndsWith("u_ex210303.log") && h.GetProperty("line").GetInt64() == 61);
    }

    [Fact]
    public void TheTableAndTheOutFolderSayWhatLoadedAndWhatDidNot()
    {
        var rules = TestPaths.NewTempDir("exir-hunt-rules");
        File.WriteAllText(Path.Combine(rules, "broken.yml"), "title: broken\nlogsource: { product: windows }\ndetection: { sel: { a: b } }\n"); // no condition
        File.WriteAllText(Path.Combine(rules, "mine.yml"), """
            title: Requests for y.js
            id: 0b3c8f7e-1d6a-4c59-9b1e-2f0a7d5c4e31
            author: a responder
            logsource: { category: webserver }
            detection:
              sel: { cs-uri-stem|endswith: /y.js }
              condition: sel
            level: medium
            """);
        var outDir = TestPaths.NewTempDir("exir-hunt-out");
        var r = ExirProcess.Run("hunt", Sample, "--no-progress", "--no-builtin", "--sigma", rules, "--out", outDir);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("Requests for y.js", r.Stdout);
        Assert.Contains("not loaded: ", r.Stdout);
        Assert.Contains("broken.yml", r.Stdout);
        Assert.Contains("Rules by: a responder", r.Stdout);
        using var hunt = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "hunt.json")));
        Assert.Equal(1, hunt.RootElement.GetProperty("rules").GetProperty("loaded").GetInt32());
        Assert.Contains("broken.yml", hunt.RootElement.GetProperty("rules").GetProperty("not_loaded")[0].GetString());
        Assert.Equal("sigma:0b3c8f7e-1d6a-4c59-9b1e-2f0a7d5c4e31", hunt.RootElement.GetProperty("hits_by_rule")[0].GetProperty("rule_id").GetString());
        Assert.True(File.Exists(Path.Combine(outDir, "findings.jsonl")));
    }

    [Fact]
    public void MinLevelFiltersAndACleanHostExitsZero()
    {
        var high = ExirProcess.Run("hunt", Sample, "--no-progress", "--format", "jsonl", "--min-level", "critical");
        var all = ExirProcess.Run("hunt", Sample, "--no-progress", "--format", "jsonl");
        Assert.True(high.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length < all.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var clean = TestPaths.NewTempDir("exir-hunt-clean");
        File.WriteAllText(Path.Combine(clean, "notes.txt"), "nothing");
        Assert.Equal(0, ExirProcess.Run("hunt", clean, "--no-progress").ExitCode);
    }

    [Theory]
    [InlineData(new[] { "hunt", "samples/exch01", "--no-builtin" }, "--no-builtin needs --sigma")]
    [InlineData(new[] { "hunt", "samples/exch01", "--sigma", "/nonexistent/rules" }, "not found")]
    [InlineData(new[] { "hunt", "samples/exch01", "--min-level", "severe" }, "unknown Sigma level")]
    [InlineData(new[] { "hunt", "/nonexistent/evidence" }, "")]
    public void WhatCannotRunExitsTwo(string[] args, string message)
    {
        var r = ExirProcess.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }

    [Fact]
    public void SigmaHQRegressionRulesFireOnTheirSamplesThroughTheCli()
    {
        var evtx = TestPaths.InCorpus("evtx", "sigma-regression");
        var rules = TestPaths.InCorpus("sigma-rules");
        var r = ExirProcess.Run("hunt", evtx, "--no-progress", "--no-builtin", "--sigma", rules, "--format", "jsonl");
        Assert.Equal(1, r.ExitCode);
        var fired = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("details").GetProperty("sigma_id").GetString()).ToHashSet();
        foreach (var folder in Directory.GetDirectories(evtx))
        {
            var info = File.ReadAllText(Path.Combine(folder, "info.yml"));
            var id = System.Text.RegularExpressions.Regex.Match(info, @"(?s)rule_metadata:.*?id:\s*([0-9a-f-]{36})").Groups[1].Value;
            if (id.Length > 0) Assert.True(fired.Contains(id), $"{Path.GetFileName(folder)}: rule {id} did not fire");
        }
    }
}

/// <summary>A Sigma correlation over the evidence of several hosts: one correlator for the whole run.</summary>
public sealed class HuntCorrelationTests
{
    private static string Host(string name, string line)
    {
        var root = TestPaths.NewTempDir("exir-hunt-" + name);
        var dir = Path.Combine(root, "inetpub", "logs", "LogFiles", "W3SVC1");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "u_ex210303.log"),
            "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2021-03-03 00:00:00\n" +
            "#Fields: date time s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken\n" +
            line + "\n");
        return root;
    }

    [Fact]
    public void AnEventCountCorrelationHoldsAcrossTwoHostsAndNotOnOneAlone()
    {
        var rules = TestPaths.NewTempDir("exir-hunt-corr");
        File.WriteAllText(Path.Combine(rules, "probe.yml"), """
            title: Probe of the ECP logon page
            id: 5f0c2a1e-8b7d-4e3f-9a6b-1c2d3e4f5a6b
            name: ecp_probe
            author: a responder
            logsource: { category: webserver }
            detection:
              sel: { cs-uri-stem|endswith: /proxyLogon.ecp }
              condition: sel
            level: low
            """);
        File.WriteAllText(Path.Combine(rules, "spread.yml"), """
            title: One address probes two servers
            id: 7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
            author: a responder
            correlation:
              type: value_count
              rules: [ecp_probe]
              group-by: [c-ip]
              timespan: 10m
              condition: { field: s-computername, gte: 2 }
            level: high
            """);
        var a = Host("a", "2021-03-03 02:14:07 EXCH01 10.0.0.5 POST /ecp/proxyLogon.ecp - 443 - 203.0.113.77 python-requests/2.25.1 200 0 0 15");
        var b = Host("b", "2021-03-03 02:18:30 EXCH02 10.0.0.6 POST /ecp/proxyLogon.ecp - 443 - 203.0.113.77 python-requests/2.25.1 200 0 0 15");
        var both = ExirProcess.Run("hunt", a, b, "--no-progress", "--no-builtin", "--sigma", rules, "--format", "jsonl");
        Assert.Equal(1, both.ExitCode);
        var hits = both.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        var correlation = Assert.Single(hits, h => h.GetProperty("rule_id").GetString() == "sigma:7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
        Assert.Equal("2", correlation.GetProperty("details").GetProperty("contributing").GetString());
        Assert.Contains("EXCH01", correlation.GetProperty("evidence").GetString());
        Assert.Contains("EXCH02", correlation.GetProperty("evidence").GetString());
        var one = ExirProcess.Run("hunt", a, "--no-progress", "--no-builtin", "--sigma", rules, "--format", "jsonl");
        Assert.DoesNotContain("7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", one.Stdout);
    }
}
