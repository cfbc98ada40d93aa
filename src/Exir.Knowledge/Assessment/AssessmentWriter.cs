using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Exir.Knowledge.Assessment;

/// <summary>
/// Renders assessments as JSON (an array, one object per server), CSV (one row per server) or plain
/// text. The JSON names are a contract with scripts and the case store: keep them stable.
/// </summary>
public static class AssessmentWriter
{
    public static string Json(IEnumerable<BuildAssessment> all)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (var a in all) WriteObject(w, a);
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    public static void WriteObject(Utf8JsonWriter w, BuildAssessment a)
    {
        w.WriteStartObject();
        w.WriteString("target", a.Target);
        w.WriteString("build", a.BuildText);
        w.WriteString("build_normalized", a.Build?.ToString());
        w.WriteString("product", a.Product);
        w.WriteString("cu", a.Cu);
        w.WriteString("su", a.Su);
        w.WriteString("release_name", a.ReleaseName);
        w.WriteString("release_date", a.ReleaseDate);
        w.WriteString("kb", a.Kb);
        w.WriteString("precision", a.Error is null ? a.Precision : null);
        w.WriteString("source", a.Source);
        w.WriteBoolean("known_build", a.Known);
        w.WriteBoolean("supported", a.Supported);
        w.WriteString("support_status", a.SupportStatus);
        w.WriteStartArray("open_cves");
        foreach (var id in a.OpenCves) w.WriteStringValue(id);
        w.WriteEndArray();
        w.WriteStartArray("cves");
        foreach (var c in a.Cves)
        {
            w.WriteStartObject();
            w.WriteString("id", c.Id);
            w.WriteString("wave", c.Wave);
            w.WriteNumber("cvss", c.Cvss);
            w.WriteString("severity", c.Severity);
            w.WriteString("status", StateName(c.State));
            w.WritePropertyName("fixed_in");
            WriteUpdate(w, c.FixedIn);
            w.WriteString("note", c.Note);
            w.WriteString("interim_mitigation", c.InterimMitigation);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WritePropertyName("fixed_by");
        WriteUpdate(w, a.FixedBy);
        w.WriteString("action", a.Error is null ? BuildAssessment.ActionName(a.Action) : null);
        w.WriteString("action_text", a.ActionText);
        w.WriteStartArray("notes");
        foreach (var n in a.Notes) w.WriteStringValue(n);
        w.WriteEndArray();
        w.WriteString("knowledge_version", a.KnowledgeVersion);
        w.WriteString("error", a.Error);
        w.WriteEndObject();
    }

    private static void WriteUpdate(Utf8JsonWriter w, UpdateRef? u)
    {
        if (u is null) { w.WriteNullValue(); return; }
        w.WriteStartObject();
        w.WriteString("name", u.Name);
        w.WriteString("kb", u.Kb);
        w.WriteString("build", u.Build);
        w.WriteEndObject();
    }

    public static string StateName(CveState s) => s switch
    {
        CveState.Open => "open",
        CveState.Fixed => "fixed",
        CveState.Configuration => "config",
        _ => "unknown",
    };

    public static readonly string[] CsvColumns =
        ["target", "build", "product", "cu", "su", "precision", "source", "supported", "open_cves", "fixed_by", "fixed_by_kb", "action", "action_text", "knowledge_version", "error"];

    /// <summary>One server per row, through the one CSV writer (spreadsheet-safe: values come from remote hosts and evidence).</summary>
    public static string Csv(IEnumerable<BuildAssessment> all)
    {
        var sw = new StringWriter();
        using (var table = new Exir.Core.CsvTable(sw, CsvColumns))
            foreach (var a in all)
                table.Row(
                    a.Target, a.BuildText, a.Product, a.Cu, a.Su, a.Error is null ? a.Precision : null, a.Source, a.Error is null ? (a.Supported ? "true" : "false") : "",
                    string.Join(';', a.OpenCves), a.FixedBy?.Name, a.FixedBy?.Kb, a.Error is null ? BuildAssessment.ActionName(a.Action) : "",
                    a.Error is null ? a.ActionText : a.Error, a.KnowledgeVersion, a.Error);
        return sw.ToString();
    }

    /// <summary>One server per line (the objects of <see cref="Json"/>).</summary>
    public static string JsonLines(IEnumerable<BuildAssessment> all)
    {
        var sb = new StringBuilder();
        foreach (var a in all)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping })) WriteObject(w, a);
            sb.Append(Encoding.UTF8.GetString(ms.ToArray())).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Readable report: one block per server, every CVE with its state and fix.</summary>
    public static string Text(IEnumerable<BuildAssessment> all)
    {
        var sb = new StringBuilder();
        foreach (var a in all)
        {
            sb.Append(a.Target);
            if (a.Target != a.BuildText && a.BuildText is not null) sb.Append(": ").Append(a.BuildText);
            sb.AppendLine();
            if (a.Error is not null)
            {
                sb.AppendLine($"  could not assess: {a.Error}");
                sb.AppendLine();
                continue;
            }
            sb.AppendLine($"  product    {a.Product}, {a.Cu}{(a.Su is null ? "" : ", " + a.Su)}{(a.ReleaseDate is null ? "" : $" (released {a.ReleaseDate}{(a.Kb is null ? "" : ", " + a.Kb)})")}");
            sb.AppendLine($"  build      {a.Build} from {a.Source} (precision: {(a.Precision == Precision.Su ? "exact build, SUs visible" : "CU level only")})");
            sb.AppendLine($"  support    {a.SupportStatus}");
            foreach (var c in a.Cves)
            {
                var fix = c.FixedIn is null ? "" : $"; fix: {c.FixedIn.Name}{(c.FixedIn.Kb is null ? "" : " " + c.FixedIn.Kb)} (>= {c.FixedIn.Build})";
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  {StateName(c.State).ToUpperInvariant(),-7} {c.Id} {c.Wave}, {c.Severity} {c.Cvss:0.0}{fix}{(c.State == CveState.Fixed ? "" : $" [{c.Note}]")}"));
            }
            if (a.Cves.Count == 0) sb.AppendLine("  cves       none of the exploited CVEs in the knowledge base affect this product");
            foreach (var n in a.Notes) sb.AppendLine($"  note       {n}");
            sb.AppendLine($"  ACTION     {BuildAssessment.ActionName(a.Action)}: {a.ActionText}");
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
