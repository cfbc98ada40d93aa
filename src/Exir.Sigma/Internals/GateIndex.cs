namespace Exir.Sigma.Internals;

/// <summary>
/// The rules of one channel and EventID, indexed by a test each of them cannot match without: most SigmaHQ
/// process-creation rules need <c>Image|endswith: '\x.exe'</c> (or <c>OriginalFileName: 'x.exe'</c>), so an event
/// only meets the rules keyed by its own image name, plus those without such a test. The gate is exact: a value
/// ends with <c>\x.exe</c> (ignoring case) exactly when its last backslash-separated segment is <c>x.exe</c>.
/// </summary>
internal sealed class GateIndex
{
    private enum KeyKind { Whole, LastSegment }

    private sealed class Gate(int field, KeyKind kind, Dictionary<string, CompiledVariant[]> map)
    {
        public readonly int Field = field;
        public readonly KeyKind Kind = kind;
        public readonly Dictionary<string, CompiledVariant[]>.AlternateLookup<ReadOnlySpan<char>> Lookup = map.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private readonly Gate[] _gates;

    /// <summary>Variants without a gate: every event of the bucket meets them.</summary>
    public CompiledVariant[] Always { get; }
    public int Count { get; }
    public int Gated => Count - Always.Length;

    public GateIndex(IReadOnlyList<CompiledVariant> variants, bool useGates = true)
    {
        Count = variants.Count;
        var always = new List<CompiledVariant>();
        var maps = new Dictionary<(int, KeyKind), Dictionary<string, List<CompiledVariant>>>();
        foreach (var v in variants)
        {
            var keys = useGates ? Keys(v.Root) : null;
            if (keys is null || keys.Count == 0) { always.Add(v); continue; }
            foreach (var (field, kind, key) in keys.Distinct())
            {
                if (!maps.TryGetValue((field, kind), out var map)) maps[(field, kind)] = map = new(StringComparer.OrdinalIgnoreCase);
                if (!map.TryGetValue(key, out var list)) map[key] = list = [];
                if (!list.Contains(v)) list.Add(v);
            }
        }
        Always = always.ToArray();
        _gates = maps.Select(kv => new Gate(kv.Key.Item1, kv.Key.Item2,
            kv.Value.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.OrdinalIgnoreCase))).ToArray();
    }

    /// <summary>Adds the gated variants this event can meet to <paramref name="into"/> (a variant may come twice).</summary>
    public void Candidates(EventView ev, List<CompiledVariant> into)
    {
        foreach (var g in _gates)
        {
            var first = ev.Get(g.Field);
            if (first is null) continue;
            Add(g, first, into);
            int n = ev.ExtraCount;
            for (int i = 0; i < n; i++)
            {
                var (id, v) = ev.Extra(i);
                if (id == g.Field) Add(g, v, into);
            }
        }
    }

    private static void Add(Gate g, string value, List<CompiledVariant> into)
    {
        ReadOnlySpan<char> key = value;
        if (g.Kind == KeyKind.LastSegment)
        {
            int slash = value.LastIndexOf('\\');
            if (slash < 0) return;
            key = value.AsSpan(slash + 1);
        }
        if (g.Lookup.TryGetValue(key, out var found)) into.AddRange(found);
    }

    /// <summary>Keys one of which an event must have for the node to hold; null when there is no such set.</summary>
    private static List<(int, KeyKind, string)>? Keys(DetectionNode node)
    {
        switch (node)
        {
            case SelectionNode s: return Keys(s.Body);
            case FieldTest { All: false, Values.Length: > 0 } f:
                var keys = new List<(int, KeyKind, string)>();
                foreach (var m in f.Values)
                {
                    if (m is not LiteralMatcher { IgnoreCase: true } lit) return null;
                    if (lit.Op == StringOp.Equals) keys.Add((f.Field, KeyKind.Whole, lit.Literal));
                    else if (lit.Op == StringOp.EndsWith && lit.Literal.Length > 1 && lit.Literal[0] == '\\' && lit.Literal.IndexOf('\\', 1) < 0)
                        keys.Add((f.Field, KeyKind.LastSegment, lit.Literal[1..]));
                    else return null;
                }
                return keys;
            case OrNode o:
                var all = new List<(int, KeyKind, string)>();
                foreach (var c in o.Children)
                {
                    if (Keys(c) is not { } k) return null;
                    all.AddRange(k);
                }
                return all;
            case AndNode a:
                // Any part of an "and" is necessary: take the one with the fewest keys.
                List<(int, KeyKind, string)>? best = null;
                foreach (var c in a.Children)
                    if (Keys(c) is { } k && (best is null || k.Count < best.Count)) best = k;
                return best;
            default: return null;
        }
    }
}
