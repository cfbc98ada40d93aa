using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Exir.Core.Coverage;
using Exir.Core.Findings;

namespace Exir.Case.Store;

/// <summary>The JSON columns of the case (coverage, patch status, admin accounts, assessments): snake_case, UTC times.</summary>
internal static class CaseJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower), new GapConverter() },
        // Stored data is hostile too: a column edited by hand must not crash a read.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>The value, or null when the text is not what <typeparamref name="T"/> looks like.</summary>
    public static T? Deserialize<T>(string? json) where T : class
    {
        if (string.IsNullOrEmpty(json)) return null;
        try { return JsonSerializer.Deserialize<T>(json, Options); }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException) { return null; }
    }

    /// <summary>A coverage report as plain data (at most <paramref name="maxIssues"/> issues listed; the counts stay exact).</summary>
    public static CaseCoverage CoverageOf(CoverageReport c, int maxIssues = 1000) => new()
    {
        FilesSeen = c.FilesSeen, FilesRead = c.FilesRead, BytesRead = c.BytesRead, UnknownLogFiles = c.UnknownLogFiles,
        Families = c.Families.Values.OrderBy(f => f.Family, StringComparer.Ordinal)
            .Select(f => new CaseLogFamily(f.Family, f.Files, f.Lines, f.MalformedLines, f.Bytes, f.First, f.Last, f.Gaps())).ToList(),
        IssueCounts = c.IssueCounts.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value, StringComparer.Ordinal),
        Issues = c.Issues.Take(maxIssues).Select(i => new CaseCoverageIssue(i.Kind.ToString(), i.Path, i.Message)).ToList(),
        ChecksNotRun = c.ChecksNotRun.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
    };

    /// <summary>Fixed-width ISO-8601 UTC ("2021-03-03T05:42:01.0000000Z"): sorts as text, the same on every backend.</summary>
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
    public static string Time(DateTime t) => Time(new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)));
    public static string? Time(DateTimeOffset? t) => t is { } v ? Time(v) : null;

    public static DateTimeOffset ParseTime(string? s) =>
        DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : default;

    private sealed class GapConverter : JsonConverter<(DateOnly From, DateOnly To)>
    {
        public override (DateOnly From, DateOnly To) Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            DateOnly from = default, to = default;
            if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("a gap is an object");
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var name = reader.GetString();
                reader.Read();
                var value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d);
                if (name == "from") from = d; else if (name == "to") to = d;
            }
            return (from, to);
        }

        public override void Write(Utf8JsonWriter writer, (DateOnly From, DateOnly To) value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteString("from", value.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            writer.WriteString("to", value.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            writer.WriteEndObject();
        }
    }

    /// <summary>A finding as its wire JSON (the finding contract, <see cref="FindingJson"/>).</summary>
    public static string FindingText(Finding f)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, FindingJson.WriterOptions)) FindingJson.Write(w, f);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static Finding? ReadFinding(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return FindingJson.Read(doc.RootElement, out _);
        }
        catch (JsonException) { return null; }
    }
}

/// <summary>How the case writes times: fixed-width ISO-8601 UTC, sortable as text on both backends.</summary>
public static class CaseTime
{
    public static string Format(DateTimeOffset t) => CaseJson.Time(t);
}
