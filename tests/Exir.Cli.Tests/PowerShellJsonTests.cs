using System.Diagnostics;
using System.Text.Json;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>
/// Every JSON output must load in PowerShell's ConvertFrom-Json (admins script exir from PowerShell), which rejects an
/// object whose keys differ only in case: a Sysmon record has System/ProcessID and EventData/ProcessId. PowerShell 7 is
/// the oracle here (the test command installs it as a dotnet tool); Python's json must read the same lines.
/// </summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public sealed class PowerShellJsonTests
{
    [Fact]
    public void Evtx_timeline_and_scan_json_lines_load_in_powershell_and_python()
    {
        var sysmon = TestPaths.InCorpus("evtx", "omerbenamram-evtx", "sysmon.evtx");
        var dir = TestPaths.NewTempDir();
        var files = new List<string>();
        void Save(string name, ExirProcess.Result r)
        {
            Assert.True(r.ExitCode is 0 or 1, r.Stderr);
            var path = Path.Combine(dir, name);
            File.WriteAllText(path, r.Stdout);
            files.Add(path);
        }
        Save("evtx.jsonl", ExirProcess.Run("evtx", sysmon, "--format", "jsonl"));
        Save("timeline.jsonl", ExirProcess.Run("timeline", sysmon, "--format", "jsonl"));
        Save("scan.jsonl", ExirProcess.Run("scan", Path.Combine(TestPaths.RepoRoot, "samples", "exch01"), "--format", "jsonl"));

        // The clash the issue names is really there: the System field and the data field, once each.
        var first = File.ReadLines(files[0]).First(l => l.Contains("\"ProcessID\"", StringComparison.Ordinal));
        using (var doc = JsonDocument.Parse(first))
        {
            var keys = doc.RootElement.EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(keys.Count, keys.Distinct(StringComparer.OrdinalIgnoreCase).Count());
            Assert.Contains(keys, k => k.StartsWith("ProcessId[", StringComparison.Ordinal));
        }

        var pwsh = new[] { Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "/root", ".dotnet", "tools", "pwsh"), "/usr/bin/pwsh" }.FirstOrDefault(File.Exists);
        foreach (var f in files)
        {
            Assert.Equal(0, Run("python3", "-c", "import json,sys\nfor l in open(sys.argv[1]):\n    json.loads(l)", f).ExitCode);
            if (pwsh is null) continue;
            var r = Run(pwsh, "-NoProfile", "-NonInteractive", "-Command",
                $"$ErrorActionPreference='Stop'; Get-Content -LiteralPath '{f}' | ForEach-Object {{ $_ | ConvertFrom-Json }} | Out-Null; 'loaded'");
            Assert.True(r.ExitCode == 0 && r.Stdout.Contains("loaded"), $"{Path.GetFileName(f)}: {r.Stderr}");
        }
        Assert.SkipWhen(pwsh is null, "PowerShell 7 not installed (scripts/test.sh installs it with 'dotnet tool install --global PowerShell'); Python's json read every line");
    }

    private static (int ExitCode, string Stdout, string Stderr) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(180_000)) { p.Kill(true); throw new TimeoutException(file); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
