using Exir.Core;
using Exir.Yara;

namespace Exir.Detection.Files;

/// <summary>
/// The file hunt's YARA rules: the team's built-in rules (rules/yara/*.yar) plus any files and folders
/// the user adds with --yara. A rule or file the engine cannot use is reported and skipped; the rest runs.
/// </summary>
public sealed class YaraContentRules : IContentRules
{
    public const string BuiltInFolder = "yara";
    private static readonly string[] RuleExtensions = [".yar", ".yara", ".rule", ".rules"];

    private readonly YaraRules _rules;
    private readonly HashSet<string> _builtInNamespaces;

    private YaraContentRules(YaraRules rules, HashSet<string> builtIn, List<ContentRuleProblem> problems)
    {
        _rules = rules;
        _builtInNamespaces = builtIn;
        Problems = problems;
    }

    public int RuleCount => _rules.Rules.Count;
    public IReadOnlyList<ContentRuleProblem> Problems { get; }
    public YaraRules Compiled => _rules;

    /// <summary>Compiles the built-in rules and the user's extra rule files or folders (searched recursively).</summary>
    public static YaraContentRules Load(DataFiles rules, IReadOnlyList<string> extra, bool builtIn = true)
    {
        var compiler = new YaraCompiler();
        var problems = new List<ContentRuleProblem>();
        var builtInNs = new HashSet<string>(StringComparer.Ordinal);
        if (builtIn)
        {
            foreach (var file in rules.List(BuiltInFolder, ".yar"))
            {
                var ns = "exir/" + Path.GetFileNameWithoutExtension(file);
                builtInNs.Add(ns);
                compiler.AddSource(rules.ReadAllText(file), "rules/" + file, ns);
            }
        }
        foreach (var entry in extra)
        {
            if (File.Exists(entry)) { compiler.AddFile(entry, "user/" + Path.GetFileName(entry)); continue; }
            if (!Directory.Exists(entry))
            {
                problems.Add(new ContentRuleProblem(entry, "--yara: no such file or folder", Skipped: true));
                continue;
            }
            IEnumerable<string> files;
            try
            {
                files = Directory.EnumerateFiles(entry, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                    .Where(f => RuleExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                    .Order(StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add(new ContentRuleProblem(entry, "--yara: folder not readable: " + e.Message, Skipped: true));
                continue;
            }
            foreach (var f in files)
                compiler.AddFile(f, "user/" + Path.GetRelativePath(entry, f).Replace('\\', '/'));
        }
        foreach (var d in compiler.Diagnostics)
        {
            var what = d.Rule is null ? "" : $"rule {d.Rule}: ";
            problems.Add(new ContentRuleProblem(d.Origin + (d.Line > 0 ? $":{d.Line}" : ""), (d.IsError ? "error: " : "skipped: ") + what + d.Message, Skipped: true));
        }
        return new YaraContentRules(compiler.Compile(), builtInNs, problems);
    }

    /// <summary>The rules of one YARA source as content rules (a rule file's tests run with exactly its rules).</summary>
    public static YaraContentRules FromSource(string source, string origin, bool builtIn)
    {
        var compiler = new YaraCompiler();
        var ns = "exir/" + Path.GetFileNameWithoutExtension(origin);
        compiler.AddSource(source, origin, ns);
        var problems = compiler.Diagnostics
            .Select(d => new ContentRuleProblem(d.Origin + (d.Line > 0 ? $":{d.Line}" : ""), (d.IsError ? "error: " : "skipped: ") + (d.Rule is null ? "" : $"rule {d.Rule}: ") + d.Message, Skipped: true))
            .ToList();
        return new YaraContentRules(compiler.Compile(), builtIn ? [ns] : [], problems);
    }

    public IReadOnlyList<ContentRuleMatch> Scan(ReadOnlySpan<byte> data, FileFacts facts) => Matches(_rules.Scan(data, Externals(facts)));

    /// <summary>Bytes at the start of an array are scanned in place: a 256 MiB page is not copied a second time.</summary>
    public IReadOnlyList<ContentRuleMatch> Scan(ReadOnlyMemory<byte> data, FileFacts facts) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment) && segment.Offset == 0 && segment.Array is { } array
            ? Matches(_rules.Scan(array, segment.Count, Externals(facts)))
            : Scan(data.Span, facts);

    private static Dictionary<string, object> Externals(FileFacts facts) => new(StringComparer.Ordinal)
    {
        ["filename"] = facts.FileName,
        ["filepath"] = facts.FilePath,
        ["extension"] = facts.Extension,
    };

    private IReadOnlyList<ContentRuleMatch> Matches(IReadOnlyList<YaraMatch> matches)
    {
        if (matches.Count == 0) return [];
        var result = new List<ContentRuleMatch>(matches.Count);
        foreach (var m in matches)
        {
            var strings = m.Strings.Select(s => new ContentStringMatch(s.Identifier, s.Offset, s.Data)).ToList();
            result.Add(new ContentRuleMatch(m.Rule.Namespace, m.Rule.Name, m.Rule.Tags, m.Rule.Meta, strings, _builtInNamespaces.Contains(m.Rule.Namespace)));
        }
        return result;
    }
}
