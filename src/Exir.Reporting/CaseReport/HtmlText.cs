using System.Globalization;
using Exir.Core;

namespace Exir.Reporting.CaseReport;

/// <summary>
/// Appends straight to the output writer (the page is never one string) and escapes every value: control and
/// bidirectional characters become visible escapes first (an RTL override cannot make a path read backwards),
/// then the HTML metacharacters are encoded. Non-ASCII letters stay as they are (the page is UTF-8).
/// </summary>
internal sealed class HtmlText(TextWriter writer)
{
    /// <summary>Markup written by the report itself (never evidence).</summary>
    public HtmlText Raw(string markup) { writer.Write(markup); return this; }

    /// <summary>A value as text (also safe inside a quoted attribute).</summary>
    public HtmlText Text(string? value) { WriteEncoded(TextSafety.ForTerminal(value)); return this; }

    /// <summary>A multi-line value for a pre block: line ends kept, everything else as <see cref="Text"/>.</summary>
    public HtmlText Block(string? value) { WriteEncoded(TextSafety.ForTerminal(value, keepNewlines: true)); return this; }

    public HtmlText Number(long n) { writer.Write(n.ToString(CultureInfo.InvariantCulture)); return this; }

    /// <summary>A coordinate for SVG (invariant, one decimal).</summary>
    public HtmlText Coord(double v) { writer.Write(v.ToString("0.#", CultureInfo.InvariantCulture)); return this; }

    public void Flush() => writer.Flush();

    private void WriteEncoded(string s)
    {
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            string? entity = s[i] switch
            {
                '&' => "&amp;", '<' => "&lt;", '>' => "&gt;", '"' => "&quot;", '\'' => "&#39;", _ => null,
            };
            if (entity is null) continue;
            if (i > start) writer.Write(s.AsSpan(start, i - start));
            writer.Write(entity);
            start = i + 1;
        }
        if (start < s.Length) writer.Write(s.AsSpan(start));
    }

    /// <summary>The escaped form as a string (tests, short labels).</summary>
    public static string Encode(string? value)
    {
        using var w = new StringWriter();
        new HtmlText(w).Text(value);
        return w.ToString();
    }
}
