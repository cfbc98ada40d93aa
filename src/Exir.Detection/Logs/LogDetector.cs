using System.Buffers;
using System.Net;
using System.Text.RegularExpressions;
using Exir.Core.Coverage;
using Exir.Core.Findings;
using Exir.Detection.Pipeline;
using Exir.Logs;

namespace Exir.Detection.Logs;

/// <summary>
/// Runs the log rules of one format over a classified log file: one streaming pass, the pre-filter
/// skips ordinary lines unsplit, candidate lines are evaluated against every rule of the format.
/// Reports findings, per-family coverage (time span, malformed lines) and what the logs reveal
/// about the server (host name, Exchange build, install folder).
/// </summary>
public abstract class LogDetector : IDetector
{
    private const int MaxEvidenceChars = 8192;
    private const int MaxDetailChars = 4096;
    private static readonly object LearnLock = new();
    private static readonly Regex ExchangeBuild = new(@"^15\.\d{1,2}\.\d{1,4}\.\d{1,3}$", RegexOptions.CultureInvariant);

    public abstract string Name { get; }
    public abstract LogFormat Format { get; }
    public abstract ArtifactKind Kind { get; }

    /// <summary>Every file of the kind (for coverage), except other Exchange logs, read only when a rule asks for them.</summary>
    public bool Wants(ArtifactProbe probe, ScanContext context) =>
        probe.Kind == Kind && (Format != LogFormat.OtherExchange || LogRuleSet.For(context).For(Format).Count > 0);

    /// <summary>Coverage family of a file ("HttpProxy/Ecp", "IIS/W3SVC1", "ECP Server", ...).</summary>
    protected abstract string Family(ArtifactProbe probe, LogReader reader);

    public void Inspect(ArtifactProbe probe, ScanContext context)
    {
        var set = LogRuleSet.For(context);
        var rules = set.For(Format);
        var path = probe.File.RelativePath;
        var options = new LogReaderOptions { Literals = set.Literals(Format), IncludePercentLines = set.Decodes(Format) };
        LogReader? reader = null;
        char[] decoded = ArrayPool<char>.Shared.Rent(options.MaxLineChars);
        char[] lowered = ArrayPool<char>.Shared.Rent(options.MaxLineChars);
        var view = new LogLineView();
        var firedGroups = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        try
        {
            using var stream = probe.File.OpenRead();
            reader = new LogReader(stream, Format, options);
            var plain = set.PlainLiterals(Format);
            var (index, prefilterMask, anyMasks, allMasks) = set.Masks(Format);
            bool masked = index.Usable;
            bool decodes = set.Decodes(Format);
            bool windowed = context.Options.Since is not null || context.Options.Until is not null;
            while (reader.Read())
            {
                context.Cancellation.ThrowIfCancellationRequested();
                if (windowed && !context.Options.InWindow(reader.Timestamp)) continue;
                var raw = reader.Line;
                ReadOnlySpan<char> dec = default;
                if (decodes && UrlDecoding.MayHideText(raw))
                    dec = decoded.AsSpan(0, UrlDecoding.DecodeRepeatedly(raw, decoded));
                ulong rawMask = 0, decMask = 0;
                if (masked)
                {
                    // One pass finds every literal of the line; each rule then tests bits.
                    rawMask = index.Mask(reader.LowerLine);
                    if (!dec.IsEmpty)
                    {
                        var lowerDec = lowered.AsSpan(0, dec.Length);
                        LogReader.LowerCase(dec, lowerDec);
                        decMask = index.Mask(lowerDec);
                    }
                    if (((rawMask | decMask) & prefilterMask) == 0) continue;
                }
                // The line may have passed only on a '%': keep it only if decoding revealed a literal.
                else if (!raw.ContainsAny(plain) && !(decodes && !dec.IsEmpty && dec.ContainsAny(plain))) continue;
                firedGroups.Clear();
                for (int r = 0; r < rules.Count; r++)
                {
                    var rule = rules[r];
                    if (rule.Group is { } g && firedGroups.Contains(g)) continue;
                    if (masked)
                    {
                        ulong m = rule.UsesDecoding ? rawMask | decMask : rawMask;
                        if (anyMasks[r] != 0 && (m & anyMasks[r]) == 0) continue;
                        if ((m & allMasks[r]) != allMasks[r]) continue;
                    }
                    else if (!rule.PassesLiterals(raw, dec)) continue;
                    view.Reset(reader, path);
                    Derive(rule, view);
                    if (!rule.Match.Evaluate(view)) continue;
                    if (rule.Group is { } g2) firedGroups.Add(g2);
                    context.Report(BuildFinding(rule, view, reader, path, context.Options.Host));
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or System.Text.DecoderFallbackException)
        {
            var kind = reader is { Stats.Lines: > 0 } ? IssueKind.Truncated : IssueKind.Unreadable;
            context.Coverage.AddIssue(kind, path, $"{(kind == IssueKind.Truncated ? $"read stopped after line {reader!.Stats.Lines}" : "cannot read")}: {e.Message}");
        }
        finally
        {
            ArrayPool<char>.Shared.Return(decoded);
            ArrayPool<char>.Shared.Return(lowered);
            if (reader is not null)
            {
                Account(probe, context, reader);
                Learn(probe, context, reader);
                reader.Dispose();
            }
            else context.Coverage.Family(FallbackFamily).AddFile(probe.File.Length);
        }
    }

    /// <summary>Family used when the file could not even be opened.</summary>
    protected abstract string FallbackFamily { get; }

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

    private Finding BuildFinding(LogRule rule, LogLineView view, LogReader reader, string path, string? hostOverride)
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
        details["log_format"] = Format.ToString();

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

    private void Account(ArtifactProbe probe, ScanContext context, LogReader reader)
    {
        var s = reader.Stats;
        var family = context.Coverage.Family(Family(probe, reader));
        family.AddFile(probe.File.Length);
        family.AddSpan(s.Lines, s.MalformedLines, s.First, s.Last, s.Days);
        var path = probe.File.RelativePath;
        if (s.MalformedLines > 0)
        {
            var parts = new List<string>();
            if (s.OverlongLines > 0) parts.Add($"{s.OverlongLines} longer than the line limit (skipped)");
            if (s.BinaryLines > 0) parts.Add($"{s.BinaryLines} with binary or undecodable bytes");
            if (s.ColumnMismatchLines > 0) parts.Add($"{s.ColumnMismatchLines} pre-filtered lines whose column count differs from #Fields");
            context.Coverage.AddIssue(IssueKind.Malformed, path, $"{s.MalformedLines} malformed lines: {string.Join("; ", parts)}");
        }
        if (s.UnparsedLines > 0)
            context.Coverage.AddIssue(IssueKind.Malformed, path, $"no #Fields header and no safe default: {s.UnparsedLines} lines could not be read by field name");
        foreach (var note in s.Notes) context.Coverage.AddIssue(IssueKind.Malformed, path, note);
        if (s.TruncatedLastLine) context.Coverage.AddIssue(IssueKind.Truncated, path, "last line has no line end (file cut or still being written)");
    }

    private void Learn(ArtifactProbe probe, ScanContext context, LogReader reader)
    {
        var host = reader.FirstLineField("Host");
        var version = Format.IsExchangeCsv() && reader.Version is { } v && ExchangeBuild.IsMatch(v) && !v.StartsWith("15.0.0.0", StringComparison.Ordinal) ? v : null;
        var path = probe.File.RelativePath;
        int logging = path.IndexOf("/Logging/", StringComparison.OrdinalIgnoreCase);
        string? install = Format.IsExchangeCsv() && logging > 0 ? path[..logging] : null;
        if (host is null && version is null && install is null) return;
        lock (LearnLock)
        {
            if (host is not null && context.Host is null && !host.Contains('\0')) context.Host = host;
            if (version is not null && (context.ExchangeBuild is null || CompareBuild(version, context.ExchangeBuild) > 0)) context.ExchangeBuild = version;
            if (install is not null) context.InstallPath ??= install;
        }
    }

    private static int CompareBuild(string a, string b) =>
        System.Version.TryParse(a, out var va) && System.Version.TryParse(b, out var vb) ? va.CompareTo(vb) : 0;
}

/// <summary>HttpProxy logs of every protocol folder (Autodiscover, Ecp, Ews, Mapi, Owa, PowerShell, ...).</summary>
public sealed class HttpProxyLogDetector : LogDetector
{
    public override string Name => "httpproxy-logs";
    public override LogFormat Format => LogFormat.HttpProxy;
    public override ArtifactKind Kind => ArtifactKind.HttpProxyLog;
    protected override string FallbackFamily => "HttpProxy";

    protected override string Family(ArtifactProbe probe, LogReader reader)
    {
        // The protocol folder (HttpProxy/Ecp/...) names the family; a loose file falls back to its Protocol field.
        var p = probe.File.RelativePath;
        int at = p.LastIndexOf("/HttpProxy/", StringComparison.OrdinalIgnoreCase);
        string rest = at >= 0 ? p[(at + "/HttpProxy/".Length)..] : p.StartsWith("HttpProxy/", StringComparison.OrdinalIgnoreCase) ? p["HttpProxy/".Length..] : "";
        int slash = rest.IndexOf('/');
        if (slash > 0) return "HttpProxy/" + rest[..slash];
        return reader.FirstLineField("Protocol") is { Length: > 0 and < 40 } proto ? "HttpProxy/" + proto : "HttpProxy";
    }
}

/// <summary>IIS W3C logs of every site (W3SVC1 front end, W3SVC2 Exchange back end).</summary>
public sealed class IisLogDetector : LogDetector
{
    private static readonly Regex Site = new(@"(?:^|/)(W3SVC\d+)(?:/|$)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    public override string Name => "iis-logs";
    public override LogFormat Format => LogFormat.IisW3c;
    public override ArtifactKind Kind => ArtifactKind.IisW3cLog;
    protected override string FallbackFamily => "IIS";

    protected override string Family(ArtifactProbe probe, LogReader reader)
    {
        var m = Site.Match(probe.File.RelativePath);
        return m.Success ? "IIS/" + m.Groups[1].Value.ToUpperInvariant() : "IIS";
    }
}

/// <summary>ECP server logs (Logging/ECP/Server).</summary>
public sealed class EcpServerLogDetector : LogDetector
{
    public override string Name => "ecp-server-logs";
    public override LogFormat Format => LogFormat.EcpServer;
    public override ArtifactKind Kind => ArtifactKind.EcpServerLog;
    protected override string FallbackFamily => "ECP Server";
    protected override string Family(ArtifactProbe probe, LogReader reader) => "ECP Server";
}

/// <summary>OAB generator logs (Logging/OABGeneratorLog).</summary>
public sealed class OabGeneratorLogDetector : LogDetector
{
    public override string Name => "oab-generator-logs";
    public override LogFormat Format => LogFormat.OabGenerator;
    public override ArtifactKind Kind => ArtifactKind.OabGeneratorLog;
    protected override string FallbackFamily => "OABGenerator";
    protected override string Family(ArtifactProbe probe, LogReader reader) => "OABGenerator";
}

/// <summary>Other Exchange CSV logs (cmdlet logs, EWS, ...): only rules that name "exchange-other" run here.</summary>
public sealed class ExchangeLogDetector : LogDetector
{
    public override string Name => "exchange-logs";
    public override LogFormat Format => LogFormat.OtherExchange;
    public override ArtifactKind Kind => ArtifactKind.OtherExchangeLog;
    protected override string FallbackFamily => "Exchange";
    protected override string Family(ArtifactProbe probe, LogReader reader) =>
        reader.LogType is { Length: > 0 and < 60 } t ? "Exchange/" + t : "Exchange";
}
