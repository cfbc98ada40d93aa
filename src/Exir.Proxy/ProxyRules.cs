using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Exir.Proxy;

public enum RuleAction { Block, Log }

/// <summary>What a rule looks at. Multi-valued fields (headers, cookies) match when any value does.</summary>
public enum RuleField { Method, Path, Query, Uri, UserAgent, HeaderName, Header, CookieName, Cookie, Client }

/// <summary>What the engine needs beside the request: whether the client is inside the internal networks.</summary>
public readonly record struct RuleContext(NormalisedRequest Request, bool ClientIsInternal);

/// <summary>A precompiled condition tree.</summary>
public abstract class RuleCondition
{
    public abstract bool Match(in RuleContext context);
}

internal sealed class AllCondition(RuleCondition[] parts) : RuleCondition
{
    public override bool Match(in RuleContext context)
    {
        foreach (var p in parts) if (!p.Match(context)) return false;
        return true;
    }
}

internal sealed class AnyCondition(RuleCondition[] parts) : RuleCondition
{
    public override bool Match(in RuleContext context)
    {
        foreach (var p in parts) if (p.Match(context)) return true;
        return false;
    }
}

internal sealed class NotCondition(RuleCondition inner) : RuleCondition
{
    public override bool Match(in RuleContext context) => !inner.Match(context);
}

internal enum Operator { Equals, Prefix, Suffix, Contains, Regex, Exists }

/// <summary>One field against one operator and its values (any value matching is a match). Text comparisons ignore case.</summary>
internal sealed class FieldCondition(RuleField field, string? name, Operator op, string[] values, Regex? regex) : RuleCondition
{
    public override bool Match(in RuleContext context)
    {
        var r = context.Request;
        switch (field)
        {
            case RuleField.Method: return Test(r.Method);
            case RuleField.Path: return Test(r.Path);
            case RuleField.Query: return Test(r.Query);
            case RuleField.Uri: return Test(r.DecodedUri);
            case RuleField.UserAgent: return Test(r.UserAgent);
            case RuleField.Client: return Test(context.ClientIsInternal ? "internal" : "external");
            case RuleField.HeaderName:
                foreach (var h in r.Headers) if (Test(h.Name)) return true;
                return false;
            case RuleField.Header:
                foreach (var h in r.Headers)
                    if (h.Name.Equals(name, StringComparison.OrdinalIgnoreCase) && Test(h.Value)) return true;
                return false;
            case RuleField.CookieName:
                foreach (var c in r.Cookies) if (Test(c.Name)) return true;
                return false;
            case RuleField.Cookie:
                foreach (var c in r.Cookies)
                    if (c.Name.Equals(name, StringComparison.OrdinalIgnoreCase) && Test(c.Value)) return true;
                return false;
            default: return false;
        }
    }

    private bool Test(string text)
    {
        switch (op)
        {
            case Operator.Exists: return true;
            case Operator.Regex:
                try { return regex!.IsMatch(text); }
                // A pathological input that runs out the time is treated as a match: hostile until shown otherwise.
                catch (RegexMatchTimeoutException) { return true; }
        }
        foreach (var v in values)
        {
            var hit = op switch
            {
                Operator.Equals => text.Equals(v, StringComparison.OrdinalIgnoreCase),
                Operator.Prefix => text.StartsWith(v, StringComparison.OrdinalIgnoreCase),
                Operator.Suffix => text.EndsWith(v, StringComparison.OrdinalIgnoreCase),
                _ => text.Contains(v, StringComparison.OrdinalIgnoreCase),
            };
            if (hit) return true;
        }
        return false;
    }
}

/// <summary>One rule of rules/proxy/*.yaml.</summary>
public sealed record ProxyRule(string Id, string Title, string Wave, IReadOnlyList<string> Cves, RuleAction Action, RuleCondition When, string File, int Line);

/// <summary>The rules that matched a request; blocked when any of them blocks.</summary>
public sealed record RuleVerdict(bool Blocked, IReadOnlyList<ProxyRule> Matched)
{
    public static readonly RuleVerdict Pass = new(false, []);
}

/// <summary>
/// The Exchange rule set the proxy applies (rules/proxy/*.yaml except exposure.yaml): loaded, validated with precise
/// errors, compiled once; evaluation allocates only when a rule matches.
/// </summary>
public sealed class ProxyRuleSet
{
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(100);

    public IReadOnlyList<ProxyRule> Rules { get; }

    public ProxyRuleSet(IReadOnlyList<ProxyRule> rules) => Rules = rules;

    public RuleVerdict Evaluate(NormalisedRequest request, bool clientIsInternal)
    {
        var context = new RuleContext(request, clientIsInternal);
        List<ProxyRule>? matched = null;
        var blocked = false;
        foreach (var rule in Rules)
        {
            if (!rule.When.Match(context)) continue;
            (matched ??= []).Add(rule);
            blocked |= rule.Action == RuleAction.Block;
        }
        return matched is null ? RuleVerdict.Pass : new RuleVerdict(blocked, matched);
    }

    /// <summary>Every rule file under proxy/ of the data (a user's rules folder first, else the embedded copy).</summary>
    public static ProxyRuleSet Load(Exir.Core.DataFiles data)
    {
        var files = data.List("proxy").Where(f =>
                (f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                && !f.Equals(Exposure.FileName, StringComparison.OrdinalIgnoreCase))
            .Select(f => (f, data.ReadAllText(f)));
        return Parse(files);
    }

    /// <summary>Parses (file, text) pairs; all problems of all files are reported at once, then thrown.</summary>
    public static ProxyRuleSet Parse(IEnumerable<(string File, string Yaml)> files)
    {
        var rules = new List<ProxyRule>();
        var problems = new List<ProxyDataProblem>();
        foreach (var (file, yaml) in files)
        {
            var y = new YamlReader(file);
            ParseFile(y, yaml, rules);
            problems.AddRange(y.Problems);
        }
        foreach (var dup in rules.GroupBy(r => r.Id, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            foreach (var r in dup.Skip(1))
                problems.Add(new ProxyDataProblem(r.File, r.Line, 1, $"rule id '{r.Id}' is already used in {dup.First().File}:{dup.First().Line}"));
        if (problems.Count > 0) throw new ProxyDataException(problems);
        return new ProxyRuleSet(rules);
    }

    private static void ParseFile(YamlReader y, string yaml, List<ProxyRule> into)
    {
        var root = y.Root(yaml);
        if (root is null) return;
        var keys = y.Keys(root, "rules");
        if (!keys.TryGetValue("rules", out var rs) || rs.Value is not YamlSequenceNode seq) { y.Error(root, "missing 'rules' (a list)"); return; }
        foreach (var item in seq)
        {
            if (item is not YamlMappingNode m) { y.Error(item, "a rule is a mapping"); continue; }
            var before = y.Problems.Count;
            var k = y.Keys(m, "id", "title", "wave", "cves", "action", "when", "notes");
            var id = y.Required(k, m, "id");
            var title = y.Required(k, m, "title");
            var wave = y.Required(k, m, "wave");
            var cves = k.TryGetValue("cves", out var c) ? y.Strings(c.Value, "cves").Select(v => v.Value).ToList() : [];
            var actionText = k.TryGetValue("action", out var a) ? y.Scalar(a.Value, "action") : null;
            RuleAction action = RuleAction.Block;
            if (actionText is null) { if (a.Value is null) y.Error(m, "missing 'action' (block or log)"); }
            else if (actionText == "block") action = RuleAction.Block;
            else if (actionText == "log") action = RuleAction.Log;
            else y.Error(a.Value, $"action '{actionText}' is not one of block, log");
            RuleCondition? when = null;
            if (k.TryGetValue("when", out var w)) when = Condition(y, w.Value);
            else y.Error(m, "missing 'when' (the conditions)");
            if (y.Problems.Count == before && id is not null && title is not null && wave is not null && when is not null)
                into.Add(new ProxyRule(id, title, wave, cves, action, when, y.File, (int)m.Start.Line));
        }
    }

    private static readonly string[] ConditionKeys = ["all", "any", "not", "field", "equals", "prefix", "suffix", "contains", "regex", "exists"];

    private static RuleCondition? Condition(YamlReader y, YamlNode node)
    {
        if (node is not YamlMappingNode m) { y.Error(node, "a condition is a mapping (all, any, not, or field with an operator)"); return null; }
        var before = y.Problems.Count;
        var k = y.Keys(m, ConditionKeys);
        // An unknown key is the problem to report; what is left of the condition would only add noise.
        if (y.Problems.Count > before) return null;
        if (k.Count == 0) { y.Error(m, "empty condition"); return null; }
        foreach (var group in new[] { "all", "any" })
        {
            if (!k.TryGetValue(group, out var g)) continue;
            if (k.Count > 1) { y.Error(m, $"'{group}' stands alone in its condition"); return null; }
            if (g.Value is not YamlSequenceNode list || list.Children.Count == 0) { y.Error(g.Value, $"'{group}' takes a non-empty list of conditions"); return null; }
            var parts = list.Children.Select(n => Condition(y, n)).ToArray();
            if (parts.Any(p => p is null)) return null;
            return group == "all" ? new AllCondition(parts!) : new AnyCondition(parts!);
        }
        if (k.TryGetValue("not", out var not))
        {
            if (k.Count > 1) { y.Error(m, "'not' stands alone in its condition"); return null; }
            return Condition(y, not.Value) is { } inner ? new NotCondition(inner) : null;
        }
        if (!k.TryGetValue("field", out var f)) { y.Error(m, "a condition needs 'field' (or all, any, not)"); return null; }
        var fieldText = y.Scalar(f.Value, "field");
        if (fieldText is null) return null;
        var (field, name) = ParseField(fieldText);
        if (field is null) { y.Error(f.Value, $"unknown field '{fieldText}' (method, path, query, uri, user-agent, header-name, header:NAME, cookie-name, cookie:NAME, client)"); return null; }
        var ops = k.Keys.Where(key => key != "field").ToList();
        if (ops.Count != 1) { y.Error(m, $"a field condition takes exactly one operator (equals, prefix, suffix, contains, regex, exists); found {(ops.Count == 0 ? "none" : string.Join(", ", ops))}"); return null; }
        var opNode = k[ops[0]].Value;
        var op = ops[0] switch
        {
            "equals" => Operator.Equals, "prefix" => Operator.Prefix, "suffix" => Operator.Suffix,
            "contains" => Operator.Contains, "regex" => Operator.Regex, _ => Operator.Exists,
        };
        if (op == Operator.Exists)
        {
            if (y.Scalar(opNode, "exists") != "true") { y.Error(opNode, "exists takes true (use 'not' for absence)"); return null; }
            return new FieldCondition(field.Value, name, op, [], null);
        }
        var values = y.Strings(opNode, ops[0]);
        if (values.Count == 0) { y.Error(opNode, $"'{ops[0]}' needs at least one value"); return null; }
        Regex? regex = null;
        if (op == Operator.Regex)
        {
            if (values.Count > 1) { y.Error(opNode, "regex takes one pattern (use alternation)"); return null; }
            try
            {
                // NonBacktracking: linear time whatever the input; the timeout is a second guard.
                regex = new Regex(values[0].Value, RegexOptions.NonBacktracking | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexTimeout);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                y.Error(values[0].Node, $"regex '{values[0].Value}' cannot be used: {e.Message}");
                return null;
            }
        }
        if (field is RuleField.Client && values.Any(v => v.Value is not ("internal" or "external")))
        { y.Error(opNode, "client is 'internal' or 'external'"); return null; }
        return new FieldCondition(field.Value, name, op, values.Select(v => v.Value).ToArray(), regex);
    }

    private static (RuleField?, string?) ParseField(string text)
    {
        var colon = text.IndexOf(':');
        if (colon > 0)
        {
            var name = text[(colon + 1)..].Trim();
            if (name.Length == 0) return (null, null);
            return text[..colon] switch
            {
                "header" => (RuleField.Header, name),
                "cookie" => (RuleField.Cookie, name),
                _ => (null, null),
            };
        }
        return text switch
        {
            "method" => (RuleField.Method, null),
            "path" => (RuleField.Path, null),
            "query" => (RuleField.Query, null),
            "uri" => (RuleField.Uri, null),
            "user-agent" => (RuleField.UserAgent, null),
            "header-name" => (RuleField.HeaderName, null),
            "cookie-name" => (RuleField.CookieName, null),
            "client" => (RuleField.Client, null),
            _ => (null, null),
        };
    }
}
