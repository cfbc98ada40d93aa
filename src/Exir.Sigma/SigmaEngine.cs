using Exir.Evtx;
using Exir.Logs;
using Exir.Sigma.Internals;

namespace Exir.Sigma;

/// <summary>
/// Matches Windows events and web-log lines against a compiled <see cref="SigmaRuleSet"/>. Rules are indexed by
/// channel and EventID (and by log format), so an event only meets the rules that can match it. Thread-safe:
/// call <see cref="Match"/> and <see cref="MatchWeb(LogReader, List{SigmaHit}, string?)"/> from several threads
/// at once; nothing is allocated for an event no rule matches (beyond the per-thread view, reused).
/// </summary>
public sealed class SigmaEngine
{
    private sealed class ChannelIndex
    {
        public readonly Dictionary<int, GateIndex> ById = [];
        public GateIndex AnyId = null!;
        public bool SplitKeyValues;
    }

    private readonly Dictionary<string, ChannelIndex> _channels = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, CompiledVariant[]> _web = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<SigmaRule> _correlationOnly = [];
    private readonly ThreadLocal<WinEventView> _winView = new(() => new WinEventView());
    private readonly ThreadLocal<WebLineView> _webView = new(() => new WebLineView());

    public SigmaEngine(SigmaRuleSet ruleSet) : this(ruleSet, useGates: true) { }

    /// <param name="useGates">False: every rule of a channel and EventID meets every event (the differential test's reference).</param>
    internal SigmaEngine(SigmaRuleSet ruleSet, bool useGates)
    {
        RuleSet = ruleSet;
        var byChannel = new Dictionary<string, (Dictionary<int, List<CompiledVariant>> ById, List<CompiledVariant> Any, bool Split)>(StringComparer.OrdinalIgnoreCase);
        var web = new Dictionary<string, List<CompiledVariant>>(StringComparer.OrdinalIgnoreCase);
        foreach (var v in ruleSet.Variants)
        {
            if (v.Source.IsWeb)
            {
                foreach (var f in v.Source.LogFormats)
                {
                    if (!web.TryGetValue(f, out var l)) web[f] = l = [];
                    l.Add(v);
                }
                continue;
            }
            var ch = v.Source.Channel!;
            if (!byChannel.TryGetValue(ch, out var idx)) byChannel[ch] = idx = ([], [], false);
            if (v.Source.SplitKeyValues) byChannel[ch] = idx = (idx.ById, idx.Any, true);
            if (v.EventIds.Length == 0) idx.Any.Add(v);
            else
                foreach (var id in v.EventIds)
                {
                    if (!idx.ById.TryGetValue(id, out var l)) idx.ById[id] = l = [];
                    l.Add(v);
                }
        }
        foreach (var (ch, (byId, any, split)) in byChannel)
        {
            var ci = new ChannelIndex { AnyId = new GateIndex(any, useGates), SplitKeyValues = split };
            foreach (var (id, l) in byId) ci.ById[id] = new GateIndex(l, useGates);
            _channels[ch] = ci;
        }
        foreach (var (f, l) in web) _web[f] = l.ToArray();

        var generating = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var referenced = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var c in ruleSet.Correlations)
            foreach (var r in c.Correlation!.RuleRefs)
            {
                referenced.Add(r);
                if (c.Correlation.Generate) generating.Add(r);
            }
        foreach (var r in ruleSet.Rules)
        {
            bool isRef = referenced.Contains(r.Id) || (r.Name is not null && referenced.Contains(r.Name));
            bool gen = generating.Contains(r.Id) || (r.Name is not null && generating.Contains(r.Name));
            if ((isRef && !gen) || ruleSet.PulledInForCorrelations.Contains(r)) _correlationOnly.Add(r);
        }
    }

    public SigmaRuleSet RuleSet { get; }

    /// <summary>The name under which a hit's <see cref="SigmaHit.RuleFields"/> lists the event values that held a keyword.</summary>
    public const string KeywordEvidence = "keywords";

    /// <summary>For one channel and EventID: the rules that can meet its events, and how many of them sit behind a gate.</summary>
    internal (int Rules, int Gated) GateStats(string channel, int eventId) =>
        _channels.TryGetValue(channel, out var ci) && ci.ById.TryGetValue(eventId, out var g) ? (g.Count + ci.AnyId.Count, g.Gated + ci.AnyId.Gated) : (0, 0);

    /// <summary>Whether any rule reads this channel (lets a caller skip whole EVTX files).</summary>
    public bool WantsChannel(string? channel) => channel is not null && _channels.ContainsKey(channel);

    /// <summary>The channels the rules read.</summary>
    public IEnumerable<string> Channels => _channels.Keys;

    /// <summary>
    /// Lower-case literals one of which occurs in every line of this log format that some rule can match: pass them
    /// as <see cref="LogReaderOptions.Literals"/> to read only candidate lines. Null when some rule needs every line
    /// (or no rule reads the format). The engine compares raw field values, so percent-encoded lines need no extra care.
    /// </summary>
    public IReadOnlyList<string>? WebLiterals(LogFormatDescriptor format)
    {
        if (!_web.TryGetValue(format.Name, out var variants)) return null;
        var all = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in variants)
        {
            if (LinePrefilter.Literals(v.Root) is not { Count: > 0 } l) return null;
            all.UnionWith(l);
        }
        return all.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The rules of a log format that need every line (none of their literals is usable for a prefilter).</summary>
    public IEnumerable<SigmaRule> RulesNeedingEveryLine(LogFormatDescriptor format) =>
        _web.TryGetValue(format.Name, out var variants) ? variants.Where(v => LinePrefilter.Literals(v.Root) is not { Count: > 0 }).Select(v => v.Rule).Distinct() : [];

    /// <summary>Whether any rule reads this log format (exir's names: iis, httpproxy).</summary>
    public bool WantsLog(LogFormatDescriptor format) => _web.ContainsKey(format.Name);

    /// <summary>Matches one event; appends a hit per rule that fires. Returns the number of hits added.</summary>
    public int Match(WinEvent e, List<SigmaHit> hits)
    {
        if (e.Channel is null || !_channels.TryGetValue(e.Channel, out var ci)) return 0;
        ci.ById.TryGetValue(e.EventId, out var byId);
        if (byId is null && ci.AnyId.Count == 0) return 0;
        var view = _winView.Value!;
        view.Load(e, RuleSet.Table, ci.SplitKeyValues);
        int before = hits.Count;
        var candidates = view.Candidates;
        if (byId is not null) Run(byId, view, e, hits, before, candidates);
        if (ci.AnyId.Count > 0) Run(ci.AnyId, view, e, hits, before, candidates);
        return hits.Count - before;
    }

    private void Run(GateIndex index, WinEventView view, WinEvent e, List<SigmaHit> hits, int firstOfEvent, List<CompiledVariant> candidates)
    {
        Run(index.Always, view, e, hits, firstOfEvent);
        if (index.Gated == 0) return;
        candidates.Clear();
        index.Candidates(view, candidates);
        if (candidates.Count > 0) Run(candidates, view, e, hits, firstOfEvent);
        candidates.Clear();
    }

    private void Run(IReadOnlyList<CompiledVariant> variants, WinEventView view, WinEvent e, List<SigmaHit> hits, int firstOfEvent)
    {
        for (int i = 0; i < variants.Count; i++)
        {
            var v = variants[i];
            if (v.Source.Provider is { } p && !p.Equals(e.Provider, StringComparison.OrdinalIgnoreCase)) continue;
            if (!v.Root.Eval(view)) continue;
            if (AlreadyHit(hits, firstOfEvent, v.Rule)) continue;
            hits.Add(new SigmaHit
            {
                Rule = v.Rule, TimeUtc = e.TimestampUtc, Host = e.Computer, Source = v.Source.Name,
                RuleFields = RuleFields(v, view), EventFields = EventFields(e),
                EventId = e.EventId, Channel = e.Channel, RecordId = e.RecordId, CorrelationOnly = _correlationOnly.Contains(v.Rule),
            });
        }
    }

    private static bool AlreadyHit(List<SigmaHit> hits, int from, SigmaRule rule)
    {
        for (int i = from; i < hits.Count; i++) if (ReferenceEquals(hits[i].Rule, rule)) return true;
        return false;
    }

    private static List<KeyValuePair<string, string>> RuleFields(CompiledVariant v, EventView view)
    {
        var list = new List<KeyValuePair<string, string>>(v.Fields.Length);
        foreach (var (sigma, id) in v.Fields)
            if (view.Get(id) is { } value) list.Add(new(sigma, value));
        // Keyword rules read no named field: the values that held a keyword are their evidence.
        if (v.Keywords.Length > 0)
            for (int i = 0; i < view.ValueCount; i++)
            {
                var value = view.ValueAt(i);
                foreach (var k in v.Keywords)
                    if (k.Holds(value, view)) { list.Add(new(KeywordEvidence, value)); break; }
            }
        return list;
    }

    /// <summary>The System fields and the data of a Windows event, as evidence.</summary>
    public static List<KeyValuePair<string, string>> EventFields(WinEvent e)
    {
        var list = new List<KeyValuePair<string, string>>(e.Data.Count + 6)
        {
            new("EventID", WinEventView.Int(e.EventId)),
            new("Provider_Name", e.Provider),
        };
        if (e.Channel is not null) list.Add(new("Channel", e.Channel));
        if (e.Computer is not null) list.Add(new("Computer", e.Computer));
        list.Add(new("EventRecordID", e.RecordId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        list.AddRange(e.Data);
        return list;
    }

    /// <summary>
    /// Matches the reader's current line (IIS W3C or Exchange HttpProxy, after <see cref="LogReader.Read"/>) with the
    /// webserver/proxy rules. <paramref name="host"/> is used when the line names no server.
    /// </summary>
    public int MatchWeb(LogReader reader, List<SigmaHit> hits, string? host = null)
    {
        if (reader.Schema is null || !_web.TryGetValue(reader.Descriptor.Name, out var variants)) return 0;
        var view = _webView.Value!;
        view.Load(reader, RuleSet.Table);
        return RunWeb(variants, view, reader.Descriptor, reader.Timestamp, reader.LineNumber, host, hits);
    }

    /// <summary>As <see cref="MatchWeb(LogReader, List{SigmaHit}, string?)"/> for a descriptor named by the caller (the pipeline's view of the format).</summary>
    public int MatchWeb(LogFormatDescriptor format, LogReader reader, List<SigmaHit> hits, string? host = null)
    {
        if (reader.Schema is null || !_web.TryGetValue(format.Name, out var variants)) return 0;
        var view = _webView.Value!;
        view.Load(reader, RuleSet.Table);
        return RunWeb(variants, view, format, reader.Timestamp, reader.LineNumber, host, hits);
    }

    /// <summary>Matches one log line given as field names and values (rule tests, other readers).</summary>
    public int MatchWeb(LogFormatDescriptor format, IReadOnlyList<KeyValuePair<string, string>> fields, List<SigmaHit> hits, DateTime? timeUtc = null, string? host = null)
    {
        if (!_web.TryGetValue(format.Name, out var variants)) return 0;
        var schema = new LogSchema(fields.Select(f => f.Key).ToList(), format);
        var view = _webView.Value!;
        view.Load(schema, fields.Select(f => f.Value).ToList(), RuleSet.Table);
        return RunWeb(variants, view, format, timeUtc is { } t ? new DateTimeOffset(t, TimeSpan.Zero) : null, null, host, hits);
    }

    private int RunWeb(CompiledVariant[] variants, WebLineView view, LogFormatDescriptor format, DateTimeOffset? time, long? line, string? host, List<SigmaHit> hits)
    {
        int before = hits.Count;
        foreach (var v in variants)
        {
            if (!v.Root.Eval(view)) continue;
            if (AlreadyHit(hits, before, v.Rule)) continue;
            var hostField = view.Schema.IndexOf("Host");
            var lineHost = hostField >= 0 ? view.ValueAt(hostField) : "";
            hits.Add(new SigmaHit
            {
                Rule = v.Rule, TimeUtc = time?.UtcDateTime ?? default, Host = lineHost.Length > 0 ? lineHost : host, Source = format.Name,
                RuleFields = RuleFields(v, view), EventFields = view.AllFields(), LineNumber = line,
                CorrelationOnly = _correlationOnly.Contains(v.Rule),
            });
        }
        return hits.Count - before;
    }

    /// <summary>A correlator for one run: feed it every hit (from any thread), then <see cref="SigmaCorrelator.Complete"/>.</summary>
    public SigmaCorrelator NewCorrelator() => new(RuleSet);
}
