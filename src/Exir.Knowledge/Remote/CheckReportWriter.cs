using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Exir.Core;
using Exir.Knowledge.Assessment;

namespace Exir.Knowledge.Remote;

/// <summary>Renders remote check results: text (a verdict line for every probe), JSON or CSV.</summary>
public static class CheckReportWriter
{
    /// <summary>The host's patch status as an inventory row (unreachable or non-Exchange hosts carry an error).</summary>
    public static BuildAssessment ToAssessment(RemoteCheckResult r)
    {
        if (r.Assessment is { } a) return a with { Target = r.Host };
        return new BuildAssessment
        {
            Target = r.Host, Source = "remote",
            Error = r.Error ?? (r.IsExchange ? "Exchange version not disclosed" : "not an Exchange server (no OWA/ECP fingerprint)"),
        };
    }

    /// <summary>
    /// The readable report. Every value the server or the user gave (headers, page text, redirect targets, host
    /// names) is one line with its control characters escaped (<see cref="TextSafety.ForTerminal"/>): a header
    /// cannot drive the terminal or fake a line of the report.
    /// </summary>
    public static string Text(IEnumerable<RemoteCheckResult> results)
    {
        static string T(string? s) => TextSafety.ForTerminal(s);
        var sb = new StringBuilder();
        foreach (var r in results)
        {
            sb.AppendLine($"{T(r.Host)}{(r.BaseUri is null || r.BaseUri.ToString().TrimEnd('/') == r.Host.TrimEnd('/') ? "" : $" ({T(r.BaseUri.ToString())})")}");
            foreach (var w in r.Warnings) sb.AppendLine($"  WARNING    {T(w)}");
            if (r.Error is not null) sb.AppendLine($"  error      {T(r.Error)}");
            else if (!r.IsExchange) sb.AppendLine("  exchange   no: the host answers but not like Exchange (no X-OWA-Version, OWA logon page or ECP manifest)");
            else
            {
                var fp = r.Fingerprint;
                sb.AppendLine(fp is null
                    ? "  exchange   yes; version not disclosed"
                    : $"  exchange   yes; build {fp.Build} from {fp.Source} ({(fp.Precision == Precision.Su ? "exact build, SUs visible" : "CU level only")})");
                foreach (var c in r.Clues.Where(c => c != fp)) sb.AppendLine($"  clue       {c.Source}: {T(c.Value)}");
            }
            foreach (var p in r.Probes)
                sb.AppendLine($"  PROBE      {p.Name}: {ProbeResult.VerdictName(p.Verdict).ToUpperInvariant()} ({T(p.Detail)})");
            if (r.Assessment is { Error: null } a)
            {
                var block = AssessmentWriter.Text([ForText(a)]).Split('\n').Skip(1).Where(l => l.Length > 0);
                foreach (var l in block) sb.AppendLine(l);
            }
            else if (r.Assessment?.Error is { } e) sb.AppendLine($"  patch      not assessed: {T(e)}");
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>
    /// An assessment whose evidence- or server-given values (target, build text, source, error, notes) are one line
    /// each with their control characters escaped, for the readable reports (<see cref="AssessmentWriter.Text"/>).
    /// </summary>
    public static BuildAssessment ForText(BuildAssessment a) => a with
    {
        Target = TextSafety.ForTerminal(a.Target),
        BuildText = a.BuildText is null ? null : TextSafety.ForTerminal(a.BuildText),
        Source = TextSafety.ForTerminal(a.Source),
        Error = a.Error is null ? null : TextSafety.ForTerminal(a.Error),
        Notes = a.Notes.Select(n => TextSafety.ForTerminal(n)).ToList(),
    };

    public static string Json(IEnumerable<RemoteCheckResult> results)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("host", r.Host);
                w.WriteString("url", r.BaseUri?.ToString());
                w.WriteBoolean("reachable", r.Reachable);
                w.WriteBoolean("exchange", r.IsExchange);
                w.WriteString("error", r.Error);
                if (r.Fingerprint is { } fp)
                {
                    w.WriteStartObject("fingerprint");
                    w.WriteString("build", fp.Build?.ToString());
                    w.WriteString("value", fp.Value);
                    w.WriteString("source", fp.Source);
                    w.WriteString("precision", fp.Precision);
                    w.WriteEndObject();
                }
                else w.WriteNull("fingerprint");
                w.WriteStartArray("probes");
                foreach (var p in r.Probes)
                {
                    w.WriteStartObject();
                    w.WriteString("name", p.Name);
                    w.WriteString("cve", p.Cves);
                    w.WriteString("verdict", ProbeResult.VerdictName(p.Verdict));
                    w.WriteString("detail", p.Detail);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WritePropertyName("assessment");
                if (r.Assessment is { } a) AssessmentWriter.WriteObject(w, a with { Target = r.Host });
                else w.WriteNullValue();
                w.WriteStartArray("warnings");
                foreach (var x in r.Warnings) w.WriteStringValue(x);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    public static readonly string[] CsvColumns =
        ["host", "exchange", "build", "precision", "source", "proxylogon_probe", "proxyshell_probe", "proxynotshell_mitigation", "open_cves", "action", "action_text", "error"];

    /// <summary>One host per row, through the one CSV writer (spreadsheet-safe: every value here comes from a remote server).</summary>
    public static string Csv(IEnumerable<RemoteCheckResult> results)
    {
        var sw = new StringWriter();
        using (var table = new Exir.Core.CsvTable(sw, CsvColumns))
            foreach (var r in results)
            {
                string Probe(int i) => r.Probes.Count > i ? ProbeResult.VerdictName(r.Probes[i].Verdict) : "";
                var a = r.Assessment;
                table.Row(
                    r.Host, r.IsExchange ? "true" : "false", r.Fingerprint?.Build?.ToString(), r.Fingerprint?.Precision, r.Fingerprint?.Source,
                    Probe(0), Probe(1), Probe(2), a is null ? "" : string.Join(';', a.OpenCves),
                    a is { Error: null } ? BuildAssessment.ActionName(a.Action) : "", a?.ActionText, r.Error ?? a?.Error);
            }
        return sw.ToString();
    }
}
