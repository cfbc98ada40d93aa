using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Exir.Case;
using Exir.Core.Findings;
using Exir.Reporting.CaseReport;

namespace Exir.Reporting.Tests;

/// <summary>The case's exports: a STIX 2.1 bundle of indicators and ECS NDJSON of findings and timeline rows.</summary>
public partial class CaseReportExportTests
{
    private static JsonDocument Stix(CaseSnapshot? snapshot = null)
    {
        using var ms = new MemoryStream();
        CaseStixExport.Write(snapshot ?? CaseReportFixtures.Snapshot(), ms);
        return JsonDocument.Parse(ms.ToArray());
    }

    private static List<JsonElement> Indicators(JsonDocument bundle) =>
        bundle.RootElement.GetProperty("objects").EnumerateArray().Where(o => o.GetProperty("type").GetString() == "indicator").ToList();

    [Fact]
    public void UuidV5MatchesTheRfcAlgorithm()
    {
        // Reference values from Python's uuid.uuid5 (RFC 4122/9562).
        Assert.Equal("886313e1-3b8a-5372-9b90-0c9aee199e5d", StixIds.UuidV5(Guid.Parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "python.org").ToString());
        Assert.Equal("indicator--c63e5801-77cf-533c-9587-3b694ec8108c", StixIds.For("indicator", "indicator:[ipv4-addr:value = '203.0.113.7']"));
        Assert.Equal("identity--bd8c3402-dc78-59e4-a4a4-aa3455929b00", StixIds.For("identity", "identity:exir"));
    }

    [Fact]
    public void TheBundleHasTheStructureStix21Requires()
    {
        using var bundle = Stix();
        var root = bundle.RootElement;
        Assert.Equal("bundle", root.GetProperty("type").GetString());
        Assert.Matches(IdFormat("bundle"), root.GetProperty("id").GetString());
        Assert.False(root.TryGetProperty("spec_version", out _)); // a 2.1 bundle has none (2.0 had one)
        var objects = root.GetProperty("objects").EnumerateArray().ToList();
        var identity = Assert.Single(objects, o => o.GetProperty("type").GetString() == "identity");
        Assert.Equal("exir", identity.GetProperty("name").GetString());
        foreach (var o in objects)
        {
            var type = o.GetProperty("type").GetString()!;
            Assert.Equal("2.1", o.GetProperty("spec_version").GetString());
            Assert.Matches(IdFormat(type), o.GetProperty("id").GetString());
            foreach (var stamp in new[] { "created", "modified" })
                Assert.Matches(Rfc3339Millis(), o.GetProperty(stamp).GetString());
            if (type != "indicator") continue;
            foreach (var required in new[] { "pattern", "pattern_type", "valid_from", "indicator_types", "name" })
                Assert.True(o.TryGetProperty(required, out _), $"indicator without {required}");
            Assert.Equal("stix", o.GetProperty("pattern_type").GetString());
            Assert.Matches(Rfc3339Millis(), o.GetProperty("valid_from").GetString());
            Assert.Equal(identity.GetProperty("id").GetString(), o.GetProperty("created_by_ref").GetString());
            Assert.Matches(PatternGrammar(), o.GetProperty("pattern").GetString());
        }
        Assert.Equal(objects.Count, objects.Select(o => o.GetProperty("id").GetString()).Distinct().Count());
    }

    [Fact]
    public void IndicatorsComeFromAttacksNotFromContext()
    {
        using var bundle = Stix();
        var patterns = Indicators(bundle).ToDictionary(i => i.GetProperty("pattern").GetString()!, i => i);
        var ip = patterns["[ipv4-addr:value = '203.0.113.7']"];
        Assert.Equal("2021-03-03T02:15:07.123Z", ip.GetProperty("valid_from").GetString()); // first seen in the evidence
        Assert.Contains("PL-SSRF-ECP", ip.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Contains(ip.GetProperty("external_references").EnumerateArray(), r => r.GetProperty("external_id").GetString() == "CVE-2021-26855");
        Assert.Contains("[ipv6-addr:value = '2001:db8::7']", patterns.Keys);
        Assert.Contains($"[file:hashes.'SHA-256' = '{new string('a', 64)}']", patterns.Keys);
        Assert.Contains($"[file:hashes.'SHA-256' = '{new string('c', 64)}']", patterns.Keys); // quarantined
        Assert.Contains("[url:value = '/ecp/y.js?a=\\'1\\'\\\\b']", patterns.Keys); // quote and backslash escaped
        Assert.Contains("[file:name = 'x\\'sa.aspx' AND file:parent_directory_ref.path = 'C:\\\\inetpub\\\\wwwroot\\\\aspnet_client\\\\system_web']", patterns.Keys);
        Assert.Contains("[file:name = 'lsass.dmp']", patterns.Keys);
        // A scanner's address from a context-only finding and an address that is no address give nothing.
        Assert.DoesNotContain(patterns.Keys, p => p.Contains("198.51.100.99", StringComparison.Ordinal) || p.Contains("not-an-ip", StringComparison.Ordinal));
        // The web shell's file time is a copy time: it never becomes valid_from.
        Assert.DoesNotContain(Indicators(bundle), i => i.GetProperty("valid_from").GetString()!.StartsWith("2021-03-07", StringComparison.Ordinal));
    }

    [Fact]
    public void IdsAreTheSameInEveryExport()
    {
        using var a = Stix();
        using var b = Stix(CaseReportFixtures.Snapshot() with { ReadUtc = CaseReportFixtures.Now.AddDays(3) });
        Assert.Equal(Indicators(a).Select(i => i.GetProperty("id").GetString()), Indicators(b).Select(i => i.GetProperty("id").GetString()));
        Assert.Equal("indicator--c63e5801-77cf-533c-9587-3b694ec8108c",
            Indicators(a).Single(i => i.GetProperty("pattern").GetString() == "[ipv4-addr:value = '203.0.113.7']").GetProperty("id").GetString());
    }

    [Fact]
    public void HostileValuesStayInsideTheirPatternString()
    {
        var hostile = CaseReportFixtures.Snapshot() with
        {
            Findings =
            [
                new Finding
                {
                    RuleId = "FILE-X", Title = "shell", Outcome = Outcome.Success, Artifact = "a/x' OR file:name = 'y\u0000\uD800.aspx", HostId = CaseReportFixtures.H1,
                    Details = new Dictionary<string, string> { ["UrlStem"] = "/owa/']\n[ipv4-addr:value = '1.1.1.1" },
                },
            ],
            Campaigns = [], Quarantine = [],
        };
        using var bundle = Stix(hostile);
        var patterns = Indicators(bundle).Select(i => i.GetProperty("pattern").GetString()!).ToList();
        Assert.Equal(2, patterns.Count);
        Assert.All(patterns, p => Assert.Matches(PatternGrammar(), p));
        Assert.Contains("[file:name = 'x\\' OR file:name = \\'y\u0000\uFFFD.aspx']", patterns);
        Assert.Contains("[url:value = '/owa/\\']\n[ipv4-addr:value = \\'1.1.1.1']", patterns);
    }

    /// <summary>The stix2 library (OASIS's reference implementation for Python) parses the bundle, when it is installed.</summary>
    [Fact]
    [Trait("Tier", "slow")]
    public void TheStix2LibraryAcceptsTheBundle()
    {
        if (!PythonHas("stix2")) Assert.Skip("python3 with the stix2 package is not installed (Debian ships no python3-stix2; pip install stix2 enables this oracle)");
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "bundle.json");
        using (var fs = File.Create(path)) CaseStixExport.Write(CaseReportFixtures.Snapshot(), fs);
        var (code, output) = Python(
            "import sys, stix2\nb = stix2.parse(open(sys.argv[1]).read(), allow_custom=False)\n" +
            "from stix2.pattern_visitor import create_pattern_object\n" +
            "[create_pattern_object(o.pattern) for o in b.objects if o.type == 'indicator']\nprint(len(b.objects))", path);
        Assert.True(code == 0, output);
    }

    [Fact]
    public void EcsLinesParseAndUseEcsFieldNames()
    {
        using var ms = new MemoryStream();
        CaseEcsExport.Write(CaseReportFixtures.Snapshot(), ms, toolVersion: "9.9.9");
        var text = Encoding.UTF8.GetString(ms.ToArray());
        Assert.EndsWith("\n", text);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(7 + 2, lines.Length); // seven findings, two tagged timeline rows
        var docs = lines.Select(l => JsonDocument.Parse(l)).ToList();
        foreach (var d in docs)
        {
            var o = d.RootElement;
            Assert.Matches(Rfc3339Millis(), o.GetProperty("@timestamp").GetString());
            Assert.Equal("9.9.9", o.GetProperty("agent").GetProperty("version").GetString());
            Assert.Equal("exir", o.GetProperty("observer").GetProperty("product").GetString());
            foreach (var field in Flatten(o))
                Assert.True(EcsFields.Contains(field) || field.StartsWith("labels.", StringComparison.Ordinal), $"not an ECS field: {field}");
            foreach (var category in o.GetProperty("event").GetProperty("category").EnumerateArray())
                Assert.True(EcsCategories.Contains(category.GetString()!), $"not an ECS category: {category}");
        }
        var alerts = docs.Where(d => d.RootElement.GetProperty("event").GetProperty("kind").GetString() == "alert").Select(d => d.RootElement).ToList();
        var events = docs.Where(d => d.RootElement.GetProperty("event").GetProperty("kind").GetString() == "event").Select(d => d.RootElement).ToList();
        Assert.Equal(7, alerts.Count);
        Assert.Equal(2, events.Count);

        var ssrf = alerts.First(a => a.GetProperty("labels").GetProperty("finding_id").GetString() == "f-00000000000000000001");
        Assert.Equal("PL-SSRF-ECP", ssrf.GetProperty("rule").GetProperty("id").GetString());
        Assert.Equal("EXCH01", ssrf.GetProperty("host").GetProperty("name").GetString());
        Assert.Equal(CaseReportFixtures.H1, ssrf.GetProperty("host").GetProperty("id").GetString());
        Assert.Equal("203.0.113.7", ssrf.GetProperty("source").GetProperty("ip").GetString());
        Assert.Equal("Logging/HttpProxy/Ecp/HttpProxy_2021030302-1.LOG", ssrf.GetProperty("log").GetProperty("file").GetProperty("path").GetString());
        Assert.Equal("1842", ssrf.GetProperty("labels").GetProperty("evidence_line").GetString());
        Assert.Contains(CaseReportFixtures.Script, ssrf.GetProperty("event").GetProperty("original").GetString()); // raw, as found
        Assert.Equal("T1190", ssrf.GetProperty("threat").GetProperty("technique").GetProperty("id")[0].GetString());
        Assert.Equal("CVE-2021-26855", ssrf.GetProperty("vulnerability").GetProperty("id")[0].GetString());
        Assert.Equal("2021-03-03T02:15:07.123Z", ssrf.GetProperty("@timestamp").GetString());
        Assert.Equal(99, ssrf.GetProperty("event").GetProperty("severity").GetInt32());

        var shell = alerts.First(a => a.GetProperty("rule").GetProperty("id").GetString() == "FILE-KNOWN-SHELL-PATH");
        Assert.Equal(new string('a', 64), shell.GetProperty("file").GetProperty("hash").GetProperty("sha256").GetString());
        Assert.Equal("file-modified", shell.GetProperty("labels").GetProperty("time_source").GetString());
        Assert.Equal("T1505", shell.GetProperty("threat").GetProperty("technique").GetProperty("id")[0].GetString());
        Assert.Equal("T1505.003", shell.GetProperty("threat").GetProperty("technique").GetProperty("subtechnique").GetProperty("id")[0].GetString());

        var cmd = alerts.First(a => a.GetProperty("rule").GetProperty("id").GetString() == "EVT-4688-W3WP-CMD");
        Assert.False(cmd.TryGetProperty("source", out _)); // "not-an-ip" would break indexing of an ip field
        Assert.Equal("not-an-ip", cmd.GetProperty("labels").GetProperty("client_ip_raw").GetString());
        Assert.Equal(552233, cmd.GetProperty("winlog").GetProperty("record_id").GetInt64());

        var undated = alerts.First(a => a.GetProperty("rule").GetProperty("id").GetString() == "FILE-LSASS-DUMP");
        Assert.Equal("scan-finished", undated.GetProperty("labels").GetProperty("time_source").GetString());

        var logon = events.First(e => e.GetProperty("event").GetProperty("code").GetString() == "4624");
        Assert.Equal("authentication", logon.GetProperty("event").GetProperty("category")[0].GetString());
        Assert.Equal("CONTOSO\\da-admin", logon.GetProperty("user").GetProperty("name").GetString());
        Assert.Equal(["admin-logon", "domain-admin"], logon.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        var process = events.First(e => e.GetProperty("event").GetProperty("code").GetString() == "4688");
        Assert.Equal("cmd.exe", process.GetProperty("process").GetProperty("name").GetString());
        Assert.Contains("\u001b[31m", process.GetProperty("process").GetProperty("command_line").GetString()); // raw; JSON escapes it on the wire
        Assert.Contains("\\u001B[31m", lines.First(l => l.Contains("\"4688\"", StringComparison.Ordinal)), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void EcsTakesTheTimelineRowsItIsGiven()
    {
        using var ms = new MemoryStream();
        var rows = Enumerable.Range(0, 50).Select(i => CaseReportFixtures.Snapshot().TimelineRows[0] with { RecordId = i });
        CaseEcsExport.Write(CaseReportFixtures.Snapshot() with { Findings = [] }, ms, rows);
        Assert.Equal(50, Encoding.UTF8.GetString(ms.ToArray()).Count(c => c == '\n'));
    }

    /// <summary>Every ECS field the export writes (ECS 8.11 field reference); anything else must be under labels.</summary>
    private static readonly HashSet<string> EcsFields = new(StringComparer.Ordinal)
    {
        "@timestamp", "message", "tags", "ecs.version",
        "event.kind", "event.category", "event.type", "event.action", "event.outcome", "event.severity", "event.module", "event.dataset", "event.provider",
        "event.id", "event.created", "event.original", "event.code",
        "rule.id", "rule.name", "rule.description", "rule.category", "rule.ruleset", "rule.reference",
        "host.name", "host.id", "source.ip", "user.name",
        "file.path", "file.name", "file.hash.sha256", "log.file.path", "winlog.record_id",
        "url.path", "url.query", "url.original", "user_agent.original",
        "process.executable", "process.name", "process.command_line",
        "threat.framework", "threat.technique.id", "threat.technique.subtechnique.id",
        "vulnerability.id", "vulnerability.enumeration",
        "observer.vendor", "observer.product", "observer.type", "observer.version", "agent.name", "agent.type", "agent.version",
    };

    private static readonly HashSet<string> EcsCategories = new(StringComparer.Ordinal)
    {
        "api", "authentication", "configuration", "database", "driver", "email", "file", "host", "iam", "intrusion_detection", "library",
        "malware", "network", "package", "process", "registry", "session", "threat", "vulnerability", "web",
    };

    private static IEnumerable<string> Flatten(JsonElement e, string prefix = "")
    {
        foreach (var p in e.EnumerateObject())
        {
            var name = prefix.Length == 0 ? p.Name : prefix + "." + p.Name;
            if (p.Value.ValueKind == JsonValueKind.Object) foreach (var inner in Flatten(p.Value, name)) yield return inner;
            else yield return name;
        }
    }

    private static bool PythonHas(string module) => File.Exists("/usr/bin/python3") && Python($"import {module}").Code == 0;

    private static (int Code, string Output) Python(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000)) { p.Kill(true); return (-1, "timeout"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    private static Regex IdFormat(string type) => new($"^{Regex.Escape(type)}--[0-9a-f]{{8}}-[0-9a-f]{{4}}-5[0-9a-f]{{3}}-[89ab][0-9a-f]{{3}}-[0-9a-f]{{12}}$");

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex Rfc3339Millis();

    /// <summary>The subset of the STIX pattern grammar the export writes: comparisons of object paths with quoted strings, joined by AND.</summary>
    [GeneratedRegex(@"^\[(?:[a-z0-9-]+:[a-z_]+(?:\.(?:[a-z_]+|'[A-Z0-9-]+'))* = '(?:[^'\\]|\\['\\])*')(?: AND [a-z0-9-]+:[a-z_]+(?:\.(?:[a-z_]+|'[A-Z0-9-]+'))* = '(?:[^'\\]|\\['\\])*')*\]$", RegexOptions.Singleline)]
    private static partial Regex PatternGrammar();
}
