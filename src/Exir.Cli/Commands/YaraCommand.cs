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
        var maxMb = new Option<long>("--max-file-mb") { Description = "Bytes scanned per file, in MiB (filesize stays the real size)", DefaultValueFactory = _ => 256 };
        var threads = CommonOptions.Threads();
        var warnings = new Option<bool>("--show-skipped") { Description = "Also list rules that were skipped as unsupported (on stderr)" };
        var noProgress = CommonOptions.NoProgress();
        var cmd = new Command("yara", VerbHelp.Of(
            "Scan files with YARA rules; the output is the yara command's. Each rule file gets its own namespace. " +
            "Rules that use unsupported features are skipped with a message on stderr; a rule file that does not compile stops the scan, as with yara.",
            "0 no match, 1 matches, 2 rules do not compile or the target cannot be read",
            "exir yara -r -s rules/yara/exir_exec.yar /mnt/exch01/inetpub"))
        {
            args, recursive, strings, defines, maxMb, threads, warnings, noProgress,
        };
        cmd.SetAction(parse =>
        {
            var a = parse.GetValue(args) ?? [];
            return Run(a[..^1], a[^1], parse.GetValue(recursive), parse.GetValue(strings), parse.GetValue(defines) ?? [],
                Math.Max(1, parse.GetValue(maxMb)) << 20, CommonOptions.ThreadCount(parse, threads), parse.GetValue(warnings),
                Console.Out, Console.Error, parse.GetValue(noProgress));
        });
        return cmd;
    }

    public static int Run(string[] ruleFiles, string target, bool recursive, bool printStrings, string[] defines, long maxBytes,
        int threads, bool showSkipped, TextWriter stdout, TextWriter stderr, bool noProgress = true)
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
        int skipped = compiler.Diagnostics.Count(d => !d.IsError && d.Rule is not null);
        if (skipped > 0 && !showSkipped) stderr.WriteLine($"exir yara: {skipped} rule(s) skipped as unsupported (--show-skipped lists them)");
        // Like yara: rules that do not compile are not half-run.
        if (errors) return ExitCodes.Error;
        var rules = compiler.Compile();

        List<string> files;
        if (Directory.Exists(target)) files = FileTree.Files(target, recursive, (dir, why) => stderr.WriteLine(Exir.Core.TextSafety.ForTerminal($"exir yara: {dir}: {why}"))).ToList();
        else if (File.Exists(target)) files = [target];
        else { stderr.WriteLine(Exir.Core.TextSafety.ForTerminal($"exir yara: can not open file: {target}")); return ExitCodes.Error; }

        var progress = new PipelineProgress();
        progress.SetTotals(files.Count, files.Sum(f => { try { return new FileInfo(f).Length; } catch (IOException) { return 0L; } }));
        bool matched = false;
        using (ProgressDisplay.Start(progress, "yara", noProgress))
        {
            var results = files
                .AsParallel().AsOrdered().WithDegreeOfParallelism(threads)
                .Select(path => (path, text: ScanOne(rules, path, maxBytes, printStrings, progress, out var err), err));
            foreach (var (path, text, err) in results)
            {
                if (err is not null) stderr.WriteLine(Exir.Core.TextSafety.ForTerminal($"exir yara: {path}: {err}"));
                if (text.Length == 0) continue;
                matched = true;
                stdout.Write(text);
            }
        }
        stdout.Flush();
        return matched ? ExitCodes.Findings : ExitCodes.Clean;
    }

    private static object ParseExternal(string v)
    {
        if (v == "true") return true;
        if (v == "false") return false;
        if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return l;
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && v.Contains('.')) return d;
        return v;
    }

    private static string ScanOne(YaraRules rules, string path, long maxBytes, bool printStrings, PipelineProgress progress, out string? error)
    {
        error = null;
        IReadOnlyList<YaraMatch> matches;
        try
        {
            if (!FileKind.IsRegularFile(path)) return ""; // FIFOs, devices, sockets: skipped silently like yara -r
            matches = rules.ScanFile(path, maxBytes);
            progress.Done(new FileInfo(path).Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return "";
        }
        if (matches.Count == 0) return "";
        var sb = new StringBuilder();
        // yara prints the name raw; a name is the intruder's text (ESC, newline): one line, escapes shown.
        foreach (var m in matches) YaraText.AppendMatch(sb, m, Exir.Core.TextSafety.ForTerminal(path), printStrings);
        return sb.ToString();
    }
}
