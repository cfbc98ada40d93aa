using System.Diagnostics;
using System.Text.RegularExpressions;
using Exir.Tests;

namespace Exir.Yara.Tests;

/// <summary>exir warns about the same slow strings as the installed yara, on the team's rules and the corpus rule sets.</summary>
public partial class LiveWarningDifferentialTests(ITestOutputHelper output)
{
    private const string Yara = "/usr/bin/yara";

    [GeneratedRegex(@"^warning: rule ""([^""]+)"" in .*\((\d+)\): string ""(\$[^""]*)"" may slow down scanning")]
    private static partial Regex YaraSlowString();

    [GeneratedRegex(@"^string ""(\$[^""]*)"" may slow down scanning")]
    private static partial Regex ExirSlowString();

    public static TheoryData<string> RuleSets => new() { "rules/yara", "corpus/yara-rules" };

    [Theory]
    [MemberData(nameof(RuleSets))]
    public void Slow_string_warnings_are_yaras(string set)
    {
        if (!File.Exists(Yara)) Assert.Skip("yara not installed");
        var dir = set.StartsWith("corpus/", StringComparison.Ordinal) ? TestPaths.InCorpus(set["corpus/".Length..]) : Path.Combine(TestPaths.RepoRoot, set);
        var files = Directory.GetFiles(dir, "*.yar", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        var empty = Path.Combine(TestPaths.NewTempDir("exir-yara-warn"), "empty");
        File.WriteAllText(empty, "");
        var fromYara = new SortedSet<string>(StringComparer.Ordinal);
        var fromExir = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var f in files)
        {
            var psi = new ProcessStartInfo(Yara) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-d", "filename=", "-d", "filepath=", "-d", "extension=", "-d", "filetype=", "-d", "owner=", f, empty }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            foreach (var line in err.Split('\n'))
                if (YaraSlowString().Match(line) is { Success: true } m) fromYara.Add($"{Path.GetFileName(f)}({m.Groups[2].Value}) {m.Groups[1].Value} {m.Groups[3].Value}");
            var c = new YaraCompiler();
            c.AddFile(f);
            foreach (var w in c.Warnings)
                if (ExirSlowString().Match(w.Message) is { Success: true } m) fromExir.Add($"{Path.GetFileName(f)}({w.Line}) {w.Rule} {m.Groups[1].Value}");
        }
        output.WriteLine($"{files.Length} files: yara {fromYara.Count} slow-string warnings, exir {fromExir.Count}");
        Assert.Equal(fromYara, fromExir);
    }
}
