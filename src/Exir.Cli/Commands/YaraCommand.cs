using System.CommandLine;
using System.Globalization;
using System.Text;
using Exir.Core.Evidence;
using Exir.Pipeline;
using Exir.Yara;

namespace Exir.Cli.Commands;

/// <summary>
/// exir yara: scan files with YARA rules and print like the yara command ("RULE PATH", and with -s
/// "0x&lt;offset&gt;:$id: &lt;data&gt;"), so the two can be compared directly.
/// </summary>
public static class YaraCommand
{
    public static Command Create()
    {
        var args = new Argument<string[]>("RULEFILE... PATH")
        {
            Description = "One or more rule files, then the file or folder to scan",
            Arity = new ArgumentArity(2, 100_000),
        };
        var recursive = new Option<bool>("--recursive", "-r") { Description = "Scan folders recursively" };
        var strings = new Option<bool>("--print-strings", "-s") { Description = "Print the matching strings" };
        var defines = new Option<string[]>("--define", "-d") { Description = "Define an external variable: name=value (number, true/false or text)" };
        var maxMb = new Option<long>("--max-file-mb") { Description = "Scan at most this many MiB of each file (0: all; filesize stays the real size); each file cut short is named on stderr", DefaultValueFactory = _ => 0 };
        var timeout = new Option<double>("--timeout", "-a")
        {
            Description = "Time limit per file, in seconds (0: none); rules cut short are named on stderr",
            DefaultValueFactory = _ => DefaultTimeoutSeconds,
        };
        var threads = CommonOptions.Threads();
        var warnings = new Option<bool>("--show-skipped") { Description = "Also list rules that were skipped as unsupported (on stderr)" };
        var noWarnings = new Option<bool>("--no-warnings", "-w") { Description = "Do not print yara's compiler warnings (slow strings, conditions that cannot be met)" };
        var noProgress = CommonOptions.NoProgress();
        var cmd = new Command("yara", VerbHelp.Of(
            "Scan files with YARA rules; the output is the yara command's. Each rule file gets its own namespace. " +
            "Rules that use unsupported features are skipped with a message on stderr; a rule file that does not compile stops the scan, as with yara. " +
            "Compiler warnings like yara's (a string that may slow down scanning, a quantifier that cannot be met) go to stderr unless -w. " +
            "Only regular files are scanned; a rule that cannot be evaluated fully on a file (time limit, a string's matching budget) is named on stderr.",
            "0 no match, 1 matches, 2 rules do not compile, the target cannot be read, or nothing matched but a file could not be scanned fully",
            "exir yara -r -s rules/yara/exir_exec.yar /mnt/exch01/inetpub"))
        {
            args, recursive, strings, defines, maxMb, timeout, threads, warnings, noWarnings, noProgress,
        };
        cmd.SetAction(parse =>
        {
            var a = parse.GetValue(args) ?? [];
            var seconds = parse.GetValue(timeout);
            if (double.IsNaN(seconds) || seconds < 0 || seconds > TimeSpan.MaxValue.TotalSeconds / 2) throw new UsageException($"--timeout must be 0 (none) or a number of seconds, not {seconds}");
            return Run(a[..^1], a[^1], parse.GetValue(recursive), parse.GetValue(strings), parse.GetValue(defines) ?? [],
                parse.GetValue(maxMb) is > 0 and var mb ? Math.Min(mb, long.MaxValue >> 20) << 20 : long.MaxValue, CommonOptions.ThreadCount(parse, threads), parse.GetValue(warnings),
                Console.Out, Console.Error, parse.GetValue(noProgress), seconds > 0 ? TimeSpan.FromSeconds(seconds) : null,
                printWarnings: !parse.GetValue(noWarnings));
        });
        return cmd;
    }

    /// <summary>Default time limit per file: a minute, far more than a 2 GiB file needs with a thousand rules, so it only
    /// ends hostile cases (a loop over 2^63 values); yara's own default is effectively none.</summary>
    public const double DefaultTimeoutSeconds = 60;

    public static int Run(string[] ruleFiles, string target, bool recursive, bool printStrings, string[] defines, long maxBytes,
        int threads, bool showSkipped, TextWriter stdout, TextWriter stderr, bool noProgress = true, TimeSpan? timeout = null,
        bool printWarnings = true)
    {
        var compiler = new YaraCompiler();
        foreach (var d in defines)
        {
            int eq = d.IndexOf('=');
            if (eq <= 0) throw new UsageException($"bad -d '{d}' (expected name=value)");
            compiler.DefineExternal(d[..eq], ParseExternal(d[(eq + 1)..]));
        }
        int n = 0;
        foreach (var f in ruleFiles) compiler.AddFile(f, ruleFiles.Length == 1 ? null : "ns" + n++);
        bool errors = false;
        foreach (var diag in compiler.Diagnostics)
        {
            if (diag.IsError) { stderr.WriteLine(Exir.Core.TextSafety.ForTerminal(diag.ToString())); errors = true; }
            else if (showSkipped) stderr.WriteLine(Exir.Core.TextSafety.ForTerminal(diag.ToString()));
        }
        if (printWarnings)
            foreach (var w in compiler.Warnings) stderr.WriteLine(Exir.Core.TextSafety.ForTerminal(w.ToString()));
        int skipped = compiler.Diagnostics.Count(d => !d.IsError && d.Rule is not null);
        if (skipped > 0 && !showSkipped) stderr.WriteLine($"exir yara: {skipped} rule(s) skipped as unsupported (--show-skipped lists them)");
        // Like yara: rules that do not compile are not half-run.
        if (errors) return ExitCodes.Error;
        var rules = compiler.Compile();
        var limits = new YaraScanLimits { Timeout = timeout };

        List<string> files;
        if (Directory.Exists(target)) files = FileTree.Files(target, recursive, (dir, why) => stderr.WriteLine(Exir.Core.TextSafety.ForTerminal($"exir yara: {dir}: {why}"))).ToList();
        else if (File.Exists(target))
        {
            // A FIFO would block the read forever and a device never end: a target that is not a regular file is refused.
            if (!FileKind.IsRegularFile(target)) { stderr.WriteLine(Exir.Core.TextSafety.ForTerminal($"exir yara: {target}: not a regular file (a device, FIFO or socket); not scanned")); return ExitCodes.Error; }
            files = [target];
        }
        else { stderr.WriteLine(Exir.Core.TextSafety.ForTerminal($"exir yara: can not open file: {target}")); return ExitCodes.Error; }

        var progress = new PipelineProgress();
        progress.SetTotals(files.Count, files.Sum(f => { try { return new FileInfo(f).Length; } catch (IOException) { return 0L; } }));
        bool matched = false, incomplete = false;
        using (ProgressDisplay.Start(progress, "yara", noProgress))
        {
            var results = files
                .AsParallel().AsOrdered().WithDegreeOfParallelism(threads)
                .Select(path => (path, scan: ScanOne(rules, path, maxBytes, printStrings, limits, progress)));
            foreach (var (path, scan) in results)
            {
                if (scan.Error is not null) stderr.WriteLine(Exir.Core.TextSafety.ForTerminal($"exir yara: {path}: {scan.Error}"));
                // Each rule that could not be evaluated fully, by name: the others' results stand.
                foreach (var p in scan.Problems) stderr.WriteLine(Exir.Core.TextSafety.ForTerminal($"exir yara: {path}: {p}"));
                incomplete |= scan.Incomplete;
                if (scan.Text.Length == 0) continue;
                matched = true;
                stdout.Write(scan.Text);
            }
        }
        stdout.Flush();
        // "Nothing found" only when every file was scanned fully.
        return matched ? ExitCodes.Findings : incomplete ? ExitCodes.Error : ExitCodes.Clean;
    }

    private static object ParseExternal(string v)
    {
        if (v == "true") return true;
        if (v == "false") return false;
        if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return l;
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && v.Contains('.')) return d;
        return v;
    }

    private sealed record FileScan(string Text, string? Error, IReadOnlyList<YaraScanProblem> Problems, bool Incomplete);

    private static FileScan ScanOne(YaraRules rules, string path, long maxBytes, bool printStrings, YaraScanLimits limits, PipelineProgress progress)
    {
        YaraScanResult matches;
        try
        {
            // FIFOs, devices, sockets met in a folder walk: skipped like yara -r, but said.
            if (!FileKind.IsRegularFile(path)) return new FileScan("", "not a regular file (a device, FIFO or socket); skipped", [], false);
            matches = rules.ScanFile(path, maxBytes, limits: limits);
            progress.Done(new FileInfo(path).Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new FileScan("", e.Message, [], true);
        }
        var problems = matches.Problems;
        if (matches.Count == 0) return new FileScan("", null, problems, problems.Count > 0);
        var sb = new StringBuilder();
        // yara prints the name raw; a name is the intruder's text (ESC, newline): one line, escapes shown.
        foreach (var m in matches) YaraText.AppendMatch(sb, m, Exir.Core.TextSafety.ForTerminal(path), printStrings);
        return new FileScan(sb.ToString(), null, problems, problems.Count > 0);
    }
}
