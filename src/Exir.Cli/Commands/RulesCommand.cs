using System.CommandLine;
using Exir.Core;
using Exir.Detection.Files;
using Exir.Detection.Rules;
using Exir.Engine.Rules;
using Exir.Yara;

namespace Exir.Cli.Commands;

/// <summary>
/// exir rules check: validates every kind of rule file (exir's YAML against its schema, YARA with the engine the scan
/// uses, allow-lists and indicator lists with their loaders) and runs every rule's tests: block.
/// </summary>
public static class RulesCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("PATH")
        {
            Description = "Rule folders (laid out like rules/: logs/, eventlogs/, files/, yara/, timeline/, ...), YAML files inside such a folder, " +
                          "or YARA files and folders of them. Without PATH: the rules exir would use (--rules DIR, a rules/ folder beside exir, or the built-in copy).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var rules = CommonOptions.Rules();
        var check = new Command("check", VerbHelp.Of(
            "Check rule files: each file's shape against rules/schemas/exir-rules.schema.json with the line of every problem, what the loaders " +
            "accept, YARA rules with the engine exir scans with (unsupported features named), and every rule's tests: block run through the scan's own code.",
            "0 every rule valid and every test passed, 1 a problem, warning, skipped rule or failed test, 2 nothing readable",
            "exir rules check rules/"))
        {
            paths, rules,
        };
        check.SetAction(parse => Check(parse.GetValue(paths) ?? [], parse.GetValue(rules), Console.Out));
        var cmd = new Command("rules", VerbHelp.Of("Work with rule files.", "see 'exir rules check --help'", "exir rules check"));
        cmd.Subcommands.Add(check);
        return cmd;
    }

    public static int Check(IReadOnlyList<string> inputs, string? rulesDirectory, TextWriter output)
    {
        int problems = 0, checkedFiles = 0, passed = 0, failed = 0;
        var roots = new List<string?>();
        var yaraFiles = new List<string>();
        var onlyFiles = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        if (inputs.Count == 0) roots.Add(rulesDirectory);
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                // A rules folder has exir's layout; any other folder is taken as a folder of YARA files.
                if (IsRulesRoot(input)) roots.Add(input);
                else yaraFiles.AddRange(Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories).Where(IsYara).Order(StringComparer.Ordinal));
            }
            else if (File.Exists(input) && IsYara(input)) yaraFiles.Add(input);
            else if (File.Exists(input) && RulesRootOf(input) is { } root)
            {
                roots.Add(root);
                var rel = Path.GetRelativePath(root, Path.GetFullPath(input)).Replace('\\', '/');
                if (!onlyFiles.TryGetValue(root, out var set)) onlyFiles[root] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(rel);
            }
            else if (File.Exists(input))
            {
                output.WriteLine($"{input}: cannot tell what kind of rule file this is: put it in a rules folder (logs/, eventlogs/, files/, yara/, timeline/, report/) or give a .yar file");
                problems++;
            }
            else throw new UsageException($"rules check: not found: {input}");
        }

        RuleCatalog? builtIn = null;
        foreach (var root in roots.Distinct())
        {
            var data = new DataFiles("rules", typeof(FileHunt).Assembly, root);
            var only = root is not null && onlyFiles.TryGetValue(root, out var s) && !inputs.Any(i => Directory.Exists(i) && Path.GetFullPath(i) == Path.GetFullPath(root)) ? s : null;
            RuleCatalog catalog;
            try { catalog = RuleCatalog.Load(data, validate: true); }
            catch (RuleDataException e)
            {
                output.WriteLine($"{data.Origin}: {e.Message}");
                problems++;
                continue;
            }
            builtIn ??= catalog;
            var dataProblems = OtherDataProblems(data, root);
            foreach (var file in data.List().Where(f => (only is null || only.Contains(f)) && !Path.GetFileName(f).StartsWith('.') && !f.EndsWith(".md", StringComparison.OrdinalIgnoreCase)))
            {
                checkedFiles++;
                var shown = "rules/" + file;
                var fileProblems = catalog.Problems.Where(p => p.File == shown || p.File.StartsWith(shown + ":", StringComparison.Ordinal))
                    .Select(p => p.ToString()).Concat(dataProblems.Where(p => p.File == file).Select(p => p.Message)).ToList();
                var results = RuleTests.RunFile(catalog, file);
                var yaraLines = file.EndsWith(".yar", StringComparison.OrdinalIgnoreCase) ? YaraDiagnostics(data.ReadAllText(file), shown, out var accepted) : [];
                int filePassed = results.Count(r => r.Passed), fileFailed = results.Count - filePassed;
                output.WriteLine($"{shown}: {Summary(RuleFileKinds.Of(file) ?? OtherDataKind(file), fileProblems.Count + yaraLines.Count, filePassed, fileFailed)}");
                foreach (var p in fileProblems) output.WriteLine("  " + p);
                foreach (var l in yaraLines) output.WriteLine("  " + l);
                foreach (var r in results.Where(r => !r.Passed)) output.WriteLine("  " + r);
                problems += fileProblems.Count + yaraLines.Count;
                passed += filePassed;
                failed += fileFailed;
            }
        }

        foreach (var path in yaraFiles)
        {
            checkedFiles++;
            string text;
            try { text = File.ReadAllText(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                output.WriteLine($"{path}: cannot read: {e.Message}");
                problems++;
                continue;
            }
            var lines = YaraDiagnostics(text, path, out var accepted);
            var results = new List<RuleTestResult>();
            var testsFile = Path.ChangeExtension(path, null) + ".tests.yaml";
            if (File.Exists(testsFile))
            {
                builtIn ??= RuleCatalog.Load(new DataFiles("rules", typeof(FileHunt).Assembly, rulesDirectory), validate: true);
                try { results.AddRange(RuleTests.RunYaraTests(builtIn, text, path, YamlJson.Convert(File.ReadAllText(testsFile)), testsFile)); }
                catch (YamlDotNet.Core.YamlException e) { lines.Add($"{testsFile}: not valid YAML: {e.Message}"); }
            }
            output.WriteLine($"{path}: {accepted} rule(s) accepted, {lines.Count} problem(s), {results.Count(r => r.Passed)} test(s) passed, {results.Count(r => !r.Passed)} failed");
            foreach (var l in lines) output.WriteLine("  " + l);
            foreach (var r in results.Where(r => !r.Passed)) output.WriteLine("  " + r);
            problems += lines.Count;
            passed += results.Count(r => r.Passed);
            failed += results.Count(r => !r.Passed);
        }

        output.WriteLine($"total: {checkedFiles} file(s), {problems} problem(s), {passed} test(s) passed, {failed} failed");
        if (checkedFiles == 0) return ExitCodes.Error;
        return problems + failed > 0 ? ExitCodes.Findings : ExitCodes.Clean;
    }

    /// <summary>The kind of the data files other projects read: the proxy's rule set and exposure, the mitigations.</summary>
    private static string? OtherDataKind(string file) =>
        file.StartsWith("proxy/", StringComparison.Ordinal) ? "proxy rules"
        : file.StartsWith(Exir.Mitigation.MitigationRuleSet.Folder + "/", StringComparison.Ordinal) ? "mitigations" : null;

    /// <summary>
    /// Problems of the proxy's and the mitigations' data, loaded the way exir proxy and exir mitigate load them, each
    /// attributed to its file (a problem naming no file of the folder goes to its first file).
    /// </summary>
    private static List<(string File, string Message)> OtherDataProblems(DataFiles data, string? root)
    {
        var found = new List<(string File, string Message)>();
        void Attribute(IReadOnlyList<string> files, IEnumerable<string> messages)
        {
            foreach (var m in messages)
                found.Add((files.FirstOrDefault(f => m.Contains(f, StringComparison.Ordinal)) ?? files[0], m));
        }
        var proxyFiles = data.List("proxy", ".yaml");
        if (proxyFiles.Count > 0)
        {
            try { Exir.Proxy.ProxyPolicy.Load(data); }
            catch (Exir.Proxy.ProxyDataException e) { Attribute(proxyFiles, e.Problems.Select(p => p.ToString())); }
            catch (Exception e) when (e is IOException or InvalidDataException or FileNotFoundException) { Attribute(proxyFiles, [e.Message]); }
        }
        var mitigationFiles = data.List(Exir.Mitigation.MitigationRuleSet.Folder, ".yaml");
        if (mitigationFiles.Count > 0)
        {
            try { Exir.Mitigation.MitigationRuleSet.Load(root); }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                const string prefix = "mitigation rules are invalid: ";
                Attribute(mitigationFiles, e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..].Split("; ") : [e.Message]);
            }
        }
        return found;
    }

    private static string Summary(string? kind, int problems, int passed, int failed) =>
        $"{(kind ?? "data")}, {problems} problem(s)" + (passed + failed > 0 ? $", {passed} test(s) passed, {failed} failed" : "");

    /// <summary>YARA with the scan's engine: errors and rules skipped as unsupported, each with its line.</summary>
    private static List<string> YaraDiagnostics(string text, string origin, out int accepted)
    {
        var compiler = new YaraCompiler();
        compiler.AddSource(text, origin, origin);
        accepted = compiler.AcceptedCount;
        return compiler.Diagnostics.Select(d => $"line {d.Line}: {(d.IsError ? "error" : "skipped")}{(d.Rule is null ? "" : $" rule {d.Rule}")}: {d.Message}").ToList();
    }

    private static bool IsYara(string path) =>
        path.EndsWith(".yar", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yara", StringComparison.OrdinalIgnoreCase);

    private static readonly string[] KindFolders = ["logs", "eventlogs", "files", "yara", "timeline", "report", "allowlists", "iocs", "schemas"];

    private static bool IsRulesRoot(string dir) =>
        File.Exists(Path.Combine(dir, "scan.yaml")) || KindFolders.Count(k => Directory.Exists(Path.Combine(dir, k))) >= 2;

    /// <summary>The rules folder a YAML file belongs to (its folder's parent when the folder is one of the kinds).</summary>
    private static string? RulesRootOf(string file)
    {
        var full = Path.GetFullPath(file);
        var dir = Path.GetDirectoryName(full)!;
        if (RuleFileKinds.Of(Path.GetFileName(dir) + "/" + Path.GetFileName(full)) is null && RuleFileKinds.Of(Path.GetFileName(full)) is null) return null;
        var root = KindFolders.Contains(Path.GetFileName(dir), StringComparer.OrdinalIgnoreCase) ? Path.GetDirectoryName(dir)! : dir;
        return IsRulesRoot(root) ? root : null;
    }
}
