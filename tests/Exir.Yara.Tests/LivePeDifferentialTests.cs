using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Exir.Tests;
using Exir.Yara;

namespace Exir.Yara.Tests;

/// <summary>
/// pe module against the installed yara on real Windows PE files (the win-x64 runtime packs in the NuGet
/// cache): pe.exports/pe.imports over names taken from the files themselves, plus header fields.
/// </summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class LivePeDifferentialTests(ITestOutputHelper output)
{
    private static List<string> FindPeFiles()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var list = new List<string>();
        foreach (var pack in new[] { "microsoft.netcore.app.runtime.win-x64", "microsoft.netcore.app.host.win-x64" })
        {
            var dir = Path.Combine(root, pack);
            if (!Directory.Exists(dir)) continue;
            list.AddRange(Directory.EnumerateFiles(dir, "*.*", SearchOption.AllDirectories)
                .Where(f => f.Contains("native") && (f.EndsWith(".dll") || f.EndsWith(".exe")) && new FileInfo(f).Length < 12_000_000)
                .Order(StringComparer.Ordinal).Take(4));
        }
        return list;
    }

    [Fact]
    public void Exports_imports_and_header_fields_match_yara()
    {
        if (!File.Exists("/usr/bin/yara")) Assert.Skip("yara not installed");
        var files = FindPeFiles();
        if (files.Count < 2) Assert.Skip("no Windows PE files in the NuGet cache");
        var dir = TestPaths.NewTempDir("exir-yara-pe");
        try { Check(files, dir); }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private void Check(List<string> files, string dir)
    {
        foreach (var f in files) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), overwrite: true);

        var rng = new Random(7);
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        var dlls = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var f in files)
        {
            var text = Encoding.Latin1.GetString(File.ReadAllBytes(f));
            foreach (Match m in Regex.Matches(text, "[A-Za-z_][A-Za-z0-9_]{3,40}")) ids.Add(m.Value);
            foreach (Match m in Regex.Matches(text, @"[A-Za-z0-9_\-]{3,30}\.(?:dll|DLL)")) dlls.Add(m.Value);
        }
        var idList = ids.ToList();
        var sb = new StringBuilder("import \"pe\"\n");
        int n = 0;
        var kinds = new Dictionary<string, string>();
        void Rule(string cond)
        {
            kinds[$"r{n}"] = cond[..cond.IndexOfAny(['(', ' '])];
            sb.Append($"rule r{n++} {{ condition: {cond} }}\n");
        }
        foreach (var x in idList.OrderBy(_ => rng.Next()).Take(400)) { Rule($"pe.exports(\"{x}\")"); Rule($"pe.exports(\"{x.ToUpperInvariant()}\")"); }
        foreach (var dll in dlls.Take(40))
        {
            foreach (var x in idList.OrderBy(_ => rng.Next()).Take(40)) Rule($"pe.imports(\"{dll}\", \"{x}\")");
            foreach (var k in new[] { 1, 5, 20 }) { Rule($"pe.imports(\"{dll}\") >= {k}"); Rule($"pe.imports(\"{dll.ToLowerInvariant()}\") >= {k}"); }
        }
        foreach (var k in new[] { 1, 5, 50 }) { Rule($"pe.number_of_exports >= {k}"); Rule($"pe.number_of_imports >= {k}"); Rule($"pe.exports({k})"); }
        Rule("pe.is_pe and pe.machine == pe.MACHINE_AMD64");
        Rule("pe.entry_point > 1000 and pe.entry_point < 200000");
        Rule("pe.number_of_sections >= 6");
        Rule("not pe.is_pe");
        File.WriteAllBytes(Path.Combine(dir, "not_pe.txt"), "MZ but not really"u8.ToArray());
        var ruleFile = Path.Combine(dir, "rules", "pe.yar");
        Directory.CreateDirectory(Path.GetDirectoryName(ruleFile)!);
        File.WriteAllText(ruleFile, sb.ToString());

        var psi = new ProcessStartInfo("/usr/bin/yara") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-w", ruleFile, dir }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var yaraOut = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        var expected = yaraOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2)).Select(x => x[0] + " " + Path.GetFileName(x[1])).Order(StringComparer.Ordinal).ToList();

        var c = new YaraCompiler();
        c.AddFile(ruleFile);
        Assert.Empty(c.Diagnostics);
        var rules = c.Compile();
        var actual = Directory.GetFiles(dir).SelectMany(f => rules.ScanFile(f).Select(m => m.Rule.Name + " " + Path.GetFileName(f)))
            .Order(StringComparer.Ordinal).ToList();
        output.WriteLine($"{files.Count} PE files, {n} rules, {expected.Count} matches");
        Assert.Equal(expected, actual);
        // The comparison must cover real hits of both functions, not only agreement on "no".
        Assert.Contains(expected, l => kinds[l.Split(' ')[0]] == "pe.exports");
        Assert.Contains(expected, l => kinds[l.Split(' ')[0]] == "pe.imports");
    }
}
