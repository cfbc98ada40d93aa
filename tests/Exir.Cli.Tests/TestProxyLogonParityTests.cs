using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>
/// Differential test against Microsoft's Test-ProxyLogon.ps1 (unchanged, run by the wrapper in
/// ../shared/reference/css-exchange under PowerShell 7): on generated collection trees, every log line and file
/// the script reports must be among exir scan's findings (same file, same line). A fixed list of seeds runs by
/// default; EXIR_TPL_TREES=N runs seeds 1..N; EXIR_TPL_KEEP=DIR keeps the trees and both reports.
/// </summary>
/// <remarks>Tier slow: spawns pwsh and exir.</remarks>
[Trait("Tier", "slow")]
public class TestProxyLogonParityTests
{
    private static readonly int[] DefaultSeeds = [1, 2, 3, 4];

    private sealed record Expected(string File, long? Line, string Why);

    [Fact]
    public void Exir_reports_every_line_and_file_Test_ProxyLogon_reports()
    {
        var reference = TestPaths.InShared("reference", "css-exchange");
        var script = Path.Combine(reference, "Test-ProxyLogon.ps1");
        var wrapper = Path.Combine(reference, "Invoke-TestProxyLogonOnLinux.ps1");
        if (!File.Exists(script) || !File.Exists(wrapper)) Assert.Skip($"Test-ProxyLogon.ps1 or its wrapper missing in {reference}");
        var pwsh = FindPwsh() ?? throw SkipNoPwsh();
        var seeds = Environment.GetEnvironmentVariable("EXIR_TPL_TREES") is { } n && int.TryParse(n, out var count) && count > 0
            ? Enumerable.Range(1, count).ToArray() : DefaultSeeds;

        var misses = new List<string>();
        int expectedTotal = 0;
        foreach (var seed in seeds)
        {
            // EXIR_TPL_KEEP=DIR keeps each tree, the script's report and exir's output there, to look into a miss.
            var keep = Environment.GetEnvironmentVariable("EXIR_TPL_KEEP");
            var dir = keep is { Length: > 0 } ? Path.Combine(keep, $"seed-{seed}") : TestPaths.NewTempDir("exir-tpl");
            if (keep is { Length: > 0 } && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            var root = Path.Combine(dir, "C");
            new TestProxyLogonParityTrees(seed).Write(root);
            var report = RunScript(pwsh, wrapper, script, root);
            if (keep is { Length: > 0 }) File.WriteAllText(Path.Combine(dir, "tpl.json"), report.GetRawText());
            var expected = OracleOf(report, root);
            expectedTotal += expected.Count;
            var outDir = Path.Combine(dir, "out");
            var scan = ExirProcess.Run("scan", root, "--out", outDir, "--no-progress");
            Assert.True(scan.ExitCode is 0 or 1, $"seed {seed}: exir scan exit {scan.ExitCode}: {scan.Stderr}");
            var found = File.ReadAllLines(Path.Combine(outDir, "findings.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
                .Select(f => (File: f.GetProperty("artifact").GetString()!, Line: f.TryGetProperty("line", out var l) && l.ValueKind == JsonValueKind.Number ? l.GetInt64() : (long?)null))
                .ToList();
            foreach (var e in expected.Distinct())
                if (!found.Any(f => f.File == e.File && (e.Line is null || f.Line == e.Line)))
                    misses.Add($"seed {seed}: {e.Why}: {e.File}{(e.Line is { } line ? $" line {line}" : "")}");
        }
        // The oracle must have reported something, or the comparison proves nothing.
        Assert.True(expectedTotal > 10, $"Test-ProxyLogon reported only {expectedTotal} item(s) over seeds {string.Join(",", seeds)}");
        Assert.True(misses.Count == 0, $"{misses.Count} item(s) Test-ProxyLogon reports that exir does not:\n" + string.Join("\n", misses.Take(60)));
    }

    [Fact]
    public void The_generator_is_seeded()
    {
        string Tree(int seed)
        {
            var dir = TestPaths.NewTempDir("exir-tpl");
            new TestProxyLogonParityTrees(seed).Write(dir);
            return string.Join("\n", Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                .Select(f => Path.GetRelativePath(dir, f) + " " + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))));
        }
        Assert.Equal(Tree(7), Tree(7));
        Assert.NotEqual(Tree(7), Tree(8));
    }

    /// <summary>What the script reported, as files and lines of the tree.</summary>
    private static List<Expected> OracleOf(JsonElement report, string root)
    {
        var expected = new List<Expected>();
        string Rel(string path) => Path.GetRelativePath(root, path).Replace('\\', '/');

        if (report.TryGetProperty("Cve26855", out var c55) && c55.ValueKind == JsonValueKind.Object)
            expected.AddRange(RowsByRequestId(c55, "Hits", "FileList", "CVE-2021-26855 HttpProxy hit", Rel));
        if (report.TryGetProperty("Cve27065", out var c65) && c65.ValueKind == JsonValueKind.Object)
        {
            expected.AddRange(RowsByRequestId(c65, "resetVDirHits", "resetVDirFiles", "CVE-2021-27065 reset", Rel));
            // Select-String -List: the first line of each file that matches the script's pattern (case-insensitive, as Select-String).
            var setVdir = new Regex(@"Set-.+VirtualDirectory.+?(?=Url).+<\w+.*>(.*?)<\/\w+>.+?(?=VirtualDirectory)", RegexOptions.IgnoreCase);
            foreach (var file in Strings(c65.GetProperty("setVDirMaliciousUrlLogs")))
            {
                var line = FirstLine(file, setVdir.IsMatch) ?? throw new InvalidOperationException($"no Set-*VirtualDirectory line in {file}");
                expected.Add(new(Rel(file), line, "CVE-2021-27065 Set-*VirtualDirectory URL"));
            }
        }
        // The script's result for 26858 is a list whose object holds downloadPaths and filePaths (an ArrayList.Add index leaks into it).
        if (report.TryGetProperty("Cve26858", out var c58))
            foreach (var o in c58.ValueKind == JsonValueKind.Array ? c58.EnumerateArray().ToArray() : [c58])
            {
                if (o.ValueKind != JsonValueKind.Object) continue;
                var paths = Strings(o.GetProperty("downloadPaths")).ToHashSet(StringComparer.Ordinal);
                var download = new Regex("Download failed and temporary file (.*?) needs to be removed", RegexOptions.IgnoreCase);
                foreach (var file in Strings(o.GetProperty("filePaths")))
                {
                    var lines = File.ReadAllLines(file);
                    for (int i = 0; i < lines.Length; i++)
                        if (download.Match(lines[i]) is { Success: true } m && paths.Contains(m.Groups[1].Value))
                            expected.Add(new(Rel(file), i + 1, "CVE-2021-26858 OAB download path " + m.Groups[1].Value));
                }
            }
        if (report.TryGetProperty("Suspicious", out var sus) && sus.ValueKind == JsonValueKind.Array)
            foreach (var s in sus.EnumerateArray())
                expected.Add(new(Rel(s.GetProperty("Path").GetString()!), null, s.GetProperty("Type").GetString()!));
        return expected;
    }

    /// <summary>The log lines of the script's CSV rows: each row's RequestId is unique in the generated logs.</summary>
    private static IEnumerable<Expected> RowsByRequestId(JsonElement section, string rowsName, string filesName, string why, Func<string, string> rel)
    {
        var files = Strings(section.GetProperty(filesName)).ToList();
        foreach (var row in Rows(section.GetProperty(rowsName)))
        {
            var id = row.GetProperty("RequestId").GetString()!;
            var hit = files.Select(f => (File: f, Line: FirstLine(f, l => l.Contains(id, StringComparison.Ordinal)))).FirstOrDefault(x => x.Line is not null);
            if (hit.Line is null) throw new InvalidOperationException($"request {id} of the script's {rowsName} is in none of {string.Join(", ", files)}");
            yield return new(rel(hit.File), hit.Line, $"{why} ({row.GetProperty("AnchorMailbox").GetString()})");
        }
    }

    private static IEnumerable<JsonElement> Rows(JsonElement e) =>
        e.ValueKind switch { JsonValueKind.Array => e.EnumerateArray(), JsonValueKind.Object => [e], _ => [] };

    /// <summary>PowerShell serialises a one-element list as the element itself.</summary>
    private static IEnumerable<string> Strings(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => [e.GetString()!],
        JsonValueKind.Array => e.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!),
        _ => [],
    };

    private static long? FirstLine(string file, Func<string, bool> match)
    {
        long n = 0;
        foreach (var line in File.ReadLines(file))
        {
            n++;
            if (match(line)) return n;
        }
        return null;
    }

    private static JsonElement RunScript(string pwsh, string wrapper, string script, string root)
    {
        var psi = new ProcessStartInfo(pwsh) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(root)! };
        foreach (var a in new[] { "-NoProfile", "-NonInteractive", "-File", wrapper, "-Script", script, "-Root", root, "-Json" }) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(180_000)) { p.Kill(true); throw new TimeoutException("Test-ProxyLogon on " + root); }
        var json = stdout.Result;
        Assert.True(p.ExitCode == 0 && json.TrimStart().StartsWith('{'), $"Test-ProxyLogon failed ({p.ExitCode}): {stderr.Result}\n{json}");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    /// <summary>pwsh from EXIR_PWSH, the PATH, or the dotnet global tool folder.</summary>
    private static string? FindPwsh()
    {
        if (Environment.GetEnvironmentVariable("EXIR_PWSH") is { Length: > 0 } p && File.Exists(p)) return p;
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "pwsh"))
            .Append(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "pwsh"));
        return candidates.FirstOrDefault(File.Exists);
    }

    private static Exception SkipNoPwsh()
    {
        Assert.Skip("PowerShell 7 (pwsh) not found: install it with 'dotnet tool install --global PowerShell' (see ../shared/reference/css-exchange/README.md) or set EXIR_PWSH");
        return new InvalidOperationException();
    }
}
