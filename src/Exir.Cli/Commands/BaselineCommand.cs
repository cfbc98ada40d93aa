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
        var create = new Command("create", "Record relative path, size and SHA-256 of every web file, keyed by the exact Exchange build (incl. Security Update)")
        {
            path, output,
        };
        create.SetAction(parse => Run(parse.GetValue(path)!, parse.GetValue(output)!, Console.Out, Console.Error));
        var cmd = new Command("baseline", "Known-good baselines of Exchange web folders for 'exir scan --baseline FILE'");
        cmd.Subcommands.Add(create);
        return cmd;
    }

    public static int Run(string path, string outFile, TextWriter stdout, TextWriter stderr)
    {
        var coverage = new CoverageReport();
        using var source = EvidenceSource.Open(path);
        var baseline = WebBaseline.Create(source, coverage);
        if (baseline.Files.Count == 0)
            throw new UsageException($"no Exchange web files (FrontEnd/HttpProxy, ClientAccess, inetpub) under {path}; nothing to record");
        var full = Path.GetFullPath(outFile);
        var tmp = full + ".tmp";
        using (var w = new StreamWriter(tmp, false, new UTF8Encoding(false)))
            baseline.Write(w);
        File.Move(tmp, full, overwrite: true);
        stdout.WriteLine($"baseline of Exchange {baseline.Build} ({baseline.BuildSource}): {baseline.Files.Count} web files written to {full}");
        foreach (var issue in coverage.Issues.Take(20)) stderr.WriteLine($"exir: {issue.Path}: {issue.Message}");
        if (coverage.Issues.Count > 20) stderr.WriteLine($"exir: ... {coverage.Issues.Count - 20} more input problems");
        return ExitCodes.Clean;
    }
}
