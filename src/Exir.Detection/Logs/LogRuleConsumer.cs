using System.Buffers;
using System.Net;
using System.Text.RegularExpressions;
using Exir.Core.Coverage;
using Exir.Core.Findings;
using Exir.Logs;
using Exir.Pipeline;

namespace Exir.Detection.Logs;

/// <summary>
/// The log hunts: the rules of rules/logs over the lines of every log format they name. The pipeline's
/// reader pre-filters on the rules' literals; each candidate line is masked against the literal index
/// once, and only the rules whose literals it holds are evaluated. Findings point at the line.
/// </summary>
public sealed class LogRuleConsumer(LogRuleSet rules) : ILogConsumer
{
    private const int MaxEvidenceChars = 8192;
    private const int MaxDetailChars = 4096;

    public string Name => "log-rules";
    public LogRuleSet Rules => rules;

    public LogLineNeeds? Needs(LogFormatDescriptor format, RunContext context) =>
        rules.For(format.Format).Count == 0 ? null
            : new LogLineNeeds { Literals = rules.Literals(format.Format), PercentLines = rules.Decodes(format.Format), LowerCase = true };

    public ILogLineHandler Open(ArtifactProbe probe, LogReader reader, RunContext context) => new Handler(this, probe.File.RelativePath, reader.Format, context);

    /// <summary>The rules' state for one file: scratch buffers and the line view, used from one thread.</summary>
    private sealed class Handler : ILogLineHandler
    {
        private readonly LogRuleConsumer _owner;
        private readonly string _path;
        private readonly RunContext _context;
        private readonly IReadOnlyList<LogRule> _rules;
        private readonly SearchValues<string> _plain;
        private readonly LiteralIndex _index;
        private readonly ulong _prefilterMask;
        private readonly ulong[] _anyMasks, _allMasks;
        private readonly bool _masked, _decodes, _windowed;
        private readonly char[] _decoded, _lowered, _lowerRaw;
        private readonly LogLineView _view = new();
        private readonly HashSet<string> _firedGroups = new(StringComparer.OrdinalIgnoreCase);
        private bool _returned;

        public Handler(LogRuleConsumer owner, string path, LogFormat format, RunContext context)
        {
            _owner = owner;
            _path = path;
            _context = context;
            var set = owner.Rules;
            _rules = set.For(format);
            _plain = set.PlainLiterals(format);
            (_index, _prefilterMask, _anyMasks, _allMasks) = set.Masks(format);
            _masked = _index.Usable;
            _decodes = set.Decodes(format);
            _windowed = context.Options.Since is not null || context.Options.Until is not null;
            int max = new LogReaderOptions().MaxLineChars;
            _decoded = ArrayPool<char>.Shared.Rent(max);
            _lowered = ArrayPool<char>.Shared.Rent(max);
            _lowerRaw = ArrayPool<char>.Shared.Rent(max);
        }

        public void Line(LogReader reader)
        {
            if (_windowed && !_context.Options.InWindow(reader.Timestamp)) return;
            var raw = reader.Line;
            if (raw.Length > _decoded.Length) return;
            ReadOnlySpan<char> dec = default;
            if (_decodes && UrlDecoding.MayHideText(raw))
                dec = _decoded.AsSpan(0, UrlDecoding.DecodeRepeatedly(raw, _decoded));
            ulong rawMask = 0, decMask = 0;
            if (_masked)
            {
                // One pass finds every literal of the line; each rule then tests bits.
                var lower = reader.LowerLine;
                if (lower.Length != raw.Length)
                {
                    lower = _lowerRaw.AsSpan(0, raw.Length);
                    LogReader.LowerCase(raw, _lowerRaw);
                }
                rawMask = _index.Mask(lower);
                if (!dec.IsEmpty)
                {
                    var lowerDec = _lowered.AsSpan(0, dec.Length);
                    LogReader.LowerCase(dec, lowerDec);
                    decMask = _index.Mask(lowerDec);
                }
                if (((rawMask | decMask) & _prefilterMask) == 0) return;
            }
            // The line may have passed only on a '%' (or be any line, when another consumer reads every one):
            // keep it only if it, or its decoding, holds a literal.
            else if (!raw.ContainsAny(_plain) && !(_decodes && !dec.IsEmpty && dec.ContainsAny(_plain))) return;
            _firedGroups.Clear();
            for (int r = 0; r < _rules.Count; r++)
            {
                var rule = _rules[r];
                if (rule.Group is { } g && _firedGroups.Contains(g)) continue;
                if (_masked)
                {
                    ulong m = rule.UsesDecoding ? rawMask | decMask : rawMask;
                    if (_anyMasks[r] != 0 && (m & _anyMasks[r]) == 0) continue;
                    if ((m & _allMasks[r]) != _allMasks[r]) continue;
                }
                else if (!rule.PassesLiterals(raw, dec)) continue;
                _view.Reset(reader, _path);
                Derive(rule, _view);
                if (!rule.Match.Evaluate(_view)) continue;
                if (rule.Group is { } g2) _firedGroups.Add(g2);
                _context.Report(_owner.BuildFinding(rule, _view, reader, _path, _context.Options.Host));
            }
        }

        public void Close(LogReader reader)
        {
            if (_returned) return;
            _returned = true;
            ArrayPool<char>.Shared.Return(_decoded);
            ArrayPool<char>.Shared.Return(_lowered);
            ArrayPool<char>.Shared.Return(_lowerRaw);
        }
    }

    private static void Derive(LogRule rule, LogLineView view)
    {
        foreach (var d in rule.Derive)
        {
            string value = "";
            foreach (var (field, rx) in d.Sources)
            {
                // Transforms (percent, winpath...) apply to the source, so the regex sees what the server saw.
                var src = view.Value(field, d.Transforms);
                if (src.Length == 0) continue;
                Match m;
                try { m = rx.Match(src); }
                catch (RegexMatchTimeoutException) { continue; }
                if (!m.Success) continue;
                var grp = m.Groups["value"];
                value = grp.Success ? grp.Value : m.Groups.Count > 1 ? m.Groups[1].Value : m.Value;
                break;
            }
            view.SetDerived(d.Name, value);
        }
    }

    internal Finding BuildFinding(LogRule rule, LogLineView view, LogReader reader, string path, string? hostOverride)
    {
        var severity = rule.Info.Severity;
        var outcome = rule.Info.Outcome;
        string? note = null;
        foreach (var grade in rule.Grades)
        {
            if (!grade.When.Evaluate(view)) continue;
            severity = grade.Severity;
            outcome = grade.Outcome;
            note = grade.Note;
            break;
        }
        var details = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in rule.DetailFields)
        {
            var v = view.Raw(f);
            if (v.Length > 0) details[f] = Clip(v, MaxDetailChars);
        }
        foreach (var (k, v) in view.Derived) if (v.Length > 0) details[k] = Clip(v, MaxDetailChars);
        foreach (var (k, v) in view.Captures) if (v.Length > 0) details[k] = Clip(v, MaxDetailChars);
        foreach (var (k, v) in view.Notes) details[k] = v;
        if (rule.UsesDecoding && view.Has("Url"))
        {
            var url = view.Raw("Url");
            var dec = UrlDecoding.DecodeRepeatedly(url);
            if (!string.Equals(dec, url, StringComparison.Ordinal)) details["decoded_url"] = Clip(dec, MaxDetailChars);
        }
        if (!string.IsNullOrEmpty(note)) details["grade"] = note;
        var (ip, source, proxy) = ClientIp(view, reader);
        if (ip is not null) details["client_ip_source"] = source!;
        if (proxy is not null) details["client_ip_note"] = proxy;
        if (reader.ColumnMismatch) details["column_mismatch"] = $"{reader.FieldCount} columns, #Fields lists {reader.Schema?.Count ?? 0}; values may be shifted";
        if (reader.Schema is { IsFallback: true }) details["field_list"] = "default (file has no #Fields header)";
        details["log_format"] = reader.Descriptor.Name;

        // The server that wrote the line (HttpProxy ServerHostName, ECP ServerName, IIS s-computername when logged):
        // in a multi-server collection it is more precise than the scan-wide host.
        // An explicit --host wins (the context applies it).
        var host = hostOverride is null ? view.Raw("Host") : "";
        return Finding.FromRule(rule.Info, path) with
        {
            Host = host.Length is > 0 and < 256 ? host : null,
            Severity = severity,
            Outcome = outcome,
            Line = reader.LineNumber,
            Timestamp = reader.Timestamp,
            TimeSource = reader.Timestamp is null ? null : TimeSources.LogLine,
            ClientIp = ip,
            Evidence = Clip(view.RawLine, MaxEvidenceChars),
            Details = details,
        };
    }

    /// <summary>
    /// The real client: the first X-Forwarded-For address when the log has that field (requests through a
    /// load balancer), else the log's client address. Loopback or the server itself means the line was proxied.
    /// </summary>
    private static (string? Ip, string? Source, string? Note) ClientIp(LogLineView view, LogReader reader)
    {
        var schema = reader.Schema;
        if (schema is null) return (null, null, null);
        var xff = view.Raw("ForwardedFor");
        if (xff.Length > 0)
        {
            var first = xff.Split(',')[0].Trim();
            if (IPAddress.TryParse(first, out _) || TryHostPort(first, out first))
                return (first, schema.Names[schema.IndexOf("ForwardedFor")], null);
        }
        var c = view.Raw("ClientIp");
        if (c.Length == 0) return (null, null, null);
        string? note = IPAddress.TryParse(c, out var addr) && IPAddress.IsLoopback(addr)
            ? "loopback: the request came through the Exchange front end; the real client is in the front-end IIS site or HttpProxy log"
            : null;
        return (c, schema.Names[schema.IndexOf("ClientIp")], note);
    }

    private static bool TryHostPort(string s, out string ip)
    {
        ip = s;
        int colon = s.LastIndexOf(':');
        if (colon > 0 && IPAddress.TryParse(s[..colon], out _)) { ip = s[..colon]; return true; }
        return false;
    }

    private static string Clip(string s, int max) =>
        s.Length <= max ? s : string.Concat(s.AsSpan(0, max), $" …[truncated: {s.Length - max} more chars]");
}
