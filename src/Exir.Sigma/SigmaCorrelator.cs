namespace Exir.Sigma;

/// <summary>
/// Sigma v2 correlations for one run: feed it the base-rule hits (from any thread, in any order), then call
/// <see cref="Complete"/> for the correlation hits. Hits are grouped by the correlation's group-by values (the
/// host is not part of the group unless named, so a correlation spans hosts); within a group, events are
/// "within the timespan" when the last is at most the timespan after the first (both edges included).
/// Memory is bounded: a group that grows past <see cref="SigmaLoadOptions.MaxCorrelationEventsPerGroup"/> is
/// evaluated early and pruned to the last timespan, and only then are the oldest hits dropped (counted in
/// <see cref="Evicted"/>).
/// </summary>
public sealed class SigmaCorrelator
{
    private sealed record Entry(DateTime Time, long Seq, SigmaHit Hit, int RuleIndex, string? Value);

    private sealed class State(SigmaRule rule, SigmaRule[] bases)
    {
        public readonly SigmaRule Rule = rule;
        public readonly SigmaCorrelation C = rule.Correlation!;
        public readonly SigmaRule[] Bases = bases;
        public readonly Dictionary<string, List<Entry>> Groups = new(StringComparer.Ordinal);
        public readonly HashSet<(string, long, long)> Emitted = [];
    }

    private const int MaxGroupsPerCorrelation = 100_000;
    private readonly object _lock = new();
    private readonly List<State> _states = [];
    private readonly Dictionary<SigmaRule, List<(State State, int Index)>> _byBase = [];
    private readonly List<SigmaHit> _results = [];
    private readonly int _maxPerGroup;
    private long _seq;

    internal SigmaCorrelator(SigmaRuleSet set)
    {
        _maxPerGroup = Math.Max(16, set.Options.MaxCorrelationEventsPerGroup);
        foreach (var c in set.Correlations)
        {
            var bases = c.Correlation!.RuleRefs.Select(r => set.FindRule(r)!).ToArray();
            var state = new State(c, bases);
            _states.Add(state);
            for (int i = 0; i < bases.Length; i++)
            {
                if (!_byBase.TryGetValue(bases[i], out var l)) _byBase[bases[i]] = l = [];
                l.Add((state, i));
            }
        }
    }

    /// <summary>Hits dropped because a group outgrew its bound (0 in any ordinary run).</summary>
    public long Evicted { get; private set; }

    /// <summary>Whether any correlation reads this rule's hits (others need not be passed in).</summary>
    public bool Wants(SigmaRule rule) => _byBase.ContainsKey(rule);

    /// <summary>Takes one base-rule hit; thread-safe.</summary>
    public void Add(SigmaHit hit)
    {
        if (!_byBase.TryGetValue(hit.Rule, out var targets)) return;
        lock (_lock)
        {
            foreach (var (state, index) in targets)
            {
                var key = GroupKey(state, index, hit);
                string? value = null;
                if (state.C.Type == SigmaCorrelationType.ValueCount)
                {
                    value = FieldOf(state, index, hit, state.C.ValueField!);
                    if (value is null) continue; // a hit without the counted field adds no value
                }
                if (!state.Groups.TryGetValue(key, out var list))
                {
                    if (state.Groups.Count >= MaxGroupsPerCorrelation) FlushAll(state);
                    state.Groups[key] = list = [];
                }
                list.Add(new Entry(hit.TimeUtc, _seq++, hit, index, value));
                if (list.Count > _maxPerGroup) Prune(state, key, list);
            }
        }
    }

    /// <summary>Evaluates what is left and returns every correlation hit of the run, in time order.</summary>
    public List<SigmaHit> Complete()
    {
        lock (_lock)
        {
            foreach (var s in _states)
            {
                foreach (var (key, list) in s.Groups) Evaluate(s, key, list);
                s.Groups.Clear();
            }
            var result = _results.OrderBy(h => h.TimeUtc).ThenBy(h => h.Rule.Id, StringComparer.Ordinal).ToList();
            _results.Clear();
            return result;
        }
    }

    private static string? FieldOf(State s, int index, SigmaHit hit, string field)
    {
        // Aliases: one name for a field that the correlated rules spell differently.
        if (s.C.Aliases.TryGetValue(field, out var perRule))
        {
            var b = s.Bases[index];
            var refName = s.C.RuleRefs[index];
            if (perRule.TryGetValue(refName, out var f) || perRule.TryGetValue(b.Id, out f) || (b.Name is not null && perRule.TryGetValue(b.Name, out f)))
                field = f;
        }
        return hit.Field(field);
    }

    private static string GroupKey(State s, int index, SigmaHit hit)
    {
        if (s.C.GroupBy.Count == 0) return "";
        return string.Join('\u001f', s.C.GroupBy.Select(g => (FieldOf(s, index, hit, g) ?? "").ToLowerInvariant()));
    }

    private void FlushAll(State s)
    {
        foreach (var (key, list) in s.Groups) Evaluate(s, key, list);
        s.Groups.Clear();
    }

    private void Prune(State s, string key, List<Entry> list)
    {
        Evaluate(s, key, list);
        var newest = list.Max(e => e.Time);
        list.RemoveAll(e => newest - e.Time > s.C.Timespan);
        if (list.Count > _maxPerGroup / 2)
        {
            int drop = list.Count - _maxPerGroup / 2;
            list.RemoveRange(0, drop);
            Evicted += drop;
        }
    }

    private void Evaluate(State s, string key, List<Entry> list)
    {
        list.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Seq.CompareTo(b.Seq));
        var span = s.C.Timespan;
        switch (s.C.Type)
        {
            case SigmaCorrelationType.EventCount:
            case SigmaCorrelationType.ValueCount:
                if (s.C.Condition!.IsLowerBoundOnly) SlidingCount(s, key, list, span);
                else TumblingCount(s, key, list, span);
                break;
            case SigmaCorrelationType.Temporal:
                Temporal(s, key, list, span);
                break;
            case SigmaCorrelationType.TemporalOrdered:
                TemporalOrdered(s, key, list, span);
                break;
        }
    }

    private static long Count(State s, List<Entry> list, int from, int to)
    {
        if (s.C.Type == SigmaCorrelationType.EventCount) return to - from + 1;
        var distinct = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = from; i <= to; i++) distinct.Add(list[i].Value!);
        return distinct.Count;
    }

    // gt/gte: the first window (from some event, at most the timespan long) that reaches the count fires,
    // taking every event of that window; the next window starts after it.
    private void SlidingCount(State s, string key, List<Entry> list, TimeSpan span)
    {
        int start = 0;
        var values = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (int j = 0; j < list.Count; j++)
        {
            while (list[j].Time - list[start].Time > span)
            {
                if (list[start].Value is { } ov && --values[ov] == 0) values.Remove(ov);
                start++;
            }
            if (list[j].Value is { } v) values[v] = values.GetValueOrDefault(v) + 1;
            long n = s.C.Type == SigmaCorrelationType.EventCount ? j - start + 1 : values.Count;
            if (!s.C.Condition!.Holds(n)) continue;
            int end = j;
            while (end + 1 < list.Count && list[end + 1].Time - list[start].Time <= span) end++;
            Emit(s, key, list, start, end, Count(s, list, start, end));
            start = end + 1;
            j = end;
            values.Clear();
        }
    }

    // lt, lte, eq, neq and ranges: fixed windows from each group's first event, one timespan long.
    private void TumblingCount(State s, string key, List<Entry> list, TimeSpan span)
    {
        int start = 0;
        while (start < list.Count)
        {
            int end = start;
            while (end + 1 < list.Count && list[end + 1].Time - list[start].Time <= span) end++;
            long n = Count(s, list, start, end);
            if (s.C.Condition!.Holds(n)) Emit(s, key, list, start, end, n);
            start = end + 1;
        }
    }

    // temporal: every correlated rule (or as many as the condition asks) fires within the timespan, any order.
    private void Temporal(State s, string key, List<Entry> list, TimeSpan span)
    {
        int rules = s.Bases.Length;
        var counts = new int[rules];
        int distinct = 0, start = 0;
        for (int j = 0; j < list.Count; j++)
        {
            while (list[j].Time - list[start].Time > span)
            {
                if (--counts[list[start].RuleIndex] == 0) distinct--;
                start++;
            }
            if (counts[list[j].RuleIndex]++ == 0) distinct++;
            bool holds = s.C.Condition is { } c ? c.Holds(distinct) : distinct == rules;
            if (!holds) continue;
            Emit(s, key, list, start, j, distinct);
            Array.Clear(counts);
            distinct = 0;
            start = j + 1;
        }
    }

    // temporal_ordered: the rules fire in the listed order, the last at most the timespan after the first.
    private void TemporalOrdered(State s, string key, List<Entry> list, TimeSpan span)
    {
        int rules = s.Bases.Length;
        int i = 0;
        while (i < list.Count)
        {
            if (list[i].RuleIndex != 0) { i++; continue; }
            var picks = new List<int> { i };
            for (int j = i + 1; j < list.Count && picks.Count < rules; j++)
            {
                if (list[j].Time - list[i].Time > span) break;
                if (list[j].RuleIndex == picks.Count) picks.Add(j);
            }
            if (picks.Count == rules)
            {
                EmitPicked(s, key, picks.Select(p => list[p]).ToList(), rules);
                i = picks[^1] + 1;
            }
            else i++;
        }
    }

    private void Emit(State s, string key, List<Entry> list, int from, int to, long n) =>
        EmitPicked(s, key, list.GetRange(from, to - from + 1), n);

    private void EmitPicked(State s, string key, List<Entry> entries, long n)
    {
        var first = entries[0]; var last = entries[^1];
        if (!s.Emitted.Add((key, first.Seq, last.Seq))) return;
        var hosts = entries.Select(e => e.Hit.Host).Where(h => !string.IsNullOrEmpty(h)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var groupValues = new List<KeyValuePair<string, string>>();
        for (int g = 0; g < s.C.GroupBy.Count; g++)
            groupValues.Add(new(s.C.GroupBy[g], FieldOf(s, first.RuleIndex, first.Hit, s.C.GroupBy[g]) ?? ""));
        var fields = new List<KeyValuePair<string, string>>(groupValues)
        {
            new("correlation_type", s.C.Type.ToString()),
            new("count", n.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("first_time", first.Time.ToString("O")),
            new("last_time", last.Time.ToString("O")),
        };
        _results.Add(new SigmaHit
        {
            Rule = s.Rule, TimeUtc = last.Time, Host = string.Join(", ", hosts), Source = "correlation",
            RuleFields = fields, EventFields = [], GroupValues = groupValues,
            Contributing = entries.Select(e => e.Hit).ToList(),
        });
    }
}
