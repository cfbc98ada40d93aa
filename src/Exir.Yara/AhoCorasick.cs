namespace Exir.Yara;

/// <summary>
/// Case-folded Aho-Corasick automaton over all atoms of all rules, compiled to a dense DFA over byte classes.
/// Each buffer is walked once; hits are reported as (atom end position, atom id) and verified by the caller.
/// </summary>
internal sealed class AhoCorasick
{
    internal static readonly byte[] Fold = BuildFold();

    private readonly byte[] _class = new byte[256];
    private readonly int _classes;
    // Transition table: entry = next state * _classes, negated (~) when that state has outputs.
    private readonly int[] _next;
    private readonly int[] _outStart;
    private readonly int[] _outAtoms;

    public int AtomCount { get; }
    public int StateCount { get; }
    public int Classes => _classes;

    private static byte[] BuildFold()
    {
        var f = new byte[256];
        for (int i = 0; i < 256; i++) f[i] = (byte)(i is >= 'A' and <= 'Z' ? i + 32 : i);
        return f;
    }

    /// <param name="atoms">Atoms, already case-folded, each 1..n bytes.</param>
    public AhoCorasick(IReadOnlyList<byte[]> atoms)
    {
        AtomCount = atoms.Count;
        // Byte classes: every folded byte used by some atom gets its own class; all others share class 0.
        var used = new bool[256];
        foreach (var a in atoms) foreach (var b in a) used[b] = true;
        var folded = new int[256];
        int nc = 1;
        for (int b = 0; b < 256; b++) folded[b] = used[b] ? nc++ : 0;
        for (int b = 0; b < 256; b++) _class[b] = (byte)folded[Fold[b]];
        if (nc > 256) throw new InvalidOperationException("too many byte classes");
        _classes = nc;

        // Trie.
        // One flat table (row per state) keeps the build cheap on memory and GC.
        var trie = new int[Math.Max(1024, atoms.Count * 2) * nc];
        int count = 1;
        var own = new List<List<int>?> { null };
        for (int id = 0; id < atoms.Count; id++)
        {
            int s = 0;
            foreach (var b in atoms[id])
            {
                int c = folded[b];
                int t = trie[s * nc + c];
                if (t <= 0)
                {
                    t = count++;
                    if (count * nc > trie.Length) Array.Resize(ref trie, trie.Length * 2);
                    own.Add(null);
                    trie[s * nc + c] = t;
                }
                s = t;
            }
            (own[s] ??= []).Add(id);
        }
        int n = count;
        StateCount = n;

        // BFS: failure links, complete transitions, merged outputs.
        var fail = new int[n];
        var outs = new List<int>?[n];
        outs[0] = own[0];
        var queue = new Queue<int>();
        for (int c = 0; c < nc; c++)
        {
            int t = trie[c];
            if (t > 0) { fail[t] = 0; queue.Enqueue(t); }
            else trie[c] = 0;
        }
        while (queue.Count > 0)
        {
            int s = queue.Dequeue();
            var merged = own[s];
            var fo = outs[fail[s]];
            if (fo is not null) { merged = merged is null ? fo : [.. merged, .. fo]; }
            outs[s] = merged;
            for (int c = 0; c < nc; c++)
            {
                int t = trie[s * nc + c];
                if (t > 0)
                {
                    fail[t] = trie[fail[s] * nc + c];
                    queue.Enqueue(t);
                }
                else trie[s * nc + c] = trie[fail[s] * nc + c];
            }
        }

        // Renumber states breadth-first so the shallow, hot states share cache lines at the start of the table.
        var order = new int[n];      // new -> old
        var rank = new int[n];       // old -> new
        {
            var seen = new bool[n];
            int head = 0, tail = 0;
            order[tail++] = 0; seen[0] = true;
            while (head < tail)
            {
                int s = order[head++];
                for (int c = 0; c < nc; c++)
                {
                    int t = trie[s * nc + c];
                    if (!seen[t]) { seen[t] = true; order[tail++] = t; }
                }
            }
            for (int k = 0; k < n; k++) rank[order[k]] = k;
        }
        _next = new int[n * nc];
        _outStart = new int[n + 1];
        var flat = new List<int>();
        for (int k = 0; k < n; k++)
        {
            _outStart[k] = flat.Count;
            if (outs[order[k]] is { } o) flat.AddRange(o);
        }
        _outStart[n] = flat.Count;
        _outAtoms = flat.ToArray();
        for (int k = 0; k < n; k++)
            for (int c = 0; c < nc; c++)
            {
                int t = rank[trie[order[k] * nc + c]];
                int v = t * nc;
                _next[k * nc + c] = _outStart[t + 1] > _outStart[t] ? ~v : v;
            }
    }

    public interface IHitSink
    {
        /// <summary>Atom <paramref name="atom"/> ends at <paramref name="end"/> (inclusive).</summary>
        void Hit(int atom, int end);
    }

    public void Scan<TSink>(ReadOnlySpan<byte> data, ref TSink sink) where TSink : struct, IHitSink
        => Scan(data, 0, 0, ref sink);

    /// <summary>
    /// Walks one piece of a longer input from automaton state <paramref name="state"/> (0 at the start) and returns the
    /// state to continue with, so a big file can be walked piece by piece; hits are reported at <paramref name="at"/> + index.
    /// </summary>
    public int Scan<TSink>(ReadOnlySpan<byte> data, int at, int state, ref TSink sink) where TSink : struct, IHitSink
    {
        var next = _next;
        var cls = _class;
        int nc = _classes;
        int st = state;
        for (int i = 0; i < data.Length; i++)
        {
            int v = next[st + cls[data[i]]];
            if (v >= 0) { st = v; continue; }
            st = ~v;
            int s = st / nc;
            for (int k = _outStart[s]; k < _outStart[s + 1]; k++) sink.Hit(_outAtoms[k], at + i);
        }
        return st;
    }
}
