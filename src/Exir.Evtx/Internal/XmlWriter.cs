using System.Runtime.CompilerServices;
using System.Globalization;
using System.Text;

namespace Exir.Evtx.Internal;

/// <summary>A rendered record as Windows-style XML (the Event Viewer layout, two-space indent).</summary>
internal static class XmlWriter
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Write(StringBuilder sb, XElement e, int indent)
    {
        sb.Append(' ', indent * 2).Append('<').Append(e.Name);
        if (e.Attributes is not null)
            foreach (var a in e.Attributes)
            {
                sb.Append(' ').Append(a.Key).Append("=\"");
                Escape(sb, a.Value, true);
                sb.Append('"');
            }
        if (!e.HasChildren)
        {
            sb.Append("/>\n");
            return;
        }
        if (!e.HasElementChildren)
        {
            sb.Append('>');
            foreach (var c in e.Children)
            {
                if (c is string s) Escape(sb, s, false);
                else if (c is XProcessingInstruction pi) WritePi(sb, pi);
            }
            sb.Append("</").Append(e.Name).Append(">\n");
            return;
        }
        sb.Append(">\n");
        foreach (var c in e.Children)
        {
            switch (c)
            {
                case XElement child:
                    Write(sb, child, indent + 1);
                    break;
                case string s:
                    sb.Append(' ', (indent + 1) * 2);
                    Escape(sb, s, false);
                    sb.Append('\n');
                    break;
                case XProcessingInstruction pi:
                    sb.Append(' ', (indent + 1) * 2);
                    WritePi(sb, pi);
                    sb.Append('\n');
                    break;
            }
        }
        sb.Append(' ', indent * 2).Append("</").Append(e.Name).Append(">\n");
    }

    private static void WritePi(StringBuilder sb, XProcessingInstruction pi)
    {
        sb.Append("<?").Append(pi.Target);
        if (pi.Data.Length > 0) sb.Append(' ').Append(pi.Data);
        sb.Append("?>");
    }

    /// <summary>Used when a record's BinXML could not be read at all: the header facts only.</summary>
    public static void WriteMinimal(StringBuilder sb, EvtxRecord r)
    {
        sb.Append("<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>\n");
        sb.Append("    <TimeCreated SystemTime=\"").Append(ValueFormatter.FormatUtc(r.TimestampUtc)).Append("\"/>\n");
        sb.Append("    <EventRecordID>").Append(r.RecordId.ToString(CultureInfo.InvariantCulture)).Append("</EventRecordID>\n");
        sb.Append("  </System>\n</Event>\n");
    }

    private static readonly System.Buffers.SearchValues<char> TextSpecial = System.Buffers.SearchValues.Create("&<>");
    private static readonly System.Buffers.SearchValues<char> AttributeSpecial = System.Buffers.SearchValues.Create("&<>\"");

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Escape(StringBuilder sb, string s, bool attribute)
    {
        if (s.Length <= 32)
        {
            // Most values are short: a plain scan beats setting up a vector search.
            bool plain = true;
            foreach (char c in s)
                if (c is '&' or '<' or '>' || (c == '"' && attribute)) { plain = false; break; }
            if (plain)
            {
                sb.Append(s);
                return;
            }
        }
        var rest = s.AsSpan();
        var special = attribute ? AttributeSpecial : TextSpecial;
        while (true)
        {
            int i = rest.IndexOfAny(special);
            if (i < 0) break;
            sb.Append(rest[..i]).Append(rest[i] switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                _ => "&quot;",
            });
            rest = rest[(i + 1)..];
        }
        sb.Append(rest);
    }
}
