using System.CommandLine;
using System.Globalization;
using System.Text;
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
        var threads = new Option<int>("--threads", "-p") { Description = "Worker threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var warnings = new Option<bool>("--show-skipped") { Description = "Also list rules that were skipped as unsupported (on stderr)" };
        var cmd = new Command("yara", "Scan files with YARA rules (yara-compatible output). Each rule file gets its own namespace. " +
                                      "Rules that use unsupported features are skipped with a message on stderr. Exit 0 unless the rules cannot be loaded.")
        {
            args, recursive, strings, defines, maxMb, threads, warnings,
        };
        cmd.SetAction(parse =>
        {
            var a = parse.GetValue(args) ?? [];
            return Run(a[..^1], a[^1], parse.GetValue(recursive), parse.GetValue(strings), parse.GetValue(defines) ?? [],
                Math.Max(1, parse.GetValue(maxMb)) << 20, Math.Clamp(parse.GetValue(threads), 1, 256), parse.GetValue(warnings),
                Console.Out, Console.Error);
        });
        return cmd;
    }

    public static int Run(string[] ruleFiles, string target, bool recursive, bool printStrings, string[] defines, long maxBytes,
        int threads, bool showSkipped, TextWriter stdout, TextWriter stderr)
    {
        var compiler = new YaraCompiler();
        foreach (var d in defines)
        {
            int eq = d.IndexOf('=');
            if (eq <= 0) { stderr.WriteLine($"exir yara: bad -d '{d}' (expected name=value)"); return ExitCodes.Error; }
            compiler.DefineExternal(d[..eq], ParseExternal(d[(eq + 1)..]));
        }
        int n = 0;
        foreach (var f in ruleFiles) compiler.AddFile(f, ruleFiles.Length == 1 ? null : "ns" + n++);
        bool fatal = false;
        foreach (var diag in compiler.Diagnostics)
        {
            if (diag.IsError) { stderr.WriteLine(diag.ToString()); if (diag.Line == 0 && diag.Rule is null) fatal = true; }
            else if (showSkipped) stderr.WriteLine(diag.ToString());
        }
        int skipped = compiler.Diagnostics.Count(d => !d.IsError && d.Rule is not null);
        if (skipped > 0 && !showSkipped) stderr.WriteLine($"exir yara: {skipped} rule(s) skipped as unsupported (--show-skipped lists them)");
        if (fatal && compiler.AcceptedCount == 0) return ExitCodes.Error;
        var rules = compiler.Compile();

        IEnumerable<string> files;
        if (Directory.Exists(target)) files = Walk(target, recursive, stderr);
        else if (File.Exists(target)) files = [target];
        else { stderr.WriteLine($"exir yara: can not open file: {target}"); return ExitCodes.Error; }

        var results = files
            .AsParallel().AsOrdered().WithDegreeOfParallelism(threads)
            .Select(path => (path, text: ScanOne(rules, path, maxBytes, printStrings, out var err), err));
        foreach (var (path, text, err) in results)
        {
            if (err is not null) stderr.WriteLine($"exir yara: {path}: {err}");
            if (text.Length > 0) stdout.Write(text);
        }
        stdout.Flush();
        return ExitCodes.Clean;
    }

    private static object ParseExternal(string v)
    {
        if (v == "true") return true;
        if (v == "false") return false;
        if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return l;
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && v.Contains('.')) return d;
        return v;
    }

    /// <summary>Regular files under a folder; unreadable folders and link loops are reported and skipped.</summary>
    private static IEnumerable<string> Walk(string root, bool recursive, TextWriter stderr)
    {
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            string[] entries;
            string[] subdirs;
            try
            {
                entries = Directory.GetFiles(dir);
                subdirs = recursive ? Directory.GetDirectories(dir) : [];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"exir yara: {dir}: {e.Message}");
                continue;
            }
            Array.Sort(entries, StringComparer.Ordinal);
            foreach (var f in entries) yield return f;
            Array.Sort(subdirs, StringComparer.Ordinal);
            for (int i = subdirs.Length - 1; i >= 0; i--)
            {
                // Like yara -r, do not follow symlinked folders (avoids loops).
                var info = new DirectoryInfo(subdirs[i]);
                if (info.LinkTarget is not null) continue;
                pending.Push(subdirs[i]);
            }
        }
    }

    private static string ScanOne(YaraRules rules, string path, long maxBytes, bool printStrings, out string? error)
    {
        error = null;
        IReadOnlyList<YaraMatch> matches;
        try
        {
            if (!FileKind.IsRegularFile(path)) return ""; // FIFOs, devices, sockets: skipped silently like yara -r
            matches = rules.ScanFile(path, maxBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return "";
        }
        if (matches.Count == 0) return "";
        var sb = new StringBuilder();
        foreach (var m in matches) YaraText.AppendMatch(sb, m, path, printStrings);
        return sb.ToString();
    }
}
