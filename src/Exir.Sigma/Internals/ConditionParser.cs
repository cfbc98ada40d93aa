using System.Text.RegularExpressions;

namespace Exir.Sigma.Internals;

/// <summary>
/// Sigma conditions: and, or, not, parentheses, "1 of X*", "all of X*", "1 of them", "all of them".
/// Precedence not &gt; and &gt; or. Selection names resolve against the rule's compiled selections.
/// </summary>
internal sealed partial class ConditionParser
{
    private readonly List<string> _tokens;
    private readonly IReadOnlyDictionary<string, DetectionNode> _selections;
    private int _pos, _depth;
    private const int MaxDepth = 64;

    private ConditionParser(string text, IReadOnlyDictionary<string, DetectionNode> selections)
    {
        _tokens = Tokenize(text);
        _selections = selections;
    }

    public static DetectionNode Parse(string condition, IReadOnlyDictionary<string, DetectionNode> selections)
    {
        if (condition.Contains('|'))
            throw new SigmaCompileException("Sigma v1 aggregations ('| count() ...') are not supported: write a correlation rule");
        var p = new ConditionParser(condition, selections);
        var node = p.Or();
        if (p._pos != p._tokens.Count) throw new SigmaCompileException($"unexpected '{p._tokens[p._pos]}' in condition '{condition}'");
        return node;
    }

    [GeneratedRegex(@"\(|\)|[^\s()]+")]
    private static partial Regex TokenRegex();

    private static List<string> Tokenize(string text) => TokenRegex().Matches(text).Select(m => m.Value).ToList();

    private string? Peek => _pos < _tokens.Count ? _tokens[_pos] : null;
    private bool Is(string? t, string word) => t is not null && t.Equals(word, StringComparison.OrdinalIgnoreCase);

    private DetectionNode Or()
    {
        var parts = new List<DetectionNode> { And() };
        while (Is(Peek, "or")) { _pos++; parts.Add(And()); }
        return parts.Count == 1 ? parts[0] : new OrNode(parts.ToArray());
    }

    private DetectionNode And()
    {
        var parts = new List<DetectionNode> { Unary() };
        while (Is(Peek, "and")) { _pos++; parts.Add(Unary()); }
        return parts.Count == 1 ? parts[0] : new AndNode(parts.ToArray());
    }

    private DetectionNode Unary()
    {
        var t = Peek ?? throw new SigmaCompileException("condition ends too early");
        if (++_depth > MaxDepth) throw new SigmaCompileException($"condition nested deeper than {MaxDepth} levels");
        try { return UnaryInner(t); }
        finally { _depth--; }
    }

    private DetectionNode UnaryInner(string t)
    {
        if (Is(t, "not")) { _pos++; return new NotNode(Unary()); }
        if (t == "(")
        {
            _pos++;
            var inner = Or();
            if (Peek != ")") throw new SigmaCompileException("missing ')' in condition");
            _pos++;
            return inner;
        }
        if ((t == "1" || Is(t, "all") || Is(t, "any")) && _pos + 2 < _tokens.Count + 1 && Is(_tokens.ElementAtOrDefault(_pos + 1), "of"))
        {
            _pos += 2;
            var pattern = Peek ?? throw new SigmaCompileException($"'{t} of' without a selection pattern");
            _pos++;
            var matched = Resolve(pattern);
            if (matched.Count == 0) throw new SigmaCompileException($"'{t} of {pattern}' matches no selection");
            if (matched.Count == 1) return matched[0];
            return Is(t, "all") ? new AndNode(matched.ToArray()) : new OrNode(matched.ToArray());
        }
        if (t is ")" || Is(t, "and") || Is(t, "or") || Is(t, "of")) throw new SigmaCompileException($"unexpected '{t}' in condition");
        _pos++;
        if (_selections.TryGetValue(t, out var sel)) return sel;
        throw new SigmaCompileException($"condition names '{t}', which is not a selection");
    }

    private List<DetectionNode> Resolve(string pattern)
    {
        if (Is(pattern, "them"))
            return _selections.Where(kv => !kv.Key.StartsWith('_')).Select(kv => kv.Value).ToList();
        if (!pattern.Contains('*') && !pattern.Contains('?'))
            return _selections.TryGetValue(pattern, out var one) ? [one] : [];
        // Selection names are case-sensitive; * and ? are the only special characters here.
        var kinds = pattern.Select(c => c == '*' ? (byte)1 : c == '?' ? (byte)2 : (byte)0).ToArray();
        var glob = new WildcardMatcher(pattern, kinds, cased: true);
        return _selections.Where(kv => glob.Match(kv.Key, null!)).Select(kv => kv.Value).ToList();
    }
}
