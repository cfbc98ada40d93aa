using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Exir.Detection.Rules;

/// <summary>One problem of a rule file: where it is (file, line, column), which rule, and what is wrong.</summary>
/// <param name="Warning">The rule still works (e.g. a user's rule without author or tests); only exir's own rules must have none.</param>
public sealed record RuleProblem(string File, int Line, int Column, string? RuleId, string Message, bool Warning = false)
{
    public override string ToString() =>
        $"{File}{(Line > 0 ? $":{Line}:{Column}" : "")}: {(Warning ? "warning: " : "")}{(RuleId is null ? "" : $"rule {RuleId}: ")}{Message}";
}

/// <summary>The kinds of YAML data under rules/, each with its definition in rules/schemas/exir-rules.schema.json.</summary>
public static class RuleFileKinds
{
    public const string LogRules = "logRules";
    public const string EventRules = "eventRules";
    public const string FileHunt = "fileHunt";
    public const string SuspiciousFiles = "suspiciousFiles";
    public const string Tamper = "tamper";
    public const string YaraTests = "yaraTests";
    public const string NextSteps = "nextSteps";
    public const string ScanSettings = "scanSettings";
    public const string TimelineEvents = "timelineEvents";
    public const string TimelineWeblogs = "timelineWeblogs";
    public const string TimelineTrees = "timelineTrees";
    public const string TimelineScope = "timelineScope";
    /// <summary>The built-in Sigma pack (rules/sigma/, web rules in rules/sigma/web/): Sigma's own format, validated by the engine.</summary>
    public const string SigmaRules = "sigmaRules";

    /// <summary>The kind of a YAML file by where it lies under rules/ ('/'-separated relative path); null when it is not rule data.</summary>
    public static string? Of(string relativePath)
    {
        var p = relativePath.Replace('\\', '/');
        if (!p.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) && !p.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)) return null;
        if (p.StartsWith("sigma/", StringComparison.OrdinalIgnoreCase)) return SigmaRules;
        var name = p[(p.LastIndexOf('/') + 1)..].ToLowerInvariant();
        var folder = p.Contains('/') ? p[..p.LastIndexOf('/')] : "";
        folder = folder[(folder.LastIndexOf('/') + 1)..].ToLowerInvariant();
        return (folder, name) switch
        {
            ("logs", _) => LogRules,
            ("eventlogs", _) => EventRules,
            ("files", "file-hunt.yaml") => FileHunt,
            ("files", "suspicious-files.yaml") => SuspiciousFiles,
            ("yara", _) when name.EndsWith(".tests.yaml", StringComparison.Ordinal) => YaraTests,
            ("report", "next-steps.yaml") => NextSteps,
            ("timeline", "tamper.yaml") => Tamper,
            ("timeline", "events.yaml") => TimelineEvents,
            ("timeline", "weblogs.yaml") => TimelineWeblogs,
            ("timeline", "process-trees.yaml") => TimelineTrees,
            ("timeline", "scope.yaml") => TimelineScope,
            (_, "scan.yaml") => ScanSettings,
            _ => null,
        };
    }
}

/// <summary>
/// Validates rule YAML against rules/schemas/exir-rules.schema.json (JSON Schema 2020-12, by JsonSchema.Net) and
/// reports every problem with its line and column in the YAML, the rule it belongs to, and a plain message
/// ("unknown key 'severty'", "'huge' is not one of low, medium, high, critical").
/// </summary>
public sealed partial class RuleSchema
{
    public const string SchemaFile = "schemas/exir-rules.schema.json";

    private readonly JsonNode _document;
    private readonly Dictionary<string, JsonSchema> _byKind = new(StringComparer.Ordinal);

    private RuleSchema(JsonNode document) => _document = document;

    public static RuleSchema Load(Exir.Core.DataFiles data)
    {
        if (!data.Exists(SchemaFile)) throw new RuleDataException(SchemaFile, null, "missing: exir cannot validate its rules without it");
        JsonNode doc;
        try { doc = JsonNode.Parse(data.ReadAllText(SchemaFile)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new RuleDataException(SchemaFile, null, "not valid JSON: " + e.Message); }
        return new RuleSchema(doc);
    }

    private JsonSchema For(string kind)
    {
        lock (_byKind)
        {
            if (_byKind.TryGetValue(kind, out var s)) return s;
            if (_document["$defs"]?[kind] is null) throw new RuleDataException(SchemaFile, null, $"no definition '{kind}'");
            // The file's definitions, entered at the one of this kind.
            var root = _document.DeepClone().AsObject();
            root.Remove("$id");
            root["$ref"] = "#/$defs/" + kind;
            s = JsonSchema.Build(JsonDocument.Parse(root.ToJsonString()).RootElement, new BuildOptions { SchemaRegistry = new SchemaRegistry() });
            _byKind[kind] = s;
            return s;
        }
    }

    /// <summary>Validates one file's text; an empty list means the file has the shape its kind requires.</summary>
    public IReadOnlyList<RuleProblem> Validate(string file, string yaml, string kind)
    {
        YamlJson converted;
        try { converted = YamlJson.Convert(yaml); }
        catch (YamlException e)
        {
            return [new RuleProblem(file, (int)e.Start.Line, (int)e.Start.Column, null, "not valid YAML: " + e.Message)];
        }
        using var doc = JsonDocument.Parse(converted.Json.ToJsonString());
        var results = For(kind).Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.Hierarchical });
        if (results.IsValid) return [];
        var errors = new List<(string Pointer, string Path, string Keyword, string Message)>();
        Collect(results, errors);
        var problems = new List<RuleProblem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (pointer, path, keyword, message) in errors)
        {
            var text = Explain(keyword, message, pointer, path, converted, kind);
            if (!seen.Add(pointer + "\n" + text)) continue;
            var (line, col) = converted.Locate(pointer);
            problems.Add(new RuleProblem(file, line, col, converted.RuleIdAt(pointer), text, IsAdvisory(keyword, message, pointer)));
        }
        if (problems.Count == 0) problems.Add(new RuleProblem(file, 1, 1, null, "does not have the shape of " + kind));
        return problems.OrderBy(p => p.Line).ThenBy(p => p.Column).ToList();
    }

    /// <summary>
    /// The errors worth showing: a node's own keyword errors, then its failed children; of the branches of a failed
    /// oneOf/anyOf only the one that came closest (fewest errors), so "a condition with an unknown key" is not
    /// also reported as "not a list, not an any, not an all".
    /// </summary>
    private static void Collect(EvaluationResults r, List<(string, string, string, string)> into)
    {
        if (r.IsValid) return;
        var path = r.EvaluationPath.ToString();
        var failed = (r.Details ?? []).Where(c => !c.IsValid).ToList();
        foreach (var (keyword, message) in r.Errors ?? new Dictionary<string, string>())
        {
            // Summaries of children ("Expected 1 matching subschema", "not all items valid") add nothing to the children's own errors.
            if (failed.Count > 0 && keyword is "oneOf" or "anyOf" or "allOf" or "$ref" or "items" or "properties" or "additionalProperties" or "unevaluatedProperties" or "prefixItems") continue;
            into.Add((r.InstanceLocation.ToString(), path, keyword, message));
        }
        // The branches of one oneOf/anyOf: only the one that came closest speaks.
        foreach (var group in failed.GroupBy(c => Branch().Match(c.EvaluationPath.ToString()) is { Success: true } m ? m.Groups[1].Value : c.EvaluationPath.ToString() + "#" + c.InstanceLocation))
        {
            var children = group.ToList();
            if (children.Count > 1 && Branch().IsMatch(children[0].EvaluationPath.ToString()))
                Collect(children.OrderBy(Count).ThenByDescending(Depth).First(), into);
            else
                foreach (var c in children) Collect(c, into);
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(.*/(?:oneOf|anyOf))/\d+$")]
    private static partial System.Text.RegularExpressions.Regex Branch();

    private static int Count(EvaluationResults r)
    {
        var list = new List<(string, string, string, string)>();
        Collect(r, list);
        return list.Count;
    }

    private static int Depth(EvaluationResults r) =>
        Math.Max(r.InstanceLocation.ToString().Count(c => c == '/'), (r.Details ?? []).Where(c => !c.IsValid).Select(Depth).DefaultIfEmpty(0).Max());

    /// <summary>Metadata and tests a rule should have but can work without: missing, they warn instead of dropping the rule.</summary>
    private static readonly HashSet<string> AdvisoryKeys = ["author", "status", "falsepositives", "tests", "date"];

    private static bool IsAdvisory(string keyword, string message, string pointer) => keyword switch
    {
        "required" => System.Text.RegularExpressions.Regex.Matches(message, "\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList() is { Count: > 0 } missing
                      && missing.All(AdvisoryKeys.Contains),
        "minItems" => pointer.EndsWith("/tests", StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>The validator's message in the words of someone editing the file.</summary>
    private string Explain(string keyword, string message, string pointer, string evaluationPath, YamlJson converted, string kind)
    {
        var key = pointer.Length == 0 ? "" : Unescape(pointer[(pointer.LastIndexOf('/') + 1)..]);
        var value = converted.ValueAt(pointer);
        if (evaluationPath.EndsWith("/additionalProperties", StringComparison.Ordinal) || evaluationPath.EndsWith("/unevaluatedProperties", StringComparison.Ordinal))
            return $"unknown key '{key}'";
        if (keyword == "enum" && SchemaAt(evaluationPath, kind)?["enum"] is JsonArray values)
            return $"'{value}' is not one of {string.Join(", ", values.Select(v => v?.ToString()))}";
        if (keyword == "pattern" && SchemaAt(evaluationPath, kind)?["pattern"] is JsonValue pattern)
            return $"'{value}' does not have the expected form ({pattern})";
        if (keyword == "required")
            return "missing key(s): " + string.Join(", ", System.Text.RegularExpressions.Regex.Matches(message, "\"([^\"]+)\"").Select(m => m.Groups[1].Value));
        if (keyword == "type") return $"{(key.Length > 0 ? $"'{key}': " : "")}{message.Replace("Value is", "the value is")}";
        return (key.Length > 0 ? $"'{key}': " : "") + message;
    }

    /// <summary>The schema node an evaluation path ends at (following each $ref into $defs), for the allowed values of an enum.</summary>
    private JsonNode? SchemaAt(string evaluationPath, string kind)
    {
        JsonNode? current = _document;
        // The validator writes an applied "items" twice (keyword, then its subschema).
        foreach (var part in evaluationPath.Replace("/items/items", "/items").Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Unescape))
        {
            if (current is null) return null;
            if (part == "$ref")
            {
                // The root the validator builds is a $ref to the kind's definition.
                if (ReferenceEquals(current, _document)) { current = _document["$defs"]?[kind]; continue; }
                current = current["$ref"] is JsonValue r && r.ToString().StartsWith("#/$defs/", StringComparison.Ordinal)
                    ? _document["$defs"]?[r.ToString()["#/$defs/".Length..]] : null;
                continue;
            }
            current = current switch
            {
                JsonObject o => o[part],
                JsonArray a when int.TryParse(part, out var i) && i < a.Count => a[i],
                _ => null,
            };
        }
        if (current?["$ref"] is JsonValue last && last.ToString().StartsWith("#/$defs/", StringComparison.Ordinal) && current["enum"] is null && current["pattern"] is null)
            current = _document["$defs"]?[last.ToString()["#/$defs/".Length..]];
        return current;
    }

    private static string Unescape(string token) => token.Replace("~1", "/").Replace("~0", "~");
}

/// <summary>
/// YAML as JSON for the schema validator, remembering where each value stood in the YAML (JSON pointer to line and
/// column) and which rule id encloses it. Plain scalars read as YAML 1.2's core schema does (numbers, true/false, null);
/// quoted scalars stay strings.
/// </summary>
public sealed class YamlJson
{
    private readonly Dictionary<string, (int Line, int Column)> _marks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _ruleIds = new(StringComparer.Ordinal);

    public JsonNode Json { get; private set; } = new JsonObject();

    public static YamlJson Convert(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var result = new YamlJson();
        result.Json = stream.Documents.Count == 0 ? new JsonObject() : result.Node(stream.Documents[0].RootNode, "") ?? new JsonObject();
        return result;
    }

    public (int Line, int Column) Locate(string pointer)
    {
        for (var p = pointer; ; p = p[..p.LastIndexOf('/')])
        {
            if (_marks.TryGetValue(p, out var m)) return m;
            if (p.Length == 0) return (1, 1);
        }
    }

    /// <summary>The value at a pointer as short text (for messages).</summary>
    public string ValueAt(string pointer)
    {
        JsonNode? n = Json;
        foreach (var part in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var key = part.Replace("~1", "/").Replace("~0", "~");
            n = n switch
            {
                JsonObject o => o[key],
                JsonArray a when int.TryParse(key, out var i) && i < a.Count => a[i],
                _ => null,
            };
        }
        var text = n?.ToString() ?? "";
        return text.Length > 80 ? text[..80] + "..." : text;
    }

    /// <summary>The id of the rule the pointer lies in (the nearest enclosing object with an "id").</summary>
    public string? RuleIdAt(string pointer)
    {
        for (var p = pointer; ; p = p[..p.LastIndexOf('/')])
        {
            if (_ruleIds.TryGetValue(p, out var id)) return id;
            if (p.Length == 0) return null;
        }
    }

    private JsonNode? Node(YamlNode node, string pointer)
    {
        _marks[pointer] = ((int)node.Start.Line, (int)node.Start.Column);
        switch (node)
        {
            case YamlMappingNode map:
                var o = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    var key = k is YamlScalarNode ks ? ks.Value ?? "" : k.ToString();
                    var child = pointer + "/" + key.Replace("~", "~0").Replace("/", "~1");
                    _marks[child] = ((int)k.Start.Line, (int)k.Start.Column);
                    // Duplicate keys: the last one wins, as in the loaders.
                    o[key] = Node(v, child);
                    if (key == "id" && v is YamlScalarNode idNode && idNode.Value is { Length: > 0 } id) _ruleIds[pointer] = id;
                }
                return o;
            case YamlSequenceNode seq:
                var a = new JsonArray();
                int i = 0;
                foreach (var item in seq.Children) a.Add(Node(item, pointer + "/" + i++));
                return a;
            case YamlScalarNode s:
                return Scalar(s);
            default:
                return null;
        }
    }

    private static JsonNode? Scalar(YamlScalarNode s)
    {
        var v = s.Value ?? "";
        if (s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded) return JsonValue.Create(v);
        switch (v)
        {
            case "" or "~" or "null" or "Null" or "NULL": return null;
            case "true" or "True" or "TRUE": return JsonValue.Create(true);
            case "false" or "False" or "FALSE": return JsonValue.Create(false);
        }
        if (long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (v.Length > 0 && (char.IsAsciiDigit(v[0]) || v[0] is '-' or '+' or '.') &&
            double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)) return JsonValue.Create(d);
        return JsonValue.Create(v);
    }
}
