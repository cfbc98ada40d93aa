using System.CommandLine;
using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Detection.Files;

namespace Exir.Cli.Commands;

/// <summary>exir baseline create PATH --out FILE: records the web files of a known-good server of one exact build.</summary>
public static class BaselineCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("PATH") { Description = "A clean Exchange server of the same exact build (mounted drive, Exchange folder or collection .zip)" };
        var output = new Option<string>("--out", "-o") { Description = "Baseline file to write", Required = true };
        var rules = CommonOptions.Rules();
        var create = new Command("create", VerbHelp.Of(
            "Record relative path, size and SHA-256 of every web file of a known-good server, keyed by its exact Exchange build (incl. Security Update).",
            "0 baseline written, 2 could not (no exact build, no web files, unreadable evidence)",
            "exir baseline create /mnt/clean-exch --out exch-15.1.2507.72.baseline"))
        {
            path, output, rules,
        };
        create.SetAction(parse => Run(parse.GetValue(path)!, parse.GetValue(output)!, parse.GetValue(rules), Console.Out, Console.Error));
        var cmd = new Command("baseline", VerbHelp.Of("Known-good baselines of Exchange web folders for 'exir scan --baseline FILE'.",
            "see 'exir baseline create --help'", "exir baseline create /mnt/clean-exch --out exch.baseline"));
        cmd.Subcommands.Add(create);
        return cmd;
    }

    public static int Run(string path, string outFile, string? rulesDirectory, TextWriter stdout, TextWriter stderr)
    {
        var coverage = new CoverageReport();
        using var source = EvidenceSource.Open(path);
        OutputFolder.EnsureOutside(Path.GetDirectoryName(Path.GetFullPath(outFile))!, [path]);
        var rules = FileHuntRules.Load(new Exir.Core.DataFiles("rules", typeof(FileHuntRules).Assembly, rulesDirectory));
        var baseline = WebBaseline.Create(source, coverage, rules.ScriptExtensions);
        if (baseline.Files.Count == 0)
            throw new UsageException($"no Exchange web files (FrontEnd/HttpProxy, ClientAccess, inetpub) under {path}; nothing to record");
        var full = Path.GetFullPath(outFile);
        var tmp = full + ".tmp";
        using (var w = new StreamWriter(tmp, false, new UTF8Encoding(false)))
            baseline.Write(w);
        File.Move(tmp, full, overwrite: true);
        stderr.WriteLine($"exir: baseline of Exchange {baseline.Build} ({baseline.BuildSource}): {baseline.Files.Count} web files written to {full}");
        foreach (var issue in coverage.Issues.Take(20)) stderr.WriteLine($"exir: {issue.Path}: {issue.Message}");
        if (coverage.Issues.Count > 20) stderr.WriteLine($"exir: ... {coverage.Issues.Count - 20} more input problems");
        return ExitCodes.Clean;
    }
}
