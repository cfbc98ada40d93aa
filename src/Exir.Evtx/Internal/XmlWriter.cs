using System.Buffers;
using System.Runtime.CompilerServices;
using System.Globalization;
using System.Text;
using Exir.Text;

namespace Exir.Evtx.Internal;

/// <summary>
/// A rendered record as Windows-style XML (the Event Viewer layout, two-space indent). Every string in a record
/// is the writer's (or an intruder's) text, so the output is kept well-formed XML 1.0 whatever it holds: control
/// characters XML cannot carry (ESC, BEL, NUL...) and those a terminal would obey (C1, DEL, bidi controls) are
/// shown as \x1b-style escapes (<see cref="VisibleEscapes"/>); element and attribute names are made valid names,
/// a repeated attribute gets a suffix, and a processing instruction cannot end early or be a declaration.
/// </summary>
internal static class XmlWriter
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Write(StringBuilder sb, XElement e, int indent)
    {
        // Names are valid and attribute names distinct already: the parser makes them so once per template (SafeNames).
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
        // The target is a safe name (SafePiTarget); "?>" in the data would end the instruction early.
        sb.Append("<?").Append(pi.Target);
        if (pi.Data.Length > 0)
        {
            sb.Append(' ');
            VisibleEscapes.Append(sb, pi.Data.Replace("?>", "? >", StringComparison.Ordinal), keepLineEnds: true, keepTabs: true);
        }
        sb.Append("?>");
    }

    /// <summary>
    /// An element's name, and its attributes' names in place, as the XML needs them: valid names, and a repeated
    /// attribute name (which makes the element ill-formed) suffixed, the second "Name" as "Name_2". The parser calls
    /// this once per template element, so rendering a record costs nothing more.
    /// </summary>
    public static string SafeElement(string name, TAttribute[] attributes)
    {
        bool plain = true;
        for (int k = 0; k < attributes.Length && plain; k++)
        {
            plain = IsPlainName(attributes[k].Name);
            for (int j = 0; j < k && plain; j++) plain = attributes[j].Name != attributes[k].Name;
        }
        if (!plain)
        {
            var taken = new HashSet<string>(StringComparer.Ordinal);
            for (int k = 0; k < attributes.Length; k++)
            {
                var key = SafeName(attributes[k].Name, attribute: true);
                var unique = key;
                for (int n = 2; !taken.Add(unique); n++) unique = key + "_" + n.ToString(CultureInfo.InvariantCulture);
                if (!ReferenceEquals(unique, attributes[k].Name)) attributes[k] = new TAttribute(unique, attributes[k].Value);
            }
        }
        return SafeName(name, attribute: false);
    }

    /// <summary>A processing instruction's target: a safe name, never "xml" (reserved for the declaration).</summary>
    public static string SafePiTarget(string target)
    {
        target = SafeName(target, attribute: false);
        return target.Equals("xml", StringComparison.OrdinalIgnoreCase) ? "_" + target : target;
    }

    /// <summary>
    /// Names come from the record's template, which an intruder can write: a name that is not a valid XML name
    /// (or uses a namespace prefix that cannot be declared) is encoded the XmlConvert way, "Bad Name" as "Bad_x0020_Name".
    /// </summary>
    private static string SafeName(string name, bool attribute) => IsPlainName(name) ? name : SafeNameSlow(name, attribute);

    private static string SafeNameSlow(string name, bool attribute)
    {
        if (name.Length == 0) return "_";
        int colon = name.IndexOf(':');
        if (colon >= 0)
        {
            // Only the namespace declarations and the predeclared xml: prefix keep their colon (xmlns:auto-ns2="...").
            var prefix = name[..colon];
            var local = name[(colon + 1)..];
            if (attribute && prefix is "xmlns" or "xml" && local.Length > 0 && !local.Contains(':') && IsValidName(local))
                return name;
        }
        return IsValidName(name) ? name : EncodeName(name);
    }

    private static readonly SearchValues<char> PlainNameChars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.");

    private static bool IsPlainName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && !name.AsSpan().ContainsAnyExcept(PlainNameChars);

    // Per character, no exception per bad name: a hostile file may have one in every record. Characters outside the
    // BMP count as invalid and are encoded (rare in names; the Basic Multilingual Plane test stays simple).
    private static bool IsValidName(string name)
    {
        if (name.Length == 0 || !System.Xml.XmlConvert.IsStartNCNameChar(name[0])) return false;
        for (int i = 1; i < name.Length; i++)
            if (!System.Xml.XmlConvert.IsNCNameChar(name[i])) return false;
        return true;
    }

    /// <summary>Every character that may not stand where it is becomes _xHHHH_, as XmlConvert.EncodeName writes it.</summary>
    private static string EncodeName(string name)
    {
        var sb = new StringBuilder(name.Length + 16);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool ok = i == 0 ? System.Xml.XmlConvert.IsStartNCNameChar(c) : System.Xml.XmlConvert.IsNCNameChar(c);
            // "_x" itself is encoded so that a decoder cannot mistake it for an escape.
            if (ok && !(c == '_' && i + 1 < name.Length && name[i + 1] == 'x')) sb.Append(c);
            else sb.Append("_x").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture)).Append('_');
        }
        return sb.ToString();
    }

    /// <summary>Used when a record's BinXML could not be read at all: the header facts only.</summary>
    public static void WriteMinimal(StringBuilder sb, EvtxRecord r)
    {
        sb.Append("<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>\n");
        sb.Append("    <TimeCreated SystemTime=\"").Append(ValueFormatter.FormatUtc(r.TimestampUtc)).Append("\"/>\n");
        sb.Append("    <EventRecordID>").Append(r.RecordId.ToString(CultureInfo.InvariantCulture)).Append("</EventRecordID>\n");
        sb.Append("  </System>\n</Event>\n");
    }

    // What the escape loop stops at: the markup characters, and every character VisibleEscapes escapes, except
    // tab and line feed in text (XML and terminals carry them; in an attribute a parser would turn them into spaces).
    private static readonly SearchValues<char> TextSpecial = Specials("&<>", keepTabAndLf: true);
    private static readonly SearchValues<char> AttributeSpecial = Specials("&<>\"", keepTabAndLf: false);

    private static SearchValues<char> Specials(string markup, bool keepTabAndLf)
    {
        var sb = new StringBuilder(markup);
        for (int c = 0; c <= char.MaxValue; c++)
            if (VisibleEscapes.IsCandidate((char)c) && !(keepTabAndLf && c is '\t' or '\n')) sb.Append((char)c);
        return SearchValues.Create(sb.ToString());
    }

    // The same sets below U+0040 as bit masks (C0 controls, & < > and " for attributes): the plain scan of a short value
    // costs a shift per character, with no table to load. Above: DEL, C1 and the rarer ones, see VisibleEscapes.
    private const ulong TextMask = 0xFFFF_FFFFul & ~(1ul << '\t') & ~(1ul << '\n') | 1ul << '&' | 1ul << '<' | 1ul << '>';
    private const ulong AttributeMask = 0xFFFF_FFFFul | 1ul << '&' | 1ul << '<' | 1ul << '>' | 1ul << '"';

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Escape(StringBuilder sb, string s, bool attribute)
    {
        if (s.Length <= 32)
        {
            // Most values are short: a plain scan beats setting up a vector search.
            ulong mask = attribute ? AttributeMask : TextMask;
            bool plain = true;
            foreach (char c in s)
                if (c < '@' ? (mask >> c & 1) != 0 : c >= '\x7F' && VisibleEscapes.IsCandidate(c)) { plain = false; break; }
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
            sb.Append(rest[..i]);
            char c = rest[i];
            int used = 1;
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                // Legal XML characters, written as references where a parser would not keep them.
                case '\t': sb.Append("&#x9;"); break;
                case '\n': sb.Append("&#xA;"); break;
                case '\r' when !attribute && rest.Length > i + 1 && rest[i + 1] == '\n': sb.Append("\r\n"); used = 2; break;
                // A bare CR would also send a terminal's cursor back over the line.
                case '\r': sb.Append("&#xD;"); break;
                default:
                    if (char.IsHighSurrogate(c) && rest.Length > i + 1 && char.IsLowSurrogate(rest[i + 1])) { sb.Append(rest.Slice(i, 2)); used = 2; }
                    else VisibleEscapes.AppendEscape(sb, c);
                    break;
            }
            rest = rest[(i + used)..];
        }
        sb.Append(rest);
    }
}
