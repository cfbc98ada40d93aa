namespace Exir.Sigma.Internals;

/// <summary>A compiled condition or selection: evaluated against one event view.</summary>
internal abstract class DetectionNode
{
    public abstract bool Eval(EventView ev);
}

internal sealed class AndNode(DetectionNode[] children) : DetectionNode
{
    public DetectionNode[] Children { get; } = children;
    public override bool Eval(EventView ev)
    {
        foreach (var c in Children) if (!c.Eval(ev)) return false;
        return true;
    }
}

internal sealed class OrNode(DetectionNode[] children) : DetectionNode
{
    public DetectionNode[] Children { get; } = children;
    public override bool Eval(EventView ev)
    {
        foreach (var c in Children) if (c.Eval(ev)) return true;
        return false;
    }
}

internal sealed class NotNode(DetectionNode child) : DetectionNode
{
    public DetectionNode Child { get; } = child;
    public override bool Eval(EventView ev) => !Child.Eval(ev);
}

internal sealed class ConstNode(bool value) : DetectionNode
{
    public bool Value { get; } = value;
    public override bool Eval(EventView ev) => Value;
}

/// <summary>A named selection in a condition (kept so the event-id prefilter can look inside).</summary>
internal sealed class SelectionNode(string name, DetectionNode body) : DetectionNode
{
    public string Name { get; } = name;
    public DetectionNode Body { get; } = body;
    public override bool Eval(EventView ev) => Body.Eval(ev);
}

/// <summary>One field of a selection with its values: any value matches, or every one with |all.</summary>
internal sealed class FieldTest(int field, string sigmaName, ValueMatcher[] values, bool all) : DetectionNode
{
    public int Field { get; } = field;
    public string SigmaName { get; } = sigmaName;
    public ValueMatcher[] Values { get; } = values;
    public bool All { get; } = all;

    public override bool Eval(EventView ev)
    {
        if (!ev.TryGet(Field, out var first))
        {
            // Absent field: only null can match (all of them must allow absence under |all).
            if (All) { foreach (var m in Values) if (!m.MatchesAbsent) return false; return Values.Length > 0; }
            foreach (var m in Values) if (m.MatchesAbsent) return true;
            return false;
        }
        if (All)
        {
            foreach (var m in Values) if (!AnyValue(m, first, ev)) return false;
            return true;
        }
        foreach (var m in Values) if (AnyValue(m, first, ev)) return true;
        return false;
    }

    private bool AnyValue(ValueMatcher m, ReadOnlySpan<char> first, EventView ev)
    {
        if (m.Match(first, ev)) return true;
        int n = ev.ExtraCount;
        for (int i = 0; i < n; i++)
        {
            var (id, v) = ev.Extra(i);
            if (id == Field && m.Match(v, ev)) return true;
        }
        return false;
    }
}

/// <summary>exists: true / false.</summary>
internal sealed class ExistsTest(int field, bool exists) : DetectionNode
{
    public override bool Eval(EventView ev) => ev.TryGet(field, out _) == exists;
}

/// <summary>Keywords: strings searched in every value of the event; any one, or every one with |all.</summary>
internal sealed class KeywordTest(ValueMatcher[] values, bool all) : DetectionNode
{
    public ValueMatcher[] Values => values;
    public bool All => all;

    /// <summary>Whether one value holds any of the keywords (for the evidence of a hit).</summary>
    public bool Holds(string value, EventView ev)
    {
        foreach (var m in values) if (m.Match(value, ev)) return true;
        return false;
    }

    public override bool Eval(EventView ev)
    {
        int n = ev.ValueCount;
        if (all)
        {
            foreach (var m in values)
            {
                bool hit = false;
                for (int i = 0; i < n && !hit; i++) hit = m.Match(ev.ValueSpanAt(i), ev);
                if (!hit) return false;
            }
            return true;
        }
        for (int i = 0; i < n; i++)
        {
            var v = ev.ValueSpanAt(i);
            foreach (var m in values) if (m.Match(v, ev)) return true;
        }
        return false;
    }
}
