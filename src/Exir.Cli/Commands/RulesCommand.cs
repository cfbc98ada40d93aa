using System.CommandLine;
using Exir.Yara;

namespace Exir.Cli.Commands;

/// <summary>exir rules check: lint YARA rule files with the same compiler exir scans with.</summary>
public static class RulesCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("FILE") { Description = "YARA rule files or folders of them (.yar, .yara)", Arity = ArgumentArity.OneOrMore };
        var check = new Command("check", "Lint YARA rule files: per file the number of accepted rules, every skipped rule with the " +
                                         "unsupported feature, and syntax errors with their line. Exit 0 all accepted, 1 something skipped or wrong, 2 nothing readable.")
        {
            files,
        };
        check.SetAction(parse => Check(parse.GetValue(files) ?? [], Console.Out));
        var cmd = new Command("rules", "Work with rule files (YARA).") { check };
        return cmd;
    }

    public static int Check(string[] inputs, TextWriter output)
    {
        var paths = new List<string>();
        foreach (var p in inputs)
        {
            if (Directory.Exists(p))
                paths.AddRange(Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories)
                    .Where(f => f.EndsWith(".yar", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yara", StringComparison.OrdinalIgnoreCase))
                    .Order(StringComparer.Ordinal));
            else paths.Add(p);
        }
        int readable = 0, accepted = 0, skipped = 0, errors = 0;
        foreach (var path in paths)
        {
            // Each file on its own compiler and namespace, as it would be loaded for a scan.
            var compiler = new YaraCompiler();
            compiler.AddFile(path, path);
            var diags = compiler.Diagnostics;
            bool unreadable = diags.Any(d => d.IsError && d.Line == 0 && d.Rule is null && d.Message.StartsWith("cannot read", StringComparison.Ordinal));
            if (unreadable)
            {
                output.WriteLine($"{path}: cannot read: {diags[0].Message}");
                errors++;
                continue;
            }
            readable++;
            int fileSkipped = diags.Count(d => !d.IsError && d.Rule is not null);
            int fileErrors = diags.Count(d => d.IsError);
            output.WriteLine($"{path}: {compiler.AcceptedCount} rule(s) accepted, {fileSkipped} skipped, {fileErrors} error(s)");
            foreach (var d in diags)
                output.WriteLine($"  line {d.Line}: {(d.IsError ? "error" : "skipped")}{(d.Rule is null ? "" : $" rule {d.Rule}")}: {d.Message}");
            accepted += compiler.AcceptedCount;
            skipped += fileSkipped;
            errors += fileErrors;
        }
        output.WriteLine($"total: {paths.Count} file(s), {accepted} rule(s) accepted, {skipped} skipped, {errors} error(s)");
        if (readable == 0) return ExitCodes.Error;
        return skipped + errors > 0 ? ExitCodes.Findings : ExitCodes.Clean;
    }
}
