using Exir.Core;
using Exir.Detection.Rules;
using Exir.Yara;

namespace Exir.Detection.Files;

/// <summary>
/// The file hunt's YARA rules: the team's built-in rules (rules/yara/*.yar) plus any files and folders
/// the user adds with --yara. A rule the engine cannot use is reported and skipped; the rest runs. A --yara
/// file or folder of which no rule compiles is a usage error (<see cref="RuleDataException"/>, exit 2): the
/// user asked for a hunt that cannot happen. Each file gets the time limit of rules/scan.yaml (yara.timeout_seconds);
/// rules cut short on a file are named in the coverage.
/// </summary>
public sealed class YaraContentRules : IContentRules
{
    public const string BuiltInFolder = "yara";
    /// <summary>The coverage's name for the YARA layer when it cannot run at all (no rule compiled).</summary>
    public const string LayerCheckName = FileHunt.CheckName + " (YARA)";
    private static readonly string[] RuleExtensions = [".yar", ".yara", ".rule", ".rules"];

    // Parsing finds every problem and counts the rules; building the scanner (atoms, the Aho-Corasick table: about half
    // the cost) waits for the first file that goes to YARA, so a scan without web files never pays for it.
    private readonly Lazy<YaraRules> _rules;
    private readonly HashSet<string> _builtInNamespaces;
    private readonly YaraScanLimits _limits;
    // The rules that also scan normalised text: the built-in ones alone when user rules are loaded too (they would
    // only be filtered out afterwards, at the cost of a second pass of a large user rule set).
    private readonly Lazy<YaraRules> _normalisedRules;

    private YaraContentRules(YaraCompiler rules, HashSet<string> builtIn, List<ContentRuleProblem> problems, YaraScanLimits limits, YaraCompiler? builtInOnly = null)
    {
        _rules = new Lazy<YaraRules>(rules.Compile, LazyThreadSafetyMode.ExecutionAndPublication);
        _normalisedRules = builtInOnly is null ? _rules : new Lazy<YaraRules>(builtInOnly.Compile, LazyThreadSafetyMode.ExecutionAndPublication);
        RuleCount = rules.AcceptedCount;
        _builtInNamespaces = builtIn;
        Problems = problems;
        _limits = limits;
    }

    public int RuleCount { get; }
    public IReadOnlyList<ContentRuleProblem> Problems { get; }
    public YaraRules Compiled => _rules.Value;
    /// <summary>Whether the scanner was built (a file went to YARA, or <see cref="Compiled"/> was read).</summary>
    public bool IsCompiled => _rules.IsValueCreated;

    /// <summary>Compiles the built-in rules and the user's extra rule files or folders (searched recursively).</summary>
    public static YaraContentRules Load(DataFiles rules, IReadOnlyList<string> extra, bool builtIn = true)
    {
        var settings = rules.Exists(ScanSettings.FileName) ? ScanSettings.Load(rules) : ScanSettings.Default;
        var limits = new YaraScanLimits { Timeout = settings.YaraTimeout };
        var compiler = new YaraCompiler();
        var problems = new List<ContentRuleProblem>();
        var builtInNs = new HashSet<string>(StringComparer.Ordinal);
        YaraCompiler? builtInOnly = builtIn && extra.Count > 0 ? new YaraCompiler() : null;
        if (builtIn)
        {
            foreach (var file in rules.List(BuiltInFolder, ".yar"))
            {
                var ns = "exir/" + Path.GetFileNameWithoutExtension(file);
                builtInNs.Add(ns);
                var source = rules.ReadAllText(file);
                compiler.AddSource(source, "rules/" + file, ns);
                builtInOnly?.AddSource(source, "rules/" + file, ns);
            }
        }
        foreach (var entry in extra)
        {
            int accepted = compiler.AcceptedCount, diagnostics = compiler.Diagnostics.Count;
            AddUserEntry(compiler, entry, problems);
            // Nothing of it compiles because of errors (not merely unsupported features): the hunt the user asked for
            // cannot run, which must not pass for "no web shell found".
            if (compiler.AcceptedCount == accepted && compiler.Diagnostics.Skip(diagnostics).FirstOrDefault(d => d.IsError) is { } first)
                throw new RuleDataException(entry, null, $"--yara: no rule compiles: {first}");
        }
        foreach (var d in compiler.Diagnostics)
        {
            var what = d.Rule is null ? "" : $"rule {d.Rule}: ";
            problems.Add(new ContentRuleProblem(d.Origin + (d.Line > 0 ? $":{d.Line}" : ""), (d.IsError ? "error: " : "skipped: ") + what + d.Message, Skipped: true));
        }
        return new YaraContentRules(compiler, builtInNs, problems, limits, builtInOnly);
    }

    private static void AddUserEntry(YaraCompiler compiler, string entry, List<ContentRuleProblem> problems)
    {
        if (File.Exists(entry)) { compiler.AddFile(entry, "user/" + Path.GetFileName(entry)); return; }
        if (!Directory.Exists(entry))
        {
            problems.Add(new ContentRuleProblem(entry, "--yara: no such file or folder", Skipped: true));
            return;
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
            return;
        }
        foreach (var f in files)
            compiler.AddFile(f, "user/" + Path.GetRelativePath(entry, f).Replace('\\', '/'));
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
        return new YaraContentRules(compiler, builtIn ? [ns] : [], problems, YaraScanLimits.Default);
    }

    public IReadOnlyList<ContentRuleMatch> Scan(ReadOnlySpan<byte> data, FileFacts facts) => Scan(data, facts, []);

    /// <summary>The raw scan, then the built-in rules over the normalised text of server script (see <see cref="ScriptNormaliser"/>).</summary>
    public IReadOnlyList<ContentRuleMatch> Scan(ReadOnlySpan<byte> data, FileFacts facts, List<string> incomplete) =>
        WithNormalised(data, facts, ScanRaw(data, facts, incomplete), incomplete);

    public IReadOnlyList<ContentRuleMatch> Scan(ReadOnlyMemory<byte> data, FileFacts facts) => Scan(data, facts, []);

    public IReadOnlyList<ContentRuleMatch> Scan(ReadOnlyMemory<byte> data, FileFacts facts, List<string> incomplete) =>
        WithNormalised(data.Span, facts, ScanRaw(data, facts, incomplete), incomplete);

    /// <summary>The rules over the bytes as they are (what the real yara reports for the same rules).</summary>
    public IReadOnlyList<ContentRuleMatch> ScanRaw(ReadOnlySpan<byte> data, FileFacts facts, List<string> incomplete) =>
        Matches(_rules.Value.Scan(data, Externals(facts), _limits), incomplete);

    /// <summary>Bytes at the start of an array are scanned in place: a 256 MiB page is not copied a second time.</summary>
    public IReadOnlyList<ContentRuleMatch> ScanRaw(ReadOnlyMemory<byte> data, FileFacts facts, List<string> incomplete) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment) && segment.Offset == 0 && segment.Array is { } array
            ? Matches(_rules.Value.Scan(array, segment.Count, Externals(facts), _limits), incomplete)
            : ScanRaw(data.Span, facts, incomplete);

    /// <summary>
    /// Built-in rules that match only once split words are joined and character codes decoded: added to the raw
    /// matches, their strings at the raw offset they came from, marked when the matched text is not in the file as such.
    /// User rules (--yara) see the raw bytes only: their authors wrote them for that.
    /// </summary>
    private IReadOnlyList<ContentRuleMatch> WithNormalised(ReadOnlySpan<byte> raw, FileFacts facts, IReadOnlyList<ContentRuleMatch> rawMatches, List<string> incomplete)
    {
        if (_builtInNamespaces.Count == 0 || !ScriptNormaliser.LooksLikeServerScript(raw)) return rawMatches;
        var normalised = ScriptNormaliser.Normalise(raw);
        if (normalised is null) return rawMatches;
        var seen = rawMatches.Select(m => (m.Namespace, m.Rule)).ToHashSet();
        List<ContentRuleMatch>? added = null;
        foreach (var m in Matches(_normalisedRules.Value.Scan(normalised.Text, normalised.Length, Externals(facts), _limits), incomplete))
        {
            if (!m.BuiltIn || seen.Contains((m.Namespace, m.Rule))) continue;
            // A rule that judges the file's size or layout (a tiny stub page) says so: the normalised text is shorter.
            if (m.Meta.TryGetValue("scan_normalised", out var v) && v == "false") continue;
            var strings = new List<ContentStringMatch>(m.Strings.Count);
            foreach (var s in m.Strings) strings.Add(BackToRaw(s, raw, normalised));
            (added ??= []).Add(m with { Strings = strings });
        }
        return added is null ? rawMatches : [.. rawMatches, .. added];
    }

    private static ContentStringMatch BackToRaw(ContentStringMatch s, ReadOnlySpan<byte> raw, NormalisedScript normalised)
    {
        int at = (int)Math.Clamp(s.Offset, 0, Math.Max(0, normalised.Length - 1));
        int rawOffset = normalised.Length == 0 ? 0 : normalised.RawOffsets[at];
        var bytes = s.Data.Span;
        bool verbatim = rawOffset + bytes.Length <= raw.Length && raw.Slice(rawOffset, bytes.Length).SequenceEqual(bytes);
        return s with { Offset = rawOffset, InNormalisedText = !verbatim };
    }

    private static Dictionary<string, object> Externals(FileFacts facts) => new(StringComparer.Ordinal)
    {
        ["filename"] = facts.FileName,
        ["filepath"] = facts.FilePath,
        ["extension"] = facts.Extension,
    };

    private IReadOnlyList<ContentRuleMatch> Matches(YaraScanResult matches, List<string> incomplete)
    {
        foreach (var p in matches.Problems)
            incomplete.Add(p.Rule is { } r ? $"rule {r.Namespace}:{r.Name}: {p.Message}" : p.Message);
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
