using System.Text.RegularExpressions;
using Exir.Core;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Exir.Mitigation;

/// <summary>A request used to prove a rule: the raw request URI (path and query as sent) and the Cookie header.</summary>
public sealed record SampleRequest(string Uri, string Cookie);

/// <summary>One containment rule of rules/mitigations: what it matches, how often the value is decoded first, and its samples.</summary>
public sealed record MitigationRule
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    public required IReadOnlyList<string> Waves { get; init; }
    public required IReadOnlyList<string> Cves { get; init; }
    public required string IisName { get; init; }
    /// <summary>HTTP_COOKIE or REQUEST_URI.</summary>
    public required string Variable { get; init; }
    /// <summary>How many times the value is URL-decoded before <see cref="Pattern"/> runs (0..2).</summary>
    public required int Decode { get; init; }
    public required string Pattern { get; init; }
    public required string Action { get; init; }
    public required string Stops { get; init; }
    public required IReadOnlyList<string> References { get; init; }
    public required IReadOnlyList<SampleRequest> AttackSamples { get; init; }
    public required IReadOnlyList<SampleRequest> BenignSamples { get; init; }
    public string Origin { get; init; } = "";

    public bool OnCookie => Variable == "HTTP_COOKIE";

    /// <summary>The value this rule looks at for a request, decoded as often as the rule asks.</summary>
    public string ValueOf(SampleRequest r) => OnCookie ? r.Cookie : UriForms.Decode(r.Uri, Decode);

    public Regex Regex() => new(Pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    public bool Blocks(SampleRequest r) => Regex().IsMatch(ValueOf(r));
}

public sealed record MitigationRuleSet(string Version, IReadOnlyList<MitigationRule> Rules, string Origin)
{
    public const string Folder = "mitigations";
    public static readonly string[] Variables = ["HTTP_COOKIE", "REQUEST_URI"];

    /// <summary>The rule set from a rules folder (--rules DIR: the folder holding mitigations/, or mitigations/ itself), else the built-in one.</summary>
    public static MitigationRuleSet Load(string? rulesDirectory = null)
    {
        if (rulesDirectory is not null && Directory.Exists(rulesDirectory)
            && Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(rulesDirectory))).Equals(Folder, StringComparison.OrdinalIgnoreCase))
        {
            // The mitigations folder itself was given.
            return LoadFiles(Directory.EnumerateFiles(rulesDirectory, "*.yaml").Order(StringComparer.Ordinal)
                .Select(f => (f, File.ReadAllText(f))).ToList(), rulesDirectory);
        }
        var data = new DataFiles("rules", typeof(MitigationRuleSet).Assembly, rulesDirectory);
        var files = data.List(Folder, ".yaml");
        if (files.Count == 0) throw new InvalidDataException($"no mitigation rules (*.yaml) under {data.Origin}/{Folder}");
        return LoadFiles(files.Select(f => ("rules/" + f, data.ReadAllText(f))).ToList(), data.Origin);
    }

    /// <summary>Parses and validates; every problem is reported as file:line: message, all at once.</summary>
    public static MitigationRuleSet LoadFiles(IReadOnlyList<(string Name, string Yaml)> files, string origin)
    {
        var problems = new List<string>();
        var rules = new List<MitigationRule>();
        string? version = null;
        foreach (var (name, yaml) in files)
        {
            var reader = new Reader(name, problems);
            var (v, r) = reader.Read(yaml);
            version ??= v;
            rules.AddRange(r);
        }
        foreach (var dup in rules.GroupBy(r => r.Id, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            problems.Add($"{dup.Last().Origin}: id '{dup.Key}' is defined more than once");
        foreach (var dup in rules.GroupBy(r => r.IisName, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            problems.Add($"{dup.Last().Origin}: iis_name '{dup.Key}' is used by more than one rule");
        if (problems.Count > 0) throw new InvalidDataException("mitigation rules are invalid: " + string.Join("; ", problems));
        if (rules.Count == 0) throw new InvalidDataException($"no mitigation rules in {origin}");
        return new MitigationRuleSet(version ?? "unversioned", rules, origin);
    }

    private sealed class Reader(string file, List<string> problems)
    {
        private void Problem(YamlNode? node, string message) =>
            problems.Add($"{file}:{(node is null ? 0 : node.Start.Line)}: {message}");

        public (string? Version, List<MitigationRule> Rules) Read(string yaml)
        {
            var rules = new List<MitigationRule>();
            var stream = new YamlStream();
            try { stream.Load(new StringReader(yaml)); }
            catch (YamlException e)
            {
                problems.Add($"{file}:{e.Start.Line}: not valid YAML: {e.InnerException?.Message ?? e.Message}");
                return (null, rules);
            }
            catch (InvalidOperationException e)
            {
                problems.Add($"{file}:0: not valid YAML: {e.Message}");
                return (null, rules);
            }
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                Problem(null, "a mitigation file is a mapping with version and mitigations");
                return (null, rules);
            }
            var version = Scalar(root, "version");
            if (Get(root, "mitigations") is not YamlSequenceNode list) { Problem(root, "mitigations: a list of rules is required"); return (version, rules); }
            foreach (var item in list)
            {
                if (item is not YamlMappingNode m) { Problem(item, "each mitigation is a mapping"); continue; }
                if (ReadRule(m) is { } rule) rules.Add(rule);
            }
            return (version, rules);
        }

        private static readonly string[] RuleKeys = ["id", "title", "waves", "cves", "iis_name", "match", "action", "stops", "references", "samples"];

        private MitigationRule? ReadRule(YamlMappingNode m)
        {
            var before = problems.Count;
            foreach (var key in m.Children.Keys)
                if (!RuleKeys.Contains(key.ToString())) Problem(key, $"unknown key '{key}' (known: {string.Join(", ", RuleKeys)})");
            var id = Required(m, "id");
            if (id is not null && !Regex.IsMatch(id, "^[a-z0-9][a-z0-9-]*$")) Problem(Get(m, "id"), $"id '{id}': lower-case letters, digits and '-' only");
            var title = Required(m, "title");
            var iisName = Required(m, "iis_name");
            if (iisName is not null && iisName.IndexOfAny(['\'', '"', '<', '>', '&', '[', ']']) >= 0)
                Problem(Get(m, "iis_name"), "iis_name must not contain quotes, brackets, < > or &: it becomes an XML attribute and a configuration path");
            var stops = Required(m, "stops");
            var action = Required(m, "action");
            if (action is not null && action != "abort") Problem(Get(m, "action"), $"action '{action}': only 'abort' is supported");
            string? variable = null, pattern = null;
            var decode = 0;
            if (Get(m, "match") is not YamlMappingNode match) Problem(m, "match: a mapping with variable, decode and pattern is required");
            else
            {
                variable = Required(match, "variable");
                if (variable is not null && !Variables.Contains(variable)) Problem(Get(match, "variable"), $"variable '{variable}': use {string.Join(" or ", Variables)}");
                var d = Required(match, "decode");
                if (d is not null && (!int.TryParse(d, out decode) || decode is < 0 or > 2)) Problem(Get(match, "decode"), $"decode '{d}': 0, 1 or 2");
                pattern = Required(match, "pattern");
                if (pattern is not null)
                {
                    try { _ = new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant); }
                    catch (ArgumentException e) { Problem(Get(match, "pattern"), $"pattern does not compile: {e.Message}"); }
                    if (pattern.IndexOfAny(['"', '\'', '$', '{', '}', ' ', '#']) >= 0)
                        Problem(Get(match, "pattern"), "pattern must not contain quotes, $, { }, spaces or #: they mean something else in nginx, HAProxy or IIS configuration");
                }
            }
            var attack = new List<SampleRequest>();
            var benign = new List<SampleRequest>();
            if (Get(m, "samples") is not YamlMappingNode samples) Problem(m, "samples: attack and benign requests are required");
            else
            {
                attack = Samples(samples, "attack");
                benign = Samples(samples, "benign");
                if (attack.Count == 0) Problem(samples, "samples.attack: at least one attack request");
            }
            if (problems.Count > before) return null;
            var rule = new MitigationRule
            {
                Id = id!, Title = title!, Waves = List(m, "waves"), Cves = List(m, "cves"), IisName = iisName!, Variable = variable!,
                Decode = decode, Pattern = pattern!, Action = action!, Stops = stops!, References = List(m, "references"),
                AttackSamples = attack, BenignSamples = benign, Origin = $"{file}:{m.Start.Line}",
            };
            // The samples are the rule's own tests: a rule that misses its attacks or blocks normal traffic is not loaded.
            foreach (var a in attack.Where(a => !rule.Blocks(a))) Problem(m, $"{id}: pattern does not stop its attack sample {Describe(a)}");
            foreach (var b in benign.Where(rule.Blocks)) Problem(m, $"{id}: pattern blocks its benign sample {Describe(b)}");
            return problems.Count > before ? null : rule;
        }

        private static string Describe(SampleRequest r) => r.Cookie.Length > 0 ? $"Cookie: {r.Cookie}" : r.Uri;

        private List<SampleRequest> Samples(YamlMappingNode samples, string key)
        {
            var result = new List<SampleRequest>();
            if (Get(samples, key) is null) return result;
            if (Get(samples, key) is not YamlSequenceNode seq) { Problem(Get(samples, key), $"samples.{key}: a list of {{ uri, cookie }}"); return result; }
            foreach (var s in seq)
            {
                if (s is not YamlMappingNode sm || Scalar(sm, "uri") is not { } uri || !uri.StartsWith('/'))
                {
                    Problem(s, $"samples.{key}: each sample needs uri (starting with /) and may have cookie");
                    continue;
                }
                result.Add(new SampleRequest(uri, Scalar(sm, "cookie") ?? ""));
            }
            return result;
        }

        private string? Required(YamlMappingNode m, string key)
        {
            var v = Scalar(m, key);
            if (string.IsNullOrWhiteSpace(v)) { Problem(Get(m, key) ?? m, $"{key}: required"); return null; }
            return v;
        }

        private static YamlNode? Get(YamlMappingNode m, string key) =>
            m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

        private static string? Scalar(YamlMappingNode m, string key) => Get(m, key) is YamlScalarNode s ? s.Value : null;

        private static List<string> List(YamlMappingNode m, string key) => Get(m, key) switch
        {
            YamlSequenceNode seq => seq.OfType<YamlScalarNode>().Select(s => s.Value ?? "").Where(s => s.Length > 0).ToList(),
            YamlScalarNode s when !string.IsNullOrEmpty(s.Value) => [s.Value!],
            _ => [],
        };
    }
}
