namespace Exir.Sigma.Internals;

/// <summary>
/// For web logs: literals one of which must occur in a raw log line (ASCII lower-cased) for a rule to match it,
/// so a reader can hand over only candidate lines. A rule without such literals needs every line. Literals that
/// the line's raw text may spell differently from the field value the engine compares are not used: those with
/// '?' (the URI the engine builds joins stem and query with it; the line separates them), separators and quotes
/// (a CSV field may be quoted), whitespace, non-ASCII letters (the reader lower-cases ASCII only).
/// </summary>
internal static class LinePrefilter
{
    /// <summary>Literals of which one must occur; null when the node can hold without any.</summary>
    public static List<string>? Literals(DetectionNode node)
    {
        switch (node)
        {
            case SelectionNode s: return Literals(s.Body);
            case FieldTest { Values.Length: > 0 } f:
            {
                if (f.All)
                {
                    // Every value must match: the best single value's literals are necessary.
                    List<string>? best = null;
                    foreach (var m in f.Values)
                        if (Of(m) is { } l && (best is null || Score(l) > Score(best))) best = l;
                    return best;
                }
                var any = new List<string>();
                foreach (var m in f.Values)
                {
                    if (Of(m) is not { } l) return null;
                    any.AddRange(l);
                }
                return any;
            }
            case KeywordTest k:
            {
                if (k.All)
                {
                    List<string>? best = null;
                    foreach (var m in k.Values)
                        if (Of(m) is { } l && (best is null || Score(l) > Score(best))) best = l;
                    return best;
                }
                var any = new List<string>();
                foreach (var m in k.Values)
                {
                    if (Of(m) is not { } l) return null;
                    any.AddRange(l);
                }
                return any;
            }
            case OrNode o:
            {
                var all = new List<string>();
                foreach (var c in o.Children)
                {
                    if (Literals(c) is not { } l) return null;
                    all.AddRange(l);
                }
                return all;
            }
            case AndNode a:
            {
                List<string>? best = null;
                foreach (var c in a.Children)
                    if (Literals(c) is { } l && (best is null || Score(l) > Score(best))) best = l;
                return best;
            }
            default: return null;
        }
    }

    // Fewer and longer literals filter better.
    private static double Score(List<string> literals) => literals.Count == 0 ? 0 : literals.Min(l => l.Length) / (double)literals.Count;

    private static List<string>? Of(ValueMatcher m) => m switch
    {
        LiteralMatcher lit when Usable(lit.Literal) => [lit.Literal.ToLowerInvariant()],
        ContainsAnyMatcher any when any.Literals.All(Usable) => any.Literals.Select(l => l.ToLowerInvariant()).ToList(),
        RegexMatcher re when RequiredRun(re.Regex.ToString()) is { } run && Usable(run) => [run.ToLowerInvariant()],
        AnyOfMatcher alt => alt.Alternatives.Select(Of).Aggregate((List<string>?)[], (acc, l) => acc is null || l is null ? null : [.. acc, .. l]),
        _ => null,
    };

    /// <summary>
    /// The longest run of plain characters a regular expression needs wherever it matches: outside groups and classes,
    /// with no top-level alternation, a character followed by ?, * or {…} dropped. Null when there is none.
    /// </summary>
    internal static string? RequiredRun(string pattern)
    {
        int depth = 0;
        for (int i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\') { i++; continue; }
            if (pattern[i] == '[') { i = SkipClass(pattern, i); continue; }
            if (pattern[i] == '(') depth++;
            else if (pattern[i] == ')') depth--;
            else if (pattern[i] == '|' && depth == 0) return null;
        }
        string best = "";
        var run = new System.Text.StringBuilder();
        void End() { if (run.Length > best.Length) best = run.ToString(); run.Clear(); }
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                char n = pattern[++i];
                if (n is '.' or '/' or '\\' or '-' or '_' or ':' or '=' or '&' or '#' or '@' or '~') { run.Append(n); continue; }
                End();
                continue;
            }
            if (c == '[') { End(); i = SkipClass(pattern, i); i = SkipQuantifier(pattern, i); continue; }
            if (c == '(')
            {
                End();
                int d = 0;
                for (; i < pattern.Length; i++)
                {
                    if (pattern[i] == '\\') { i++; continue; }
                    if (pattern[i] == '[') { i = SkipClass(pattern, i); continue; }
                    if (pattern[i] == '(') d++;
                    else if (pattern[i] == ')' && --d == 0) break;
                }
                i = SkipQuantifier(pattern, i);
                continue;
            }
            if (c is '?' or '*' or '{')
            {
                if (run.Length > 0) run.Length--; // the character before is optional
                End();
                if (c == '{') while (i < pattern.Length && pattern[i] != '}') i++;
                continue;
            }
            if (c == '+') { End(); continue; }
            if (c is '^' or '$' or '.' or ')' or '|') { End(); continue; }
            run.Append(c);
        }
        End();
        return best.Length > 0 ? best : null;
    }

    private static int SkipClass(string p, int i)
    {
        for (i++; i < p.Length; i++)
        {
            if (p[i] == '\\') { i++; continue; }
            if (p[i] == ']') return i;
        }
        return i;
    }

    // After a group or class: skip its quantifier, so "(x)?" and "[ab]{2}" leave nothing behind.
    private static int SkipQuantifier(string p, int i)
    {
        if (i + 1 < p.Length && p[i + 1] is '?' or '*' or '+') return i + 1;
        if (i + 1 < p.Length && p[i + 1] == '{') { int j = p.IndexOf('}', i + 1); return j < 0 ? p.Length : j; }
        return i;
    }

    private static bool Usable(string literal)
    {
        if (literal.Length < 3) return false;
        foreach (var c in literal)
            if (c is '?' or ',' or '"' or '%' or '+' || char.IsWhiteSpace(c) || c > 127) return false;
        return true;
    }
}
